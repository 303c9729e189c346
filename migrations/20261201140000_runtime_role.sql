-- The portal can serve with a login of its own that does not own the tables (migrations run
-- as the owner, with AUP_MIGRATE_DATABASE_URL). That login may add evidence but never change
-- it: it cannot switch the guard triggers off (only an owner can), truncate, or write the
-- seals; sealing goes through the owner's function below, which takes its rows from the
-- queue and computes every hash itself, so nothing the login passes in ends up in a seal.

revoke create on schema public from public;

-- What a row's hash covers, written once: the sealer and `verify` both use these.
-- Never change them: old seals depend on them.
create function agreement_row_sha256(a agreements) returns text language sql stable as $$
    select encode(sha256(convert_to(jsonb_build_object(
        'id', a.id, 'school_id', a.school_id, 'membership_id', a.membership_id, 'version_id', a.version_id,
        'signed_at', a.signed_at at time zone 'UTC', 'recorded_at', a.recorded_at at time zone 'UTC',
        'full_name', a.full_name, 'role_stated', a.role_stated, 'acknowledgements', a.acknowledgements,
        'content_sha256', a.content_sha256, 'ip', host(a.ip), 'user_agent', a.user_agent, 'method', a.method,
        'recorded_by', a.recorded_by, 'note', a.note, 'scan_id', a.scan_id,
        'scan_sha256', (select s.sha256 from scans s where s.id = a.scan_id))::text, 'UTF8')), 'hex')
$$;

create function audit_row_sha256(e audit_events) returns text language sql stable as $$
    select encode(sha256(convert_to(jsonb_build_object(
        'id', e.id, 'school_id', e.school_id, 'actor_user_id', e.actor_user_id, 'action', e.action,
        'subject', e.subject, 'at', e.at at time zone 'UTC', 'details', e.details)::text, 'UTF8')), 'hex')
$$;

-- Seals the waiting rows of `schools`, at most `most`, one seal per school: a seal's hash is
-- SHA-256 over "aup-seal-v1\n{school}\n{seq}\n{prev}\n" then "{kind} {row_id} {row_sha256}\n"
-- for each entry in (kind, row_id) order. Returns how many rows it covered.
create function seal_waiting(schools uuid[], most integer) returns integer
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
    ), hashed as (
        select a.school_id, 'agreement'::text as kind, a.id::text as row_id,
               agreement_row_sha256(a) as row_sha256
        from agreements a where a.id in (select row_id::uuid from taken where kind = 'agreement')
        union all
        select coalesce(e.school_id, '00000000-0000-0000-0000-000000000000'), 'audit_event', e.id::text,
               audit_row_sha256(e)
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
    insert into seal_entries (school_id, seq, kind, row_id, row_sha256)
    select h.school_id, c.seq, h.kind, h.row_id, h.row_sha256
    from hashed h join chains c on c.school_id = h.school_id;
    get diagnostics covered = row_count;
    return covered;
end;
$$;
revoke all on function seal_waiting(uuid[], integer) from public;

-- Rows join the queue through the owner's trigger function, so the login needs no right to
-- the queue beyond reading it: it cannot take a row off it.
alter function queue_for_seal() security definer set search_path = public, pg_temp;

-- What the portal's own login may do, granted after every migration to the login named.
-- Evidence: read and add. Seals and the queue: read. Everything else: read and write.
create function grant_runtime(runtime name) returns void language plpgsql as $$
begin
    execute format('grant usage on schema public to %I', runtime);
    execute format('grant select, insert, update, delete on all tables in schema public to %I', runtime);
    execute format('revoke all on agreements, audit_events, scans, seals, seal_entries, seal_queue, _sqlx_migrations from %I', runtime);
    execute format('grant select, insert on agreements, audit_events, scans to %I', runtime);
    execute format('grant select on seals, seal_entries, seal_queue, _sqlx_migrations to %I', runtime);
    execute format('grant usage, select on all sequences in schema public to %I', runtime);
    execute format('grant execute on function seal_waiting(uuid[], integer) to %I', runtime);
end;
$$;
