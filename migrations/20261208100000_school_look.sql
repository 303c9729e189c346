-- How the portal shows a school: the colour of its header (white text must read on it), the
-- name its emails come from, and its crest, a small PNG, JPEG or WebP image.
alter table schools
    add column colour text check (colour ~ '^#[0-9a-f]{6}$'),
    add column sender_name text check (sender_name is null or length(sender_name) between 1 and 100);
create table school_crests (
    school_id uuid primary key references schools (id) on delete cascade,
    media_type text not null check (media_type in ('image/png', 'image/jpeg', 'image/webp')),
    bytes bytea not null check (octet_length(bytes) between 1 and 262144),
    sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
    uploaded_by uuid references users (id),
    uploaded_at timestamptz not null default now()
);
