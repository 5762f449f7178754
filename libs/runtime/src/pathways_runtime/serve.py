"""Run a service's ASGI app with uvicorn, on ``HOST``/``PORT`` from the environment; run a consumer
without one (a department's, the benchmarks) on the same event loop.

uvloop and httptools (uvicorn's fast event loop and HTTP parser) when installed: they cut the CPU
each request and each consumed event costs; the pure-Python ones remain the fallback.
"""

import asyncio
import importlib.util
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

import uvicorn

T = TypeVar("T")
# On SIGTERM, requests in flight get this long to finish before uvicorn closes their connections; then
# the service stops by a deadline (Settings.shutdown_seconds): all of it inside an orchestrator's
# grace period (Kubernetes: 30 s).
HTTP_DRAIN_SECONDS = 5


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on uvloop when it is installed (the loop the services run on), on asyncio's own loop
    otherwise."""
    if importlib.util.find_spec("uvloop"):
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)


def serve(app: str, default_port: int, *, factory: bool = False) -> None:
    """``factory``: ``app`` names a function returning the app (a service built at start, not at import)."""
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    uvicorn.run(app, host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", default_port)),
                log_config=None, access_log=False, loop=loop, http=http, factory=factory,
                timeout_graceful_shutdown=HTTP_DRAIN_SECONDS)
