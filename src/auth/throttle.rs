//! Sign-in throttling per account, counted in PostgreSQL so it holds across instances:
//! after 10 failures within 5 minutes the account waits, 1 minute the first time and twice
//! as long each time after (at most an hour). A right password during the wait does not
//! sign in.

use sqlx::PgPool;
use uuid::Uuid;

pub const FAILURES_BEFORE_LOCK: i32 = 10;

/// Counts a failed attempt; returns the minutes of a lock it started, if it started one.
pub async fn record_failure(pool: &PgPool, user_id: Uuid) -> sqlx::Result<Option<i64>> {
    let locked = sqlx::query_scalar!(
        r#"update users set
             failed_sign_ins = case when failures_since is null or failures_since < now() - interval '5 minutes'
                                    then 1 else failed_sign_ins + 1 end,
             failures_since = case when failures_since is null or failures_since < now() - interval '5 minutes'
                                   then now() else failures_since end
           where id = $1
           returning failed_sign_ins >= $2 as "locked!""#,
        user_id,
        FAILURES_BEFORE_LOCK
    )
    .fetch_one(pool)
    .await?;
    if !locked {
        return Ok(None);
    }
    let minutes = sqlx::query_scalar!(
        r#"update users set
             locked_until = now() + least(60, power(2, least(lockouts, 6)))::int * interval '1 minute',
             lockouts = lockouts + 1, failed_sign_ins = 0, failures_since = null
           where id = $1
           returning least(60, power(2, least(lockouts - 1, 6)))::bigint as "minutes!""#,
        user_id
    )
    .fetch_one(pool)
    .await?;
    Ok(Some(minutes))
}

pub fn locked_message(minutes: i64) -> String {
    format!(
        "There have been too many attempts to sign in to this account. Wait {minutes} {} and try again, or reset your password",
        if minutes == 1 { "minute" } else { "minutes" }
    )
}
