select m.id as membership_id, u.full_name, u.email, m.grp as "grp: Group", m.job_title, m.status as "status: MembershipStatus",
       m.created_at as joined, a.signed_at as "signed_at?", a.method as "method?: AgreementMethod",
       a.content_sha256 as "content_sha256?",
       (select max(r.reminded_at) from reminders r
         where r.membership_id = m.id and r.version_id = $2) as last_reminded
from memberships m
-- "offset 0" keeps this a lookup by primary key for each of the school's people,
-- rather than a hash of every user in the trust.
join lateral (select full_name, email from users where users.id = m.user_id offset 0) u on true
left join agreements a on a.membership_id = m.id and a.version_id = $2
where m.school_id = $1 and m.status = 'active' and 'signer' = any(m.roles) and m.grp = any($3)
order by u.full_name, u.email
