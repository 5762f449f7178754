"""The ASGI application: ``uvicorn --factory pathways_notification.app:create_app``."""

from __future__ import annotations

from fastapi import FastAPI

from pathways_notification.bootstrap import NotificationService, bootstrap
from pathways_notification.entrypoints.http import router


def create_app(service: NotificationService | None = None) -> FastAPI:
    return (service or bootstrap()).app(router)
