"""The ASGI application: ``uvicorn --factory pathways_insights.app:create_app``."""

from __future__ import annotations

from fastapi import FastAPI

from pathways_insights.bootstrap import bootstrap
from pathways_insights.entrypoints.http import router
from pathways_runtime.service import Service


def create_app(service: Service | None = None) -> FastAPI:
    return (service or bootstrap()).app(router)
