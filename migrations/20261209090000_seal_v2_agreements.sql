-- Seal format 2 for agreements (SECURITY.md, "Seal format 2"). An agreement's personal fields
-- move to a table of their own, each with a salt the database makes. The seal covers a
-- salted commitment to each, so a field can be erased and the chain still verify.

create function random_salt() returns bytea language sql volatile
    as $$ select uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()) $$;

create table agreement_personal (
    agreement_id uuid primary key references agreements (id),
    full_name text check (length(full_name) between 1 and 200),
    full_name_salt bytea,
    role_stated text check (length(role_stated) <= 200),
    role_stated_salt bytea,
    ip inet,
    ip_salt bytea,
    user_agent text,
    user_agent_salt bytea,
    note text,
    note_salt bytea
);

-- The salts are the database's own, whatever an insert says: one per field held.
create function agreement_personal_salts() returns trigger language plpgsql as $$
begin
    new.full_name_salt := case when new.full_name is not null then random_salt() end;
    new.role_stated_salt := case when new.role_stated is not null then random_salt() end;
    new.ip_salt := case when new.ip is not null then random_salt() end;
    new.user_agent_salt := case when new.user_agent is not null then random_salt() end;
    new.note_salt := case when new.note is not null then random_salt() end;
    return new;
end;
$$;
create trigger agreement_personal_salts before insert on agreement_personal
    for each row execute function agreement_personal_salts();

-- Personal fields change or go only through erase_personal, whoever connects; the portal's
-- login has no right to update or delete them at all.
create function personal_guard() returns trigger language plpgsql as $$
begin
    if current_setting('aup.erasing', true) = 'on' then
        return case when tg_op = 'DELETE' then old else new end;
    end if;
    raise exception '% of personal data in % is refused: erase it with erase_personal()', tg_op, tg_table_name
        using errcode = 'integrity_constraint_violation';
end;
$$;
create trigger agreement_personal_guard before update or delete on agreement_personal
    for each row execute function personal_guard();
create trigger agreement_personal_no_truncate before truncate on agreement_personal
    for each statement execute function refuse_evidence_change();

-- What was erased, when and under which rule: append-only, and sealed through the audit
-- event each erasure records.
create table erasures (
    kind text not null check (kind in ('agreement')),
    row_id text not null,
    field text not null,
    school_id uuid not null,
    rule text not null check (length(rule) between 1 and 200),
    erased_at timestamptz not null default now(),
    audit_event_id bigint not null references audit_events (id),
    primary key (kind, row_id, field)
);
create trigger erasures_append_only before update or delete on erasures
    for each row execute function refuse_evidence_change();
create trigger erasures_no_truncate before truncate on erasures
    for each statement execute function refuse_evidence_change();

-- A commitment to one personal field: SHA-256 over
-- "aup-personal-v1\n{kind}\n{row id}\n{field}\n{salt in hex}\n{value}". Null for a field not
-- given. Never change it: seals depend on it.
create function personal_commitment(kind text, row_id text, field text, salt bytea, value text)
returns text language sql immutable as $$
    select case when value is not null then
        encode(sha256(convert_to('aup-personal-v1' || E'\n' || kind || E'\n' || row_id || E'\n' || field
                                 || E'\n' || encode(salt, 'hex') || E'\n' || value, 'UTF8')), 'hex')
    end
$$;

-- The commitments to an agreement's personal fields, as they are held now.
create function agreement_commitments(p agreement_personal) returns jsonb language sql stable as $$
    select jsonb_build_object(
        'full_name', personal_commitment('agreement', p.agreement_id::text, 'full_name', p.full_name_salt, p.full_name),
        'role_stated', personal_commitment('agreement', p.agreement_id::text, 'role_stated', p.role_stated_salt, p.role_stated),
        'ip', personal_commitment('agreement', p.agreement_id::text, 'ip', p.ip_salt, host(p.ip)),
        'user_agent', personal_commitment('agreement', p.agreement_id::text, 'user_agent', p.user_agent_salt, p.user_agent),
        'note', personal_commitment('agreement', p.agreement_id::text, 'note', p.note_salt, p.note))
$$;

-- Format 1's hash needs the personal columns: every agreement sealed under it must still match
-- it before they move, or the migration stops.
do $$
declare
    changed text;
begin
    select e.row_id into changed
    from seal_entries e join agreements a on a.id::text = e.row_id
    where e.kind = 'agreement' and agreement_row_sha256(a) <> e.row_sha256
    limit 1;
    if changed is not null then
        raise exception 'agreement % no longer matches its seal: run aup-portal verify before this migration', changed;
    end if;
end;
$$;

insert into agreement_personal (agreement_id, full_name, role_stated, ip, user_agent, note)
    select id, full_name, role_stated, ip, user_agent, note from agreements;

