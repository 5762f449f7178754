"""An ASGI app served by uvicorn in a thread, for unit tests that must speak real HTTP to it."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import uvicorn

from pathways_runtime.embedded import free_port


@contextlib.contextmanager
def serving(app) -> Iterator[tuple[str, int]]:
    """(host, port) of ``app`` served without its lifespan; stopped on exit."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            threading.Event().wait(0.05)
        assert server.started, "the server did not start"
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        thread.join(10)


def status_line(sock: socket.socket) -> str:
    """The status line of the answer on a raw socket, read as it arrives."""
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0].decode()
