-- Staff lists straight from the MIS. A membership keeps the MIS's stable person ID, which an
-- import matches before the email address, and whether the person teaches; a school keeps
-- the column mapping its SBM last used, pre-selected next time.
alter table memberships
    add column mis_id text check (length(mis_id) between 1 and 100),
    add column staff_type text check (staff_type in ('teaching', 'support'));
create unique index memberships_mis_id on memberships (school_id, mis_id) where mis_id is not null;

create table import_mappings (
    school_id uuid primary key references schools (id) on delete cascade,
    -- {"surname": "Legal Surname", ...}: a field's column, by its header.
    columns jsonb not null,
    default_group text not null check (default_group in ('staff', 'governor', 'volunteer', 'external')),
    updated_at timestamptz not null default now()
);
