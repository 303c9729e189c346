-- Receipt numbers from a sequence per school, not a counter row. With a staff room's worth of
-- signatures at once, every agreement updating one row for its school cost the sign statement
-- about a third of its rate (BENCHMARKS.md, runs 48-51). A sequence takes no row lock and
-- leaves no dead row. A number handed to a signature that then fails is a gap, as before. The
-- year in the reference is the year signed; the number runs on across years.

create function receipt_sequence(school uuid) returns text language sql immutable as $$
    select 'receipt_numbers_' || replace(school::text, '-', '')
$$;

create function school_receipt_sequence() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
    execute format('create sequence if not exists %I', receipt_sequence(new.id));
    return new;
end;
$$;
create trigger schools_receipt_sequence after insert on schools
    for each row execute function school_receipt_sequence();

-- Each school's sequence starts after the last number its counter gave, in any year.
do $$
declare
    s record;
    given bigint;
begin
    for s in select id from schools loop
        execute format('create sequence if not exists %I', receipt_sequence(s.id));
        select max(last) into given from receipt_counters where school_id = s.id;
        if given is not null then
            perform setval(receipt_sequence(s.id)::regclass, given);
        end if;
    end loop;
end;
$$;

create or replace function agreement_reference() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
declare
    n bigint := nextval(receipt_sequence(new.school_id)::regclass);
begin
    new.reference := (select code from schools where id = new.school_id) || '-'
                     || extract(year from new.signed_at at time zone 'Europe/London')::integer
                     || '-' || lpad(n::text, greatest(6, length(n::text)), '0');
    return new;
end;
$$;

drop table receipt_counters;

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
