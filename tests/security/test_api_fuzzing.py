"""Property-based fuzzing of every OpenAPI document (schemathesis), with valid tokens of every role.

Schemathesis generates requests from each operation's own schema — valid ones and, in the negative
mode, ones that break it (wrong types, missing fields, odd strings). Whatever arrives, a service answers
with a 2xx, 3xx or 4xx: a 5xx is a defect (an unhandled error, or bad input reaching the database).
The counts (cases generated, server errors) are logged for the closing note.
"""

from __future__ import annotations

from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from pathways_runtime.auth import Role
from processes import WITH_INSIGHTS, System
from support import announce, bearer

pytestmark = pytest.mark.security
EXAMPLES_PER_MODE = 10  # per operation, per role it admits, per generation mode
# A token per role, each of a real organisation: the fuzzer then reaches past the role checks.
TOKENS = {Role.OPS: "ops", Role.TRIAGE: "mdt", Role.INSPECTOR: "health-department", Role.RESEARCHER: "task-force",
          Role.PRIVACY: "privacy-office",
          Role.DEPARTMENT: "police-department", Role.AGENCY: "victim-services"}


@pytest.mark.parametrize("service", WITH_INSIGHTS)
def test_no_generated_request_gets_a_server_error(system: System, service: str):
    schema = schemathesis.openapi.from_url(f"{system.url(service)}/openapi.json")
    session = requests.Session()
    outcomes: Counter[str] = Counter()
    server_errors: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for role, org in TOKENS.items():
            headers = bearer(role, org)
            if not _admits(operation, system.url(service), session, headers):
                outcomes["role refused"] += 1
                continue
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @settings(max_examples=EXAMPLES_PER_MODE, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck))
                @given(case=operation.as_strategy(generation_mode=mode))
                def attack(case) -> None:
                    response = case.call(base_url=system.url(service), session=session, headers=headers, timeout=15)
                    outcomes[f"{response.status_code // 100}xx"] += 1
                    if response.status_code >= 500:
                        server_errors.append(f"{case.method} {case.formatted_path} {case.query or ''} as {role}: "
                                             f"{response.status_code} {response.text[:200]}")

                try:
                    attack()
                except Unsatisfiable:  # nothing to break in this operation (e.g. no parameters, no body)
                    outcomes["not generable"] += 1
    announce("fuzzed %s: %d requests %s; server errors: %d", service, sum(outcomes.values()),
                dict(outcomes), len(server_errors))
    assert not server_errors, "\n".join(server_errors[:20])


def _admits(operation, base_url: str, session: requests.Session, headers: dict) -> bool:
    """Whether the role may call the operation at all (fuzzing a 403 tests nothing past the role check)."""
    seen: list[int] = []

    @settings(max_examples=1, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def probe(case) -> None:
        seen.append(case.call(base_url=base_url, session=session, headers=headers, timeout=15).status_code)

    try:
        probe()
    except Unsatisfiable:
        return False
    return bool(seen) and seen[0] not in (401, 403)
