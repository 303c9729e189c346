-- Scans are evidence like agreements: refuse TRUNCATE as well as UPDATE and DELETE (until now
-- only the foreign key from agreements stood in the way, and CASCADE would pass it).
create trigger scans_no_truncate before truncate on scans
    for each statement execute function refuse_evidence_change();
