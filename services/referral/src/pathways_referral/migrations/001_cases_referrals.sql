-- Cases: one open case per establishment, however often a red flag is redelivered.
create table {schema}.cases (
    id               uuid primary key,
    establishment_id text not null,
    jurisdiction     text not null,
    level            text not null,
    status           text not null default 'open' check (status in ('open', 'closed')),
    opened_at        timestamptz not null default now(),
    closed_at        timestamptz
);
create unique index one_open_case_per_establishment on {schema}.cases (establishment_id) where status = 'open';

create table {schema}.case_red_flags (
    red_flag_id uuid primary key,
    case_id     uuid not null references {schema}.cases (id),
    level       text not null,
    payload     jsonb not null,
    received_at timestamptz not null default now()
);

create table {schema}.case_timeline (
    id         bigserial primary key,
    case_id    uuid not null references {schema}.cases (id),
    at         timestamptz not null default now(),
    what       text not null,
    detail     jsonb not null default '{}'
);

-- Referrals follow the FHIR Task statuses (requested, accepted, rejected, in-progress, completed, ...).
create table {schema}.referrals (
    id             uuid primary key,
    case_id        uuid not null references {schema}.cases (id),
    agency_id      text not null,
    service        text not null,
    rule_id        text not null,
    policy_version text not null,
    status         text not null default 'requested',
    due_by         timestamptz not null,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now()
);
create index referrals_by_case on {schema}.referrals (case_id);
