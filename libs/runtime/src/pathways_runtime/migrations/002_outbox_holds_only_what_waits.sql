-- The outbox holds what waits to be published and nothing more: the relay deletes a batch once the
-- broker has acknowledged it. It used to mark the rows published and keep them, so the table grew by
-- every event a service ever emitted (the bus keeps the events; the outbox is only the way there).
delete from {schema}.outbox where published_at is not null;
alter table {schema}.outbox drop column published_at;  -- and with it the index on unpublished rows
