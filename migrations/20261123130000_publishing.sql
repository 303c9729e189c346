-- Publishing: one draft at a time per policy, the outbox that publish notifications
-- (and every other email) wait in, and a way to find a policy's history.

create unique index policy_versions_one_draft on policy_versions (policy_id) where status = 'draft';

create table outbox (
    id uuid primary key default gen_random_uuid(),
    school_id uuid references schools (id),
    -- The same event never queues the same email twice: "published:<version>:<membership>".
    dedupe_key text not null,
    to_address text not null,
    subject text not null,
    body_text text not null,
    body_html text not null,
    status text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    last_error text,
    created_at timestamptz not null default now(),
    sent_at timestamptz,
    constraint outbox_dedupe_key_key unique (dedupe_key)
);
create index outbox_due_idx on outbox (next_attempt_at) where status = 'pending';

create index audit_events_policy_idx on audit_events ((details ->> 'policy_id'))
    where details ? 'policy_id';
