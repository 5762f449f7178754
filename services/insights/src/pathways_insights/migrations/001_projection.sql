-- The insights projection: what the bus says about inspections, red flags, cases and referrals.
-- Establishment-, case- and referral-level facts only: no person data exists on the bus, none is kept here.

-- Where an establishment sits, as its inspections say (the registry's license type is not on the bus:
-- its type is the program of its earliest inspection seen, as a license type is its program by default).
create table {schema}.establishments (
    establishment_id text primary key,
    jurisdiction     text not null,
    area             text,
    establishment_type text not null,
    first_inspected_on date not null
);

create table {schema}.inspections (
    inspection_id    uuid primary key,
    seq              bigserial not null,  -- arrival order: breaks ties between inspections of one day
    establishment_id text not null,
    jurisdiction     text not null,
    area             text,
    department       text not null,
    program          text not null,
    reason           text not null,
    inspected_on     date not null,
    result           text not null,
    indicator_codes  text[] not null default '{}',
    category         text not null  -- sex, labor, both or none: what the indicator codes point to
);
create index inspections_by_day on {schema}.inspections (inspected_on, seq);

create table {schema}.red_flags (
    red_flag_id      uuid primary key,
    establishment_id text not null,
    jurisdiction     text not null,
    level            text not null,
    category         text not null,
    raised_on        date not null
);

create table {schema}.cases (
    case_id          uuid primary key,
    establishment_id text,
    jurisdiction     text,
    category         text,
    opened_on        date,
    closed_on        date,
    outcome          text
);

create table {schema}.referrals (
    referral_id      uuid primary key,
    case_id          uuid not null,
    establishment_id text,
    agency_kind      text,
    created_on       date,
    accepted_on      date,
    declined_on      date,
    expired_on       date,
    engaged_on       date,
    closed_on        date,
    closed_status    text
);

-- Every statistics release: who asked, when, with which parameters, and what was published.
create table {schema}.releases (
    release_id       uuid primary key,
    released_at      timestamptz not null default now(),
    released_to      text not null,  -- the token's subject
    role             text not null,
    org              text not null,
    parameters       jsonb not null,
    k                integer not null check (k >= 11),
    cells_published  integer not null,
    cells_suppressed integer not null
);
