-- One open investigation per establishment; later evidence is added to it.
create table {schema}.wage_theft_investigations (
    establishment_id text primary key,
    jurisdiction     text not null,
    indicator_codes  text[] not null,
    evidence_events  text[] not null,
    status           text not null default 'open',
    opened_at        timestamptz not null default now(),
    updated_at       timestamptz not null default now()
);
