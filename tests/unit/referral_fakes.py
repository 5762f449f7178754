"""In-memory repositories and unit of work of the referral service, method for method like adapters/.

Rows are plain dicts with the columns the SQL returns, so the service layer cannot tell them apart.
The clock is the test's: ``uow.clock`` is what ``uow.now()`` answers.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

from pathways_referral.adapters.repository import LEVELS, After, NewReferral
from pathways_referral.domain.consent import Consent
from pathways_referral.domain.directory import Organization
from pathways_referral.settings import ReferralSettings
from pathways_runtime.testing import FakeUnitOfWork

START = datetime(2026, 11, 2, 9, tzinfo=UTC)


class FakeCases:
    def __init__(self, uow: FakeReferralUnitOfWork) -> None:
        self._uow = uow
        self.rows: dict[uuid.UUID, dict] = {}
        self.flags: dict[uuid.UUID, dict] = {}
        self.timeline: list[dict] = []
        self.triage: list[dict] = []

    async def open_for(self, establishment_id: str, jurisdiction: str, level: str) -> tuple[uuid.UUID, bool]:
        existing = next((c for c in self.rows.values()
                         if c["establishment_id"] == establishment_id and c["status"] == "open"), None)
        if existing:
            return existing["id"], False
        case_id = uuid.uuid4()
        self.rows[case_id] = {"id": case_id, "establishment_id": establishment_id, "jurisdiction": jurisdiction,
                              "level": level, "status": "open", "kind": "establishment", "outcome": None,
                              "opened_at": self._uow.now(), "closed_at": None}
        return case_id, True

    async def add_diversion(self, jurisdiction: str) -> dict:
        case_id = uuid.uuid4()
        self.rows[case_id] = {"id": case_id, "establishment_id": None, "jurisdiction": jurisdiction,
                              "level": "concern", "status": "open", "kind": "diversion", "outcome": None,
                              "opened_at": self._uow.now(), "closed_at": None}
        return dict(self.rows[case_id])

    async def get(self, case_id: uuid.UUID, *, lock: bool = False) -> dict | None:
        row = self.rows.get(case_id)
        return None if row is None else dict(row)

    async def attach_red_flag(self, case_id: uuid.UUID, red_flag_id: uuid.UUID, level: str, payload: dict) -> bool:
        if red_flag_id in self.flags:
            return False
        self.flags[red_flag_id] = {"case_id": case_id, "level": level, "payload": payload}
        return True

    async def update_red_flag(self, red_flag_id: uuid.UUID, level: str, payload: dict) -> None:
        self.flags[red_flag_id] |= {"level": level, "payload": payload}

    async def red_flags(self, case_id: uuid.UUID) -> list[dict]:
        return [f["payload"] for f in self.flags.values() if f["case_id"] == case_id]

    async def raise_level(self, case_id: uuid.UUID, level: str) -> bool:
        case = self.rows[case_id]
        if LEVELS.index(case["level"]) < LEVELS.index(level):
            case["level"] = level
            return True
        return False

    async def add_triage(self, case_id: uuid.UUID, decision: dict, decided_by: str) -> None:
        self.triage.append(decision | {"case_id": case_id, "decided_by": decided_by})

    async def latest_triage(self, case_id: uuid.UUID) -> dict | None:
        return next((t for t in reversed(self.triage) if t["case_id"] == case_id), None)

    async def close(self, case_id: uuid.UUID, outcome: str, at: datetime) -> datetime | None:
        case = self.rows.get(case_id)
        if case is None or case["status"] != "open":
            return None
        case |= {"status": "closed", "outcome": outcome, "closed_at": at}
        return at

    async def add_timeline(self, case_id: uuid.UUID, what: str, detail: dict | None = None) -> None:
        self.timeline.append({"case_id": case_id, "what": what, "detail": detail or {}})

    async def alerted_unplaced(self, case_id: uuid.UUID, agency_kind: str) -> bool:
        return any(t["case_id"] == case_id and t["what"] == "coordinator alert: no agency left"
                   and t["detail"].get("agency_kind") == agency_kind for t in self.timeline)

    def whats(self, case_id: uuid.UUID) -> list[str]:
        return [t["what"] for t in self.timeline if t["case_id"] == case_id]

    async def detail(self, case_id: uuid.UUID) -> dict | None:
        return await self.get(case_id)

    async def page(self, *, establishment_id: str | None, after: After | None, limit: int) -> list[dict]:
        rows = sorted((c for c in self.rows.values() if establishment_id in (None, c["establishment_id"])),
                      key=lambda c: (c["opened_at"], c["id"]), reverse=True)
        if after:
            rows = [c for c in rows if (c["opened_at"], c["id"]) < (after.at, after.id)]
        return [dict(c) for c in rows[:limit]]


class FakeReferrals:
    def __init__(self, cases: FakeCases) -> None:
        self._cases = cases
        self.rows: dict[uuid.UUID, dict] = {}

    def _joined(self, row: dict) -> dict:
        case = self._cases.rows[row["case_id"]]
        return row | {"establishment_id": case["establishment_id"], "jurisdiction": case["jurisdiction"],
                      "level": case["level"], "case_kind": case["kind"]}

    async def get(self, referral_id: uuid.UUID, *, lock: bool = False) -> dict | None:
        row = self.rows.get(referral_id)
        return None if row is None else self._joined(row)

    async def add(self, r: NewReferral) -> None:
        live = {"requested", "accepted", "in-progress"}
        if any(x["case_id"] == r.case_id and x["agency_kind"] == r.agency_kind and x["status"] in live
               for x in self.rows.values()):
            raise AssertionError("one_live_referral_per_kind violated")  # the database's unique index
        self.rows[r.referral_id] = {
            "id": r.referral_id, "case_id": r.case_id, "agency_id": r.agency_id, "agency_kind": r.agency_kind,
            "service": r.service, "rule_id": r.rule_id, "policy_version": r.policy_version, "due_by": r.due_by,
            "priority": r.priority, "mandated": r.mandated, "reason": r.reason, "referred_by_org": r.referred_by_org,
            "intake": r.intake or {}, "created_at": r.created_at, "status": "requested", "accepted_at": None,
            "engaged_at": None, "closed_at": None, "status_reason": None, "outcome": None}

    async def save_state(self, referral_id: uuid.UUID, state) -> None:
        self.rows[referral_id] |= {"status": state.status.value, "accepted_at": state.accepted_at,
                                   "engaged_at": state.engaged_at, "closed_at": state.closed_at,
                                   "status_reason": state.status_reason, "outcome": state.outcome}

    async def offered(self, case_id: uuid.UUID) -> list[dict]:
        return [{"agency_kind": r["agency_kind"], "agency_id": r["agency_id"]}
                for r in self.rows.values() if r["case_id"] == case_id]

    async def due(self, now: datetime, limit: int) -> list[uuid.UUID]:
        due = sorted((r for r in self.rows.values() if r["status"] == "requested" and r["due_by"] < now),
                     key=lambda r: r["due_by"])
        return [r["id"] for r in due[:limit]]

    async def still_requested(self, case_id: uuid.UUID) -> list[uuid.UUID]:
        return [r["id"] for r in self.rows.values() if r["case_id"] == case_id and r["status"] == "requested"]

    async def page(self, *, agency_id: str | None = None, case_id: uuid.UUID | None = None,
                   referred_by_org: str | None = None, after: After | None = None, limit: int = 100) -> list[dict]:
        rows = [self._joined(r) for r in self.rows.values()
                if agency_id in (None, r["agency_id"]) and case_id in (None, r["case_id"])
                and referred_by_org in (None, r["referred_by_org"])]
        rows.sort(key=lambda r: (r["created_at"], r["id"]), reverse=True)
        if after:
            rows = [r for r in rows if (r["created_at"], r["id"]) < (after.at, after.id)]
        return rows[:limit]

    async def all_states(self) -> list[dict]:
        return [dict(r) for r in self.rows.values()]

    def of_case(self, case_id: uuid.UUID) -> list[dict]:
        return [r for r in self.rows.values() if r["case_id"] == case_id]


class FakeAgencies:
    def __init__(self) -> None:
        self.docs: dict[str, dict] = {}

    async def all(self) -> list[Organization]:
        return [Organization.model_validate(self.docs[k]) for k in sorted(self.docs)]

    async def add(self, agency_id: str, kind: str, document: dict) -> bool:
        if agency_id in self.docs:
            return False
        self.docs[agency_id] = document
        return True

    async def put(self, agency_id: str, kind: str, document: dict) -> None:
        self.docs[agency_id] = document


class FakePeople:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, dict] = {}
        self._order = itertools.count()

    async def add(self, case_id: uuid.UUID, fields: dict, created_by: str) -> uuid.UUID:
        person_id = uuid.uuid4()
        self.rows[person_id] = {"case_id": case_id, "fields": dict(fields), "created_by": created_by,
                                "order": next(self._order)}
        return person_id

    async def fields(self, person_id: uuid.UUID) -> dict | None:
        row = self.rows.get(person_id)
        return None if row is None else {k: v for k, v in row["fields"].items() if v not in (None, "", [])} | {
            "do_not_contact": bool(row["fields"].get("do_not_contact"))}

    async def case_of(self, person_id: uuid.UUID) -> uuid.UUID | None:
        row = self.rows.get(person_id)
        return None if row is None else row["case_id"]

    async def case_language(self, case_id: uuid.UUID) -> str | None:
        people = sorted((p for p in self.rows.values() if p["case_id"] == case_id and p["fields"].get("language")),
                        key=lambda p: p["order"])
        return people[0]["fields"]["language"] if people else None

    async def case_restricted(self, case_id: uuid.UUID) -> bool:
        return any(p["case_id"] == case_id and p["fields"].get("do_not_contact") for p in self.rows.values())

    async def set_do_not_contact(self, person_id: uuid.UUID, value: bool) -> None:
        self.rows[person_id]["fields"]["do_not_contact"] = value


class FakeConsents:
    def __init__(self, people: FakePeople) -> None:
        self._people = people
        self.rows: dict[uuid.UUID, Consent] = {}

    async def add(self, consent: Consent, recorded_by: str) -> None:
        self.rows[consent.id] = consent

    async def for_person(self, person_id: uuid.UUID, agency_id: str) -> list[Consent]:
        found = [c for c in self.rows.values() if c.person_id == person_id and c.recipient_agency_id == agency_id]
        return sorted(found, key=lambda c: c.signed_at, reverse=True)

    async def get_for_update(self, consent_id: uuid.UUID) -> dict | None:
        c = self.rows.get(consent_id)
        if c is None:
            return None
        return {"id": c.id, "recipient_agency_id": c.recipient_agency_id, "revoked_at": c.revoked_at,
                "case_id": self._people.rows[c.person_id]["case_id"]}

    async def revoke(self, consent_id: uuid.UUID, at: datetime) -> None:
        self.rows[consent_id] = self.rows[consent_id].revoke(at)

    async def expiry_event_happened(self, case_id: uuid.UUID, event: str, at: datetime) -> None:
        for cid, c in list(self.rows.items()):
            if c.expiry_event == event and self._people.rows[c.person_id]["case_id"] == case_id:
                self.rows[cid] = c.expiry_event_happened(at)


class FakeAudit:
    def __init__(self) -> None:
        self.releases_rows: list[dict] = []
        self.reads: list[dict] = []

    async def record_release(self, *, agency_id: str, subject: str, person_id: uuid.UUID,
                             consent_id: uuid.UUID | None, released: bool, fields: list[str]) -> None:
        self.releases_rows.append({"id": len(self.releases_rows) + 1, "at": START, "agency_id": agency_id,
                                   "subject": subject, "person_id": person_id, "consent_id": consent_id,
                                   "released": released, "fields": sorted(fields)})

    async def releases(self, *, person_id, agency_id, since, until, after_id, limit) -> list[dict]:
        rows = [r for r in self.releases_rows
                if person_id in (None, r["person_id"]) and agency_id in (None, r["agency_id"])
                and (since is None or r["at"] >= since) and (until is None or r["at"] < until)
                and (after_id is None or r["id"] > after_id)]
        return rows[:limit]

    async def record_read(self, *, subject: str, org: str, filters: dict, rows: int) -> None:
        self.reads.append({"subject": subject, "org": org, "filters": filters, "rows": rows})


class FakeReferralUnitOfWork(FakeUnitOfWork):
    def __init__(self, settings: ReferralSettings | None = None) -> None:
        super().__init__("/pathways/referral")
        # Defaults, not the environment's: a developer's PATHWAYS_REFERRAL_* must not change a unit test.
        self.settings = settings or ReferralSettings.model_construct()
        self.clock = START
        self.cases = FakeCases(self)
        self.referrals = FakeReferrals(self.cases)
        self.agencies = FakeAgencies()
        self.people = FakePeople()
        self.consents = FakeConsents(self.people)
        self.audit = FakeAudit()

    def now(self) -> datetime:
        return self.clock

    def advance(self, **delta: float) -> None:
        self.clock += timedelta(**delta)
