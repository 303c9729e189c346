-- Foundation schema: schools, people, policies and their versions, agreements, audit.
-- Agreements and audit events are evidence: the database itself refuses to change them.

create table schools (
    id uuid primary key default gen_random_uuid(),
    slug text not null unique check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name text not null check (length(name) between 1 and 200),
    created_at timestamptz not null default now()
);

create table users (
    id uuid primary key default gen_random_uuid(),
    email text not null check (position('@' in email) > 1),
    full_name text not null check (length(full_name) between 1 and 200),
    password_hash text,
    -- Bumped to end every session of this person at once.
    auth_epoch integer not null default 0,
    created_at timestamptz not null default now()
);
create unique index users_email_key on users (lower(email));

create table memberships (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references users (id),
    school_id uuid not null references schools (id),
    grp text not null check (grp in ('staff', 'governor', 'volunteer', 'external')),
    job_title text not null default '' check (length(job_title) <= 200),
    roles text[] not null default '{signer}'
        check (roles <@ array['signer', 'sbm', 'dpo', 'head', 'admin']::text[]),
    status text not null default 'active' check (status in ('active', 'left')),
    left_on date,
    created_at timestamptz not null default now(),
    constraint memberships_user_school_key unique (user_id, school_id),
    -- Lets agreements prove their membership belongs to the same school.
    constraint memberships_id_school_key unique (id, school_id)
);
create index memberships_school_idx on memberships (school_id, grp, status);

create table policies (
    id uuid primary key default gen_random_uuid(),
    school_id uuid not null references schools (id),
    name text not null check (length(name) between 1 and 200),
    audience text[] not null check (cardinality(audience) > 0),
    created_at timestamptz not null default now(),
    constraint policies_school_name_key unique (school_id, name),
    constraint policies_id_school_key unique (id, school_id)
);

create table policy_versions (
    id uuid primary key default gen_random_uuid(),
    policy_id uuid not null,
    school_id uuid not null,
    label text not null check (length(label) between 1 and 50),
    title text not null check (length(title) between 1 and 300),
    body_md text not null,
    -- [{"id": "...", "text": "...", "required": true}], in the order shown.
    acknowledgements jsonb not null default '[]' check (jsonb_typeof(acknowledgements) = 'array'),
    -- Which lines the signature block prints: signature, date, full_name, role.
    signature_fields text[] not null default '{signature,date,full_name,role}'
        check (signature_fields <@ array['signature', 'date', 'full_name', 'role']::text[]),
    reviewed_on date,
    next_review_due date,
    reviewed_by text not null default '',
    status text not null default 'draft' check (status in ('draft', 'published', 'superseded')),
    published_at timestamptz,
    published_by uuid references users (id),
    content_sha256 text check (content_sha256 ~ '^[0-9a-f]{64}$'),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    foreign key (policy_id, school_id) references policies (id, school_id),
    constraint policy_versions_id_school_key unique (id, school_id),
    constraint policy_versions_published_facts
        check (status = 'draft' or (published_at is not null and content_sha256 is not null))
);
create unique index policy_versions_one_published on policy_versions (policy_id) where status = 'published';
create index policy_versions_school_idx on policy_versions (school_id, status);

-- A published version is evidence of what people signed: only its status may move on, to superseded.
create function policy_versions_guard() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' then
        if old.status <> 'draft' then
            raise exception 'policy version % is %, and can no longer be deleted', old.id, old.status
                using errcode = 'integrity_constraint_violation';
        end if;
        return old;
    end if;
    if old.status = 'draft' then
        return new;
    end if;
    if old.status = 'published' and new.status = 'superseded'
        and (new.policy_id, new.school_id, new.label, new.title, new.body_md, new.acknowledgements,
             new.signature_fields, new.reviewed_on, new.next_review_due, new.reviewed_by,
             new.published_at, new.published_by, new.content_sha256, new.created_at)
            is not distinct from
            (old.policy_id, old.school_id, old.label, old.title, old.body_md, old.acknowledgements,
             old.signature_fields, old.reviewed_on, old.next_review_due, old.reviewed_by,
             old.published_at, old.published_by, old.content_sha256, old.created_at) then
        return new;
    end if;
    raise exception 'policy version % is %, and can no longer be changed', old.id, old.status
        using errcode = 'integrity_constraint_violation';
end;
$$;
create trigger policy_versions_guard before update or delete on policy_versions
    for each row execute function policy_versions_guard();

create table agreements (
    id uuid primary key default gen_random_uuid(),
    school_id uuid not null,
    membership_id uuid not null,
    version_id uuid not null,
    signed_at timestamptz not null default now(),
    full_name text not null check (length(full_name) between 1 and 200),
    role_stated text check (length(role_stated) <= 200),
    -- {"acknowledgement id": ticked?} for every acknowledgement of the version.
    acknowledgements jsonb not null check (jsonb_typeof(acknowledgements) = 'object'),
    content_sha256 text not null check (content_sha256 ~ '^[0-9a-f]{64}$'),
    ip inet,
    user_agent text check (length(user_agent) <= 1000),
    method text not null default 'online' check (method in ('online', 'paper')),
    recorded_by uuid references users (id),
    note text,
    foreign key (membership_id, school_id) references memberships (id, school_id),
    foreign key (version_id, school_id) references policy_versions (id, school_id),
    constraint agreements_membership_version_key unique (membership_id, version_id),
    check (method = 'online' or recorded_by is not null)
);
create index agreements_version_idx on agreements (version_id);

create table audit_events (
    id bigint generated always as identity primary key,
    school_id uuid references schools (id),
    actor_user_id uuid references users (id),
    action text not null,
    subject text not null default '',
    at timestamptz not null default now(),
    details jsonb not null default '{}'
);
create index audit_events_school_idx on audit_events (school_id, at);

-- Evidence tables are append-only, whoever connects.
create function refuse_evidence_change() returns trigger language plpgsql as $$
begin
    raise exception '% is append-only: % refused', tg_table_name, tg_op
        using errcode = 'integrity_constraint_violation';
end;
$$;
create trigger agreements_append_only before update or delete on agreements
    for each row execute function refuse_evidence_change();
create trigger agreements_no_truncate before truncate on agreements
    for each statement execute function refuse_evidence_change();
create trigger audit_events_append_only before update or delete on audit_events
    for each row execute function refuse_evidence_change();
create trigger audit_events_no_truncate before truncate on audit_events
    for each statement execute function refuse_evidence_change();
