//! How authenticator secrets and recovery codes are kept: secrets sealed with the portal's
//! key, bound to their account; recovery codes as keyed hashes. Sealing the secrets kept in
//! clear, and sealing them all again when the key rotates.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::secret_key::{self, SecretKey};

/// What an authenticator secret is sealed to: its account, and this use.
pub(super) fn secret_context(user_id: Uuid) -> String {
    format!("totp secret:{user_id}")
}

/// The authenticator secret as the app has it, from what the database keeps. A secret kept
/// from before sealing began is read as it is (and sealed at the portal's next start).
pub(super) fn open_secret(key: &SecretKey, user_id: Uuid, stored: &str) -> Option<String> {
    if secret_key::is_sealed(stored) {
        String::from_utf8(key.open(&secret_context(user_id), stored)?).ok()
    } else {
        Some(stored.to_owned())
    }
}

/// Whether a typed recovery code is the one `stored` keeps: an HMAC under the portal's key,
/// or, for codes given out before that, their SHA-256.
pub(super) fn recovery_matches(key: &SecretKey, typed: &str, stored: &str) -> bool {
    key.verify_mac("recovery code", typed.as_bytes(), stored) || digest(typed) == stored
}

/// Seals every authenticator secret still kept in clear: run at start, once the key is known.
pub async fn seal_clear_secrets(pool: &sqlx::PgPool, key: &SecretKey) -> sqlx::Result<u64> {
    let clear = sqlx::query!(
        r#"select id, totp_secret as "secret!" from users
           where totp_secret is not null and totp_secret not like 'v%.%.%'"#
    )
    .fetch_all(pool)
    .await?;
    let mut sealed = 0;
    for row in clear {
        sealed += sqlx::query!(
            "update users set totp_secret = $3 where id = $1 and totp_secret = $2",
            row.id,
            row.secret,
            key.seal(&secret_context(row.id), row.secret.as_bytes())
        )
        .execute(pool)
        .await?
        .rows_affected();
    }
    Ok(sealed)
}

/// Seals every authenticator secret and client secret again with `next`'s current key and records its id, in
/// one transaction: the rotation's database half. Returns how many were sealed again.
pub async fn seal_again(pool: &sqlx::PgPool, next: &SecretKey) -> anyhow::Result<u64> {
    let mut tx = pool.begin().await?;
    let rows = sqlx::query!(
        r#"select id, totp_secret as "secret!" from users where totp_secret is not null for update"#
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut count = 0;
    for row in rows {
        let secret = open_secret(next, row.id, &row.secret).ok_or_else(|| {
            anyhow::anyhow!("an authenticator secret does not open with the current key file")
        })?;
        sqlx::query!(
            "update users set totp_secret = $2 where id = $1",
            row.id,
            next.seal(&secret_context(row.id), secret.as_bytes())
        )
        .execute(&mut *tx)
        .await?;
        count += 1;
    }
    // The schools' single sign-on client secrets, likewise.
    let clients = sqlx::query!("select school_id, client_secret_sealed from school_sso for update")
        .fetch_all(&mut *tx)
        .await?;
    for row in clients {
        let context = crate::store::sso::secret_context(row.school_id);
        let secret = next
            .open(&context, &row.client_secret_sealed)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "a single sign-on client secret does not open with the current key file"
                )
            })?;
        sqlx::query!(
            "update school_sso set client_secret_sealed = $2 where school_id = $1",
            row.school_id,
            next.seal(&context, &secret)
        )
        .execute(&mut *tx)
        .await?;
        count += 1;
    }
    sqlx::query!(
        "update secret_key_id set key_id = $1, version = $2, set_at = now()",
        next.id(),
        i32::try_from(next.version)?
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(count)
}

fn digest(code: &str) -> String {
    hex::encode(Sha256::digest(code.as_bytes()))
}
