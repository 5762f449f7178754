"""The verification recipe in docs/webhooks.md, run as written, against deliveries our adapter signs."""

import base64
import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from pathways_notification.adapters import webhook
from webhook_server import serving, session

pytestmark = pytest.mark.unit

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _recipe() -> dict:
    """Execute the code block that follows the recipe marker in the doc, so doc and test cannot drift."""
    found = re.search(r"<!-- recipe:verify[^>]*-->\s*```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert found, "docs/webhooks.md lost its recipe:verify code block"
    namespace: dict = {}
    exec(compile(found.group(1), str(DOC), "exec"), namespace)  # noqa: S102 (our own documentation)
    return namespace


RECIPE = _recipe()
verify, InvalidSignature = RECIPE["verify"], RECIPE["InvalidSignature"]


@dataclass(frozen=True)
class Captured:
    headers: dict[str, str]  # names in lower case, as a receiver's framework may hand them over
    content: bytes


async def _captured_delivery(payload: dict, delivery_id: str = "dlv-1") -> Captured:
    """A delivery as adapters/webhook.py sends it, as a real local server received it."""
    async with serving() as (receiver, port), session() as client:
        attempt = await webhook.post(client, f"http://127.0.0.1:{port}/hook", SECRET, delivery_id, payload)
    assert attempt.ok
    [got] = receiver.requests
    return Captured({name.lower(): value for name, value in got["headers"].items()}, got["body"])


PAYLOAD = {"id": "evt-1", "type": "redflag.raised", "subject": "EST-42", "data": {"level": "urgent", "note": "é"}}


async def test_a_real_delivery_verifies_and_yields_its_idempotency_key():
    request = await _captured_delivery(PAYLOAD, "dlv-42")
    assert verify(SECRET, dict(request.headers), request.content) == "dlv-42"
    assert json.loads(request.content) == PAYLOAD
    assert request.headers["content-type"] == "application/cloudevents+json"  # structured mode


async def test_header_case_does_not_matter():
    request = await _captured_delivery(PAYLOAD)
    shouted = {name.upper(): value for name, value in request.headers.items()}
    assert verify(SECRET, shouted, request.content) == "dlv-1"


@pytest.mark.parametrize("tamper", [
    lambda h, b: (h, b.replace(b"urgent", b"none__")),
    lambda h, b: ({**h, "webhook-id": "dlv-other"}, b),
    lambda h, b: ({**h, "webhook-signature": "v2," + h["webhook-signature"][3:]}, b),
    lambda h, b: ({**h, "webhook-signature": "v1,not-base64!"}, b),
    lambda h, b: ({k: v for k, v in h.items() if k != "webhook-signature"}, b),
    lambda h, b: ({**h, "webhook-timestamp": "soon"}, b),
], ids=["body", "id", "version", "garbage", "missing", "timestamp-not-a-number"])
async def test_a_tampered_delivery_is_rejected(tamper):
    request = await _captured_delivery(PAYLOAD)
    headers, body = tamper(dict(request.headers), request.content)
    with pytest.raises(InvalidSignature):
        verify(SECRET, headers, body)


async def test_another_secret_is_rejected():
    request = await _captured_delivery(PAYLOAD)
    other = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    with pytest.raises(InvalidSignature):
        verify(other, dict(request.headers), request.content)


@pytest.mark.parametrize("skew", [-301, 301])
def test_a_correct_signature_outside_the_tolerance_window_is_rejected(skew):
    body = b'{"id":"evt-1"}'
    now = int(time.time())
    headers = webhook.signature_headers(SECRET, "dlv-1", body, timestamp=now + skew)
    with pytest.raises(InvalidSignature, match="tolerance"):
        verify(SECRET, headers, body, now=now)
    assert verify(SECRET, headers, body, now=now + skew) == "dlv-1"  # the signature itself is fine


def test_one_valid_signature_among_several_is_enough():
    """Standard Webhooks allows several signatures in the header, as during a secret rotation."""
    body = b'{"id":"evt-1"}'
    headers = webhook.signature_headers(SECRET, "dlv-1", body)
    headers["webhook-signature"] = "v1,AAAA " + headers["webhook-signature"]
    assert verify(SECRET, headers, body) == "dlv-1"


def test_the_doc_states_the_tolerance_the_recipe_uses():
    assert RECIPE["TOLERANCE_SECONDS"] == 300 and "5 minutes" in DOC.read_text()
