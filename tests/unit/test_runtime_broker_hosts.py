"""A bootstrap string of several brokers reaches the client as several hosts (FastStream takes one string
for one host: a three-broker cluster's address did not connect at all)."""

import pytest

from pathways_runtime.broker import bootstrap_hosts
from pathways_runtime.settings import Settings

pytestmark = pytest.mark.unit


def test_a_comma_separated_bootstrap_string_is_one_host_per_broker():
    settings = Settings(_env_file=None, KAFKA_BOOTSTRAP_SERVERS="k1:9092, k2:9092,k3:9093")
    assert bootstrap_hosts(settings) == ["k1:9092", "k2:9092", "k3:9093"]
