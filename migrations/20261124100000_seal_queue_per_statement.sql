-- The seal queue is filled once per statement from the rows it inserted, not once per row:
-- signatures are written in groups, and a row trigger ran its function for each of them.
drop trigger agreements_seal_queue on agreements;
drop trigger audit_events_seal_queue on audit_events;

create or replace function queue_for_seal() returns trigger language plpgsql as $$
begin
    insert into seal_queue (kind, row_id, school_id)
    select tg_argv[0], id::text, coalesce(school_id, '00000000-0000-0000-0000-000000000000')
    from inserted;
    return null;
end;
$$;

create trigger agreements_seal_queue after insert on agreements
    referencing new table as inserted
    for each statement execute function queue_for_seal('agreement');
create trigger audit_events_seal_queue after insert on audit_events
    referencing new table as inserted
    for each statement execute function queue_for_seal('audit_event');
