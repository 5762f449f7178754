"""The ASGI application: ``uvicorn pathways_notification.app:app``."""

from pathways_notification.bootstrap import service
from pathways_notification.entrypoints.http import router

app = service.app(router)
