"""The ASGI application: ``uvicorn --factory pathways_referral.app:create_app``."""

from __future__ import annotations

import json

from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError

from pathways_referral.bootstrap import bootstrap
from pathways_referral.entrypoints.http import router
from pathways_runtime.service import Service


def create_app(service: Service | None = None) -> FastAPI:
    """The referral API around ``service`` (by default one built by ``bootstrap()`` from the environment)."""
    app = (service or bootstrap()).app(router)
    app.add_exception_handler(RequestValidationError, _validation_error)
    return app


async def _validation_error(request: Request, exc: Exception) -> Response:
    # FastAPI's own 422 body, rendered with ASCII escapes: its default rendering fails (a 500) when the
    # echoed input holds a lone surrogate, which UTF-8 cannot encode. (A candidate for the runtime.)
    assert isinstance(exc, RequestValidationError)
    body = json.dumps({"detail": jsonable_encoder(exc.errors())}, ensure_ascii=True)
    return Response(body, status_code=422, media_type="application/json")
