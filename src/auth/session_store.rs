//! Server-side sessions in PostgreSQL, so several app instances share them.
//!
//! Our own store because the published sqlx store still needs sqlx 0.8. Rows are keyed by a
//! SHA-256 of the cookie's session id, so a copy of the table cannot be replayed as cookies.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};

/// The `session` table as a tower-sessions store.
#[derive(Debug, Clone)]
pub struct PgSessionStore {
    pool: PgPool,
}

impl PgSessionStore {
    /// A store on `pool` (the owner's connection: sessions are infrastructure, not tenant data).
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

/// The table key for a cookie's session id.
pub fn session_key(id: &Id) -> String {
    let digest = Sha256::digest(id.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// How an unreachable database is marked in the store's errors, which tower-sessions carries
/// as text: the request then answers 503 like any page whose database is down.
const UNAVAILABLE: &str = "database unavailable: ";

fn backend(error: sqlx::Error) -> session_store::Error {
    if crate::db::is_unavailable(&error) {
        session_store::Error::Backend(format!("{UNAVAILABLE}{error}"))
    } else {
        session_store::Error::Backend(error.to_string())
    }
}

/// Whether a store error's text says the database could not be reached.
pub fn is_unavailable(message: &str) -> bool {
    message.starts_with(UNAVAILABLE)
}

fn expiry(record: &Record) -> session_store::Result<DateTime<Utc>> {
    DateTime::from_timestamp(record.expiry_date.unix_timestamp(), 0)
        .ok_or_else(|| session_store::Error::Encode("expiry out of range".into()))
}

#[async_trait]
impl SessionStore for PgSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let data = serde_json::to_value(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        let expires_at = expiry(record)?;
        // A collision of 128-bit random ids is astronomically unlikely; pick another if it happens.
        loop {
            let inserted = sqlx::query!(
                "insert into session (session_id, data, expires_at) values ($1, $2, $3)
                 on conflict (session_id) do nothing",
                session_key(&record.id),
                data,
                expires_at,
            )
            .execute(&self.pool)
            .await
            .map_err(backend)?
            .rows_affected();
            if inserted == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = serde_json::to_value(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        sqlx::query!(
            "insert into session (session_id, data, expires_at) values ($1, $2, $3)
             on conflict (session_id) do update set data = excluded.data, expires_at = excluded.expires_at",
            session_key(&record.id),
            data,
            expiry(record)?,
        )
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let row = sqlx::query!(
            "select data, expires_at from session where session_id = $1 and expires_at > now()",
            session_key(id),
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let data = serde_json::from_value(row.data)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp(row.expires_at.timestamp())
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sqlx::query!("delete from session where session_id = $1", session_key(id))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for PgSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        sqlx::query!("delete from session where expires_at <= now()")
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
