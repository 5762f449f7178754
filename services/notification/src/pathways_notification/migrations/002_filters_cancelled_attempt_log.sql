-- Subscription filters; an empty array or a null min_level means "any" (domain/filters.py).
alter table {schema}.subscriptions
    add column jurisdictions text[] not null default '{}',
    add column min_level     text,
    add column categories    text[] not null default '{}',
    add column programs      text[] not null default '{}',
    add column deactivated_at timestamptz;

-- A receiver that answers 410 unsubscribes itself: what was still pending for it is cancelled.
alter table {schema}.deliveries drop constraint deliveries_status_check;
alter table {schema}.deliveries add constraint deliveries_status_check
    check (status in ('pending', 'delivered', 'parked', 'cancelled'));

-- Creation order within a subscription, without relying on timestamps that may tie.
alter table {schema}.deliveries add column seq bigserial;
create index deliveries_lane on {schema}.deliveries (subscription_id, seq) where status = 'pending';

-- What each attempt meant (delivered, retry, parked, unsubscribed), beside its code and latency.
alter table {schema}.delivery_attempts add column outcome text;
