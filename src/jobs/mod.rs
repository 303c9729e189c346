//! Scheduled work: review reminders to DPOs and SBMs, reminders to people who owe a
//! signature, and the outbox sender. Each job takes the date it runs for, and a dry run
//! says what it would queue. Dedupe keys make every job safe to run on several instances.

pub mod heads;
mod queue;
mod schedule;
pub mod sso_secrets;

use queue::queue_all;
pub use queue::{JobReport, Planned};
pub use schedule::ReminderPolicy;

use sqlx::PgPool;
use time::{Date, OffsetDateTime};

use crate::paths;
use crate::{
    clock,
    domain::render,
    domain::roles::Role,
    mail::{ReviewDue, first_name, sender, smtp::Mailer},
    store::reminders,
};

/// Policies whose review is due within 30 days get one heads-up to each DPO and SBM; once
/// overdue, a notice, then one a week until a new version is published.
pub async fn reviews(
    pool: &PgPool,
    as_of: Date,
    base_url: &str,
    dry_run: bool,
) -> anyhow::Result<JobReport> {
    let rows = sqlx::query!(
        r#"select v.id as version_id, v.label, v.next_review_due as "due!", p.id as policy_id, p.name as policy_name,
                  s.id as school_id, s.slug, s.name as school_name,
                  m.id as membership_id, m.roles as "roles: Vec<Role>", u.email, u.full_name
           from policy_versions v
           join policies p on p.id = v.policy_id and p.school_id = v.school_id
           join schools s on s.id = v.school_id
           join memberships m on m.school_id = v.school_id and m.status = 'active'
                and m.roles && array['dpo', 'sbm']::text[]
           join users u on u.id = m.user_id
           where v.status = 'published' and v.next_review_due <= $1::date + 30
           order by s.name, p.name, u.email"#,
        as_of
    )
    .fetch_all(pool)
    .await?;
    let mut planned = vec![];
    for r in rows {
        // Due on the day itself; overdue from the day after.
        let overdue = as_of > r.due;
        let dedupe_key = if overdue {
            let week = (as_of - r.due).whole_days().saturating_sub(1) / 7;
            format!("review-overdue:{}:{}:{week}", r.version_id, r.membership_id)
        } else {
            format!("review-due:{}:{}", r.version_id, r.membership_id)
        };
        // The DPO goes straight to the policy; an SBM to the school's pages.
        let link = if r
            .roles
            .iter()
            .any(|role| matches!(role, Role::Dpo | Role::Admin))
        {
            format!("{base_url}{}", paths::Policy::new(&r.slug, r.policy_id))
        } else {
            format!("{base_url}{}", paths::SchoolHome::new(&r.slug))
        };
        let due = render::long_date(r.due);
        let subject = if overdue {
            format!(
                "{}: the review of the {} is overdue (due {due})",
                r.school_name, r.policy_name
            )
        } else {
            format!(
                "{}: the {} is due for review on {due}",
                r.school_name, r.policy_name
            )
        };
        let email = ReviewDue {
            first_name: first_name(&r.full_name),
            school_name: &r.school_name,
            policy_name: &r.policy_name,
            label: &r.label,
            due: &due,
            overdue,
            link: &link,
        }
        .render(&r.email, subject)?;
        planned.push(Planned {
            school_id: r.school_id,
            dedupe_key,
            email,
        });
    }
    Ok(queue_all(pool, planned, dry_run).await?)
}

