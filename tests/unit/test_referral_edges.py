"""The referral API's edge helpers: page cursors, and text the database can store."""

import uuid
from datetime import UTC, datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from pathways_referral.domain.text import Text
from pathways_referral.entrypoints.common import decode_after, decode_id_cursor, encode_after, encode_id_cursor
from pathways_referral.service_layer.commands import PersonDetails
from pathways_runtime.errors import InvalidCommand

pytestmark = pytest.mark.unit


def test_a_cursor_round_trips_and_a_forged_one_is_a_422_naming_it() -> None:
    at, row_id = datetime(2026, 11, 2, 9, 30, tzinfo=UTC), uuid.uuid4()
    after = decode_after(encode_after(at, row_id))
    assert (after.at, after.id) == (at, row_id)
    assert decode_id_cursor(encode_id_cursor(42)) == 42
    for forged in ("not-a-cursor", "W10", "e30", "WzEsMl0"):  # junk, [], {}, [1,2]
        with pytest.raises(InvalidCommand) as bad:
            decode_after(forged)
        assert bad.value.problems[0].loc == ("query", "cursor")
    with pytest.raises(InvalidCommand):
        decode_id_cursor("bm90IGFuIGlk")  # "not an id"


@pytest.mark.parametrize("value", ["a\x00b", "\ud800", "x\udfff"])
def test_text_refuses_what_postgresql_cannot_store(value: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(Text).validate_python(value)


def test_person_fields_refuse_a_nul() -> None:
    with pytest.raises(ValidationError) as bad:
        PersonDetails(name="Ma\x00ria")
    assert bad.value.errors()[0]["loc"] == ("name",)
    assert PersonDetails(name="Nguyễn Thị Hoa").name == "Nguyễn Thị Hoa"
