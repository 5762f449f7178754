"""``Text``: what PostgreSQL can store, refused otherwise with the reason (a 422, never a 500 in the driver)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from pathways_contracts.text import Text

pytestmark = pytest.mark.unit
TEXT = TypeAdapter(Text)


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")))
def test_any_storable_text_passes_unchanged_and_encodes_as_utf8(value):
    assert TEXT.validate_python(value) == value
    value.encode("utf-8")


@pytest.mark.parametrize("value,why", [("a\x00b", "NUL character at position 1"),
                                       ("\ud800x", "lone surrogate"), ("ok\udfff", "lone surrogate")])
def test_nul_and_lone_surrogates_are_refused_with_the_reason(value, why):
    with pytest.raises(ValidationError, match=why):
        TEXT.validate_python(value)
