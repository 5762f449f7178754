-- Every action taken from the console, with who took it and why.
create table {schema}.audit (
    id      bigserial primary key,
    at      timestamptz not null default now(),
    actor   text not null,
    action  text not null,   -- dead_letter.replay, dead_letter.replay_matching, dead_letter.discard, delivery.replay
    target  jsonb not null,  -- ids and offsets only
    why     text not null,
    outcome text not null
);

-- What the console did to a parked record; the dead-letter topic itself is append-only.
create table {schema}.dead_letter_actions (
    dlq_topic  text not null,
    partition  int not null,
    "offset"   bigint not null,
    state      text not null check (state in ('replayed', 'discarded')),
    audit_id   bigint not null references {schema}.audit (id),
    primary key (dlq_topic, partition, "offset")
);
