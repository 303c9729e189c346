-- A short human reference for every agreement, such as CRA-2026-000123: the school's code,
-- fixed when the school is created (a rename leaves it), the year signed, and a number from
-- a counter per school and year. A non-personal field, so seal format 2 covers it; rows from
-- before it have none, and their hashes stay as they were (nulls are left out of them).

alter table schools add column code text unique check (code ~ '^[A-Z]{3}[0-9]{0,5}$');

-- Three letters of the name, then a number if another school has them already.
create function school_code_for(school_name text) returns text language plpgsql as $$
declare
    base text := upper(left(regexp_replace(coalesce(school_name, ''), '[^A-Za-z]', '', 'g') || 'XXX', 3));
    candidate text := base;
    n integer := 1;
begin
    while exists (select 1 from schools where code = candidate) loop
        n := n + 1;
        candidate := base || n::text;
    end loop;
    return candidate;
end;
$$;

do $$
declare
    s record;
begin
    for s in select id, name from schools order by created_at, id loop
        update schools set code = school_code_for(s.name) where id = s.id;
    end loop;
end;
$$;
alter table schools alter column code set not null;

create function school_code_fixed() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        if new.code is null then
            new.code := school_code_for(new.name);
        end if;
    elsif new.code is distinct from old.code then
        raise exception 'a school''s code is fixed when it is created: receipts carry it'
            using errcode = 'integrity_constraint_violation';
    end if;
    return new;
end;
$$;
create trigger schools_code before insert or update on schools
    for each row execute function school_code_fixed();

create table receipt_counters (
    school_id uuid not null references schools (id),
    year integer not null,
    last bigint not null,
    primary key (school_id, year)
);

alter table agreements add column reference text unique;

-- The reference is the database's own, whatever an insert says.
create function agreement_reference() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
declare
    signed_year integer := extract(year from new.signed_at at time zone 'Europe/London');
    n bigint;
begin
    insert into receipt_counters (school_id, year, last) values (new.school_id, signed_year, 1)
        on conflict (school_id, year) do update set last = receipt_counters.last + 1
        returning last into n;
    new.reference := (select code from schools where id = new.school_id) || '-' || signed_year
                     || '-' || lpad(n::text, greatest(6, length(n::text)), '0');
    return new;
end;
$$;
create trigger agreements_reference before insert on agreements
    for each row execute function agreement_reference();

create or replace function grant_runtime(runtime name) returns void language plpgsql as $$
begin
    execute format('grant usage on schema public to %I', runtime);
    execute format('grant select, insert, update, delete on all tables in schema public to %I', runtime);
    execute format('revoke all on agreements, agreement_personal, audit_events, scans, seals, seal_entries, seal_queue, erasures, receipt_counters, _sqlx_migrations from %I', runtime);
    execute format('grant select, insert on agreements, agreement_personal, audit_events, scans to %I', runtime);
    execute format('grant select on seals, seal_entries, seal_queue, erasures, receipt_counters, _sqlx_migrations to %I', runtime);
    execute format('grant usage, select on all sequences in schema public to %I', runtime);
    execute format('grant execute on function seal_waiting(uuid[], integer) to %I', runtime);
end;
$$;
