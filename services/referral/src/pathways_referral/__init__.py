"""Pathways referral service."""
