//! People's accounts: the name they are known by, in its parts.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::names::Name;

/// A new account, with a password hash or none yet: its id.
pub async fn create_account(
    db: &mut PgConnection,
    email: &str,
    name: &Name,
    password_hash: Option<&str>,
) -> sqlx::Result<Uuid> {
    sqlx::query_scalar!(
        "insert into users (email, full_name, legal_forename, preferred_forename, surname, signing_name,
                            password_hash)
         values ($1, $2, $3, $4, $5, $6, $7) returning id",
        email,
        name.shown(),
        name.legal_forename,
        name.preferred_forename,
        name.surname,
        name.signing_name,
        password_hash
    )
    .fetch_one(db)
    .await
}

/// Gives the account this name, everywhere it is shown.
pub async fn rename(db: &mut PgConnection, user_id: Uuid, name: &Name) -> sqlx::Result<()> {
    sqlx::query!(
        "update users set full_name = $2, legal_forename = $3, preferred_forename = $4,
                          surname = $5, signing_name = $6
         where id = $1",
        user_id,
        name.shown(),
        name.legal_forename,
        name.preferred_forename,
        name.surname,
        name.signing_name
    )
    .execute(db)
    .await?;
    Ok(())
}
