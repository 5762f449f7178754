"""Email delivery over SMTP, for departments that want notifications in a mailbox.

The server comes from the environment (``SMTP_HOST``, ``SMTP_PORT``,
``SMTP_FROM``, and optionally ``SMTP_STARTTLS``, ``SMTP_TLS``,
``SMTP_USERNAME``, ``SMTP_PASSWORD``), read once when the service's settings
are built. The body is the already-redacted event as JSON, the same
structured-mode CloudEvent a webhook receives; nothing else about the event
goes into the message.
"""

from __future__ import annotations

import json
import time
from email.message import EmailMessage

import aiosmtplib
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from pathways_notification.domain.model import Attempt

DELIVERY_ID_HEADER = "Pathways-Delivery-Id"
EVENT_TYPE_HEADER = "Pathways-Event-Type"
SMTP_OK = 250


class EmailSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SMTP_", env_file=".env", extra="ignore", populate_by_name=True)

    host: str = "localhost"
    port: int = 25
    sender: str = Field("pathways@localhost", validation_alias=AliasChoices("SMTP_FROM", "sender"))
    # None: use STARTTLS when the server offers it; True: require it; False: never.
    starttls: bool | None = None
    tls: bool = False  # implicit TLS from the first byte (port 465)
    username: str | None = None
    password: SecretStr | None = None
    timeout_seconds: float = 30.0


def build_message(sender: str, to: str, delivery_id: str, event_type: str, payload: dict) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = f"[Pathways] {event_type}"
    # The same ids on every retry, so a mailbox or a script can drop duplicates.
    message["Message-ID"] = f"<{delivery_id}@{_domain(sender)}>"
    message[DELIVERY_ID_HEADER] = delivery_id
    message[EVENT_TYPE_HEADER] = event_type
    # RFC 3834: stops out-of-office replies from looping back to the sender.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(json.dumps(payload, indent=2, sort_keys=True, default=str))
    return message


async def send(settings: EmailSettings, to: str, delivery_id: str, event_type: str, payload: dict) -> Attempt:
    """One attempt; the SMTP reply code stands where the webhook adapter puts the HTTP status."""
    message = build_message(settings.sender, to, delivery_id, event_type, payload)
    started = time.perf_counter()
    try:
        await aiosmtplib.send(
            message, hostname=settings.host, port=settings.port, start_tls=settings.starttls, use_tls=settings.tls,
            username=settings.username,
            password=settings.password.get_secret_value() if settings.password else None,
            timeout=settings.timeout_seconds)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        refused = exc.recipients[0]
        return Attempt(refused.code, _ms(started), refused.message)
    except aiosmtplib.SMTPResponseException as exc:
        return Attempt(exc.code, _ms(started), exc.message)
    except (aiosmtplib.SMTPException, OSError) as exc:
        return Attempt(None, _ms(started), repr(exc))
    return Attempt(SMTP_OK, _ms(started), None)


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip(">") or "pathways"


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
