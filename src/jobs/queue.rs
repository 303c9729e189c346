//! What a job would queue, and queuing it once: the dedupe keys make every job safe to run
//! on several instances.

use sqlx::PgPool;
use uuid::Uuid;

use crate::mail::{self, OutgoingEmail};

/// An email a job would queue.
pub struct Planned {
    pub school_id: Uuid,
    pub dedupe_key: String,
    pub email: OutgoingEmail,
    /// A signer reminder to record against the person: (membership, version).
    pub reminder: Option<(Uuid, Uuid)>,
}

/// What a run did (or, for a dry run, would do): one line per email.
pub struct JobReport {
    pub lines: Vec<String>,
}

/// Queues the planned emails not queued before; with `dry_run`, only says which they are.
pub(crate) async fn queue_all(
    pool: &PgPool,
    planned: Vec<Planned>,
    dry_run: bool,
) -> sqlx::Result<JobReport> {
    let mut lines = vec![];
    for item in planned {
        let exists = sqlx::query_scalar!(
            r#"select exists (select 1 from outbox where dedupe_key = $1) as "exists!""#,
            item.dedupe_key
        )
        .fetch_one(pool)
        .await?;
        if exists {
            continue;
        }
        let line = format!(
            "{} <{}>: {}",
            if dry_run { "would send" } else { "queued" },
            item.email.to,
            item.email.subject
        );
        if dry_run {
            lines.push(line);
            continue;
        }
        let mut tx = pool.begin().await?;
        if mail::queue(&mut tx, Some(item.school_id), &item.dedupe_key, &item.email).await? {
            if let Some((membership_id, version_id)) = item.reminder {
                sqlx::query!(
                    "insert into reminders (school_id, membership_id, version_id, kind) values ($1, $2, $3, 'scheduled')",
                    item.school_id,
                    membership_id,
                    version_id
                )
                .execute(&mut *tx)
                .await?;
            }
            lines.push(line);
        }
        tx.commit().await?;
    }
    Ok(JobReport { lines })
}
