"""Every use case of the referral service on the fake unit of work: no broker, no database, milliseconds."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from pathways_contracts.events import (
    CaseClosed,
    CaseContactRestricted,
    CaseOpened,
    CaseTriaged,
    ConsentRevoked,
    RedFlagEscalated,
    RedFlagRaised,
    ReferralAccepted,
    ReferralClosed,
    ReferralCreated,
    ReferralDeclined,
    ReferralExpired,
    ReferralUnplaced,
    VictimServiceEngaged,
)
from pathways_referral.domain.directory import Organization
from pathways_referral.domain.lifecycle import Action
from pathways_referral.service_layer import cases, closed_loop, directory, diversion, people
from pathways_referral.service_layer.commands import (
    ActOnReferral,
    AddAgency,
    AddConsent,
    AddPerson,
    CloseCase,
    ConsentElements,
    Divert,
    DiversionRequest,
    EscalateCase,
    OpenOrJoinCase,
    PersonDetails,
    PutAgency,
    ReadReleaseAudit,
    RecordTriage,
    ReleasePerson,
    RevokeConsent,
    SetDoNotContact,
    TriageDecision,
)
from pathways_referral.settings import ReferralSettings
from pathways_runtime.errors import Conflict, Forbidden, InvalidCommand, NotFound
from referral_fakes import START, FakeReferralUnitOfWork

pytestmark = pytest.mark.unit
RIVERBEND, BLUFF, HELPLINE = "riverbend-survivor-advocacy", "bluff-country-community-advocates", \
    "statewide-trafficking-helpline"
POLICE = "city-police-trafficking-unit"


def flag(categories=("labor",), *, level="red_flag", minor=False, establishment_id="est-1", rule_ids=(),
         jurisdiction="olmsted", red_flag_id=None, escalated_from=None):
    fields = dict(red_flag_id=red_flag_id or uuid.uuid4(), establishment_id=establishment_id,
                  jurisdiction=jurisdiction, level=level, score=7.0, categories=list(categories),
                  dimensions=["victim_vulnerability"], indicator_codes=["LAB-WAGE-THEFT"],
                  contributing_inspection_ids=[uuid.uuid4()], departments=["health-department"],
                  minor_indicated=minor, rules_version="test", rule_ids=list(rule_ids), raised_at=START)
    if escalated_from:
        return RedFlagEscalated(**fields, previous_level=escalated_from)
    return RedFlagRaised(**fields)


@pytest.fixture
def uow() -> FakeReferralUnitOfWork:
    return FakeReferralUnitOfWork()


async def open_case(uow, red_flag=None) -> uuid.UUID:
    return await cases.handle_open_or_join(OpenOrJoinCase(red_flag=red_flag or flag()), uow)


def by_kind(uow, case_id) -> dict[str, dict]:
    return {r["agency_kind"]: r for r in uow.referrals.of_case(case_id) if r["status"] == "requested"}


async def act(uow, referral_id, action, agency_id=None, **more):
    return await closed_loop.handle_act_on_referral(
        ActOnReferral(referral_id=referral_id, action=action, agency_id=agency_id, **more), uow)


# --- red flags → cases and referrals per policy -------------------------------------------------

async def test_a_labor_red_flag_opens_a_case_referred_to_victim_services_and_labor_standards(uow):
    case_id = await open_case(uow)
    [opened] = uow.events(CaseOpened)
    assert opened.case_id == case_id and opened.establishment_id == "est-1"
    referrals = by_kind(uow, case_id)
    assert set(referrals) == {"victim_services", "labor_standards"}, "police are never a default target"
    assert referrals["victim_services"]["agency_id"] == RIVERBEND, "the fastest commitment in the county"
    assert {r["rule_id"] for r in referrals.values()} == {"R-DEFAULT-LABOR"}
    assert {e.agency_id for e in uow.events(ReferralCreated)} == {RIVERBEND, "city-labor-standards"}
    assert uow.commits == 1


async def test_the_same_red_flag_again_adds_nothing_and_another_joins_the_case(uow):
    first = flag()
    case_id = await open_case(uow, first)
    published = len(uow.published)
    assert await open_case(uow, first) == case_id
    assert len(uow.published) == published, "a re-sent red flag changes nothing"
    assert await open_case(uow, flag(level="urgent")) == case_id
    assert uow.cases.rows[case_id]["level"] == "urgent" and "priority raised" in uow.cases.whats(case_id)
    assert len(uow.events(CaseOpened)) == 1 and len(uow.events(ReferralCreated)) == 2


async def test_a_minor_brings_the_mandated_child_protection_report_and_safe_harbor(uow):
    case_id = await open_case(uow, flag(["sex"], minor=True))
    referrals = by_kind(uow, case_id)
    assert {"child_protection", "safe_harbor_navigator", "police"} <= set(referrals)
    assert referrals["child_protection"]["mandated"] and referrals["child_protection"]["rule_id"] == "R-MINOR"


async def test_imminent_danger_is_named_by_the_settings_hard_rules():
    settings = ReferralSettings(PATHWAYS_REFERRAL_IMMINENT_DANGER_RULES="HR-DANGER")
    uow = FakeReferralUnitOfWork(settings)
    case_id = await open_case(uow, flag(rule_ids=["HR-DANGER"]))
    assert by_kind(uow, case_id)["police"]["rule_id"] == "R-IMMINENT-DANGER"
    other = FakeReferralUnitOfWork()  # the default rules do not know HR-DANGER
    assert "police" not in by_kind(other, await open_case(other, flag(rule_ids=["HR-DANGER"])))


async def test_an_escalation_raises_the_case_and_adds_the_referrals_the_new_facts_bring(uow):
    raised = flag()
    case_id = await open_case(uow, raised)
    escalated = flag(level="urgent", minor=True, red_flag_id=raised.red_flag_id, escalated_from="red_flag")
    assert await cases.handle_escalation(EscalateCase(red_flag=escalated), uow) == case_id
    assert uow.cases.rows[case_id]["level"] == "urgent"
    assert {"victim_services", "labor_standards", "child_protection"} <= set(by_kind(uow, case_id))
    assert len(uow.cases.flags) == 1, "the escalation updates its red flag"


async def test_an_escalation_arriving_first_opens_the_case(uow):
    case_id = await cases.handle_escalation(EscalateCase(red_flag=flag(level="urgent", escalated_from="red_flag")),
                                            uow)
    assert uow.events(CaseOpened)[0].case_id == case_id and by_kind(uow, case_id)


async def test_with_no_agency_of_a_kind_in_the_jurisdiction_the_coordinator_is_alerted_once(uow):
    uow.agencies.docs = {"only": Organization(id="only", name="Only", kind="victim_services",
                                              jurisdictions={"nowhere"}).model_dump(mode="json")}
    case_id = await open_case(uow, flag(jurisdiction="nowhere"))
    assert {e.agency_kind for e in uow.events(ReferralUnplaced)} == {"labor_standards"}
    await open_case(uow, flag(jurisdiction="nowhere"))  # another red flag: the alert is not repeated
    assert len(uow.events(ReferralUnplaced)) == 1 and by_kind(uow, case_id)["victim_services"]["agency_id"] == "only"


# --- triage and closing -------------------------------------------------------------------------

DECISION = TriageDecision(approaches=["child_protection"], roles_present=["advocate"], rationale="a minor lives there",
                          follow_up_on="2026-11-20")


async def test_triage_is_recorded_announced_and_refers_what_it_decided(uow):
    case_id = await open_case(uow)
    made = await cases.handle_record_triage(RecordTriage(case_id=case_id, decision=DECISION, decided_by="mdt-1"), uow)
    assert made == 2 and {"child_protection", "safe_harbor_navigator"} <= set(by_kind(uow, case_id))
    [triaged] = uow.events(CaseTriaged)
    assert triaged.approaches == ["child_protection"] and triaged.follow_up_on == datetime(2026, 11, 20, tzinfo=UTC)
    assert uow.cases.triage[-1]["decided_by"] == "mdt-1" and "triage decision" in uow.cases.whats(case_id)


async def test_triage_of_an_unknown_or_closed_case_is_refused(uow):
    with pytest.raises(NotFound):
        await cases.handle_record_triage(RecordTriage(case_id=uuid.uuid4(), decision=DECISION, decided_by="x"), uow)
    case_id = await open_case(uow)
    await cases.handle_close_case(CloseCase(case_id=case_id, outcome="no further action"), uow)
    with pytest.raises(Conflict):
        await cases.handle_record_triage(RecordTriage(case_id=case_id, decision=DECISION, decided_by="x"), uow)
    with pytest.raises(Conflict):
        await cases.handle_close_case(CloseCase(case_id=case_id, outcome="again"), uow)


async def test_closing_withdraws_open_offers_keeps_help_under_way_and_ends_case_bound_consents(uow):
    case_id = await open_case(uow)
    offers = by_kind(uow, case_id)
    await act(uow, offers["victim_services"]["id"], Action.ACCEPT, RIVERBEND)
    person_id = await people.handle_add_person(AddPerson(case_id=case_id, person=PersonDetails(name="M"),
                                                         created_by="mdt"), uow)
    consent = await people.handle_add_consent(AddConsent(person_id=person_id, consent=consent_to(
        RIVERBEND, expires_at=None, expiry_event="case closed"), recorded_by="mdt"), uow)
    uow.advance(hours=1)
    closed_at = await cases.handle_close_case(CloseCase(case_id=case_id, outcome="referred on"), uow)
    assert uow.events(CaseClosed)[0].outcome == "referred on" and closed_at == uow.clock
    assert uow.referrals.rows[offers["labor_standards"]["id"]]["status"] == "cancelled"
    assert uow.referrals.rows[offers["victim_services"]["id"]]["status"] == "accepted"
    assert [e.status.value for e in uow.events(ReferralClosed)] == ["cancelled"]
    assert uow.consents.rows[consent.id].expiry_event_at == closed_at
    with pytest.raises(Forbidden):
        await people.handle_release_person(ReleasePerson(person_id=person_id, agency_id=RIVERBEND, subject="a"), uow)


# --- the closed loop ----------------------------------------------------------------------------

async def test_accept_engage_complete_each_announced(uow):
    referral_id = by_kind(uow, await open_case(uow))["victim_services"]["id"]
    with pytest.raises(Conflict):
        await act(uow, referral_id, Action.ENGAGE, RIVERBEND)  # accept first
    assert (await act(uow, referral_id, Action.ACCEPT, RIVERBEND)).status.value == "accepted"
    await act(uow, referral_id, Action.ENGAGE, RIVERBEND)
    with pytest.raises(InvalidCommand) as missing:
        await act(uow, referral_id, Action.COMPLETE, RIVERBEND, outcome="  ")
    assert [p.loc for p in missing.value.problems] == [("body", "outcome")]
    assert (await act(uow, referral_id, Action.COMPLETE, RIVERBEND, outcome="housed")).status.value == "completed"
    assert uow.events(ReferralAccepted) and uow.events(VictimServiceEngaged)
    assert uow.events(ReferralClosed)[0].status.value == "completed"


async def test_an_agency_acts_only_on_its_own_referrals(uow):
    referral_id = by_kind(uow, await open_case(uow))["victim_services"]["id"]
    with pytest.raises(NotFound):
        await act(uow, referral_id, Action.ACCEPT, BLUFF)
    with pytest.raises(NotFound):
        await act(uow, uuid.uuid4(), Action.ACCEPT, RIVERBEND)
    assert (await act(uow, referral_id, Action.CANCEL, None)).status.value == "cancelled", "triage: any"


async def test_a_rejection_needs_a_reason_and_hands_the_referral_to_the_next_agency(uow):
    case_id = await open_case(uow)
    referral_id = by_kind(uow, case_id)["victim_services"]["id"]
    with pytest.raises(InvalidCommand) as missing:
        await act(uow, referral_id, Action.REJECT, RIVERBEND)
    assert [p.loc for p in missing.value.problems] == [("body", "reason")]
    await act(uow, referral_id, Action.REJECT, RIVERBEND, reason="at capacity")
    assert uow.events(ReferralDeclined)[0].reason == "at capacity"
    assert by_kind(uow, case_id)["victim_services"]["agency_id"] == BLUFF


async def test_the_sweeper_expires_past_deadlines_through_the_same_handler_and_hands_over(uow):
    case_id = await open_case(uow)
    first = by_kind(uow, case_id)["victim_services"]
    assert await closed_loop.expire_due(lambda: uow) == 0, "nothing is due yet"
    uow.clock = first["due_by"] + timedelta(seconds=1)
    assert await closed_loop.expire_due(lambda: uow) >= 1
    assert first["id"] in {e.referral_id for e in uow.events(ReferralExpired)}
    assert (uow.referrals.rows[first["id"]]["status"], uow.referrals.rows[first["id"]]["status_reason"]) == \
        ("cancelled", "expired")
    assert by_kind(uow, case_id)["victim_services"]["agency_id"] == BLUFF
    with pytest.raises(Conflict):
        await act(uow, first["id"], Action.ACCEPT, RIVERBEND)  # too late


async def test_when_every_agency_lets_it_expire_the_fallback_then_the_coordinator_is_told(uow):
    case_id = await open_case(uow)
    for _ in range(10):
        uow.advance(days=5)
        await closed_loop.expire_due(lambda: uow)
    tried = [r["agency_id"] for r in uow.referrals.of_case(case_id) if r["agency_kind"] == "victim_services"]
    assert tried == [RIVERBEND, BLUFF, HELPLINE]
    assert "health" in {r["agency_kind"] for r in uow.referrals.of_case(case_id)}, "the policy's fallback"
    assert uow.events(ReferralUnplaced) and "coordinator alert: no agency left" in uow.cases.whats(case_id)


async def test_the_settings_acceptance_window_overrides_the_policy():
    uow = FakeReferralUnitOfWork(ReferralSettings(accept_window_seconds=2))
    referral = by_kind(uow, await open_case(uow))["victim_services"]
    assert referral["due_by"] == START + timedelta(seconds=2)


async def test_closed_loop_figures_per_agency(uow):
    referral_id = by_kind(uow, await open_case(uow))["victim_services"]["id"]
    uow.advance(hours=2)
    await act(uow, referral_id, Action.ACCEPT, RIVERBEND)
    figures = await closed_loop.agency_figures(uow)
    assert figures[RIVERBEND]["accepted"] == 1 and figures[RIVERBEND]["median_time_to_accept_seconds"] == 7200


# --- people, do-not-contact, consent, release audit ----------------------------------------------

def consent_to(agency_id: str, fields=("name", "phone"), **more) -> ConsentElements:
    return ConsentElements(**({"recipient_agency_id": agency_id, "purpose": "safety planning",
                               "shareable_fields": list(fields), "expires_at": START + timedelta(days=90),
                               "signed_by": "M", "signed_at": START - timedelta(minutes=1),
                               "revocation_explained": True} | more))


async def test_an_empty_person_is_refused_naming_the_fields(uow):
    case_id = await open_case(uow)
    with pytest.raises(InvalidCommand) as empty:
        await people.handle_add_person(AddPerson(case_id=case_id, person=PersonDetails(), created_by="mdt"), uow)
    assert ("body", "name") in {p.loc for p in empty.value.problems}
    assert not uow.people.rows
    with pytest.raises(NotFound):
        await people.handle_add_person(AddPerson(case_id=uuid.uuid4(), person=PersonDetails(name="M"),
                                                 created_by="mdt"), uow)


async def test_do_not_contact_restricts_the_case_only_when_the_case_level_flag_flips(uow):
    case_id = await open_case(uow)
    first = await people.handle_add_person(AddPerson(case_id=case_id, person=PersonDetails(
        name="A", do_not_contact=True), created_by="mdt"), uow)
    second = await people.handle_add_person(AddPerson(case_id=case_id, person=PersonDetails(
        alias="B", do_not_contact=True), created_by="mdt"), uow)
    assert [e.restricted for e in uow.events(CaseContactRestricted)] == [True], "the second changes nothing"
    await people.handle_set_do_not_contact(SetDoNotContact(person_id=first, do_not_contact=False), uow)
    assert len(uow.events(CaseContactRestricted)) == 1, "B still must not be contacted"
    await people.handle_set_do_not_contact(SetDoNotContact(person_id=second, do_not_contact=False), uow)
    assert [e.restricted for e in uow.events(CaseContactRestricted)] == [True, False]
    assert "person linked" in uow.cases.whats(case_id)
    with pytest.raises(NotFound):
        await people.handle_set_do_not_contact(SetDoNotContact(person_id=uuid.uuid4(), do_not_contact=True), uow)


async def test_a_person_speaking_a_language_routes_to_an_agency_speaking_it(uow):
    uow.agencies.docs = {o.id: o.model_dump(mode="json") for o in (
        Organization(id="fast-en", name="F", kind="victim_services", jurisdictions={"x"}, languages=["en"],
                     response_commitment_hours=4),
        Organization(id="slow-es", name="S", kind="victim_services", jurisdictions={"x"}, languages=["es"],
                     response_commitment_hours=48))}
    case_id = await open_case(uow, flag(["sex"], jurisdiction="x"))
    referral = by_kind(uow, case_id)["victim_services"]
    assert referral["agency_id"] == "fast-en"
    await people.handle_add_person(AddPerson(case_id=case_id, person=PersonDetails(language="es"),
                                             created_by="mdt"), uow)
    await act(uow, referral["id"], Action.REJECT, "fast-en", reason="no Spanish speaker today")
    assert by_kind(uow, case_id)["victim_services"]["agency_id"] == "slow-es"


async def test_details_are_released_only_under_active_consent_and_every_read_is_audited(uow):
    case_id = await open_case(uow)
    person_id = await people.handle_add_person(AddPerson(case_id=case_id, person=PersonDetails(
        name="Maria", phone="+1 507 555 0142", birth_date="2007-03-14"), created_by="mdt"), uow)
    read = ReleasePerson(person_id=person_id, agency_id=RIVERBEND, subject="advocate-1")
    with pytest.raises(Forbidden):
        await people.handle_release_person(read, uow)
    consent = await people.handle_add_consent(AddConsent(person_id=person_id, consent=consent_to(RIVERBEND),
                                                         recorded_by="mdt"), uow)
    released = await people.handle_release_person(read, uow)
    assert released["fields"] == {"name": "Maria", "phone": "+1 507 555 0142"} and "NO REDISCLOSURE" in \
        released["notice"]
    with pytest.raises(Forbidden):
        await people.handle_release_person(ReleasePerson(person_id=person_id, agency_id=BLUFF, subject="b"), uow)
    assert [(a["agency_id"], a["released"]) for a in uow.audit.releases_rows] == [
        (RIVERBEND, False), (RIVERBEND, True), (BLUFF, False)]
    assert uow.audit.releases_rows[1]["consent_id"] == consent.id
    with pytest.raises(NotFound):
        await people.handle_release_person(ReleasePerson(person_id=uuid.uuid4(), agency_id=RIVERBEND, subject="a"),
                                           uow)


async def test_an_incomplete_consent_is_refused_naming_the_field(uow):
    person_id = await people.handle_add_person(AddPerson(case_id=await open_case(uow), person=PersonDetails(
        name="M"), created_by="mdt"), uow)
    with pytest.raises(InvalidCommand) as bad:
        await people.handle_add_consent(AddConsent(person_id=person_id, consent=consent_to(
            RIVERBEND, revocation_explained=False), recorded_by="mdt"), uow)
    assert ("body", "revocation_explained") in {p.loc for p in bad.value.problems}
    with pytest.raises(NotFound):
        await people.handle_add_consent(AddConsent(person_id=uuid.uuid4(), consent=consent_to(RIVERBEND),
                                                   recorded_by="mdt"), uow)


async def test_revocation_is_immediate_announced_once_and_an_agency_revokes_only_its_own(uow):
    person_id = await people.handle_add_person(AddPerson(case_id=await open_case(uow), person=PersonDetails(
        name="M"), created_by="mdt"), uow)
    consent = await people.handle_add_consent(AddConsent(person_id=person_id, consent=consent_to(RIVERBEND),
                                                         recorded_by="mdt"), uow)
    with pytest.raises(NotFound):
        await people.handle_revoke_consent(RevokeConsent(consent_id=consent.id, by_agency=BLUFF), uow)
    revoked_at = await people.handle_revoke_consent(RevokeConsent(consent_id=consent.id, by_agency=RIVERBEND), uow)
    assert await people.handle_revoke_consent(RevokeConsent(consent_id=consent.id), uow) == revoked_at
    assert [e.consent_id for e in uow.events(ConsentRevoked)] == [consent.id]
    with pytest.raises(Forbidden):
        await people.handle_release_person(ReleasePerson(person_id=person_id, agency_id=RIVERBEND, subject="a"), uow)


async def test_the_release_audit_is_read_by_filter_a_page_at_a_time_and_each_read_is_logged(uow):
    person = uuid.uuid4()
    for agency in (RIVERBEND, BLUFF, RIVERBEND, RIVERBEND):
        await uow.audit.record_release(agency_id=agency, subject="s", person_id=person, consent_id=None,
                                       released=False, fields=[])
    read = ReadReleaseAudit(person_id=person, agency_id=RIVERBEND, limit=2, subject="po-1", org="city-privacy")
    page, cursor = await people.handle_read_release_audit(read, uow)
    assert [r["id"] for r in page] == [1, 3] and cursor == 3
    page, cursor = await people.handle_read_release_audit(read.model_copy(update={"after_id": cursor}), uow)
    assert [r["id"] for r in page] == [4] and cursor is None
    assert [(r["subject"], r["rows"], r["filters"]["agency_id"]) for r in uow.audit.reads] == [
        ("po-1", 2, RIVERBEND), ("po-1", 1, RIVERBEND)]
    with pytest.raises(InvalidCommand):
        await people.handle_read_release_audit(read.model_copy(update={"since": START, "until": START}), uow)


# --- diversion ----------------------------------------------------------------------------------

DIVERSION = DiversionRequest(jurisdiction="olmsted", encountered_on="2026-11-20", language="es",
                             person={"alias": "Luz", "phone": "+1 507 555 0199"})


async def test_police_divert_a_person_to_the_programme_with_the_minimal_intake(uow):
    case_id, referral_id = await diversion.handle_divert(Divert(request=DIVERSION, officer_org=POLICE,
                                                                officer="officer-7"), uow)
    referral = uow.referrals.rows[referral_id]
    assert referral["agency_kind"] == "community_diversion" and referral["referred_by_org"] == POLICE
    assert referral["intake"] == {"jurisdiction": "olmsted", "encountered_on": "2026-11-20", "language": "es",
                                  "area": None}
    assert uow.cases.rows[case_id]["kind"] == "diversion" and len(uow.people.rows) == 1
    view = diversion.police_view(referral)
    assert set(view) == {"referral_id", "referred_at", "accepted", "engaged"}


async def test_only_the_police_divert_and_only_where_a_programme_serves(uow):
    with pytest.raises(Forbidden):
        await diversion.handle_divert(Divert(request=DIVERSION, officer_org="health-department", officer="x"), uow)
    elsewhere = DIVERSION.model_copy(update={"jurisdiction": "nowhere"})
    with pytest.raises(InvalidCommand) as none:
        await diversion.handle_divert(Divert(request=elsewhere, officer_org=POLICE, officer="x"), uow)
    assert none.value.problems[0].loc == ("body", "jurisdiction")
    assert not uow.published


# --- the directory ------------------------------------------------------------------------------

NEW = Organization(id="new-agency", name="New", kind="housing", jurisdictions={"olmsted"})


async def test_the_directory_is_seeded_once_and_an_added_agency_is_never_overwritten(uow):
    assert RIVERBEND in {a.id for a in await directory.list_agencies(uow)}
    await directory.handle_add_agency(AddAgency(agency=NEW), uow)
    with pytest.raises(Conflict):
        await directory.handle_add_agency(AddAgency(agency=NEW), uow)
    changed = NEW.model_copy(update={"capacity": 0})
    await directory.handle_put_agency(PutAgency(agency_id=NEW.id, agency=changed), uow)
    assert uow.agencies.docs[NEW.id]["capacity"] == 0
    with pytest.raises(InvalidCommand):
        await directory.handle_put_agency(PutAgency(agency_id="other", agency=NEW), uow)


async def test_an_agency_added_before_first_use_keeps_the_sample_out(uow):
    await directory.handle_add_agency(AddAgency(agency=NEW), uow)
    assert RIVERBEND in uow.agencies.docs, "seeded first, then added"
    assert {a.id for a in await directory.list_agencies(uow)} >= {NEW.id, RIVERBEND}


async def test_the_sweeper_takes_a_fresh_unit_of_work_for_each_expiry(uow):
    await open_case(uow)
    await open_case(uow, flag(establishment_id="est-2"))
    uow.advance(days=4)
    units = []

    def new_uow():
        units.append(object())
        return uow

    expired = await closed_loop.expire_due(new_uow)
    assert expired == 4 and uow.commits >= 2 + 4
    assert len(units) >= 1 + expired, "one unit to look up, then one per referral"


async def test_a_failure_needs_a_reason_closes_the_referral_and_is_not_offered_on(uow):
    case_id = await open_case(uow)
    referral_id = by_kind(uow, case_id)["victim_services"]["id"]
    await act(uow, referral_id, Action.ACCEPT, RIVERBEND)
    with pytest.raises(InvalidCommand) as missing:
        await act(uow, referral_id, Action.FAIL, RIVERBEND)
    assert [p.loc for p in missing.value.problems] == [("body", "reason")]
    assert (await act(uow, referral_id, Action.FAIL, RIVERBEND, reason="lost contact")).status.value == "failed"
    assert [e.status.value for e in uow.events(ReferralClosed)] == ["failed"]
    assert "victim_services" not in by_kind(uow, case_id), "help was accepted, then failed: no automatic re-offer"
