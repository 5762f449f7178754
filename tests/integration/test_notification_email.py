"""Email channel against a real SMTP server (aiosmtpd in the test): headers, redacted body, failures."""

import json
import socket
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from pydantic import SecretStr
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from pathways_notification.adapters import email
from pathways_notification.domain.redaction import redact

pytestmark = pytest.mark.integration

CATALOG = {"LOCKED_DOORS": "criminal_operation", "SIGNS_OF_INJURY": "victim_vulnerability"}
RED_FLAG = {"red_flag_id": "5f0c6b7e-0000-4000-8000-000000000001", "establishment_id": "EST-42",
            "jurisdiction": "olmsted", "level": "red_flag", "score": 7.5, "categories": ["sex"],
            "dimensions": ["criminal_operation", "victim_vulnerability"],
            "indicator_codes": ["LOCKED_DOORS", "SIGNS_OF_INJURY"], "minor_indicated": False}


class Inbox:
    """An aiosmtpd handler that keeps what it receives and refuses one address."""

    def __init__(self) -> None:
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope, message_from_bytes(envelope.content, policy=default_policy)))
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _accept_only(user: bytes, password: bytes):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == user and auth_data.password == password
        return AuthResult(success=ok, handled=False)  # unhandled: aiosmtpd answers 535 itself
    return authenticator


@pytest.fixture
def smtp_server():
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, auth_require_tls=False,
                            authenticator=_accept_only(b"pathways", b"s3cret"))
    controller.start()
    yield inbox, email.EmailSettings(host="127.0.0.1", port=port, sender="pathways@city.example",
                                     starttls=False, username="pathways", password="s3cret", timeout_seconds=5)
    controller.stop()


async def test_a_delivery_arrives_with_its_headers_and_the_redacted_body(smtp_server):
    inbox, settings = smtp_server
    payload = {"id": "evt-1", "type": "redflag.raised", "subject": "EST-42",
               "data": redact("police", "redflag.raised", RED_FLAG, CATALOG.get)}

    attempt = await email.send(settings, "police-intake@city.example", "dlv-123", "redflag.raised", payload)

    assert attempt.ok and attempt.status_code == 250 and attempt.error is None
    [(envelope, message)] = inbox.messages
    assert envelope.mail_from == "pathways@city.example"
    assert envelope.rcpt_tos == ["police-intake@city.example"]
    assert message["Pathways-Delivery-Id"] == "dlv-123"
    assert message["Message-ID"] == "<dlv-123@city.example>"
    assert message["Subject"] == "[Pathways] redflag.raised"
    text = message.get_content()
    assert json.loads(text) == payload
    assert json.loads(text)["data"]["indicator_codes"] == ["LOCKED_DOORS"]
    assert "SIGNS_OF_INJURY" not in text and "minor_indicated" not in text and "score" not in text


async def test_a_retry_carries_the_same_ids_so_the_receiver_can_drop_it(smtp_server):
    inbox, settings = smtp_server
    for _ in range(2):
        await email.send(settings, "labor@city.example", "dlv-7", "case.opened", {"data": {}})
    assert {m["Pathways-Delivery-Id"] for _, m in inbox.messages} == {"dlv-7"}
    assert len({m["Message-ID"] for _, m in inbox.messages}) == 1


async def test_a_refused_mailbox_is_a_failed_attempt_with_the_smtp_code(smtp_server):
    inbox, settings = smtp_server
    attempt = await email.send(settings, "nobody@city.example", "dlv-9", "case.opened", {"data": {}})
    assert not attempt.ok and attempt.status_code == 550 and "no such mailbox" in attempt.error
    assert inbox.messages == []


async def test_wrong_credentials_are_a_failed_attempt(smtp_server):
    _, settings = smtp_server
    attempt = await email.send(settings.model_copy(update={"password": SecretStr("wrong")}), "labor@city.example",
                               "dlv-10", "case.opened", {"data": {}})
    assert not attempt.ok and attempt.status_code == 535


async def test_a_server_that_is_down_is_a_failed_attempt_without_a_code():
    settings = email.EmailSettings(host="127.0.0.1", port=_free_port(), timeout_seconds=2)
    attempt = await email.send(settings, "labor@city.example", "dlv-11", "case.opened", {"data": {}})
    assert not attempt.ok and attempt.status_code is None and attempt.error


def test_settings_come_from_the_environment(monkeypatch):
    for name, value in {"SMTP_HOST": "mail.city.example", "SMTP_PORT": "587", "SMTP_FROM": "noreply@city.example",
                        "SMTP_STARTTLS": "true", "SMTP_USERNAME": "svc", "SMTP_PASSWORD": "pw"}.items():
        monkeypatch.setenv(name, value)
    settings = email.EmailSettings()
    assert (settings.host, settings.port, settings.sender, settings.starttls) == (
        "mail.city.example", 587, "noreply@city.example", True)
    assert settings.username == "svc" and settings.password.get_secret_value() == "pw"
