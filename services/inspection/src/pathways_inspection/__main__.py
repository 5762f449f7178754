"""``python -m pathways_inspection``: serve the API (the relay publishes the outbox)."""

from pathways_runtime.serve import serve

serve("pathways_inspection.app:create_app", default_port=8001, factory=True)
