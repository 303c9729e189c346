select ss.data->'auth' as auth,
       u.id as "id?", u.email as "email?", u.full_name as "full_name?",
       u.auth_epoch as "auth_epoch?",
       s.id as "school_id?", s.slug as "slug?", s.name as "school_name?",
       m.id as "membership_id?", m.grp as "grp?: Group", m.job_title as "job_title?",
       m.roles as "roles?: Vec<Role>",
       f.policy_name as "policy_name?", f.agreement_id as "agreement_id?",
       f.signed_at as "signed_at?", f.last_signed as "last_signed?",
       s.policies_changed as "policies_changed?"
from sessions ss
left join users u on u.id = (ss.data->'auth'->>'user_id')::uuid
left join schools s on s.slug = $1
left join memberships m on m.user_id = u.id and m.school_id = s.id
                           and m.status = 'active'
left join lateral (
  select p.name as policy_name, mine.id as agreement_id, mine.signed_at,
         -- Only for the page: a signature does without it.
         case when $4 then
           (select a.version_id from agreements a
            where a.membership_id = m.id and a.version_id <> v.id
              and exists (select 1 from policy_versions o
                          where o.id = a.version_id and o.policy_id = v.policy_id)
            order by a.signed_at desc limit 1)
         end as last_signed
  from policy_versions v
  join policies p on p.id = v.policy_id and p.school_id = v.school_id
  -- A signature does without it too: the writer refuses a second agreement.
  left join agreements mine on $4 and mine.membership_id = m.id
                               and mine.version_id = v.id
  where v.id = $3 and v.school_id = s.id
    and v.status || '' = 'published' and m.grp = any(p.audience)
) f on true
where ss.id = $2 and ss.expiry_date > now()
