"""The FastAPI dependency every route of the referral service takes: a new (not yet begun) unit of work."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from pathways_referral.service_layer.unit_of_work import ReferralUnitOfWork
from pathways_runtime.http import unit_of_work

UnitOfWork = Annotated[ReferralUnitOfWork, Depends(unit_of_work)]
