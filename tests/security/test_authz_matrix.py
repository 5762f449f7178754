"""The authorisation matrix: every operation of every service × every kind of bad token and every role.

The table below is the policy, written out: which roles an operation admits. Every other role gets 403,
and no token, a forged one (another secret), an expired one, ``alg=none`` and a wrong issuer get 401 —
checked before anything else, so the request's body and path do not matter. An operation a service
serves that is missing from the table fails the test: a new route must say who may call it.
"""

from __future__ import annotations

import re
import time
import uuid

import httpx
import jwt
import pytest

from pathways_runtime.auth import ISSUER, Role, issue_token
from processes import WITH_INSIGHTS, System
from support import TEST_JWT_SECRET

pytestmark = pytest.mark.security
OPS, TRIAGE, INSPECTOR, DEPARTMENT, AGENCY = Role.OPS, Role.TRIAGE, Role.INSPECTOR, Role.DEPARTMENT, Role.AGENCY
PRIVACY_OFFICER, RESEARCHER = Role.PRIVACY, Role.RESEARCHER
ORG = {Role.OPS: "ops", Role.TRIAGE: "mdt", Role.INSPECTOR: "health-department",
       Role.DEPARTMENT: "police-department", Role.AGENCY: "riverbend-survivor-advocacy",
       Role.PRIVACY: "privacy-office", Role.RESEARCHER: "state-task-force"}
PUBLIC = {"/healthz", "/readyz", "/metrics", "/asyncapi.json", "/openapi.json", "/docs", "/redoc",
          "/open-data/lives.zip"}
ADMITTED: dict[tuple[str, str, str], set[Role]] = {
    ("insights", "GET", "/statistics"): {OPS, RESEARCHER},
    ("insights", "GET", "/statistics/releases"): {OPS},
    ("insights", "POST", "/simulations"): {OPS, TRIAGE},
    ("inspection", "GET", "/catalog/indicators"): {AGENCY, DEPARTMENT, INSPECTOR, OPS, TRIAGE},
    ("inspection", "GET", "/establishments"): {DEPARTMENT, INSPECTOR, OPS, TRIAGE},
    ("inspection", "GET", "/establishments/{establishment_id}"): {DEPARTMENT, INSPECTOR, OPS, TRIAGE},
    ("inspection", "GET", "/establishments/{establishment_id}/screening"): {DEPARTMENT, INSPECTOR, OPS, TRIAGE},
    ("inspection", "GET", "/programs"): {AGENCY, DEPARTMENT, INSPECTOR, OPS, TRIAGE},
    ("inspection", "GET", "/programs/{program}/checklist"): {AGENCY, DEPARTMENT, INSPECTOR, OPS, TRIAGE},
    ("inspection", "GET", "/reports/coverage"): {DEPARTMENT, OPS, TRIAGE},
    ("inspection", "GET", "/reports/red-flag-rate"): {DEPARTMENT, OPS, TRIAGE},
    ("inspection", "GET", "/schedule/{program}"): {DEPARTMENT, INSPECTOR, OPS, TRIAGE},
    ("inspection", "POST", "/establishments"): {INSPECTOR, OPS},
    ("inspection", "POST", "/establishments/import"): {INSPECTOR, OPS},
    ("inspection", "POST", "/follow-ups"): {DEPARTMENT, INSPECTOR, OPS},
    ("inspection", "POST", "/inspections"): {INSPECTOR},
    ("inspection", "POST", "/inspections/batch"): {INSPECTOR},
    ("notification", "GET", "/deliveries"): {DEPARTMENT, OPS},
    ("notification", "GET", "/deliveries/{delivery_id}/attempts"): {DEPARTMENT, OPS},
    ("notification", "GET", "/subscriptions/{subscription_id}"): {DEPARTMENT, OPS},
    ("notification", "POST", "/deliveries/replay"): {OPS},
    ("notification", "POST", "/deliveries/{delivery_id}/replay"): {OPS},
    ("notification", "POST", "/subscriptions"): {DEPARTMENT, OPS},
    ("referral", "GET", "/agencies"): {OPS, TRIAGE},
    ("referral", "GET", "/agencies/{agency_id}"): {OPS, TRIAGE},
    ("referral", "GET", "/audit/releases"): {PRIVACY_OFFICER},
    ("referral", "GET", "/cases"): {OPS, TRIAGE},
    ("referral", "GET", "/cases/{case_id}"): {OPS, TRIAGE},
    ("referral", "GET", "/cases/{case_id}/do-not-contact"): {OPS},
    ("referral", "GET", "/diversions"): {DEPARTMENT},
    ("referral", "GET", "/diversions/{referral_id}"): {DEPARTMENT},
    ("referral", "GET", "/people/{person_id}"): {AGENCY},
    ("referral", "GET", "/referrals"): {AGENCY, OPS, TRIAGE},
    ("referral", "GET", "/referrals/{referral_id}"): {AGENCY, OPS, TRIAGE},
    ("referral", "GET", "/reports/closed-loop"): {OPS, TRIAGE},
    ("referral", "GET", "/status/red-flags"): {DEPARTMENT},
    ("referral", "POST", "/agencies"): {OPS, TRIAGE},
    ("referral", "POST", "/cases/{case_id}/close"): {TRIAGE},
    ("referral", "POST", "/cases/{case_id}/people"): {TRIAGE},
    ("referral", "POST", "/cases/{case_id}/triage"): {TRIAGE},
    ("referral", "POST", "/consents/{consent_id}/revoke"): {AGENCY, TRIAGE},
    ("referral", "POST", "/diversions"): {DEPARTMENT},
    ("referral", "POST", "/people/{person_id}/consents"): {TRIAGE},
    ("referral", "POST", "/referrals/{referral_id}/accept"): {AGENCY},
    ("referral", "POST", "/referrals/{referral_id}/cancel"): {AGENCY, TRIAGE},
    ("referral", "POST", "/referrals/{referral_id}/complete"): {AGENCY},
    ("referral", "POST", "/referrals/{referral_id}/engage"): {AGENCY},
    ("referral", "POST", "/referrals/{referral_id}/fail"): {AGENCY},
    ("referral", "POST", "/referrals/{referral_id}/reject"): {AGENCY},
    ("referral", "PUT", "/agencies/{agency_id}"): {OPS, TRIAGE},
    ("referral", "PUT", "/people/{person_id}/do-not-contact"): {TRIAGE},
}


