-- Who read the release audit, when, with which filters: the audit of the audit (append-only too).
create table {schema}_people.audit_reads (
    id       bigserial primary key,
    at       timestamptz not null default now(),
    subject  text not null,
    org      text not null,
    filters  jsonb not null default '{}',
    rows     int not null
);
create trigger audit_reads_append_only before update or delete on {schema}_people.audit_reads
    for each row execute function {schema}_people.audit_is_append_only();
create trigger audit_reads_no_truncate before truncate on {schema}_people.audit_reads
    for each statement execute function {schema}_people.audit_is_append_only();
create index release_audit_by_person on {schema}_people.release_audit (person_id, id);
create index release_audit_by_agency on {schema}_people.release_audit (agency_id, id);

-- Keyset pagination of /cases and /referrals (newest first).
create index cases_by_opened on {schema}.cases (opened_at desc, id desc);
create index referrals_by_created on {schema}.referrals (created_at desc, id desc);

-- Open Referral HSDS 3.0 names in the stored directory: an organisation's `website` (was `url`),
-- and each service names its `organization_id`.
update {schema}.agencies
   set document = (document - 'url') || jsonb_build_object('website', document -> 'url')
 where document ? 'url';
update {schema}.agencies a
   set document = jsonb_set(a.document, '{services}', (
         select coalesce(jsonb_agg(s || jsonb_build_object('organization_id', a.id)), '[]'::jsonb)
           from jsonb_array_elements(a.document -> 'services') s))
 where jsonb_typeof(a.document -> 'services') = 'array';
