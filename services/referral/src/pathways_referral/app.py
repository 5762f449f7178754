"""The ASGI application: ``uvicorn pathways_referral.app:app``."""

from pathways_referral.bootstrap import service
from pathways_referral.entrypoints.http import router

app = service.app(router)
