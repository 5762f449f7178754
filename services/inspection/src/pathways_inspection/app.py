"""The ASGI application: ``uvicorn pathways_inspection.app:app``."""

from pathways_inspection.bootstrap import service
from pathways_inspection.entrypoints import follow_ups_api, http, registry_reports

# registry_reports first: its /establishments/import must not be read as an establishment id.
app = service.app(registry_reports.router, http.router, follow_ups_api.router)
