"""``python -m pathways_referral``: serve the API and the consumers."""

from pathways_runtime.serve import serve

serve("pathways_referral.app:create_app", default_port=8002, factory=True)
