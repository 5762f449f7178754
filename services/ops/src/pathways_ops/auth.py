"""Who is looking: an ops token from the ``Authorization`` header (as the APIs take it) or from the
console's session cookie, set by the sign-in page. Any other role is refused (403); no token, or an
expired one, sends a browser to the sign-in page."""

from __future__ import annotations

import jwt
from fastapi import HTTPException, Request

from pathways_runtime.auth import Principal, Role, verify_token
from pathways_runtime.settings import Settings

COOKIE = "pathways_ops_session"


class SignInRequired(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def presented_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.cookies.get(COOKIE)


def check(settings: Settings, token: str) -> Principal:
    """The ops principal of ``token``; ``jwt.InvalidTokenError`` when it is not valid, 403 when not ops."""
    who = verify_token(settings.signing_secret(), token, max_ttl_seconds=settings.token_max_ttl_seconds)
    if who.role is not Role.OPS:
        raise HTTPException(403, f"role {who.role.value!r} may not use the ops console")
    return who


def operator(request: Request) -> Principal:
    """FastAPI dependency: the signed-in ops principal."""
    token = presented_token(request)
    if token is None:
        raise SignInRequired("sign in with an ops token")
    try:
        return check(request.app.state.settings, token)
    except jwt.InvalidTokenError as exc:
        raise SignInRequired(f"the token was refused: {exc}") from exc
