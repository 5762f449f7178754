"""``python -m pathways_insights``: serve the API and the consumers."""

from pathways_runtime.serve import serve

serve("pathways_insights.app:create_app", default_port=8005, factory=True)
