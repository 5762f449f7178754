"""Pathways notification service."""
