"""Where a webhook may go (issue 14 item 7, SSRF): public addresses, or networks an operator allows."""

from __future__ import annotations

import ipaddress

import pytest

from pathways_notification.adapters import destinations, webhook
from pathways_notification.domain.destinations import AddressPolicy
from pathways_notification.settings import NotificationSettings
from webhook_server import serving, session

pytestmark = pytest.mark.unit
STRICT = AddressPolicy()
SERVICES = ["127.0.0.1:8001", "127.0.0.1:8002", "127.0.0.1:8003"]


def ip(text: str):
    return ipaddress.ip_address(text)


@pytest.mark.parametrize("address, kind", [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.0.0.5", "private"), ("192.168.1.10", "private"),
    ("172.16.0.1", "private"), ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
    ("fd00:ec2::254", "private"), ("0.0.0.0", "unspecified"), ("100.100.100.200", "not globally routable"),
    ("::ffff:127.0.0.1", "loopback"), ("224.0.0.1", "multicast"),
])
def test_internal_addresses_are_refused_by_default(address, kind):
    reason = STRICT.refusal(ip(address), 443)
    assert reason is not None and kind in reason


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::6810:85e5"])
def test_public_addresses_are_allowed(address):
    assert STRICT.refusal(ip(address), 443) is None


def test_an_allowed_network_is_reachable_but_the_services_own_endpoints_never_are():
    policy = AddressPolicy.from_settings(["127.0.0.0/8"], SERVICES)
    assert policy.refusal(ip("127.0.0.1"), 9999) is None
    assert "Pathways service" in policy.refusal(ip("127.0.0.1"), 8002)
    assert policy.refusal(ip("10.0.0.5"), 443) is not None  # only what is listed


async def test_a_host_is_refused_when_it_resolves_inside():
    with pytest.raises(destinations.Refused, match="loopback"):
        await destinations.checked_address("http://localhost:9/x", STRICT)
    with pytest.raises(destinations.Refused, match="link-local"):
        await destinations.checked_address("https://169.254.169.254/latest/meta-data", STRICT)


async def test_the_checked_address_is_where_the_request_goes():
    """The request is pinned to the address that was checked; the Host header keeps the name."""
    policy = AddressPolicy.from_settings(["127.0.0.0/8", "::1/128"], [])
    # A server on the one address the name is checked to: the request can only arrive there if it was sent there.
    address = str(await destinations.checked_address("http://localhost:1/", policy))
    async with serving(address) as (receiver, port), session() as client:
        attempt = await webhook.post(client, f"http://localhost:{port}/hook", None, "dlv-1", {"id": "e"},
                                     policy=policy)
    assert attempt.ok
    [got] = receiver.requests
    assert got["local"] in ("127.0.0.1", "::1") and got["headers"]["Host"] == f"localhost:{port}"


async def test_a_refused_address_at_send_time_is_a_failed_attempt_and_nothing_is_sent():
    async with serving() as (receiver, port), session() as client:
        attempt = await webhook.post(client, f"http://127.0.0.1:{port}/agencies", None, "dlv-1", {}, policy=STRICT)
    assert not attempt.ok and attempt.status_code is None and "not sent" in attempt.error
    assert receiver.requests == []  # nothing may be sent to a refused address


def test_by_default_the_services_ports_on_loopback_are_refused_even_when_loopback_is_allowed():
    settings = NotificationSettings()
    policy = AddressPolicy.from_settings(["127.0.0.0/8", "::1/128"], settings.webhook_denied_endpoints)
    for address in ("127.0.0.1", "::1"):
        assert all(policy.refusal(ip(address), port) for port in (8001, 8002, 8003))
        assert policy.refusal(ip(address), 9999) is None
