-- People arrive from an MIS with a legal forename, a preferred forename and a surname. The
-- account keeps those parts, the name pages show (`full_name`: the preferred forename, or
-- else the legal one, and the surname), and the name the person types when signing
-- (`signing_name`), which the signature check compares with.
alter table users
    add column legal_forename text not null default '' check (length(legal_forename) <= 100),
    add column preferred_forename text not null default '' check (length(preferred_forename) <= 100),
    add column surname text not null default '' check (length(surname) <= 100),
    add column signing_name text check (length(signing_name) between 1 and 200);

-- Everyone already here types the name they type today. Lists sort by surname, so the last
-- word of the full name is the best guess at one; the person's school can correct it.
update users set
    signing_name = full_name,
    surname = left(coalesce(substring(one_spaced from ' (\S+)$'), ''), 100),
    legal_forename = left(coalesce(substring(one_spaced from '^(.*) \S+$'), one_spaced), 100)
from (select id, regexp_replace(btrim(full_name), '\s+', ' ', 'g') as one_spaced from users) n
where n.id = users.id;

alter table users alter column signing_name set not null;

-- session_member gains the name to type, which the sign page checks against.
drop function session_member(text, text);
create function session_member(session_id text, school_slug text)
returns table (auth jsonb, user_id uuid, email text, full_name text, signing_name text,
               auth_epoch integer,
               school_id uuid, slug text, school_name text, policies_changed bigint,
               membership_id uuid, grp text, job_title text, roles text[],
               passwords_off boolean)
language sql stable as $$
    select ss.data->'auth', u.id, u.email, u.full_name, u.signing_name, u.auth_epoch,
           s.id, s.slug, s.name, s.policies_changed,
           m.id, m.grp, m.job_title, m.roles,
           s.passwords_off
    from sessions ss
    left join users u on u.id = (ss.data->'auth'->>'user_id')::uuid
    left join schools s on s.slug = $2
    left join memberships m on m.user_id = u.id and m.school_id = s.id and m.status = 'active'
    where ss.id = $1 and ss.expiry_date > now()
$$;
