"""Data files the notification service loads (redaction policy)."""
