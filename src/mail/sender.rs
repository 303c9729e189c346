//! The outbox sender: claims due emails one at a time with `FOR UPDATE SKIP LOCKED`, so any
//! number of instances can run it and each email goes once; retries back off exponentially.

use sqlx::PgPool;
use time::{Duration, OffsetDateTime};

use super::smtp::{Envelope, Mailer, SendError};

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
            "select id, dedupe_key, to_address, subject, body_text, body_html, attempts from outbox
             where status = 'pending' and next_attempt_at <= $1
             order by next_attempt_at, created_at
             limit 1
             for update skip locked",
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
            })
            .await;
        let attempts = row.attempts + 1;
        match outcome {
            Ok(()) => {
                sqlx::query!(
                    "update outbox set status = 'sent', sent_at = now(), attempts = $2, last_error = null
                     where id = $1",
                    row.id,
                    attempts
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
    fn retries_back_off_exponentially_up_to_six_hours() {
        assert_eq!(backoff(0), Duration::minutes(1));
        assert_eq!(backoff(3), Duration::minutes(8));
        assert_eq!(backoff(20), Duration::minutes(360));
    }
}
