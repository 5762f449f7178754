"""The health department's example consumer (built with the Pathways consumer kit)."""
