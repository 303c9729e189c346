-- Paper signatures: the SBM records a signed paper form, optionally with its scan.

create table scans (
    id uuid primary key default gen_random_uuid(),
    school_id uuid not null references schools (id),
    content_type text not null check (content_type in ('application/pdf', 'image/jpeg', 'image/png')),
    sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes integer not null check (size_bytes between 1 and 10485760),
    bytes bytea not null,
    uploaded_by uuid not null references users (id),
    uploaded_at timestamptz not null default now(),
    constraint scans_id_school_key unique (id, school_id)
);

alter table agreements
    add column scan_id uuid,
    -- When the portal stored it; for a paper form, signed_at is the date written on the paper.
    add column recorded_at timestamptz not null default now(),
    add foreign key (scan_id, school_id) references scans (id, school_id);

-- Scans are evidence too.
create trigger scans_append_only before update or delete on scans
    for each row execute function refuse_evidence_change();

create index memberships_user_idx on memberships (user_id);
create index reminders_version_idx on reminders (version_id, membership_id);
