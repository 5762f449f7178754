"""Pathways ops console."""
