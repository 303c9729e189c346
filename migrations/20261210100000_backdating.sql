-- A paper form dated before its version was published, for a school moving from paper: kept
-- with the reason the SBM gives. Free text, so personal (SECURITY.md, "Seal format 2"): it
-- lives with the other personal fields, salted and committed to, and can be erased.

alter table agreement_personal
    add column backdate_reason text check (length(backdate_reason) between 1 and 500),
    add column backdate_reason_salt bytea;

create or replace function agreement_personal_salts() returns trigger language plpgsql as $$
begin
    new.full_name_salt := case when new.full_name is not null then random_salt() end;
    new.role_stated_salt := case when new.role_stated is not null then random_salt() end;
    new.ip_salt := case when new.ip is not null then random_salt() end;
    new.user_agent_salt := case when new.user_agent is not null then random_salt() end;
    new.note_salt := case when new.note is not null then random_salt() end;
    new.backdate_reason_salt := case when new.backdate_reason is not null then random_salt() end;
    return new;
end;
$$;

-- Rows sealed before this have no backdate_reason in their stored commitments, and verify
-- checks only the fields a row was sealed with.
create or replace function agreement_commitments(p agreement_personal) returns jsonb language sql stable as $$
    select jsonb_build_object(
        'full_name', personal_commitment('agreement', p.agreement_id::text, 'full_name', p.full_name_salt, p.full_name),
        'role_stated', personal_commitment('agreement', p.agreement_id::text, 'role_stated', p.role_stated_salt, p.role_stated),
        'ip', personal_commitment('agreement', p.agreement_id::text, 'ip', p.ip_salt, host(p.ip)),
        'user_agent', personal_commitment('agreement', p.agreement_id::text, 'user_agent', p.user_agent_salt, p.user_agent),
        'note', personal_commitment('agreement', p.agreement_id::text, 'note', p.note_salt, p.note),
        'backdate_reason', personal_commitment('agreement', p.agreement_id::text, 'backdate_reason',
                                               p.backdate_reason_salt, p.backdate_reason))
$$;

create or replace function erase_personal(kind text, row_id text, fields text[], rule text) returns void
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
                  where f not in ('full_name', 'role_stated', 'ip', 'user_agent', 'note', 'backdate_reason')) then
        raise exception 'erase_personal: fields must be some of full_name, role_stated, ip, user_agent, note, backdate_reason';
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
        note_salt = case when 'note' = any(fields) then null else p.note_salt end,
        backdate_reason = case when 'backdate_reason' = any(fields) then null else p.backdate_reason end,
        backdate_reason_salt = case when 'backdate_reason' = any(fields) then null else p.backdate_reason_salt end
    where p.agreement_id = row_id::uuid;
    delete from agreement_personal p where p.agreement_id = row_id::uuid
        and num_nulls(p.full_name, p.role_stated, p.ip, p.user_agent, p.note, p.backdate_reason) = 6;
    perform set_config('aup.erasing', 'off', true);
    foreach field in array fields loop
        insert into erasures (kind, row_id, field, school_id, rule, audit_event_id)
            values (kind, row_id, field, school, rule, event)
            on conflict do nothing;
    end loop;
end;
$$;
revoke all on function erase_personal(text, text, text[], text) from public;
