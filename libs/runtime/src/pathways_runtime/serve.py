"""Run a service's ASGI app with uvicorn, on ``HOST``/``PORT`` from the environment."""

import os

import uvicorn


def serve(app: str, default_port: int, *, factory: bool = False) -> None:
    """``factory``: ``app`` names a function returning the app (a service built at start, not at import)."""
    uvicorn.run(app, host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", default_port)),
                log_config=None, access_log=False, factory=factory)
