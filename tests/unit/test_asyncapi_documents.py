"""The committed AsyncAPI documents are the ones the code generates (run `make schemas` after a change)."""

import json

import pytest

from pathways_cli.contracts import ASYNCAPI_DIR, SERVICES, render_asyncapi

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("service", SERVICES)
def test_committed_asyncapi_document_matches_the_code(service):
    committed = ASYNCAPI_DIR / f"{service}.json"
    assert committed.exists(), f"missing {committed}; run `make schemas`"
    assert json.loads(committed.read_text()) == json.loads(render_asyncapi(service)), \
        f"{committed.name} is stale; run `make schemas` and commit the result"


@pytest.mark.parametrize("service", SERVICES)
def test_every_channel_has_a_description(service):
    document = json.loads(render_asyncapi(service))
    assert document["asyncapi"].startswith("3.")
    assert document["info"]["description"]
    assert document["channels"]
    for name, channel in document["channels"].items():
        assert channel.get("description"), f"channel {name!r} of {service} has no description"