def _claims(**override) -> dict:
    now = int(time.time())
    return {"iss": ISSUER, "sub": "attacker", "role": "ops", "org": "ops", "iat": now, "exp": now + 600} | override


BAD_TOKENS = {
    "none": None,
    "forged": jwt.encode(_claims(), "another-secret-of-at-least-32-bytes-long", algorithm="HS256"),
    "expired": jwt.encode(_claims(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600), TEST_JWT_SECRET,
                          algorithm="HS256"),
    "alg=none": jwt.encode(_claims(), None, algorithm="none"),
    "wrong issuer": jwt.encode(_claims(iss="someone-else"), TEST_JWT_SECRET, algorithm="HS256"),
    "unknown role": jwt.encode(_claims(role="superuser"), TEST_JWT_SECRET, algorithm="HS256"),
}


def _fill(path: str) -> str:
    """Concrete ids for a path's parameters (the check comes first: they need not exist)."""
    return re.sub(r"\{([^}]+)\}", lambda m: "x" if m.group(1) in ("program", "establishment_id", "agency_id")
                  else str(uuid.uuid4()), path)


@pytest.mark.parametrize("service", WITH_INSIGHTS)
async def test_every_operation_admits_exactly_the_roles_of_the_table(system: System, service: str):
    async with httpx.AsyncClient(timeout=10, base_url=system.url(service)) as http:
        spec = (await http.get("/openapi.json")).json()
        served = {(service, method.upper(), path) for path, ops in spec["paths"].items() for method in ops
                  if path not in PUBLIC}
        assert served == {k for k in ADMITTED if k[0] == service}, "the table and the service disagree"
        wrong: list[str] = []
        cells = 0
        for _, method, path in sorted(served):
            url = _fill(path)
            for kind, token in BAD_TOKENS.items():
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                status = (await http.request(method, url, headers=headers, json={})).status_code
                cells += 1
                if status != 401:
                    wrong.append(f"{method} {path} with a {kind} token: {status}, not 401")
            for role in Role:
                token = issue_token(TEST_JWT_SECRET, subject=f"matrix-{role}", role=role, org=ORG.get(role, role.value))
                status = (await http.request(method, url, headers={"Authorization": f"Bearer {token}"},
                                             json={})).status_code
                cells += 1
                admitted = role in ADMITTED[(service, method, path)]
                if admitted and status in (401, 403):
                    wrong.append(f"{method} {path} refused {role} ({status}) though the table admits it")
                if not admitted and status != 403:
                    wrong.append(f"{method} {path} let {role} through ({status}); the table says 403")
    assert not wrong, f"{len(wrong)} of {cells} cells wrong:\n" + "\n".join(wrong)


async def test_public_paths_answer_without_a_token(system: System):
    async with httpx.AsyncClient(timeout=10) as http:
        for service in WITH_INSIGHTS:
            for path in ("/healthz", "/readyz", "/openapi.json", "/asyncapi.json", "/metrics"):
                assert (await http.get(system.url(service) + path)).status_code == 200, (service, path)
        # The LIVES open-data export is published as it is (no person data, no screening signals).
        assert (await http.get(system.url("inspection") + "/open-data/lives.zip")).status_code == 200
