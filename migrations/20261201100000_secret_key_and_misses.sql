-- The id of the portal's secret key (the key itself lives in a file, never here), and the
-- failed sign-ins of addresses that have no account, counted like an account's so the lock
-- does not tell who has one.

create table secret_key_id (
    singleton boolean primary key default true check (singleton),
    key_id text not null check (key_id ~ '^[0-9a-f]{16}$'),
    version integer not null check (version > 0),
    set_at timestamptz not null default now()
);

-- Keyed by an HMAC of the address under the secret key: the table never holds the address,
-- nor anything a reader of the database can test guesses against.
create table sign_in_misses (
    address_mac text primary key check (address_mac ~ '^[0-9a-f]{64}$'),
    failed_sign_ins integer not null default 0,
    failures_since timestamptz,
    locked_until timestamptz,
    lockouts integer not null default 0,
    last_failed_at timestamptz not null default now()
);
create index sign_in_misses_last_idx on sign_in_misses (last_failed_at);
