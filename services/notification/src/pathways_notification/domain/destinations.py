"""Where a webhook may point: public addresses only, unless an operator allows a network (SSRF guard).

A subscriber chooses the URL, and the service then sends requests to it from
inside the deployment: pointed at ``127.0.0.1:8002`` or a cloud metadata
address (``169.254.169.254``) it would reach what no department may reach.
So an address that is not globally routable (loopback, private, link-local
incl. metadata, shared, reserved, multicast, unspecified) is refused unless
an operator allow-lists its network, and the services' own endpoints are
refused always.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class AddressPolicy:
    allowed: tuple[IPNetwork, ...] = ()
    denied_endpoints: frozenset[tuple[IPAddress, int]] = frozenset()

    @classmethod
    def from_settings(cls, allowed_networks: Iterable[str], denied_endpoints: Iterable[str]) -> AddressPolicy:
        denied = set()
        for endpoint in denied_endpoints:
            host, _, port = endpoint.rpartition(":")
            denied.add((ipaddress.ip_address(host.strip("[]")), int(port)))
        return cls(tuple(ipaddress.ip_network(n, strict=False) for n in allowed_networks), frozenset(denied))

    def refusal(self, address: IPAddress, port: int) -> str | None:
        """Why a request to ``address:port`` is refused; None when it may be sent."""
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        if (address, port) in self.denied_endpoints:
            return f"{address}:{port} is a Pathways service"
        # Python counts some multicast ranges as global; a webhook is never multicast.
        public = address.is_global and not address.is_multicast
        if public or any(address in network for network in self.allowed):
            return None
        return f"{address} is {_kind(address)}, not a public address"


def _kind(address: IPAddress) -> str:
    for name in ("unspecified", "loopback", "link_local", "multicast", "private", "reserved"):
        if getattr(address, f"is_{name}"):
            return name.replace("_", "-")
    return "not globally routable"
