-- Two rules every feature asks about, written once here.

-- Who must sign a version: an active member of its school who holds the signer role and
-- whose group is in its policy's audience. A row a person and a version; a version's status
-- is the asker's to choose (a draft's rows are who will have to sign it once published).
-- A plain view, so that the planner sees through it to the tables and their indexes.
create view must_sign as
select v.id as version_id, v.school_id, v.policy_id, p.name as policy_name, v.label,
       v.status, v.published_at,
       m.id as membership_id, m.user_id, m.grp, m.job_title, m.created_at as member_since
from policy_versions v
join policies p on p.id = v.policy_id and p.school_id = v.school_id
join memberships m on m.school_id = v.school_id and m.status = 'active'
                   and 'signer' = any(m.roles) and m.grp = any(p.audience);

-- A session, its account, and the account's active membership of the school named by its
-- slug (none for no slug): every page starts here. Not strict, stable and in SQL, so the
-- planner inlines it into the query that calls it.
create function session_member(session_id text, school_slug text)
returns table (auth jsonb, user_id uuid, email text, full_name text, auth_epoch integer,
               school_id uuid, slug text, school_name text, policies_changed bigint,
               membership_id uuid, grp text, job_title text, roles text[])
language sql stable as $$
    select ss.data->'auth', u.id, u.email, u.full_name, u.auth_epoch,
           s.id, s.slug, s.name, s.policies_changed,
           m.id, m.grp, m.job_title, m.roles
    from sessions ss
    left join users u on u.id = (ss.data->'auth'->>'user_id')::uuid
    left join schools s on s.slug = $2
    left join memberships m on m.user_id = u.id and m.school_id = s.id and m.status = 'active'
    where ss.id = $1 and ss.expiry_date > now()
$$;
