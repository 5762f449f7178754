create table {schema}.subscriptions (
    id          uuid primary key,
    department  text not null,
    role        text not null,
    event_types text[] not null,
    channel     text not null check (channel in ('webhook', 'email')),
    target      text not null,          -- webhook URL or email address
    secret      text,                   -- webhook signing secret (whsec_...)
    active      boolean not null default true,
    created_at  timestamptz not null default now()
);

-- One delivery per (subscription, event): its id is the receiver's idempotency key.
create table {schema}.deliveries (
    id              uuid primary key,
    subscription_id uuid not null references {schema}.subscriptions (id),
    event_id        text not null,
    event_type      text not null,
    subject         text not null,
    body            jsonb not null,
    traceparent     text,
    status          text not null default 'pending' check (status in ('pending', 'delivered', 'parked')),
    attempts        int not null default 0,
    next_attempt_at timestamptz not null default now(),
    last_error      text,
    created_at      timestamptz not null default now(),
    delivered_at    timestamptz,
    unique (subscription_id, event_id)
);
create index deliveries_due on {schema}.deliveries (next_attempt_at) where status = 'pending';

create table {schema}.delivery_attempts (
    id            bigserial primary key,
    delivery_id   uuid not null references {schema}.deliveries (id),
    attempted_at  timestamptz not null default now(),
    status_code   int,
    latency_ms    int not null,
    error         text
);