/// People who still owe a signature: reminded `first_after_days` after publishing, then
/// weekly, and 3 days and 1 day before a sign-by date and on the day; at most `cap` times
/// and once a day. Leavers and people who have signed are never reminded.
pub async fn reminders(
    pool: &PgPool,
    as_of: Date,
    base_url: &str,
    policy: ReminderPolicy,
    dry_run: bool,
) -> anyhow::Result<JobReport> {
    let rows = sqlx::query!(
        r#"select w.version_id as "version_id!", w.label as "label!",
                  (w.published_at at time zone 'Europe/London')::date as "published_on!",
                  -- Owed since publishing, or since the person joined, whichever is later.
                  greatest((w.published_at at time zone 'Europe/London')::date,
                           (w.member_since at time zone 'Europe/London')::date) as "owed_since!",
                  d.sign_by as "sign_by?",
                  (select count(*) from reminders r
                   where r.membership_id = w.membership_id and r.version_id = w.version_id
                     and r.kind = 'scheduled') as "sent!",
                  w.policy_name as "policy_name!", s.id as school_id, s.slug, s.name as school_name,
                  w.membership_id as "membership_id!", u.email, u.full_name
           from must_sign w
           join schools s on s.id = w.school_id
           join users u on u.id = w.user_id
           left join sign_by_dates d on d.version_id = w.version_id
           where w.status = 'published'
             and (greatest((w.published_at at time zone 'Europe/London')::date,
                           (w.member_since at time zone 'Europe/London')::date) + $2::int <= $1::date
                  or d.sign_by - 3 <= $1::date)
             and not exists (select 1 from agreements a
                             where a.membership_id = w.membership_id and a.version_id = w.version_id)
             -- Never two reminders in a day: not after the SBM's chase.
             and not exists (select 1 from reminders r
                             where r.membership_id = w.membership_id and r.version_id = w.version_id
                               and (r.reminded_at at time zone 'Europe/London')::date = $1::date)
           order by s.name, w.policy_name, u.email"#,
        as_of,
        i32::try_from(policy.first_after_days).unwrap_or(7)
    )
    .fetch_all(pool)
    .await?;
    let mut lines = vec![];
    for r in rows {
        let owing = schedule::Owing {
            since: r.owed_since,
            sign_by: r.sign_by,
            sent: r.sent,
        };
        let Some(due) = schedule::due(&owing, as_of, policy) else {
            continue;
        };
        let dedupe_key = format!(
            "reminder:{}:{}:{}",
            r.version_id,
            r.membership_id,
            due.key()
        );
        let owed = reminders::Owed {
            version_id: r.version_id,
            policy_name: &r.policy_name,
            label: &r.label,
            published_on: r.published_on,
            sign_by: r.sign_by,
            overdue: r.sign_by.is_some_and(|date| date < as_of),
        };
        let verb = if dry_run { "would send" } else { "queued" };
        let line = format!(
            "{verb} <{}>: {}: reminder to sign the {} ({})",
            r.email, r.school_name, r.policy_name, r.label
        );
        if dry_run {
            if !queue::queued_before(pool, &dedupe_key).await? {
                lines.push(line);
            }
            continue;
        }
        // Each in a transaction of its own, with the new password link it may carry.
        let mut tx = pool.begin().await?;
        let queued = reminders::queue(
            &mut tx,
            base_url,
            r.school_id,
            r.membership_id,
            &owed,
            &dedupe_key,
            reminders::SentBy::Schedule,
        )
        .await?;
        tx.commit().await?;
        if queued {
            lines.push(line);
        }
    }
    Ok(JobReport { lines })
}

/// Sends what is due in the outbox; a dry run lists it.
pub async fn outbox(
    pool: &PgPool,
    mailer: Option<&Mailer>,
    now: OffsetDateTime,
    dry_run: bool,
) -> anyhow::Result<JobReport> {
    if let (Some(mailer), false) = (mailer, dry_run) {
        let report = sender::send_due(pool, mailer, now, 1000).await?;
        return Ok(JobReport {
            lines: vec![format!(
                "sent {}, to retry later {}, failed {}, cancelled {}",
                report.sent, report.retrying, report.failed, report.cancelled
            )],
        });
    }
    let due = sqlx::query!(
        "select to_address, subject from outbox where status = 'pending' and next_attempt_at <= $1
         order by next_attempt_at, created_at",
        now
    )
    .fetch_all(pool)
    .await?;
    let verb = if mailer.is_none() {
        "waiting (SMTP_URL is not set)"
    } else {
        "would send"
    };
    Ok(JobReport {
        lines: due
            .into_iter()
            .map(|r| format!("{verb} <{}>: {}", r.to_address, r.subject))
            .collect(),
    })
}

/// The jobs inside `serve`: the sender every 30 seconds, reviews and reminders every hour.
pub async fn run_forever(
    pool: PgPool,
    mailer: Option<Mailer>,
    base_url: String,
    policy: ReminderPolicy,
    outbox_keep_days: u32,
    operator_email: Option<String>,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
    let mut last_daily: Option<OffsetDateTime> = None;
    loop {
        tick.tick().await;
        let now = OffsetDateTime::now_utc();
        if last_daily.is_none_or(|at| now - at >= time::Duration::hours(1)) {
            let today = clock::today_uk();
            if let Err(err) = reviews(&pool, today, &base_url, false).await {
                tracing::error!(error = %err, "review reminders");
            }
            if let Err(err) = reminders(&pool, today, &base_url, policy, false).await {
                tracing::error!(error = %err, "signer reminders");
            }
            if let Err(err) = sso_secrets::sso_secrets(&pool, today, &base_url, false).await {
                tracing::error!(error = %err, "single sign-on secret reminders");
            }
            if let Err(err) =
                heads::heads(&pool, today, now, operator_email.as_deref(), false).await
            {
                tracing::error!(error = %err, "chain heads");
            }
            if let Err(err) = sender::clear_old_bodies(&pool, outbox_keep_days).await {
                tracing::error!(error = %err, "clearing old email bodies");
            }
            last_daily = Some(now);
        }
        // The time again: what the daily jobs just queued is due now, not next tick.
        if let Some(mailer) = &mailer
            && let Err(err) = sender::send_due(&pool, mailer, OffsetDateTime::now_utc(), 200).await
        {
            tracing::error!(error = %err, "outbox sender");
        }
    }
}
