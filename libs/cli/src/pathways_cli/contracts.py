"""The AsyncAPI document of every service, generated from its code and committed under contracts/asyncapi/."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from pathways_contracts.schemas import SCHEMA_DIR
from pathways_runtime.asyncapi import asyncapi_document

ASYNCAPI_DIR = SCHEMA_DIR.parent / "asyncapi"
SERVICES = ("inspection", "referral", "notification", "insights")


def render_asyncapi(name: str) -> str:
    module = importlib.import_module(f"pathways_{name}.bootstrap")
    # A service in the new shape is built by bootstrap(); the others still build theirs at import.
    service = module.bootstrap() if callable(getattr(module, "bootstrap", None)) else module.service
    return json.dumps(asyncapi_document(service), indent=2, sort_keys=True) + "\n"


def write_asyncapi() -> list[Path]:
    ASYNCAPI_DIR.mkdir(exist_ok=True)
    written = []
    for name in SERVICES:
        path = ASYNCAPI_DIR / f"{name}.json"
        text = render_asyncapi(name)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            written.append(path)
    return written
