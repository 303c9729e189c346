//! Asking a signed-in person for their password again before an action that matters (a new
//! password, a new authenticator, another person's email address). Each wrong answer counts
//! in the same per-account counters as a wrong sign-in, and is audited, so a stolen session
//! cannot guess the password at leisure.

use sqlx::PgPool;
use uuid::Uuid;

use super::{password, throttle};
use crate::audit::{Doing, Event};
use crate::{audit, error::Result};

/// The answer to "is this really them?".
pub enum Reauth {
    Confirmed,
    /// No password was given.
    Missing,
    /// The password is not theirs (counted and audited).
    Wrong,
    /// The account is locked, even against the right password: the message says how long.
    Locked(String),
}

impl Reauth {
    /// The message for the password field, if refused, in the form's own words.
    pub fn refusal(self, missing: &str, wrong: &str) -> Option<String> {
        match self {
            Reauth::Confirmed => None,
            Reauth::Missing => Some(missing.to_owned()),
            Reauth::Wrong => Some(wrong.to_owned()),
            Reauth::Locked(message) => Some(message),
        }
    }
}

/// Checks `given` against the person's password. `doing` names what they were doing, for
/// the audit event ("password", "two_factor", "email").
pub async fn check(pool: &PgPool, user_id: Uuid, given: &str, doing: Doing) -> Result<Reauth> {
    if given.is_empty() {
        return Ok(Reauth::Missing);
    }
    let account = sqlx::query!(
        r#"select password_hash,
                  greatest(0, ceil(extract(epoch from locked_until - now()) / 60))::bigint as "locked_minutes!"
           from users where id = $1"#,
        user_id
    )
    .fetch_one(pool)
    .await?;
    let right = password::verify(account.password_hash, given.to_owned()).await?;
    if account.locked_minutes > 0 {
        // Locked: even the right password waits, as at sign-in.
        audit::record(
            pool,
            None,
            Some(user_id),
            &Event::ReauthenticationRefusedLocked { doing },
        )
        .await?;
        return Ok(Reauth::Locked(throttle::locked_message(
            account.locked_minutes,
        )));
    }
    if right {
        return Ok(Reauth::Confirmed);
    }
    audit::record(
        pool,
        None,
        Some(user_id),
        &Event::ReauthenticationFailed { doing },
    )
    .await?;
    Ok(match throttle::record_failure(pool, user_id).await? {
        Some(minutes) => {
            audit::record(pool, None, Some(user_id), &Event::AccountLocked).await?;
            Reauth::Locked(throttle::locked_message(minutes))
        }
        None => Reauth::Wrong,
    })
}
