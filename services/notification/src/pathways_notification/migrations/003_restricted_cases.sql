-- Cases on which someone must not be contacted (case.contact_restricted): nothing about them is notified.
-- Only the case id and the flag are known here; who and why stay in the referral service.
create table {schema}.restricted_cases (
    case_id     uuid primary key,
    restricted  boolean not null,
    changed_at  timestamptz not null,   -- of the referral service's change: an older event never wins
    recorded_at timestamptz not null default now()
);

-- A restriction cancels what is still waiting about the case, found by the case id in the stored body.
create index deliveries_waiting_by_case on {schema}.deliveries ((body ->> 'case_id'))
    where status in ('pending', 'parked');
