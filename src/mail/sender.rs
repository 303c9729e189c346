//! The outbox sender: claims due emails one at a time with `FOR UPDATE SKIP LOCKED`, so any
//! number of instances can run it and each email goes once; retries back off exponentially.

use sqlx::PgPool;
use time::{Duration, OffsetDateTime};

use super::smtp::{Envelope, Mailer, SendError};
use crate::paths;

/// After this many tries an email is marked failed and shown to admins.
pub const MAX_ATTEMPTS: i32 = 8;
/// Tries for an email the server refuses for good.
pub const PERMANENT_TRIES: i32 = 3;

fn backoff(attempts: i32) -> Duration {
    // 1, 2, 4, 8… minutes, at most six hours.
    Duration::minutes((1i64 << attempts.clamp(0, 9)).min(360))
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct SendReport {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
    /// Reminders for people who signed or left after they were queued.
    pub cancelled: usize,
}

/// Sends up to `limit` emails due at `now`.
pub async fn send_due(
    pool: &PgPool,
    mailer: &Mailer,
    now: OffsetDateTime,
    limit: usize,
) -> sqlx::Result<SendReport> {
    let mut report = SendReport::default();
    for _ in 0..limit {
        let mut tx = pool.begin().await?;
        // The row stays locked while it is sent: another sender skips it.
        let Some(row) = sqlx::query!(
            r#"select o.id, o.dedupe_key, o.to_address, o.subject, o.body_text, o.body_html, o.attempts,
                      s.sender_name as "sender_name?", c.media_type as "crest_type?",
                      c.bytes as "crest?"
               from outbox o
               left join schools s on s.id = o.school_id
               left join school_crests c on c.school_id = o.school_id
               where o.status = 'pending' and o.next_attempt_at <= $1
               order by o.next_attempt_at, o.created_at
               limit 1
               for update of o skip locked"#,
            now
        )
        .fetch_optional(&mut *tx)
        .await?
        else {
            break;
        };
        if no_longer_owed(&mut tx, &row.dedupe_key).await? {
            sqlx::query!(
                "update outbox set status = 'cancelled' where id = $1",
                row.id
            )
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            report.cancelled += 1;
            continue;
        }
        let outcome = mailer
            .send(&Envelope {
                id: row.id,
                to: &row.to_address,
                subject: &row.subject,
                text: &row.body_text,
                html: &row.body_html,
                from_name: row.sender_name.as_deref(),
                crest: row.crest_type.as_deref().zip(row.crest.as_deref()),
            })
            .await;
        let attempts = row.attempts + 1;
        match outcome {
            Ok(()) => {
                // Sent: the copy kept here no longer carries a working link.
                sqlx::query!(
                    "update outbox set status = 'sent', sent_at = now(), attempts = $2, last_error = null,
                         body_text = $3, body_html = $4
                     where id = $1",
                    row.id,
                    attempts,
                    without_tokens(&row.body_text),
                    without_tokens(&row.body_html)
                )
                .execute(&mut *tx)
                .await?;
                report.sent += 1;
            }
            // A refusal for good after a few tries: "permanent" replies also come from a
            // mistyped password or a relay setting, which an admin may put right meanwhile.
            Err(SendError::Permanent(error)) if attempts >= PERMANENT_TRIES => {
                mark_failed(&mut tx, row.id, attempts, &error).await?;
                report.failed += 1;
            }
            Err(SendError::Permanent(error)) => {
                sqlx::query!(
                    "update outbox set attempts = $2, last_error = $3, next_attempt_at = $4 where id = $1",
                    row.id,
                    attempts,
                    error,
                    now + backoff(attempts - 1)
                )
                .execute(&mut *tx)
                .await?;
                report.retrying += 1;
            }
            Err(SendError::Transient(error)) if attempts >= MAX_ATTEMPTS => {
                mark_failed(&mut tx, row.id, attempts, &error).await?;
                report.failed += 1;
            }
            Err(SendError::Transient(error)) => {
                sqlx::query!(
                    "update outbox set attempts = $2, last_error = $3, next_attempt_at = $4 where id = $1",
                    row.id,
                    attempts,
                    error,
                    now + backoff(attempts - 1)
                )
                .execute(&mut *tx)
                .await?;
                report.retrying += 1;
                tx.commit().await?;
                // The server is unwell: leave the rest for the next round.
                break;
            }
        }
        tx.commit().await?;
    }
    if report != SendReport::default() {
        tracing::info!(
            sent = report.sent,
            retrying = report.retrying,
            failed = report.failed,
            "outbox"
        );
    }
    Ok(report)
}

/// Where a link carries a single-use token: invitations and resets, and confirming a new
/// email address (each route with the token, its last part, taken off).
const TOKEN_PATHS: [&str; 3] = [
    paths::SetPassword::PATH
        .split_at(paths::SetPassword::PATH.len() - "{token}".len())
        .0,
    paths::ConfirmEmail::PATH
        .split_at(paths::ConfirmEmail::PATH.len() - "{token}".len())
        .0,
    paths::SignInLink::PATH
        .split_at(paths::SignInLink::PATH.len() - "{token}".len())
        .0,
];

/// What replaces a token in a sent email's kept copy.
pub const REMOVED: &str = "link-removed-once-sent";

/// `body` with the token of every single-use link replaced, for the copy kept once sent.
pub fn without_tokens(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some((at, path)) = TOKEN_PATHS
        .iter()
        .filter_map(|path| rest.find(path).map(|at| (at, *path)))
        .min()
    {
        let start = at + path.len();
        out.push_str(&rest[..start]);
        let token_len = rest[start..]
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(rest.len() - start);
        if token_len >= 32 {
            out.push_str(REMOVED);
        } else {
            out.push_str(&rest[start..start + token_len]);
        }
        rest = &rest[start + token_len..];
    }
    out.push_str(rest);
    out
}

/// Clears the bodies of emails sent more than `keep_days` ago. Each row keeps its recipient,
/// subject, dedupe key and sent time, so nothing is ever sent twice.
pub async fn clear_old_bodies(pool: &PgPool, keep_days: u32) -> sqlx::Result<u64> {
    Ok(sqlx::query!(
        "update outbox set body_text = '', body_html = ''
         where status = 'sent' and sent_at < now() - make_interval(days => $1)
           and (body_text <> '' or body_html <> '')",
        i32::try_from(keep_days).unwrap_or(i32::MAX)
    )
    .execute(pool)
    .await?
    .rows_affected())
}

/// A reminder ("reminder:" or "chase:<version>:<membership>:…") whose person has signed
/// or left since it was queued.
async fn no_longer_owed(tx: &mut sqlx::PgConnection, dedupe_key: &str) -> sqlx::Result<bool> {
    let mut parts = dedupe_key.split(':');
    let (Some("reminder" | "chase"), Some(version), Some(membership)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Ok(false);
    };
    let (Ok(version), Ok(membership)) = (
        version.parse::<uuid::Uuid>(),
        membership.parse::<uuid::Uuid>(),
    ) else {
        return Ok(false);
    };
    sqlx::query_scalar!(
        r#"select exists (select 1 from agreements where membership_id = $2 and version_id = $1)
               or not exists (select 1 from memberships where id = $2 and status = 'active')
               or not exists (select 1 from policy_versions where id = $1 and status = 'published')
           as "stale!""#,
        version,
        membership
    )
    .fetch_one(tx)
    .await
}

async fn mark_failed(
    tx: &mut sqlx::PgConnection,
    id: uuid::Uuid,
    attempts: i32,
    error: &str,
) -> sqlx::Result<()> {
    tracing::warn!(%id, "email failed for good");
    sqlx::query!(
        "update outbox set status = 'failed', attempts = $2, last_error = $3 where id = $1",
        id,
        attempts,
        error
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// An admin's retry of a failed email of their school.
pub async fn retry(pool: &PgPool, school_id: uuid::Uuid, id: uuid::Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "update outbox set status = 'pending', attempts = 0, next_attempt_at = now(), last_error = null
         where id = $1 and status = 'failed'
           and (school_id = $2
                or (school_id is null and lower(to_address) in
                      (select lower(u.email) from memberships m join users u on u.id = m.user_id
                       where m.school_id = $2)))",
        id,
        school_id
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sent_emails_kept_copy_loses_its_tokens_and_nothing_else() {
        let token = "ab".repeat(32);
        let body = format!(
            "Set it here:\nhttps://aup.example/password/{token}\nor <a href=\"https://aup.example/account/email/{token}\">confirm</a>. See https://aup.example/password/reset too."
        );
        let kept = without_tokens(&body);
        assert!(!kept.contains(&token), "{kept}");
        assert_eq!(kept.matches(REMOVED).count(), 2);
        assert!(kept.contains("https://aup.example/password/reset too."));
        assert!(kept.starts_with("Set it here:\nhttps://aup.example/password/"));
    }

    #[test]
    fn retries_back_off_exponentially_up_to_six_hours() {
        assert_eq!(backoff(0), Duration::minutes(1));
        assert_eq!(backoff(3), Duration::minutes(8));
        assert_eq!(backoff(20), Duration::minutes(360));
    }
}
