"""The runtime's protections on the real services (issue 14): body limits, readiness that tells the truth."""

from __future__ import annotations

import pytest

from pathways_runtime.auth import Role
from pathways_runtime.http import MiB
from support import bearer

pytestmark = pytest.mark.integration
INSPECTOR = bearer(Role.INSPECTOR, "health-department")
OPS = bearer(Role.OPS, "ops")


async def test_a_50_mb_inspection_is_refused_with_413_and_healthz_still_answers(running):
    body = b'{"establishment_id": "' + b"x" * (50 * MiB) + b'"}'
    response = await running.inspection.post("/inspections", content=body,
                                             headers=INSPECTOR | {"content-type": "application/json"})
    assert response.status_code == 413
    assert (await running.inspection.get("/healthz")).status_code == 200


async def test_the_registry_import_takes_bodies_larger_than_the_default_limit(running):
    # Over the 1 MiB default, under the import's own limit: it reaches the import, which names the problem.
    body = "not_a_registry_column\n" + "x\n" * MiB
    response = await running.inspection.post("/establishments/import", content=body.encode(),
                                             headers=OPS | {"content-type": "text/csv"})
    assert response.status_code == 422, response.text
    assert "missing required columns" in response.text
