"""Bearer tokens: 401 before anything else, 403 for the wrong role."""

import time

import jwt
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from pathways_runtime.auth import BearerAuthMiddleware, Principal, Role, issue_token, require

pytestmark = pytest.mark.unit
SECRET = "unit-test-secret-of-at-least-32-bytes!"


class Body(BaseModel):
    count: int


def _client() -> TestClient:
    router = APIRouter()

    @router.post("/things")
    def create(body: Body, who: Principal = require(Role.INSPECTOR)) -> dict:
        return {"org": who.org, "count": body.count}

    @router.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    app = FastAPI()
    app.include_router(router)
    app.add_middleware(BearerAuthMiddleware, secret=SECRET)
    return TestClient(app)


def _token(role: Role = Role.INSPECTOR, secret: str = SECRET, ttl: int = 60) -> dict:
    return {"Authorization": f"Bearer {issue_token(secret, subject='s', role=role, org='health', ttl_seconds=ttl)}"}


def test_health_is_public():
    assert _client().get("/healthz").status_code == 200


def test_missing_token_is_401_even_with_a_malformed_body():
    response = _client().post("/things", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 401


@pytest.mark.parametrize("headers", [
    {"Authorization": "Bearer not-a-jwt"},
    _token(secret="forged"),
    {"Authorization": "Bearer " + jwt.encode({"iss": "pathways", "sub": "s", "role": "inspector", "org": "x",
                                               "exp": int(time.time()) - 10}, SECRET, algorithm="HS256")},
])
def test_forged_or_expired_token_is_401(headers):
    assert _client().post("/things", json={"count": 1}, headers=headers).status_code == 401


def test_wrong_role_is_403():
    assert _client().post("/things", json={"count": 1}, headers=_token(Role.AGENCY)).status_code == 403


def test_valid_token_reaches_validation_that_names_the_field():
    response = _client().post("/things", json={"count": "many"}, headers=_token())
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "count"]
    assert _client().post("/things", json={"count": 2}, headers=_token()).json() == {"org": "health", "count": 2}