drop function agreement_row_sha256(agreements);
alter table agreements drop column full_name, drop column role_stated, drop column ip,
    drop column user_agent, drop column note;

-- An agreement's format-2 hash: SHA-256 over the jsonb text of its row (every column, each
-- non-personal now; nulls left out, so a column added later leaves older rows' hashes as they
-- were), its scan's fingerprint and the commitments to its personal fields. Times in UTC.
-- Never change it, nor drop or rename a column of agreements: seals depend on them.
create function agreement_row_sha256_v2(a agreements, commitments jsonb) returns text
language sql stable set timezone to 'UTC' as $$
    select encode(sha256(convert_to(jsonb_build_object(
        'format', 2,
        'row', jsonb_strip_nulls(to_jsonb(a)),
        'scan_sha256', (select s.sha256 from scans s where s.id = a.scan_id),
        'personal', commitments)::text, 'UTF8')), 'hex')
$$;

alter table seal_entries add column commitments jsonb,
    drop constraint seal_entries_kind_check,
    add constraint seal_entries_kind_check
        check (kind in ('agreement', 'audit_event', 'agreement_v2', 'attest_agreement')),
    add constraint seal_entries_commitments_check
        check ((commitments is not null) = (kind in ('agreement_v2', 'attest_agreement')));
alter table seal_queue drop constraint seal_queue_kind_check,
    add constraint seal_queue_kind_check check (kind in ('agreement', 'audit_event', 'attest_agreement'));

-- Seals the waiting rows of `schools`, at most `most`, one seal per school, as before; an
-- agreement now under format 2 (kind agreement_v2, or attest_agreement for one sealed under
-- format 1 and attested again once), with the commitments it was hashed with.
create or replace function seal_waiting(schools uuid[], most integer) returns integer
language plpgsql security definer set search_path = public, pg_temp as $$
declare
    covered integer;
begin
    -- One sealer at a time, whichever instance it runs in.
    perform pg_advisory_xact_lock(hashtextextended('aup-seal', 0));
    with taken as (
        delete from seal_queue
        where ctid = any(array(select ctid from seal_queue where school_id = any(schools) limit most))
        returning kind, row_id
    ), committed as (
        select a, t.kind, coalesce(agreement_commitments(p), '{}'::jsonb) as commitments
        from taken t
        join agreements a on a.id = t.row_id::uuid
        left join agreement_personal p on p.agreement_id = a.id
        where t.kind in ('agreement', 'attest_agreement')
    ), hashed as (
        select (c.a).school_id,
               case when c.kind = 'agreement' then 'agreement_v2' else c.kind end as kind,
               (c.a).id::text as row_id, agreement_row_sha256_v2(c.a, c.commitments) as row_sha256,
               c.commitments
        from committed c
        union all
        select coalesce(e.school_id, '00000000-0000-0000-0000-000000000000'), 'audit_event', e.id::text,
               audit_row_sha256(e), null
        from audit_events e where e.id in (select row_id::bigint from taken where kind = 'audit_event')
    ), chains as (
        select h.school_id, coalesce(l.seq, 0) + 1 as seq,
               coalesce(l.sha256, repeat('0', 64)) as prev, count(*)::integer as rows_covered,
               string_agg(h.kind || ' ' || h.row_id || ' ' || h.row_sha256 || E'\n', ''
                          order by h.kind, h.row_id) as listing
        from hashed h
        left join lateral (select s.seq, s.sha256 from seals s where s.school_id = h.school_id
                           order by s.seq desc limit 1) l on true
        group by h.school_id, l.seq, l.sha256
    ), sealed as (
        insert into seals (school_id, seq, prev_sha256, sha256, rows_covered)
        select school_id, seq, prev,
               encode(sha256(convert_to('aup-seal-v1' || E'\n' || school_id::text || E'\n' || seq::text
                                        || E'\n' || prev || E'\n' || listing, 'UTF8')), 'hex'),
               rows_covered
        from chains
    )
    insert into seal_entries (school_id, seq, kind, row_id, row_sha256, commitments)
    select h.school_id, c.seq, h.kind, h.row_id, h.row_sha256, h.commitments
    from hashed h join chains c on c.school_id = h.school_id;
    get diagnostics covered = row_count;
    return covered;
end;
$$;
revoke all on function seal_waiting(uuid[], integer) from public;

-- What is wrong with a format-2 entry's agreement now, in words, or null: its row against
-- the hash, each personal field still held against its commitment, and each one gone against
-- a record of its erasure.
create function agreement_entry_problem(entry_row text, entry_sha256 text, commitments jsonb)
returns text language plpgsql stable set search_path = public, pg_temp as $$
declare
    a agreements;
    p agreement_personal;
    held jsonb;
    name text;
