-- Criminal-operation facts of red flags, held only until a referral to the police arrives (or 30 days).
create table {schema}.held_red_flags (
    red_flag_id      uuid primary key,
    establishment_id text not null,
    facts            jsonb not null,
    received_at      timestamptz not null default now()
);
create index held_by_establishment on {schema}.held_red_flags (establishment_id);

-- What officers see: a case file per case referred to the police, with the criminal-operation view only.
create table {schema}.case_files (
    case_id          uuid primary key,
    referral_id      uuid not null,
    establishment_id text not null,
    rule_id          text not null,
    due_by           timestamptz not null,
    red_flags        jsonb not null default '[]',
    opened_at        timestamptz not null default now()
);
