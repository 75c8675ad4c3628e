//! The append-only audit trail: who did what, to which object, in which organisation, under
//! which request id. Events that go with a change are written in the change's transaction;
//! refusals are written on their own, because the request's transaction is rolled back.

use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Who caused an event, and the request it came in.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    /// The signed-in (or identified) user; `None` for anonymous requests.
    pub user_id: Option<Uuid>,
    /// The `x-request-id` of the request, to join with the logs.
    pub request_id: Option<String>,
}

/// One event.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// Dotted verb, e.g. `login.succeeded`, `user.created`, `access.denied`.
    pub action: &'static str,
    /// What kind of object, e.g. `user`, `icb`, `opportunity`.
    pub object_type: Option<&'static str>,
    /// Its identifier.
    pub object_id: Option<String>,
    /// ODS code of the organisation concerned.
    pub organisation_code: Option<String>,
    /// Anything else worth keeping, never a password or a personal detail beyond ids.
    pub details: Value,
}

impl AuditEvent {
    /// An event with just an action.
    pub fn new(action: &'static str) -> Self {
        Self {
            action,
            object_type: None,
            object_id: None,
            organisation_code: None,
            details: Value::Object(Default::default()),
        }
    }

    /// Sets the object.
    pub fn object(mut self, object_type: &'static str, object_id: impl ToString) -> Self {
        self.object_type = Some(object_type);
        self.object_id = Some(object_id.to_string());
        self
    }

    /// Sets the organisation.
    pub fn organisation(mut self, code: Option<impl ToString>) -> Self {
        self.organisation_code = code.map(|c| c.to_string());
        self
    }

    /// Sets the details.
    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

/// Writes an event on `conn`, inside whatever transaction it is in.
pub async fn record(conn: &mut PgConnection, actor: &Actor, event: AuditEvent) -> sqlx::Result<()> {
    sqlx::query!(
        r#"
        insert into audit_event
            (actor_user_id, action, object_type, object_id, organisation_code, request_id, details)
        values ($1, $2, $3, $4, $5, $6, $7)
        "#,
        actor.user_id,
        event.action,
        event.object_type,
        event.object_id,
        event.organisation_code,
        actor.request_id,
        event.details,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes an event in a transaction of its own, as the application role. Failures are
/// logged rather than returned: a refusal must still be answered if the audit write fails.
pub async fn record_now(pool: &PgPool, actor: &Actor, event: AuditEvent) {
    let result = async {
        let mut tx = pool.begin().await?;
        sqlx::query!("set local role medopt_app")
            .execute(&mut *tx)
            .await?;
        record(&mut tx, actor, event).await?;
        tx.commit().await
    }
    .await;
    if let Err(error) = result {
        tracing::error!(%error, "could not write an audit event");
    }
}
