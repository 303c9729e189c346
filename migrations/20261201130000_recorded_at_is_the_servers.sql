-- When the portal stored a row of evidence is the server's time, whatever an insert says:
-- `verify` names rows that no seal covers once a grace period after that time has passed,
-- so a row inserted with a time in the future cannot hide inside the grace period.
create function evidence_recorded_now() returns trigger language plpgsql as $$
begin
    if tg_table_name = 'audit_events' then
        new.at := now();
    elsif tg_table_name = 'scans' then
        new.uploaded_at := now();
    else
        new.recorded_at := now();
    end if;
    return new;
end;
$$;
create trigger agreements_recorded_now before insert on agreements
    for each row execute function evidence_recorded_now();
create trigger audit_events_recorded_now before insert on audit_events
    for each row execute function evidence_recorded_now();
create trigger scans_recorded_now before insert on scans
    for each row execute function evidence_recorded_now();
