"""What every router of the referral service shares: keyset cursors and the ``Link: rel="next"`` header.

A list endpoint answers one page (a JSON array, as before) and, when more rows follow, an RFC 8288
``Link`` header naming the next page's URL; no list is silently cut off at a fixed size.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Query, Request, Response

from pathways_referral.adapters.repository import After
from pathways_runtime.errors import InvalidCommand, Problem

DEFAULT_PAGE = 100
MAX_PAGE = 500
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Rows per page.")]
Cursor = Annotated[str | None, Query(max_length=200, description="The `cursor` of a `Link: rel=\"next\"` URL.")]


def encode_after(at: datetime, row_id: uuid.UUID | int) -> str:
    return base64.urlsafe_b64encode(json.dumps([at.isoformat(), str(row_id)]).encode()).decode().rstrip("=")


def decode_after(cursor: str | None) -> After | None:
    if cursor is None:
        return None
    try:
        at, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return After(at=datetime.fromisoformat(at), id=uuid.UUID(row_id))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise InvalidCommand([Problem(("query", "cursor"), "not a cursor this API gave")]) from None


def decode_id_cursor(cursor: str | None) -> int | None:
    """A cursor that is a row id (the audit's), opaque to the client all the same."""
    if cursor is None:
        return None
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidCommand([Problem(("query", "cursor"), "not a cursor this API gave")]) from None


def encode_id_cursor(row_id: int) -> str:
    return base64.urlsafe_b64encode(str(row_id).encode()).decode().rstrip("=")


def link_next(request: Request, response: Response, cursor: str | None) -> None:
    """Name the next page in a ``Link`` header (and ``X-Next-Cursor``), when there is one."""
    if cursor is not None:
        url = request.url.include_query_params(cursor=cursor)
        response.headers["Link"] = f'<{url}>; rel="next"'
        response.headers["X-Next-Cursor"] = cursor


def keyset_page(request: Request, response: Response, rows: list[dict], limit: int, time_key: str,
                id_key: str = "id") -> list[dict]:
    """The first ``limit`` of ``limit + 1`` rows fetched; a next link when the extra row shows there are more."""
    page = rows[:limit]
    if len(rows) > limit:
        last = page[-1]
        link_next(request, response, encode_after(last[time_key], last[id_key]))
    return page
