-- A delivery goes out as a structured-mode CloudEvent: keep the event's source and time beside its id and type.
-- Deliveries recorded before this migration have neither; they go out with the service's source and their
-- creation time.
alter table {schema}.deliveries
    add column source     text,
    add column event_time timestamptz;
