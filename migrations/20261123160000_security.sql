-- Sign-in throttling per account (held in the database, so it holds across instances),
-- two-factor sign-in, and the tamper-evident seals over the evidence.

alter table users
    add column failed_sign_ins integer not null default 0,
    add column failures_since timestamptz,
    add column locked_until timestamptz,
    add column lockouts integer not null default 0,
    add column totp_secret text,
    add column totp_enabled_at timestamptz,
    -- The last time step whose code was accepted: a code works once.
    add column totp_last_step bigint,
    -- SHA-256 of each unused recovery code.
    add column recovery_codes text[] not null default '{}';

alter table schools
    -- The DfE cyber security standards expect a second factor on accounts that reach personal data.
    add column require_two_factor boolean not null default true;

-- Each seal covers the agreements and audit events of a school not sealed before, and hashes
-- the previous seal with them: a chain, as transparency logs keep.
-- Events outside any school (sign-ins) are sealed in the chain of the nil school id.
create table seals (
    school_id uuid not null,
    seq bigint not null,
    sealed_at timestamptz not null default now(),
    prev_sha256 text not null check (prev_sha256 ~ '^[0-9a-f]{64}$'),
    sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
    rows_covered integer not null,
    primary key (school_id, seq)
);

create table seal_entries (
    school_id uuid not null,
    seq bigint not null,
    kind text not null check (kind in ('agreement', 'audit_event')),
    row_id text not null,
    row_sha256 text not null check (row_sha256 ~ '^[0-9a-f]{64}$'),
    primary key (kind, row_id),
    foreign key (school_id, seq) references seals (school_id, seq)
);
create index seal_entries_seal_idx on seal_entries (school_id, seq);

create trigger seals_append_only before update or delete on seals
    for each row execute function refuse_evidence_change();
create trigger seals_no_truncate before truncate on seals
    for each statement execute function refuse_evidence_change();
create trigger seal_entries_append_only before update or delete on seal_entries
    for each row execute function refuse_evidence_change();
create trigger seal_entries_no_truncate before truncate on seal_entries
    for each statement execute function refuse_evidence_change();

-- A reminder queued for someone who has signed or left by the time it would go is cancelled.
alter table outbox drop constraint outbox_status_check,
    add constraint outbox_status_check check (status in ('pending', 'sent', 'failed', 'cancelled'));

-- Rows waiting to be sealed: filled by trigger as agreements and audit events are stored,
-- emptied by the sealer, so sealing never scans the evidence tables.
create table seal_queue (
    kind text not null check (kind in ('agreement', 'audit_event')),
    row_id text not null,
    school_id uuid not null,
    primary key (kind, row_id)
);
create index seal_queue_school_idx on seal_queue (school_id);

create function queue_for_seal() returns trigger language plpgsql as $$
begin
    insert into seal_queue (kind, row_id, school_id)
    values (tg_argv[0], new.id::text, coalesce(new.school_id, '00000000-0000-0000-0000-000000000000'));
    return new;
end;
$$;
create trigger agreements_seal_queue after insert on agreements
    for each row execute function queue_for_seal('agreement');
create trigger audit_events_seal_queue after insert on audit_events
    for each row execute function queue_for_seal('audit_event');

insert into seal_queue (kind, row_id, school_id)
    select 'agreement', id::text, school_id from agreements;
insert into seal_queue (kind, row_id, school_id)
    select 'audit_event', id::text, coalesce(school_id, '00000000-0000-0000-0000-000000000000') from audit_events;
