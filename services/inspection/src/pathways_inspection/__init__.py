"""Pathways inspection service."""
