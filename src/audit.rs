//! The audit trail: who did what, when, in which school. Rows are append-only in the
//! database; details never hold names or email addresses.

use sqlx::PgExecutor;
use uuid::Uuid;

pub async fn record(
    db: impl PgExecutor<'_>,
    school_id: Option<Uuid>,
    actor: Option<Uuid>,
    action: &str,
    subject: &str,
    details: Option<serde_json::Value>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into audit_events (school_id, actor_user_id, action, subject, details)
         values ($1, $2, $3, $4, $5)",
        school_id,
        actor,
        action,
        subject,
        details.unwrap_or_else(|| serde_json::json!({}))
    )
    .execute(db)
    .await?;
    Ok(())
}
