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
}

/// What a run did (or, for a dry run, would do): one line per email.
pub struct JobReport {
    pub lines: Vec<String>,
}

/// Whether an email with this dedupe key was ever queued.
pub(crate) async fn queued_before(pool: &PgPool, dedupe_key: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from outbox where dedupe_key = $1) as "exists!""#,
        dedupe_key
    )
    .fetch_one(pool)
    .await
}

/// Queues the planned emails not queued before; with `dry_run`, only says which they are.
pub(crate) async fn queue_all(
    pool: &PgPool,
    planned: Vec<Planned>,
    dry_run: bool,
) -> sqlx::Result<JobReport> {
    let mut lines = vec![];
    for item in planned {
        if queued_before(pool, &item.dedupe_key).await? {
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
        let mut conn = pool.acquire().await?;
        if mail::queue(
            &mut conn,
            Some(item.school_id),
            &item.dedupe_key,
            &item.email,
        )
        .await?
        {
            lines.push(line);
        }
    }
    Ok(JobReport { lines })
}
