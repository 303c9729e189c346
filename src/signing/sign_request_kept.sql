select ss.data->'auth' as auth,
       u.id as "id?", u.email as "email?", u.full_name as "full_name?",
       u.auth_epoch as "auth_epoch?",
       s.id as "school_id?", s.slug as "slug?", s.name as "school_name?",
       m.id as "membership_id?", m.grp as "grp?: Group", m.job_title as "job_title?",
       m.roles as "roles?: Vec<Role>",
       null::text as "policy_name?", mine.id as "agreement_id?",
       mine.signed_at as "signed_at?",
       -- Only for the page, as in `whole`.
       case when $4 then
         (select a.version_id from agreements a
          where a.membership_id = m.id and a.version_id = any($5)
          order by a.signed_at desc limit 1)
       end as "last_signed?",
       s.policies_changed as "policies_changed?"
from sessions ss
left join users u on u.id = (ss.data->'auth'->>'user_id')::uuid
left join schools s on s.slug = $1
left join memberships m on m.user_id = u.id and m.school_id = s.id
                           and m.status = 'active'
left join agreements mine on $4 and mine.membership_id = m.id
                             and mine.version_id = $3
where ss.id = $2 and ss.expiry_date > now()
