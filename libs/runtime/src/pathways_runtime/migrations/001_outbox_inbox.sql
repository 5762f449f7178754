-- Transactional outbox: domain rows and the events they cause commit together;
-- the relay publishes rows in id order (and since 002 deletes them once published).
create table {schema}.outbox (
    id           bigserial primary key,
    event_id     text not null unique,
    topic        text not null,
    key          bytea not null,
    value        bytea not null,
    headers      jsonb not null,
    traceparent  text,
    created_at   timestamptz not null default now(),
    published_at timestamptz
);
create index outbox_unpublished on {schema}.outbox (id) where published_at is null;

-- Idempotent consumer: one row per (consumer group, event id), written in the
-- same transaction as the handler's effects; a redelivered event finds its row.
create table {schema}.inbox (
    consumer_group text not null,
    event_id       text not null,
    event_type     text not null,
    processed_at   timestamptz not null default now(),
    primary key (consumer_group, event_id)
);
