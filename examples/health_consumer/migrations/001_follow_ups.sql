create table {schema}.follow_ups (
    red_flag_id      uuid primary key,
    establishment_id text not null,
    due_on           date not null,
    status_code      int not null,
    scheduled_at     timestamptz not null default now()
);
