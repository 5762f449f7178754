-- A lane takes, in one query, the oldest pending delivery of each subject of its subscription: whether a
-- pending delivery has an older one of the same subject waiting is one probe of this index.
create index deliveries_subject_lane on {schema}.deliveries (subscription_id, subject, seq) where status = 'pending';
