"""``python -m pathways_inspection``: serve the API (the relay publishes the outbox)."""

from pathways_runtime.serve import serve

serve("pathways_inspection.app:app", default_port=8001)
