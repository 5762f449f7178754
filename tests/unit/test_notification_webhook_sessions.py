"""Webhooks as the service sends them: through an aiohttp session (``webhook.new_session``) to a real
HTTP server on this machine. The address check, the pinned address, the signature, redirects, timeouts
and the trace context, on the path production takes."""

from __future__ import annotations

import base64
import datetime
import ipaddress
import secrets
import ssl
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from pathways_notification.adapters import destinations, webhook
from pathways_notification.domain.destinations import AddressPolicy
from webhook_server import serving, session

pytestmark = pytest.mark.unit
LOOPBACK = AddressPolicy.from_settings(["127.0.0.0/8", "::1/128"], [])
SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


async def test_a_delivery_is_signed_for_its_exact_body_and_structured():
    async with serving() as (receiver, port), session() as client:
        attempt = await webhook.post(client, f"http://127.0.0.1:{port}/hook", SECRET, "dlv-7",
                                     {"id": "evt-1", "data": {"note": "é"}}, policy=LOOPBACK)
    assert attempt.ok and attempt.status_code == 204 and attempt.error is None
    [got] = receiver.requests
    headers = {k.lower(): v for k, v in got["headers"].items()}
    assert headers["content-type"] == "application/cloudevents+json"
    expected = webhook.signature_headers(SECRET, "dlv-7", got["body"], timestamp=int(headers["webhook-timestamp"]))
    assert {k: headers[k] for k in expected} == expected


async def test_a_refused_address_is_not_connected_to():
    async with serving() as (receiver, port), session() as client:
        attempt = await webhook.post(client, f"http://127.0.0.1:{port}/hook", None, "dlv-1", {},
                                     policy=AddressPolicy())
    assert not attempt.ok and attempt.status_code is None and "not sent" in attempt.error
    assert "loopback" in attempt.error and receiver.requests == []


async def test_each_attempt_is_checked_again_though_a_kept_alive_connection_exists(monkeypatch):
    """The name is resolved and checked before every attempt, not once per pooled connection: when it
    resolves inside later (DNS changed) or the operator withdraws an allowance, nothing more is sent."""
    async with serving() as (receiver, port), session() as client:
        url = f"http://hooks.example:{port}/hook"
        answers = {"hooks.example": ["127.0.0.1"]}

        async def resolve(host: str, port: int):
            return [ipaddress.ip_address(a) for a in answers[host]]

        monkeypatch.setattr(destinations, "resolve", resolve)
        assert (await webhook.post(client, url, None, "dlv-1", {}, policy=LOOPBACK)).ok
        assert receiver.requests[0]["headers"]["Host"] == f"hooks.example:{port}"

        answers["hooks.example"] = ["10.0.0.5", "127.0.0.1"]  # the name now also points elsewhere inside
        changed = await webhook.post(client, url, None, "dlv-2", {}, policy=LOOPBACK)
        assert changed.status_code is None and "not sent" in changed.error and "10.0.0.5" in changed.error

        answers["hooks.example"] = ["127.0.0.1"]
        withdrawn = await webhook.post(client, url, None, "dlv-3", {}, policy=AddressPolicy())
        assert withdrawn.status_code is None and "not sent" in withdrawn.error
    assert len(receiver.requests) == 1


async def test_a_redirect_is_an_answer_and_is_not_followed():
    async with serving() as (receiver, port), session() as client:
        receiver.status, receiver.location = 307, f"http://127.0.0.1:{port}/elsewhere"
        attempt = await webhook.post(client, f"http://127.0.0.1:{port}/hook", None, "dlv-1", {}, policy=LOOPBACK)
    assert attempt.status_code == 307 and not attempt.ok
    assert [r["path"] for r in receiver.requests] == ["/hook"]


async def test_a_failure_keeps_the_receivers_answer_and_a_slow_receiver_times_out():
    async with serving() as (receiver, port), session() as client:
        url = f"http://127.0.0.1:{port}/hook"
        receiver.status, receiver.answer = 503, b"down for maintenance " * 40
        failed = await webhook.post(client, url, None, "dlv-1", {}, policy=LOOPBACK)
        assert failed.status_code == 503 and failed.error == (b"down for maintenance " * 40).decode()[:500]

        receiver.status, receiver.delay = 204, 2.0
        slow = await webhook.post(client, url, None, "dlv-2", {}, timeout=0.2, policy=LOOPBACK)
        assert slow.status_code is None and "Timeout" in slow.error and slow.latency_ms < 1500


