-- A school adding an address that already has an account offers a membership: pending until
-- the person accepts it from a signed-in session. Until then the school sees only the name it
-- typed (pending_name), never the account's, and none of the account's history: a school's
-- audit log shows a person's school-less events only from the day they joined it.

alter table memberships drop constraint memberships_status_check,
    add constraint memberships_status_check check (status in ('active', 'left', 'pending'));

alter table memberships
    add column pending_name text check (length(pending_name) between 1 and 200),
    add column joined_at timestamptz default now();
update memberships set joined_at = created_at;

alter table memberships add constraint memberships_pending_facts check (
    (status = 'pending') = (pending_name is not null)
    and (status = 'pending') = (joined_at is null));
