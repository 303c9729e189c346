//! Sign-in throttling per account, counted in PostgreSQL so it holds across instances:
//! after 10 failures within 5 minutes the account waits, 1 minute the first time and twice
//! as long each time after (at most an hour). A right password during the wait does not
//! sign in. A day without failures forgets the doubling.
//!
//! Addresses without an account are counted the same way, under an HMAC of the address,
//! so the tenth wrong guess gets the same answer whether or not the account exists.

use sqlx::PgPool;
use uuid::Uuid;

use crate::secret_key::SecretKey;

pub const FAILURES_BEFORE_LOCK: i32 = 10;

/// At most this many addresses without an account are counted at once, so spraying made-up
/// addresses cannot fill the table; rows are forgotten a day after their last failure.
pub const MAX_MISSES: i64 = 100_000;

/// Counts a failed attempt; returns the minutes of a lock it started, if it started one.
pub async fn record_failure(pool: &PgPool, user_id: Uuid) -> sqlx::Result<Option<i64>> {
    let locked = sqlx::query_scalar!(
        r#"update users set
             lockouts = case when coalesce(greatest(failures_since, locked_until), '-infinity') < now() - interval '1 day'
                             then 0 else lockouts end,
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

/// The key an address without an account is counted under.
pub fn miss_key(secret: &SecretKey, email: &str) -> String {
    secret.mac_hex("sign-in miss", email.to_lowercase().as_bytes())
}

/// Minutes an address without an account still waits, 0 if none.
pub async fn miss_locked_minutes(pool: &PgPool, key: &str) -> sqlx::Result<i64> {
    Ok(sqlx::query_scalar!(
        r#"select greatest(0, ceil(extract(epoch from locked_until - now()) / 60))::bigint as "minutes!"
           from sign_in_misses where address_mac = $1"#,
        key
    )
    .fetch_optional(pool)
    .await?
    .unwrap_or(0))
}

/// `record_failure` for an address without an account.
pub async fn record_miss(pool: &PgPool, key: &str) -> sqlx::Result<Option<i64>> {
    let locked = sqlx::query_scalar!(
        r#"insert into sign_in_misses as m (address_mac, failed_sign_ins, failures_since)
           select $1, 1, now()
           where exists (select 1 from sign_in_misses where address_mac = $1)
              or (select count(*) from (select 1 from sign_in_misses limit $3) t) < $3
           on conflict (address_mac) do update set
             lockouts = case when coalesce(greatest(m.failures_since, m.locked_until), '-infinity') < now() - interval '1 day'
                             then 0 else m.lockouts end,
             failed_sign_ins = case when m.failures_since is null or m.failures_since < now() - interval '5 minutes'
                                    then 1 else m.failed_sign_ins + 1 end,
             failures_since = case when m.failures_since is null or m.failures_since < now() - interval '5 minutes'
                                   then now() else m.failures_since end,
             last_failed_at = now()
           returning failed_sign_ins >= $2 as "locked!""#,
        key,
        FAILURES_BEFORE_LOCK,
        MAX_MISSES
    )
    .fetch_optional(pool)
    .await?;
    if locked != Some(true) {
        return Ok(None);
    }
    let minutes = sqlx::query_scalar!(
        r#"update sign_in_misses set
             locked_until = now() + least(60, power(2, least(lockouts, 6)))::int * interval '1 minute',
             lockouts = lockouts + 1, failed_sign_ins = 0, failures_since = null
           where address_mac = $1
           returning least(60, power(2, least(lockouts - 1, 6)))::bigint as "minutes!""#,
        key
    )
    .fetch_one(pool)
    .await?;
    Ok(Some(minutes))
}

/// Forgets addresses without an account a day after their last failure.
pub async fn forget_old_misses(pool: &PgPool) -> sqlx::Result<u64> {
    Ok(
        sqlx::query!("delete from sign_in_misses where last_failed_at < now() - interval '1 day'")
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

pub fn locked_message(minutes: i64) -> String {
    format!(
        "There have been too many attempts to sign in to this account. Wait {minutes} {} and try again, or reset your password",
        if minutes == 1 { "minute" } else { "minutes" }
    )
}
