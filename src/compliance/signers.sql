select w.membership_id as "membership_id!", u.full_name, u.email, w.grp as "grp!: Group",
       w.job_title as "job_title!", w.member_since as "joined!",
       a.signed_at as "signed_at?", a.method as "method?: AgreementMethod",
       a.content_sha256 as "content_sha256?",
       (select max(r.reminded_at) from reminders r
         where r.membership_id = w.membership_id and r.version_id = $2) as last_reminded
from must_sign w
-- "offset 0" keeps this a lookup by primary key for each of the school's people,
-- rather than a hash of every user in the trust.
join lateral (select full_name, surname, email from users where users.id = w.user_id offset 0) u on true
left join agreements a on a.membership_id = w.membership_id and a.version_id = $2
where w.school_id = $1 and w.version_id = $2
order by lower(u.surname), lower(u.full_name), u.email
