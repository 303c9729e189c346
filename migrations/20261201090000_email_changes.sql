-- Who may change an account's email address, and a record of every change.
-- An account that has ever been activated (a password set, or a sign-in) can only have its
-- email changed by the person, confirmed from the new address, or by an admin who has
-- re-entered their own password. The addresses live here, where retention can erase them,
-- never in the sealed audit events, which only point to the change.

alter table users add column activated_at timestamptz;

-- Whatever path sets a password (an invitation, a reset, the demo, create-admin), the
-- account counts as activated from then on.
create function users_mark_activated() returns trigger language plpgsql as $$
begin
    if new.password_hash is not null and new.activated_at is null then
        new.activated_at := now();
    end if;
    return new;
end;
$$;
create trigger users_mark_activated before insert or update of password_hash on users
    for each row execute function users_mark_activated();

update users u set activated_at = coalesce(
    (select min(e.at) from audit_events e where e.actor_user_id = u.id and e.action = 'sign_in'),
    u.created_at)
where u.password_hash is not null
   or exists (select 1 from audit_events e where e.actor_user_id = u.id and e.action = 'sign_in');

alter table account_tokens drop constraint account_tokens_purpose_check,
    add constraint account_tokens_purpose_check check (purpose in ('invite', 'reset', 'email_change'));

create table email_changes (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references users (id),
    old_email text not null,
    new_email text not null check (position('@' in new_email) > 1),
    -- correction: an SBM or admin fixed the address of a person who had never activated;
    -- admin: an admin changed it after re-entering their password; self: the person did.
    how text not null check (how in ('correction', 'admin', 'self')),
    changed_by uuid not null references users (id),
    school_id uuid references schools (id),
    requested_at timestamptz not null default now(),
    -- Null while a change the person asked for waits for the link sent to the new address.
    confirmed_at timestamptz,
    token_id uuid references account_tokens (id),
    check (how = 'self' or confirmed_at is not null)
);
create index email_changes_user_idx on email_changes (user_id, requested_at);
create index email_changes_token_idx on email_changes (token_id);
