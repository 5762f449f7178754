-- The establishment registry (licensed businesses: shareable facts, no person data).
create table {schema}.establishments (
    id             text primary key,
    license_number text not null unique,
    name           text not null,
    license_type   text not null,
    license_status text not null,
    license_expiry date,
    address        text,
    area           text,
    jurisdiction   text not null,
    updated_at     timestamptz not null default now()
);

create table {schema}.inspections (
    id                   uuid primary key,
    establishment_id     text not null references {schema}.establishments (id),
    department           text not null,
    program              text not null,
    reason               text not null,
    inspected_on         date not null,
    result               text not null,
    indicator_codes      text[] not null default '{}',
    checklist_version    text,
    answers              jsonb not null default '{}',
    interpreter_language text,
    recorded_by          text not null,
    recorded_at          timestamptz not null default now()
);
create index inspections_by_establishment on {schema}.inspections (establishment_id, inspected_on);

-- Red flags raised by screening; at most one open per establishment.
create table {schema}.red_flags (
    id               uuid primary key,
    establishment_id text not null references {schema}.establishments (id),
    level            text not null,
    score            double precision not null,
    status           text not null default 'open' check (status in ('open', 'closed')),
    explanation      jsonb not null,
    raised_at        timestamptz not null default now(),
    updated_at       timestamptz not null default now()
);
create unique index one_open_red_flag on {schema}.red_flags (establishment_id) where status = 'open';
