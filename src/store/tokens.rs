//! Single-use links (`account_tokens`): issuing one, an invitation queued with its email, and
//! voiding a person's open links. Only the SHA-256 of a link's token is stored.

use rand::Rng;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::paths;
use crate::{
    clock,
    domain::statuses::TokenPurpose,
    mail::{self, Invitation},
};

pub const INVITATION_LIFETIME: Duration = Duration::days(7);

/// How a token is stored: its SHA-256, in hex.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// How long a link handed over in person works.
pub const HANDOVER_LIFETIME: Duration = Duration::hours(24);

/// A new token for `user_id`; returns (token id, the secret that goes in the link).
pub async fn issue(
    db: &mut PgConnection,
    user_id: Uuid,
    purpose: TokenPurpose,
    lifetime: Duration,
) -> sqlx::Result<(Uuid, String)> {
    issue_by(db, user_id, purpose, lifetime, None).await
}

/// As `issue`, naming who the link is given by (for a link handed over in person).
pub async fn issue_by(
    db: &mut PgConnection,
    user_id: Uuid,
    purpose: TokenPurpose,
    lifetime: Duration,
    issued_by: Option<Uuid>,
) -> sqlx::Result<(Uuid, String)> {
    let secret = hex::encode(rand::rng().random::<[u8; 32]>());
    let id = sqlx::query_scalar!(
        "insert into account_tokens (user_id, purpose, token_sha256, expires_at, issued_by)
         values ($1, $2, $3, now() + $4::interval, $5) returning id",
        user_id,
        purpose.as_str(),
        digest(&secret),
        sqlx::postgres::types::PgInterval::try_from(lifetime).unwrap_or_default(),
        issued_by
    )
    .fetch_one(db)
    .await?;
    Ok((id, secret))
}

/// Queues an invitation to set a password, in the caller's transaction.
pub async fn invite(
    db: &mut PgConnection,
    user_id: Uuid,
    school_id: Uuid,
    base_url: &str,
) -> anyhow::Result<()> {
    let person = sqlx::query!(
        "select u.email, u.full_name, s.name as school_name from users u, schools s where u.id = $1 and s.id = $2",
        user_id,
        school_id
    )
    .fetch_one(&mut *db)
    .await?;
    let (token_id, secret) = issue(db, user_id, TokenPurpose::Invite, INVITATION_LIFETIME).await?;
    let link = format!("{base_url}{}", paths::SetPassword::new(&secret));
    let expires = clock::date_time(OffsetDateTime::now_utc() + INVITATION_LIFETIME);
    let email = Invitation {
        first_name: mail::first_name(&person.full_name),
        school_name: &person.school_name,
        link: &link,
        expires: &expires,
    }
    .render(
        &person.email,
        format!(
            "{}: create your password for AUP Portal",
            person.school_name
        ),
    )?;
    mail::queue(db, Some(school_id), &format!("invite:{token_id}"), &email).await?;
    Ok(())
}

/// Ends the person's open links that set a password: invitations, resets, handed-over links.
pub async fn void_password_links(db: &mut PgConnection, user_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "update account_tokens set used_at = now()
         where user_id = $1 and used_at is null and purpose in ('invite', 'reset', 'handover')",
        user_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Ends every link the person was sent and has not used: invitations, resets, email changes.
pub async fn void_all(db: &mut PgConnection, user_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "update account_tokens set used_at = now() where user_id = $1 and used_at is null",
        user_id
    )
    .execute(db)
    .await?;
    Ok(())
}
