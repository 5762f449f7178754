"""The outcome of a delivery attempt: delivered, unsubscribed (410), retried, or parked after the last."""

import pytest

from pathways_notification.domain.backoff import MAX_ATTEMPTS
from pathways_notification.domain.outcome import Outcome, decide

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("status_code", [200, 202, 204, 250])
def test_any_2xx_or_smtp_250_is_delivered(status_code):
    assert decide(status_code, attempts=MAX_ATTEMPTS) is Outcome.DELIVERED


def test_410_unsubscribes_at_once_whatever_the_attempt():
    assert decide(410, attempts=1) is Outcome.UNSUBSCRIBED


@pytest.mark.parametrize("status_code", [None, 301, 400, 404, 429, 500, 503, 550])
def test_other_answers_are_retried_until_the_last_attempt_then_parked(status_code):
    assert decide(status_code, attempts=MAX_ATTEMPTS - 1) is Outcome.RETRY
    assert decide(status_code, attempts=MAX_ATTEMPTS) is Outcome.PARKED
    assert decide(status_code, attempts=2, max_attempts=2) is Outcome.PARKED
