//! Where sessions live: the `sessions` table, with each session's data as jsonb. Keeping the
//! data readable by SQL lets a page's first query read the session together with the account
//! and membership it belongs to (`session::Member`), instead of a query of its own.

use std::{collections::HashMap, time::Duration};

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use sqlx::{PgPool, types::Json};
use time::OffsetDateTime;
use tower_sessions::{
    SessionStore,
    session::{Id, Record},
    session_store,
};

/// The key a session is stored under: the SHA-256 of its cookie's value, so the table holds
/// nothing a reader could present as a cookie.
pub fn stored_id(id: &Id) -> String {
    hex::encode(Sha256::digest(id.to_string().as_bytes()))
}

/// A session's data: what `Record::data` holds.
type Data = HashMap<String, serde_json::Value>;

#[derive(Clone, Debug)]
pub struct PgSessions {
    pool: PgPool,
}

impl PgSessions {
    pub fn new(pool: PgPool) -> Self {
        PgSessions { pool }
    }
}

/// The database could not be reached: `AppError` shows this as the friendly 503 page.
fn backend(err: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}

#[async_trait]
impl SessionStore for PgSessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A clash of 128-bit random ids is all but impossible; if one happens, draw again
        // rather than take over the other session.
        loop {
            let created = sqlx::query_scalar!(
                "insert into sessions (id, data, expiry_date) values ($1, $2, $3)
                 on conflict (id) do nothing
                 returning true as \"created!\"",
                stored_id(&record.id),
                Json(&record.data) as _,
                record.expiry_date
            )
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
            if created.is_some() {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        sqlx::query!(
            "insert into sessions (id, data, expiry_date) values ($1, $2, $3)
             on conflict (id) do update
             set data = excluded.data, expiry_date = excluded.expiry_date",
            stored_id(&record.id),
            Json(&record.data) as _,
            record.expiry_date
        )
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let row = sqlx::query!(
            r#"select data as "data: Json<Data>", expiry_date from sessions
               where id = $1 and expiry_date > now()"#,
            stored_id(id)
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        Ok(row.map(|row| Record {
            id: *id,
            data: row.data.0,
            expiry_date: row.expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sqlx::query!("delete from sessions where id = $1", stored_id(id))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

impl PgSessions {
    /// Deletes the sessions past their expiry every `period`, for as long as the portal runs.
    /// A failure (the database restarting, say) is logged and the next round tries again.
    pub async fn sweep_every(self, period: Duration) {
        let mut rounds = tokio::time::interval(period);
        loop {
            rounds.tick().await;
            let swept = sqlx::query!(
                "delete from sessions where expiry_date < $1",
                OffsetDateTime::now_utc()
            )
            .execute(&self.pool)
            .await;
            if let Err(err) = swept {
                tracing::warn!(error = %err, "could not delete expired sessions");
            }
            if let Err(err) = super::throttle::forget_old_misses(&self.pool).await {
                tracing::warn!(error = %err, "could not forget old failed sign-ins");
            }
        }
    }
}
