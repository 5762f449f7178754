"""The runtime every Pathways service shares."""
