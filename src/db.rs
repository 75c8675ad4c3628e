//! Where the database comes from, and its schema.
//!
//! With `DATABASE_URL` set we connect to it. Without it we start (or reuse) a private cluster
//! from the locally installed PostgreSQL binaries ([`crate::devdb`]) and create the `medopt`
//! database in it, so `cargo run` needs no set-up. Migrations are embedded in the binary.

use std::time::Duration;

use anyhow::Context;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

use crate::config::Config;
use crate::devdb::{self, LocalPostgres};

/// The schema migrations in `migrations/`, embedded at build time.
pub static MIGRATOR: Migrator = sqlx::migrate!();

/// Name of the application database inside the private cluster.
const LOCAL_DATABASE: &str = "medopt";

/// How long a request waits for a database connection before it is answered 503.
///
/// sqlx has no separate connect timeout: a refused connection is retried until this deadline,
/// and a server that accepts but never answers is waited for until it. So this bounds how
/// long a page takes to say "unavailable" when the database is down (the issue was 5 s), and
/// under load it sheds requests that would otherwise queue for longer than a person waits.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1500);

/// The pool settings the server uses (tests build their pools with them too).
pub fn pool_options(config: &Config) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(config.db_pool_size)
        .acquire_timeout(ACQUIRE_TIMEOUT)
}

/// Whether `error` means the database cannot be reached (down, restarting, unreachable, or
/// every connection busy past [`ACQUIRE_TIMEOUT`]), rather than a fault in a query.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        // Class 08: connection exceptions; 57P01–57P03: the server is shutting down or
        // starting up.
        sqlx::Error::Database(e) => e.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// A connection pool, and the private cluster behind it when we started one.
pub struct Database {
    /// The pool every request uses.
    pub pool: PgPool,
    local: Option<LocalPostgres>,
}

impl Database {
    /// Connects to `DATABASE_URL`, or starts the private cluster when it is unset.
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        let (url, local) = match &config.database_url {
            Some(url) => (url.clone(), None),
            None => {
                let local = start_local_cluster().await?;
                ensure_database(&local.url("postgres"), LOCAL_DATABASE).await?;
                (local.url(LOCAL_DATABASE), Some(local))
            }
        };
        let options: PgConnectOptions = url
            .parse()
            .context("DATABASE_URL is not a valid PostgreSQL URL")?;
        let pool = pool_options(config)
            .connect_with(options)
            .await
            .context("could not connect to the database")?;
        Ok(Self { pool, local })
    }

    /// The URL of the application database in the private cluster, if one is in use.
    pub fn local_url(&self) -> Option<String> {
        self.local.as_ref().map(|local| local.url(LOCAL_DATABASE))
    }

    /// Closes the pool, then stops the private cluster if this process started it.
    pub async fn shutdown(self) {
        self.pool.close().await;
        if let Some(local) = self.local.filter(LocalPostgres::started_by_us) {
            match tokio::task::spawn_blocking(move || local.stop()).await {
                Ok(Ok(())) => tracing::info!("stopped the private PostgreSQL cluster"),
                Ok(Err(error)) => {
                    tracing::warn!(%error, "could not stop the private PostgreSQL cluster")
                }
                Err(error) => {
                    tracing::warn!(%error, "could not stop the private PostgreSQL cluster")
                }
            }
        }
    }
}

/// Stops the private cluster, whoever started it.
pub async fn stop_local_cluster() -> anyhow::Result<()> {
    let options = devdb::Options::from_env()?;
    tokio::task::spawn_blocking(move || devdb::stop(&options))
        .await
        .context("the PostgreSQL launcher panicked")??;
    Ok(())
}

/// Applies any migrations not yet applied.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("could not apply database migrations")
}

async fn start_local_cluster() -> anyhow::Result<LocalPostgres> {
    let options = devdb::Options::from_env()?;
    let local = tokio::task::spawn_blocking(move || LocalPostgres::start(&options))
        .await
        .context("the PostgreSQL launcher panicked")??;
    tracing::info!(
        port = local.port(),
        data_dir = %local.data_dir().display(),
        initialised = local.initialised_now(),
        "DATABASE_URL is not set: using a private PostgreSQL cluster"
    );
    Ok(local)
}

/// Creates `name` on the server at `admin_url` unless it exists.
async fn ensure_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect(admin_url)
        .await
        .context("could not connect to the private PostgreSQL cluster")?;
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(name)
            .fetch_one(&mut conn)
            .await?;
    if !exists {
        // Identifiers cannot be bound as parameters; `name` is our own constant.
        let statement = format!(r#"create database "{name}""#);
        match sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(&mut conn)
            .await
        {
            Ok(_) => {}
            // Another process created it at the same moment: that is what we wanted.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
            Err(e) => return Err(e.into()),
        }
    }
    conn.close().await?;
    Ok(())
}
