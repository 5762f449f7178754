"""The ASGI application: ``uvicorn pathways_inspection.app:app``."""

from pathways_inspection.bootstrap import service
from pathways_inspection.entrypoints.http import router

app = service.app(router)
