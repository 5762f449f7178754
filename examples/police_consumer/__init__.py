"""The police department's example consumer (built with the Pathways consumer kit)."""
