-- The sign page keeps each published version's policy facts (its name, audience and other
-- versions) in memory, and its one query reads this counter to check them: any change to a
-- school's policies or versions moves it on, whichever portal (or person at a SQL prompt)
-- made the change, so nothing kept can outlive it.
alter table schools add column policies_changed bigint not null default 0;

create function note_policies_changed() returns trigger language plpgsql as $$
begin
    update schools set policies_changed = policies_changed + 1
    where id = case when tg_op = 'DELETE' then old.school_id else new.school_id end;
    return null;
end;
$$;
create trigger policies_changed after insert or update or delete on policies
    for each row execute function note_policies_changed();
create trigger policy_versions_changed after insert or update or delete on policy_versions
    for each row execute function note_policies_changed();
