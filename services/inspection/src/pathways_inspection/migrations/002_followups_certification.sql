-- Inspections scheduled outside the routine plan: follow-ups after a red flag or a failed sanitation item.
create table {schema}.scheduled_inspections (
    id                   uuid primary key,
    establishment_id     text not null references {schema}.establishments (id),
    program              text not null,
    reason               text not null check (reason in ('red_flag', 'failed_sanitation')),
    due_on               date not null,
    source_inspection_id uuid references {schema}.inspections (id),
    red_flag_id          uuid references {schema}.red_flags (id),
    status               text not null default 'scheduled' check (status in ('scheduled', 'done', 'cancelled')),
    created_at           timestamptz not null default now()
);
create index scheduled_inspections_due on {schema}.scheduled_inspections (program, due_on) where status = 'scheduled';
-- One open follow-up per establishment, program and reason: a second failure does not pile up visits.
create unique index one_pending_follow_up on {schema}.scheduled_inspections (establishment_id, program, reason)
    where status = 'scheduled';

-- Clean Hotels (prevention): whether a lodging establishment signed the agreement, and when it was verified.
alter table {schema}.establishments
    add column clean_hotels_signed      boolean,
    add column clean_hotels_verified_on date;
create index establishments_by_jurisdiction on {schema}.establishments (jurisdiction);
create index inspections_by_program_date on {schema}.inspections (program, inspected_on);

-- License numbers already taken by earlier chunks of the same import, so that a duplicate row in a later
-- chunk is reported (with the line it duplicates) instead of silently overwriting the earlier row.
create table {schema}.import_claims (
    import_id      uuid not null,
    license_number text not null,
    line           integer not null,
    claimed_at     timestamptz not null default now(),
    primary key (import_id, license_number)
);
