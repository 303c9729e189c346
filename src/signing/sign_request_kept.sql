select sm.auth,
       sm.user_id as "id?", sm.email as "email?", sm.full_name as "full_name?",
       sm.auth_epoch as "auth_epoch?",
       sm.school_id as "school_id?", sm.slug as "slug?", sm.school_name as "school_name?",
       sm.membership_id as "membership_id?", sm.grp as "grp?: Group", sm.job_title as "job_title?",
       sm.roles as "roles?: Vec<Role>", sm.signing_name as "signing_name?",
       w.policy_name as "policy_name?", mine.id as "agreement_id?",
       mine.signed_at as "signed_at?",
       -- Only for the page, as in sign_request.sql, among the policy's other versions kept.
       case when $4 and w.membership_id is not null then
         (select a.version_id from agreements a
          where a.membership_id = w.membership_id and a.version_id = any($5)
          order by a.signed_at desc limit 1)
       end as "last_signed?",
       sm.policies_changed as "policies_changed?", sm.passwords_off as "passwords_off?"
from session_member($2, $1) sm
left join must_sign w on w.version_id = $3 and w.membership_id = sm.membership_id
                      and w.status || '' = 'published'
left join agreements mine on $4 and mine.membership_id = w.membership_id
                             and mine.version_id = w.version_id
