"""The ASGI application: ``uvicorn --factory pathways_inspection.app:create_app``."""

from __future__ import annotations

from fastapi import FastAPI

from pathways_inspection.bootstrap import bootstrap
from pathways_inspection.entrypoints import follow_ups_api, http, registry_reports
from pathways_runtime.service import Service


def create_app(service: Service | None = None) -> FastAPI:
    service = service or bootstrap()
    # registry_reports first: its /establishments/import must not be read as an establishment id.
    app = service.app(registry_reports.router, http.router, follow_ups_api.router)
    app.state.open_data_limit = registry_reports.OpenDataLimit(service.settings.open_data_rate_limit)
    return app
