"""``python -m pathways_notification``: serve the API, the consumers and the delivery worker."""

from pathways_runtime.serve import serve

serve("pathways_notification.app:create_app", default_port=8003, factory=True)
