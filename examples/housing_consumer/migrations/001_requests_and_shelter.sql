create table {schema}.inspection_requests (
    red_flag_id      uuid primary key,
    establishment_id text not null,
    program          text not null default 'rental_housing',
    reasons          text[] not null,
    status           text not null default 'open',
    requested_at     timestamptz not null default now()
);

-- Emergency shelter beds the department can offer right now, per site.
create table {schema}.shelter_sites (
    site       text primary key,
    beds_free  int not null check (beds_free >= 0)
);
insert into {schema}.shelter_sites values ('Downtown family shelter', 6), ('Northside transitional housing', 4);

create table {schema}.shelter_offers (
    red_flag_id      uuid primary key,
    establishment_id text not null,
    site             text references {schema}.shelter_sites (site),
    beds             int not null,
    offered_at       timestamptz not null default now()
);
