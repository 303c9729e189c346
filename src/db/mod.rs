//! The connection pool and the schema: migrations are embedded in the binary and
//! applied at start and by `aup-portal migrate`.

pub mod cluster;

use std::time::Duration;

use anyhow::Context;
use sqlx::{
    PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub async fn connect(options: PgConnectOptions) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(16)
        // No extra round trip to test each connection as it is taken from the pool: a page
        // makes two or three queries, and the test would double them. A connection that died
        // (say, in a database restart) fails its next query, which answers 503, and is closed.
        .test_before_acquire(false)
        // A request fails fast with a friendly 503 instead of hanging while the database is away.
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .context("cannot connect to PostgreSQL")
}

/// Our tables, the sessions' included.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("applying database migrations")
}
