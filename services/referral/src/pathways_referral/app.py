"""The ASGI application: ``uvicorn --factory pathways_referral.app:create_app``."""

from __future__ import annotations

from fastapi import FastAPI

from pathways_referral.bootstrap import bootstrap
from pathways_referral.entrypoints.http import router
from pathways_runtime.service import Service


def create_app(service: Service | None = None) -> FastAPI:
    """The referral API around ``service`` (by default one built by ``bootstrap()`` from the environment)."""
    return (service or bootstrap()).app(router)
