"""The referral service's unit of work: one transaction, its repositories, and the service's settings."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

import asyncpg

from pathways_referral.adapters.crypto import FieldCipher
from pathways_referral.adapters.people import AuditRepository, ConsentRepository, PersonRepository
from pathways_referral.adapters.repository import AgencyRepository, CaseRepository, ReferralRepository
from pathways_referral.settings import ReferralSettings
from pathways_runtime.uow import PostgresUnitOfWork, Scope


class ReferralUnitOfWork(PostgresUnitOfWork):
    """Cases, referrals, people, consents, the release audit and the agency directory, in one transaction.

    ``settings`` travel with the unit (the acceptance window, the imminent-danger rules) so a use
    case reads them from what bootstrap built, never from the environment; ``now`` is the use
    case's clock (a fake unit of work sets it).
    """

    cases: CaseRepository
    referrals: ReferralRepository
    people: PersonRepository
    consents: ConsentRepository
    audit: AuditRepository
    agencies: AgencyRepository

    def __init__(self, pool: asyncpg.Pool | None, *, schema: str, source: str,
                 conn: asyncpg.Connection | None = None, scope: Scope | None = None, settings: ReferralSettings,
                 cipher: FieldCipher) -> None:
        super().__init__(pool, schema=schema, source=source, conn=conn, scope=scope)
        self.settings = settings
        self._cipher = cipher

    def bind(self, conn: asyncpg.Connection) -> None:
        self.cases = CaseRepository(conn)
        self.referrals = ReferralRepository(conn)
        self.people = PersonRepository(conn, self._cipher)
        self.consents = ConsentRepository(conn, self._cipher)
        self.audit = AuditRepository(conn)
        self.agencies = AgencyRepository(conn)

    def now(self) -> datetime:
        return datetime.now(UTC)

    @classmethod
    def factory(cls, settings: ReferralSettings) -> partial[ReferralUnitOfWork]:
        """What ``Service(unit_of_work=...)`` calls: this class with the settings and the field cipher bound."""
        cipher = FieldCipher.from_keys(settings.field_key.get_secret_value() if settings.field_key else None,
                                       settings.field_keys_retired)
        return partial(cls, settings=settings, cipher=cipher)
