"""Toxiproxy (Shopify's fault-injecting TCP proxy, built from its Go module by ``make toxiproxy``):
the server, and the few calls of its HTTP API the fault suite uses."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from pathways_runtime.embedded import free_port, wait_for_port

SERVER = Path(__file__).resolve().parents[1] / ".tools" / "bin" / "toxiproxy-server"


@dataclass
class Proxy:
    api: str
    name: str
    port: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def add(self, kind: str, stream: str = "downstream", toxicity: float = 1.0, **attributes: float) -> str:
        """Add a toxic (``latency``, ``reset_peer``, ``timeout``, ...); its name, to remove it."""
        name = f"{kind}_{stream}"
        httpx.post(f"{self.api}/proxies/{self.name}/toxics", json={
            "name": name, "type": kind, "stream": stream, "toxicity": toxicity, "attributes": attributes},
                   ).raise_for_status()
        return name

    def remove(self, toxic: str) -> None:
        httpx.delete(f"{self.api}/proxies/{self.name}/toxics/{toxic}").raise_for_status()

    def enabled(self, on: bool) -> None:
        """Off: every connection through the proxy is closed and new ones are refused (a cut link)."""
        httpx.post(f"{self.api}/proxies/{self.name}", json={"enabled": on}).raise_for_status()


@dataclass
class Toxiproxy:
    api: str

    def proxy(self, name: str, upstream: str) -> Proxy:
        port = free_port()
        httpx.post(f"{self.api}/proxies", json={"name": name, "listen": f"127.0.0.1:{port}",
                                                "upstream": upstream, "enabled": True}).raise_for_status()
        return Proxy(self.api, name, port)


@contextlib.contextmanager
def toxiproxy_server(log_dir: Path) -> Iterator[Toxiproxy]:
    if not SERVER.exists():
        raise RuntimeError(f"{SERVER} is missing: run `make toxiproxy` (the test targets do)")
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / "toxiproxy.log").open("ab") as log:
        process = subprocess.Popen([str(SERVER), "-host", "127.0.0.1", "-port", str(port)], stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
            wait_for_port("127.0.0.1", port, timeout=20, process=process)
            yield Toxiproxy(f"http://127.0.0.1:{port}")
        finally:
            process.terminate()
            process.wait(10)
