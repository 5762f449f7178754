"""Bearer-token authentication (JWT, HS256) and role checks.

The check is an ASGI middleware, so a request without a valid token gets 401
before routing, body parsing or validation look at anything. Health,
readiness, metrics and docs are the only public paths. A token's role and
organisation decide what its holder may see; handlers ask with ``require``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

import jwt
from fastapi import Depends, HTTPException, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from pathways_runtime.http import AsciiJSONResponse
from pathways_runtime.settings import DEFAULT_TOKEN_MAX_TTL_SECONDS

ISSUER = "pathways"
CLOCK_SKEW_SECONDS = 60  # an issuer's clock may run a little ahead of ours
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/docs", "/docs/oauth2-redirect", "/redoc",
                          "/openapi.json", "/asyncapi.json",
                          "/open-data/lives.zip"})  # published open data (inspection), rate-limited there


class Role(StrEnum):
    INSPECTOR = "inspector"  # a department's inspection system, records inspections
    TRIAGE = "triage"  # the multidisciplinary triage team
    AGENCY = "agency"  # a victim-service agency or department receiving referrals
    DEPARTMENT = "department"  # a department reading its own feeds and managing subscriptions
    OPS = "ops"  # operations: dead letters, replays, metrics
    PRIVACY = "privacy_officer"  # reads the release audit of person data (who read what, when, under which consent)
    RESEARCHER = "researcher"  # a task force or researcher: the k-anonymous statistics and nothing else


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    org: str


def issue_token(secret: str, *, subject: str, role: Role, org: str, ttl_seconds: int = 12 * 3600) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": subject, "role": role.value, "org": org, "iat": now, "exp": now + ttl_seconds}
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_token(secret: str, token: str, *, max_ttl_seconds: int = DEFAULT_TOKEN_MAX_TTL_SECONDS) -> Principal:
    """Decode and check signature, expiry, issuer and lifetime; ``jwt.InvalidTokenError`` otherwise.

    A token whose lifetime (``exp - iat``) exceeds ``max_ttl_seconds``, or that expires further in the
    future than that, is refused though correctly signed: a leaked long-lived token must not work for years.
    """
    claims = jwt.decode(token, secret, algorithms=["HS256"], issuer=ISSUER,
                        options={"require": ["exp", "iat", "sub", "iss"]})
    lifetime, remaining = claims["exp"] - claims["iat"], claims["exp"] - time.time()
    if lifetime > max_ttl_seconds or remaining > max_ttl_seconds + CLOCK_SKEW_SECONDS:
        raise jwt.InvalidTokenError(f"token lifetime exceeds the maximum of {max_ttl_seconds} s")
    try:
        return Principal(subject=claims["sub"], role=Role(claims["role"]), org=claims["org"])
    except (KeyError, ValueError) as exc:
        raise jwt.InvalidTokenError(f"bad claims: {exc}") from exc


class BearerAuthMiddleware:
    def __init__(self, app: ASGIApp, secret: str, max_ttl_seconds: int = DEFAULT_TOKEN_MAX_TTL_SECONDS) -> None:
        self.app = app
        self.secret = secret
        self.max_ttl_seconds = max_ttl_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        try:
            principal = verify_token(self.secret, _bearer(scope), max_ttl_seconds=self.max_ttl_seconds)
        except jwt.InvalidTokenError as exc:
            await _unauthorized(str(exc))(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


def _bearer(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token:
                return token.strip()
    raise jwt.InvalidTokenError("missing bearer token")


def _unauthorized(reason: str) -> AsciiJSONResponse:
    return AsciiJSONResponse({"detail": f"unauthorized: {reason}"}, status_code=401,
                        headers={"www-authenticate": "Bearer"})


async def principal(request: Request) -> Principal:
    # async: FastAPI runs a plain `def` dependency in a worker thread, a thread hop per request (measured:
    # about a fifth of the inspection service's busy time under load) for what is an attribute read.
    return request.state.principal


def require(*roles: Role):
    """A dependency that returns the caller, or answers 403 when its role is not allowed."""

    async def check(who: Principal = Depends(principal)) -> Principal:  # async: no thread hop (see principal)
        if who.role not in roles:
            raise HTTPException(403, f"role {who.role.value!r} may not do this")
        return who

    check.roles = frozenset(roles)  # type: ignore[attr-defined] (read by the test that audits every route)
    return Depends(check)