@pytest.mark.parametrize("status, retry_after, asked", [
    (503, "7", 7.0), (429, "120", 120.0), (503, "Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date gone by
    (503, "soon", None), (500, "7", None),  # unreadable; and only 503 and 429 ask for a pause
])
async def test_a_receivers_retry_after_is_read_from_its_answer(status, retry_after, asked):
    async with serving() as (receiver, port), session() as client:
        receiver.status, receiver.headers = status, {"Retry-After": retry_after}
        attempt = await webhook.post(client, f"http://127.0.0.1:{port}/hook", None, "dlv-1", {}, policy=LOOPBACK)
    assert attempt.status_code == status and attempt.asked_wait_seconds == asked


async def test_nothing_listening_is_a_failed_attempt():
    async with serving() as (_, port):
        pass  # the port is free again
    async with session() as client:
        attempt = await webhook.post(client, f"http://127.0.0.1:{port}/hook", None, "dlv-1", {}, policy=LOOPBACK)
    assert attempt.status_code is None and "Connect" in attempt.error


async def test_the_attempt_is_a_client_span_of_the_events_trace_and_the_receiver_gets_its_traceparent(monkeypatch):
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    monkeypatch.setattr(webhook, "_tracer", provider.get_tracer("test"))
    trace_id = secrets.token_hex(16)
    parent = TraceContextTextMapPropagator().extract({"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"})
    token = otel_context.attach(parent)
    try:
        async with serving() as (receiver, port), session() as client:
            ok = await webhook.post(client, f"http://127.0.0.1:{port}/hook?token=s3cret", None, "dlv-1", {},
                                    policy=LOOPBACK)
            receiver.status = 500
            failed = await webhook.post(client, f"http://127.0.0.1:{port}/hook", None, "dlv-2", {}, policy=LOOPBACK)
    finally:
        otel_context.detach(token)
    assert ok.ok and not failed.ok
    first, second = spans.get_finished_spans()
    assert first.kind == SpanKind.CLIENT and first.context.trace_id == int(trace_id, 16)
    assert first.attributes["http.request.method"] == "POST" and first.attributes["http.response.status_code"] == 204
    assert first.attributes["url.full"] == f"http://127.0.0.1:{port}/hook"  # no query: it may hold a token
    assert second.attributes["http.response.status_code"] == 500 and second.status.status_code == StatusCode.ERROR
    sent = receiver.requests[0]["headers"]["traceparent"].split("-")
    assert sent[1] == trace_id and sent[2] == format(first.context.span_id, "016x")


def certificate_for(name: str, folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext, list[str]]:
    """A self-signed certificate for ``name``: the server's context, a client context trusting only it, and
    a list the server's SNI callback appends the names clients asked for to."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    asked: list[str] = []
    server.sni_callback = lambda sock, server_name, ctx: asked.append(server_name)
    client = ssl.create_default_context(cafile=str(folder / "cert.pem"))
    return server, client, asked


@pytest.mark.parametrize("certified", ["hooks.example", "other.example"])
async def test_over_tls_the_pinned_address_is_verified_against_the_host_name(tmp_path, monkeypatch, certified):
    """Sent to the checked address, the TLS handshake still names the host (SNI) and the certificate must be
    the host's: one for another name fails, though it comes from the very address that was checked."""
    async def resolve(host: str, port: int):
        assert host == "hooks.example"
        return [ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(destinations, "resolve", resolve)
    server, client_tls, asked = certificate_for(certified, tmp_path)
    async with serving(tls=server) as (receiver, port), \
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client_tls)) as client:
        attempt = await webhook.post(client, f"https://hooks.example:{port}/hook", None, "dlv-1", {}, policy=LOOPBACK)
    assert asked == ["hooks.example"]
    if certified == "hooks.example":
        assert attempt.ok and receiver.requests[0]["headers"]["Host"] == f"hooks.example:{port}"
    else:
        assert attempt.status_code is None and "certificate" in attempt.error.lower() and receiver.requests == []
