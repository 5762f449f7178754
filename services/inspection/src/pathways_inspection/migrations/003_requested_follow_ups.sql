-- Follow-ups a department asks for over POST /follow-ups (e.g. health after a red flag), beside the automatic ones.
alter table {schema}.scheduled_inspections drop constraint scheduled_inspections_reason_check;
alter table {schema}.scheduled_inspections add constraint scheduled_inspections_reason_check
    check (reason in ('red_flag', 'failed_sanitation', 'requested'));
alter table {schema}.scheduled_inspections
    add column requested_by    text,
    -- The caller's Idempotency-Key: a retried request finds the follow-up it already scheduled.
    add column idempotency_key text unique;
