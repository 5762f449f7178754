"""The release audit over HTTP, for privacy officers only: who read which person's details, when, under
which consent, released or refused. Every read of the audit is itself written down (audit_reads)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime

from pathways_referral.domain.text import Text
from pathways_referral.entrypoints.common import (
    DEFAULT_PAGE,
    Cursor,
    Limit,
    decode_id_cursor,
    encode_id_cursor,
    link_next,
)
from pathways_referral.entrypoints.http_deps import UnitOfWork
from pathways_referral.service_layer import people
from pathways_referral.service_layer.commands import ReadReleaseAudit
from pathways_runtime.auth import Principal, Role, require

router = APIRouter(tags=["privacy"])


@router.get("/audit/releases", summary="The release audit, oldest first, filtered by person, agency and period "
                                       "[since, until); the next page in the Link header. This read is audited.")
async def release_audit(request: Request, response: Response, uow: UnitOfWork,
                        person_id: uuid.UUID | None = None,
                        agency_id: Annotated[Text | None, Query(max_length=100)] = None,
                        since: AwareDatetime | None = None, until: AwareDatetime | None = None,
                        cursor: Cursor = None, limit: Limit = DEFAULT_PAGE,
                        who: Principal = require(Role.PRIVACY)) -> list[dict]:
    rows, next_id = await people.handle_read_release_audit(ReadReleaseAudit(
        person_id=person_id, agency_id=agency_id, since=since, until=until, after_id=decode_id_cursor(cursor),
        limit=limit, subject=who.subject, org=who.org), uow)
    link_next(request, response, None if next_id is None else encode_id_cursor(next_id))
    return rows
