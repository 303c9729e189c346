-- Reminders sent to people who owe a signature, and single-use links to set a password.

create table reminders (
    id uuid primary key default gen_random_uuid(),
    school_id uuid not null references schools (id),
    membership_id uuid not null,
    version_id uuid not null,
    reminded_at timestamptz not null default now(),
    -- scheduled: the daily job; chase: an SBM pressed the button.
    kind text not null check (kind in ('scheduled', 'chase')),
    sent_by uuid references users (id),
    foreign key (membership_id, school_id) references memberships (id, school_id),
    foreign key (version_id, school_id) references policy_versions (id, school_id)
);
create index reminders_membership_idx on reminders (membership_id, version_id, reminded_at);

create table account_tokens (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references users (id),
    purpose text not null check (purpose in ('invite', 'reset')),
    -- Only the token's hash is kept: the database never holds a usable link.
    token_sha256 text not null check (token_sha256 ~ '^[0-9a-f]{64}$'),
    expires_at timestamptz not null,
    used_at timestamptz,
    created_at timestamptz not null default now(),
    constraint account_tokens_token_key unique (token_sha256)
);
create index account_tokens_user_idx on account_tokens (user_id, created_at);
