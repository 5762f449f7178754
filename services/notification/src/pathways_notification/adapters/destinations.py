"""Resolving a webhook's host and checking every address it resolves to against the AddressPolicy.

Checked when a subscription is made and again before each attempt (DNS can
change between the two), and the request then goes to the address that was
checked, so a name cannot resolve to a public address for the check and to
an internal one for the connection.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from pathways_notification.domain.destinations import AddressPolicy, IPAddress

DNS_TIMEOUT_SECONDS = 5.0


class Refused(Exception):
    """The URL points where a webhook may not go; the message says why."""


class Unresolved(Exception):
    """The host does not resolve now (it may later)."""


async def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:  # asyncio.timeout, not wait_for: on Python 3.11 wait_for can lose a cancellation (a lane being stopped)
        async with asyncio.timeout(DNS_TIMEOUT_SECONDS):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError) as exc:
        raise Unresolved(f"{host} does not resolve: {exc}") from None
    # The scope of a link-local IPv6 address ("%eth0") is not part of the address.
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


def host_and_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


async def checked_address(url: str, policy: AddressPolicy) -> IPAddress:
    """The address to send to: raises ``Refused`` when any address of the host is refused, ``Unresolved``."""
    host, port = host_and_port(url)
    addresses = await resolve(host, port)
    for address in addresses:
        # Any refused address refuses the host: a name that also points inside is not trusted.
        reason = policy.refusal(address, port)
        if reason:
            raise Refused(f"{host} resolves to {address}: {reason}")
    return addresses[0]
