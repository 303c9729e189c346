//! The connection pool and the schema: migrations are embedded in the binary and
//! applied at start and by `aup-portal migrate`.

pub mod cluster;

use std::{
    sync::{
        LazyLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use sqlx::{
    Connection, PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The moment this process started, for `OUTAGE_AT`.
static STARTED: LazyLock<Instant> = LazyLock::new(Instant::now);
/// When the database was last found away, in milliseconds after `STARTED` (0: never).
static OUTAGE_AT: AtomicU64 = AtomicU64::new(0);

fn millis_since_start() -> u64 {
    u64::try_from(STARTED.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Notes that the database was found away (a query failed, a connection could not be made).
/// Each connection that was idle in the pool at that moment is checked once before its next
/// use, so that after the database comes back nobody is given a connection that died with it.
pub fn note_outage() {
    OUTAGE_AT.store(millis_since_start().max(1), Ordering::Relaxed);
}

/// Whether a connection idle for `idle_for` went idle before the last outage was noted.
fn idle_through_outage(idle_for: Duration) -> bool {
    let outage = OUTAGE_AT.load(Ordering::Relaxed);
    let idle_since = millis_since_start()
        .saturating_sub(u64::try_from(idle_for.as_millis()).unwrap_or(u64::MAX));
    outage != 0 && outage >= idle_since
}

/// Connections in the pool: two per core. PostgreSQL runs one process per connection, and
/// more of them busy at once than the cores can run only take turns. Measured on the INSET
/// benchmark's two cores (BENCHMARKS.md): 16 connections spent 99-114 µs of PostgreSQL's CPU
/// per sign page, 4 spent 89-102 µs, and the page went from 8,355-9,812 to 8,847-10,148 a
/// second.
/// A request that finds every connection busy waits its turn (`acquire_timeout`).
pub fn connections() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    u32::try_from(cores * 2).unwrap_or(u32::MAX).max(4)
}

/// Errors that mean the database is away (restarting, say), not that the request was wrong.
pub fn database_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::Io(_)
        | sqlx::Error::PoolClosed
        | sqlx::Error::Protocol(_) => true,
        // Class 08: connection exceptions; class 57: the server shutting down or starting up.
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    }
}

/// The constraint a unique violation broke, so the caller can say plainly what clashed.
pub fn unique_violation(err: &sqlx::Error) -> Option<String> {
    match err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            db.constraint().map(ToOwned::to_owned)
        }
        _ => None,
    }
}

pub async fn connect(options: PgConnectOptions) -> anyhow::Result<PgPool> {
    LazyLock::force(&STARTED);
    PgPoolOptions::new()
        .max_connections(connections())
        // No extra round trip to test each connection as it is taken from the pool: a page
        // makes one or two queries, and the test would double them. Only a connection that
        // sat idle through an outage (`note_outage`) is tested, once; one that fails the test
        // is closed and replaced.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if idle_through_outage(meta.idle_for) {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
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

/// Records the secret key's id on first use, and refuses a key the database's secrets were
/// not sealed with: a portal with the wrong key file stops here, with a message that says so.
pub async fn check_key(pool: &PgPool, key: &crate::secret_key::SecretKey) -> anyhow::Result<()> {
    let id = key.id();
    let version = i32::try_from(key.version).context("key version")?;
    let known = sqlx::query_scalar!(
        "insert into secret_key_id (key_id, version) values ($1, $2)
         on conflict (singleton) do update set key_id = secret_key_id.key_id
         returning key_id",
        id,
        version
    )
    .fetch_one(pool)
    .await?;
    if known != id {
        anyhow::bail!(
            "the secret key file holds key {id}, but this database's secrets were sealed with key {known}. Start the portal with the key file it was set up with (AUP_SECRET_KEY_FILE), or restore it from where you keep it apart from the database's backups."
        );
    }
    Ok(())
}

/// Gives the portal's own login `runtime` what it needs, and nothing over the evidence but
/// reading and adding: run as the tables' owner after every migration, so new tables are
/// covered too.
pub async fn grant_runtime(owner: &PgPool, runtime: &str) -> anyhow::Result<()> {
    let current: String = sqlx::query_scalar("select current_user::text")
        .fetch_one(owner)
        .await?;
    if current == runtime {
        anyhow::bail!(
            "AUP_MIGRATE_DATABASE_URL and DATABASE_URL both log in as {runtime}: the portal needs a login of its own, which does not own the tables"
        );
    }
    sqlx::query("select grant_runtime($1)")
        .bind(runtime)
        .execute(owner)
        .await
        .context("granting the portal's login its rights")?;
    Ok(())
}

/// Refuses a login that could rewrite the evidence: one that owns (or acts for the owner of)
/// an evidence table, may truncate it or switch its triggers off, or may write the seals or
/// take rows off the seal queue directly, or change or remove personal fields other than
/// through `erase_personal`.
pub async fn check_runtime_role(pool: &PgPool) -> anyhow::Result<()> {
    let powers: Vec<String> = sqlx::query_scalar(
        "select t || ': ' || string_agg(u.power, ', ' order by u.n)
         from unnest(array['agreements', 'agreement_personal', 'audit_events', 'erasures', 'scans',
                           'seals', 'seal_entries', 'seal_queue']) t
         join pg_class c on c.oid = ('public.' || t)::regclass
         cross join lateral unnest(array[
             case when pg_has_role(current_user, c.relowner, 'USAGE') then 'owns it (can ALTER it)' end,
             case when has_table_privilege(current_user, c.oid, 'TRUNCATE') then 'TRUNCATE' end,
             case when has_table_privilege(current_user, c.oid, 'TRIGGER') then 'TRIGGER' end,
             case when t in ('seals', 'seal_entries', 'erasures') and has_table_privilege(current_user, c.oid, 'INSERT')
                  then 'INSERT' end,
             case when has_table_privilege(current_user, c.oid, 'UPDATE') then 'UPDATE' end,
             case when has_table_privilege(current_user, c.oid, 'DELETE') then 'DELETE' end])
             with ordinality as u(power, n)
         where u.power is not null group by t order by t",
    )
    .fetch_all(pool)
    .await?;
    let mut powers = powers;
    // A login that may create objects in the schema could put a function or table of its
    // own where the portal's are looked up.
    let creates: bool =
        sqlx::query_scalar("select has_schema_privilege(current_user, 'public', 'CREATE')")
            .fetch_one(pool)
            .await?;
    if creates {
        powers.push("schema public: CREATE".to_owned());
    }
    if !powers.is_empty() {
        anyhow::bail!(
            "the portal's database login (DATABASE_URL) could rewrite the evidence, so the portal will not serve with it: {}. Give the portal a login of its own and the owner's to AUP_MIGRATE_DATABASE_URL (see SECURITY.md)",
            powers.join("; ")
        );
    }
    Ok(())
}
