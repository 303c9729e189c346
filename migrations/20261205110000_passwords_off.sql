-- A school that signs in with its own provider may switch passwords off: then a password
-- session opens it only for an admin who also gave an authenticator code.
alter table schools add column passwords_off boolean not null default false;

-- session_member gains the school's passwords_off, so every page still starts with one query.
drop function session_member(text, text);
create function session_member(session_id text, school_slug text)
returns table (auth jsonb, user_id uuid, email text, full_name text, auth_epoch integer,
               school_id uuid, slug text, school_name text, policies_changed bigint,
               membership_id uuid, grp text, job_title text, roles text[],
               passwords_off boolean)
language sql stable as $$
    select ss.data->'auth', u.id, u.email, u.full_name, u.auth_epoch,
           s.id, s.slug, s.name, s.policies_changed,
           m.id, m.grp, m.job_title, m.roles,
           s.passwords_off
    from sessions ss
    left join users u on u.id = (ss.data->'auth'->>'user_id')::uuid
    left join schools s on s.slug = $2
    left join memberships m on m.user_id = u.id and m.school_id = s.id and m.status = 'active'
    where ss.id = $1 and ss.expiry_date > now()
$$;
