-- Sessions in a table of our own, their data as jsonb, so the first query of a page can read
-- the session together with the account and membership it belongs to. The store's previous
-- table kept its data in a binary encoding SQL cannot read; its sessions end here, and
-- everyone signs in once more.
create table sessions (
    id text primary key,
    data jsonb not null,
    expiry_date timestamptz not null
);
create index sessions_expiry_idx on sessions (expiry_date);

drop schema if exists tower_sessions cascade;