begin
    select * into a from agreements where id = entry_row::uuid;
    if not found then
        return 'has been deleted';
    end if;
    if agreement_row_sha256_v2(a, commitments) <> entry_sha256 then
        return 'has been changed since it was sealed';
    end if;
    select * into p from agreement_personal where agreement_id = a.id;
    held := case when p.agreement_id is null then '{}'::jsonb else agreement_commitments(p) end;
    for name in select key from jsonb_each_text(commitments) where value is not null order by key loop
        if held ->> name is null then
            if not exists (select 1 from erasures e
                           where e.kind = 'agreement' and e.row_id = a.id::text and e.field = name) then
                return format('has lost its %s without a record of its erasure', name);
            end if;
        elsif held ->> name <> commitments ->> name then
            return format('has had its %s changed since it was sealed', name);
        end if;
    end loop;
    return null;
end;
$$;

-- Erases personal `fields` of one agreement under `rule`, for the retention job: the values
-- and their salts go (the row too, once nothing is left in it); a disposal record and an
-- audit event naming no one stay. The only way to change or remove a personal field.
create function erase_personal(kind text, row_id text, fields text[], rule text) returns void
language plpgsql security definer set search_path = public, pg_temp as $$
declare
    school uuid;
    event bigint;
    field text;
begin
    if kind <> 'agreement' then
        raise exception 'erase_personal: no personal fields of kind %', kind;
    end if;
    if fields is null or cardinality(fields) = 0
       or exists (select 1 from unnest(fields) f
                  where f not in ('full_name', 'role_stated', 'ip', 'user_agent', 'note')) then
        raise exception 'erase_personal: fields must be some of full_name, role_stated, ip, user_agent, note';
    end if;
    select a.school_id into school from agreements a where a.id = row_id::uuid;
    if school is null then
        raise exception 'erase_personal: agreement % does not exist', row_id;
    end if;
    insert into audit_events (school_id, action, subject, details)
        values (school, 'personal_data_erased', row_id,
                jsonb_build_object('fields', to_jsonb(fields), 'rule', rule))
        returning id into event;
    perform set_config('aup.erasing', 'on', true);
    update agreement_personal p set
        full_name = case when 'full_name' = any(fields) then null else p.full_name end,
        full_name_salt = case when 'full_name' = any(fields) then null else p.full_name_salt end,
        role_stated = case when 'role_stated' = any(fields) then null else p.role_stated end,
        role_stated_salt = case when 'role_stated' = any(fields) then null else p.role_stated_salt end,
        ip = case when 'ip' = any(fields) then null else p.ip end,
        ip_salt = case when 'ip' = any(fields) then null else p.ip_salt end,
        user_agent = case when 'user_agent' = any(fields) then null else p.user_agent end,
        user_agent_salt = case when 'user_agent' = any(fields) then null else p.user_agent_salt end,
        note = case when 'note' = any(fields) then null else p.note end,
        note_salt = case when 'note' = any(fields) then null else p.note_salt end
    where p.agreement_id = row_id::uuid;
    delete from agreement_personal p where p.agreement_id = row_id::uuid
        and num_nulls(p.full_name, p.role_stated, p.ip, p.user_agent, p.note) = 5;
    perform set_config('aup.erasing', 'off', true);
    foreach field in array fields loop
        insert into erasures (kind, row_id, field, school_id, rule, audit_event_id)
            values (kind, row_id, field, school, rule, event)
            on conflict do nothing;
    end loop;
end;
$$;
revoke all on function erase_personal(text, text, text[], text) from public;

-- Every agreement sealed under format 1 is attested once more under format 2, continuing its
-- school's chain: heads recorded before this migration still verify.
insert into seal_queue (kind, row_id, school_id)
    select 'attest_agreement', e.row_id, e.school_id from seal_entries e where e.kind = 'agreement';
select seal_waiting(array(select distinct school_id from seal_queue), 2147483647);

create or replace function grant_runtime(runtime name) returns void language plpgsql as $$
begin
    execute format('grant usage on schema public to %I', runtime);
    execute format('grant select, insert, update, delete on all tables in schema public to %I', runtime);
    execute format('revoke all on agreements, agreement_personal, audit_events, scans, seals, seal_entries, seal_queue, erasures, _sqlx_migrations from %I', runtime);
    execute format('grant select, insert on agreements, agreement_personal, audit_events, scans to %I', runtime);
    execute format('grant select on seals, seal_entries, seal_queue, erasures, _sqlx_migrations to %I', runtime);
    execute format('grant usage, select on all sequences in schema public to %I', runtime);
    execute format('grant execute on function seal_waiting(uuid[], integer) to %I', runtime);
end;
$$;
