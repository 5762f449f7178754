-- Cases: an outcome when closed, the kind (an establishment's case, or a police diversion without one).
alter table {schema}.cases add column kind text not null default 'establishment'
    check (kind in ('establishment', 'diversion'));
alter table {schema}.cases alter column establishment_id drop not null;
alter table {schema}.cases add column outcome text;

create table {schema}.triage_decisions (
    id              bigserial primary key,
    case_id         uuid not null references {schema}.cases (id),
    approaches      text[] not null,
    roles_present   text[] not null default '{}',
    rationale       text not null,
    follow_up_on    date,
    imminent_danger boolean not null default false,
    decided_by      text not null,
    decided_at      timestamptz not null default now()
);
create index triage_by_case on {schema}.triage_decisions (case_id, decided_at);

-- Referrals: what the lifecycle needs (FHIR Task), why the policy chose the target, who referred it.
alter table {schema}.referrals add column agency_kind text not null default 'victim_services';
alter table {schema}.referrals add column priority int not null default 1;
alter table {schema}.referrals add column mandated boolean not null default false;
alter table {schema}.referrals add column reason text not null default '';
alter table {schema}.referrals add column status_reason text;
alter table {schema}.referrals add column outcome text;
alter table {schema}.referrals add column accepted_at timestamptz;
alter table {schema}.referrals add column engaged_at timestamptz;
alter table {schema}.referrals add column closed_at timestamptz;
alter table {schema}.referrals add column referred_by_org text;  -- set for an officer's diversion
alter table {schema}.referrals add column intake jsonb not null default '{}';  -- the diversion's minimal fields
create index referrals_by_agency on {schema}.referrals (agency_id, created_at);
-- At most one live offer per agency kind and case: two red flags handled at once cannot both refer;
-- the loser's transaction fails, is retried by the consumer, and then sees the kind already offered.
create unique index one_live_referral_per_kind on {schema}.referrals (case_id, agency_kind)
    where status in ('requested', 'accepted', 'in-progress');
create index referrals_due on {schema}.referrals (due_by) where status = 'requested';

-- The agency directory (HSDS-shaped document per organisation), seeded from the package's file.
create table {schema}.agencies (
    id         text primary key,
    kind       text not null,
    document   jsonb not null,
    updated_at timestamptz not null default now()
);

-- People live in their own schema, apart from cases, with the sensitive columns encrypted (AES-GCM,
-- adapters/crypto.py). Nothing here is ever put on an event.
create schema if not exists {schema}_people;

create table {schema}_people.persons (
    id              uuid primary key,
    case_id         uuid not null references {schema}.cases (id),
    sealed          jsonb not null default '{}',   -- field -> base64 ciphertext bound to (column, row id)
    age_band        text,
    language        text,
    do_not_contact  boolean not null default false,
    created_by      text not null,
    created_at      timestamptz not null default now()
);
create index persons_by_case on {schema}_people.persons (case_id);

create table {schema}_people.consents (
    id                   uuid primary key,
    person_id            uuid not null references {schema}_people.persons (id),
    disclosing_party     text not null,
    recipient_agency_id  text not null,
    purpose              text not null,
    shareable_fields     text[] not null,
    expires_at           timestamptz,
    expiry_event         text,
    expiry_event_at      timestamptz,
    signed_by_sealed     bytea not null,   -- the signer's name, encrypted like the person's
    signer_role          text not null,
    signed_at            timestamptz not null,
    revoked_at           timestamptz,
    recorded_by          text not null,
    recorded_at          timestamptz not null default now()
);
create index consents_by_person on {schema}_people.consents (person_id);

-- Every read of a person's details, released or refused: append-only, enforced by the database.
create table {schema}_people.release_audit (
    id          bigserial primary key,
    at          timestamptz not null default now(),
    agency_id   text not null,
    subject     text not null,
    person_id   uuid not null,
    consent_id  uuid,
    released    boolean not null,
    fields      text[] not null default '{}'
);

create function {schema}_people.audit_is_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'release_audit is append-only: % is not allowed', tg_op;
end $$;
create trigger release_audit_append_only before update or delete on {schema}_people.release_audit
    for each row execute function {schema}_people.audit_is_append_only();
create trigger release_audit_no_truncate before truncate on {schema}_people.release_audit
    for each statement execute function {schema}_people.audit_is_append_only();
