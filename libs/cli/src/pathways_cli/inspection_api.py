"""How the CLI reaches the inspection service: its URL and a development token for a role."""

from __future__ import annotations

import os

import httpx

from pathways_cli import stack


def inspection_url() -> str:
    return os.environ.get("PATHWAYS_INSPECTION_URL") or stack.services()[0].url


def token(name: str) -> str:
    """``$NAME`` if set (e.g. OPS_TOKEN), else a development token signed with this machine's secret."""
    return os.environ.get(name) or stack.dev_tokens(stack.signing_secret())[name]


def client(token_name: str, url: str | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url or inspection_url(), timeout=120,
                             headers={"Authorization": f"Bearer {token(token_name)}"})
