select sm.auth,
       sm.user_id as "id?", sm.email as "email?", sm.full_name as "full_name?",
       sm.auth_epoch as "auth_epoch?",
       sm.school_id as "school_id?", sm.slug as "slug?", sm.school_name as "school_name?",
       sm.membership_id as "membership_id?", sm.grp as "grp?: Group", sm.job_title as "job_title?",
       sm.roles as "roles?: Vec<Role>", sm.signing_name as "signing_name?",
       f.policy_name as "policy_name?", f.agreement_id as "agreement_id?",
       f.signed_at as "signed_at?", f.last_signed as "last_signed?",
       sm.policies_changed as "policies_changed?", sm.passwords_off as "passwords_off?"
from session_member($2, $1) sm
left join lateral (
  select w.policy_name, mine.id as agreement_id, mine.signed_at,
         -- Only for the page: a signature does without it.
         case when $4 then
           (select a.version_id from agreements a
            where a.membership_id = w.membership_id and a.version_id <> w.version_id
              and exists (select 1 from policy_versions o
                          where o.id = a.version_id and o.policy_id = w.policy_id)
            order by a.signed_at desc limit 1)
         end as last_signed
  from must_sign w
  -- A signature does without it too: the writer refuses a second agreement.
  left join agreements mine on $4 and mine.membership_id = w.membership_id
                               and mine.version_id = w.version_id
  where w.version_id = $3 and w.membership_id = sm.membership_id
    -- Not "w.status = 'published'" here: the planner would then walk the index of every
    -- school's published versions instead of looking up this one.
    and w.status || '' = 'published'
) f on true
