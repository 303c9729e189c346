-- The date by which a published version should be signed. It lives outside the version,
-- which is evidence and never changes: the DPO can move it later, and it is not hashed.
create table sign_by_dates (
    version_id uuid primary key,
    school_id uuid not null,
    sign_by date not null,
    set_by uuid references users (id),
    set_at timestamptz not null default now(),
    foreign key (version_id, school_id) references policy_versions (id, school_id) on delete cascade
);
