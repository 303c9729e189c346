-- verify also refuses a personal field an agreement gained after it was sealed: the portal's
-- login may insert personal rows, so it could seal an agreement before its personal row
-- existed, or add a row again once erasure had removed the last one, and an unchecked
-- field would then pass as sealed.
create or replace function agreement_entry_problem(entry_row text, entry_sha256 text, commitments jsonb)
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
    for name in select key from jsonb_each_text(held) where value is not null order by key loop
        if commitments ->> name is null then
            return format('has gained its %s since it was sealed', name);
        end if;
    end loop;
    return null;
end;
$$;
