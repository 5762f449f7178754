"""Field encryption of person data: round trip, tamper detection, no swapping between rows, key rotation."""

import base64
import logging
import os
import uuid

import pytest

from pathways_referral.adapters.crypto import DecryptionError, FieldCipher, parse_key

pytestmark = pytest.mark.unit

KEY_A, KEY_B = os.urandom(32), os.urandom(32)
ROW = uuid.uuid4()


def _env(key_id: str, key: bytes) -> str:
    return f"{key_id}:{base64.b64encode(key).decode()}"


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher({"a": KEY_A}, "a")


@pytest.mark.parametrize("plaintext", ["Maria", "", "+1 507 555 0100", "Nguyễn Thị Hoa, 2004-05-06 🙂"])
def test_round_trip(cipher: FieldCipher, plaintext: str) -> None:
    stored = cipher.encrypt(plaintext, column="persons.name", row_id=ROW)
    assert plaintext.encode() not in stored or plaintext == ""
    assert cipher.decrypt(stored, column="persons.name", row_id=ROW) == plaintext


def test_the_same_value_encrypts_differently_each_time(cipher: FieldCipher) -> None:
    assert cipher.encrypt("Maria", column="persons.name", row_id=ROW) != cipher.encrypt(
        "Maria", column="persons.name", row_id=ROW)


@pytest.mark.parametrize("position", [0, 1, 5, 20, -1])  # header, key id, nonce, ciphertext, tag
def test_any_tampered_byte_is_detected(cipher: FieldCipher, position: int) -> None:
    stored = bytearray(cipher.encrypt("Maria", column="persons.name", row_id=ROW))
    stored[position] ^= 0x01
    with pytest.raises(DecryptionError):
        cipher.decrypt(bytes(stored), column="persons.name", row_id=ROW)


def test_truncated_values_are_refused(cipher: FieldCipher) -> None:
    stored = cipher.encrypt("Maria", column="persons.name", row_id=ROW)
    with pytest.raises(DecryptionError):
        cipher.decrypt(stored[:20], column="persons.name", row_id=ROW)


@pytest.mark.parametrize(("column", "row_id"), [("persons.name", uuid.uuid4()), ("persons.phone", ROW)])
def test_a_value_moved_to_another_row_or_column_does_not_decrypt(cipher: FieldCipher, column: str,
                                                                 row_id: uuid.UUID) -> None:
    stored = cipher.encrypt("Maria", column="persons.name", row_id=ROW)
    with pytest.raises(DecryptionError):
        cipher.decrypt(stored, column=column, row_id=row_id)


def test_keys_rotate_old_values_still_decrypt_and_are_flagged() -> None:
    old = FieldCipher({"a": KEY_A}, "a").encrypt("Maria", column="persons.name", row_id=ROW)
    rotated = FieldCipher.from_env({"PATHWAYS_FIELD_KEY": _env("b", KEY_B),
                                    "PATHWAYS_FIELD_KEYS_RETIRED": _env("a", KEY_A)})
    assert rotated.decrypt(old, column="persons.name", row_id=ROW) == "Maria"
    assert rotated.needs_rotation(old)
    fresh = rotated.encrypt("Maria", column="persons.name", row_id=ROW)
    assert not rotated.needs_rotation(fresh)


def test_a_value_under_an_unknown_key_names_the_problem() -> None:
    old = FieldCipher({"a": KEY_A}, "a").encrypt("Maria", column="persons.name", row_id=ROW)
    with pytest.raises(DecryptionError, match="unknown key id 'a'"):
        FieldCipher({"b": KEY_B}, "b").decrypt(old, column="persons.name", row_id=ROW)


def test_without_a_configured_key_the_development_key_is_used_loudly(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        cipher = FieldCipher.from_env({})
    assert cipher.uses_development_key and "DEVELOPMENT" in caplog.text
    assert not FieldCipher.from_env({"PATHWAYS_FIELD_KEY": _env("prod-1", KEY_A)}).uses_development_key


def test_a_bare_base64_key_gets_a_stable_derived_id() -> None:
    bare = base64.b64encode(KEY_A).decode()
    assert parse_key(bare) == parse_key(bare) and parse_key(bare)[0].startswith("k-")


@pytest.mark.parametrize("spec", ["prod:" + base64.b64encode(os.urandom(16)).decode(), "prod:not base64!"])
def test_a_malformed_key_is_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        FieldCipher.from_env({"PATHWAYS_FIELD_KEY": spec})
