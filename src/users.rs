//! Creating and changing user accounts: shared by the administration pages, the `medopt user`
//! command and the first start. Every change writes its audit event in the same transaction.

use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::audit::{self, Actor, AuditEvent};
use crate::auth::{OrgKind, Role, password};
use crate::error::AppError;

/// An organisation named by its ODS code, of the kind a role needs.
#[derive(Debug, Clone)]
pub struct OrgRef {
    pub kind: OrgKind,
    pub code: String,
}

/// A user to create.
pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub org: Option<&'a OrgRef>,
    pub password: String,
    pub must_change_password: bool,
}

/// Why a change was refused: a message for one field, or a failure.
#[derive(Debug)]
pub enum UserError {
    /// (field, message), for the form or the command line.
    Field(&'static str, String),
    Other(AppError),
}

impl<E: Into<AppError>> From<E> for UserError {
    fn from(error: E) -> Self {
        UserError::Other(error.into())
    }
}

impl std::fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UserError::Field(field, message) => write!(f, "{field}: {message}"),
            UserError::Other(error) => write!(f, "{error}"),
        }
    }
}

/// A loose check; the address is proved by the person signing in with it.
pub fn looks_like_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// Resolves the organisation for `role`: (icb_id, region_id).
async fn resolve_org(
    conn: &mut PgConnection,
    role: Role,
    org: Option<&OrgRef>,
) -> Result<(Option<i32>, Option<i16>), UserError> {
    match (role.org_kind(), org) {
        (None, _) => Ok((None, None)),
        (Some(OrgKind::Icb), Some(org)) => {
            let icb_id = sqlx::query_scalar!(
                "select icb_id from icb where ods_code = $1 and (valid_to is null or valid_to >= current_date)",
                org.code
            )
            .fetch_optional(conn)
            .await?;
            icb_id.map(|id| (Some(id), None)).ok_or_else(|| {
                UserError::Field("organisation", "Select an ICB that exists today".into())
            })
        }
        (Some(OrgKind::Region), Some(org)) => {
            let region_id =
                sqlx::query_scalar!("select region_id from region where ods_code = $1", org.code)
                    .fetch_optional(conn)
                    .await?;
            region_id
                .map(|id| (None, Some(id)))
                .ok_or_else(|| UserError::Field("organisation", "Select a region".into()))
        }
        (Some(_), None) => Err(UserError::Field(
            "organisation",
            "This role needs an organisation".into(),
        )),
    }
}

fn email_taken(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.constraint() == Some("app_user_email_key"))
}

/// Creates a user and audits it.
pub async fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    new: NewUser<'_>,
) -> Result<Uuid, UserError> {
    let (icb_id, region_id) = resolve_org(conn, new.role, new.org).await?;
    let hash = password::hash(new.password).await?;
    let user_id = sqlx::query_scalar!(
        r#"
        insert into app_user (email, name, role, icb_id, region_id, password_hash, must_change_password)
        values ($1, $2, $3, $4, $5, $6, $7)
        on conflict (email) do nothing
        returning user_id
        "#,
        new.email,
        new.name,
        new.role as Role,
        icb_id,
        region_id,
        hash,
        new.must_change_password,
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| UserError::Field("email", "A user with this email address already exists".into()))?;
    let event = AuditEvent::new("user.created")
        .object("user", user_id)
        .organisation(new.org.map(|o| &o.code))
        .details(json!({ "role": new.role.as_str() }));
    audit::record(conn, actor, event).await?;
    Ok(user_id)
}

/// Changes a user's name, e-mail, role and organisation, and audits the change.
pub async fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    user_id: Uuid,
    name: &str,
    email: &str,
    role: Role,
    org: Option<&OrgRef>,
) -> Result<(), UserError> {
    let (icb_id, region_id) = resolve_org(conn, role, org).await?;
    let before = sqlx::query!(
        r#"select role as "role: Role", email from app_user where user_id = $1"#,
        user_id
    )
    .fetch_one(&mut *conn)
    .await?;
    let result = sqlx::query!(
        r#"
        update app_user set name = $2, email = $3, role = $4, icb_id = $5, region_id = $6, updated_at = now()
        where user_id = $1
        "#,
        user_id,
        name,
        email,
        role as Role,
        icb_id,
        region_id,
    )
    .execute(&mut *conn)
    .await;
    match result {
        Err(e) if email_taken(&e) => {
            return Err(UserError::Field(
                "email",
                "A user with this email address already exists".into(),
            ));
        }
        other => other?,
    };
    let event = AuditEvent::new("user.updated")
        .object("user", user_id)
        .organisation(org.map(|o| &o.code))
        .details(json!({
            "role_before": before.role.as_str(),
            "role_after": role.as_str(),
            "email_changed": before.email != email,
        }));
    audit::record(conn, actor, event).await?;
    Ok(())
}

/// Sets a user's password (operators, from the command line); unlocks the account.
pub async fn set_password(
    conn: &mut PgConnection,
    actor: &Actor,
    email: &str,
    new_password: String,
) -> Result<(), UserError> {
    let hash = password::hash(new_password).await?;
    let user_id = sqlx::query_scalar!(
        r#"update app_user set password_hash = $2, must_change_password = false, failed_logins = 0,
                  locked_until = null, password_changed_at = now(), updated_at = now()
           where email = $1 returning user_id"#,
        email,
        hash
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| UserError::Field("email", "No user has this email address".into()))?;
    audit::record(
        conn,
        actor,
        AuditEvent::new("user.password_set").object("user", user_id),
    )
    .await?;
    Ok(())
}

/// On first start with no users, creates an administrator with a random one-time password
/// (which must be changed at first sign-in) and returns that password to be shown once.
pub async fn ensure_first_admin(pool: &PgPool, email: &str) -> anyhow::Result<Option<String>> {
    let mut tx = pool.begin().await?;
    // Serialise concurrent first starts of several instances.
    sqlx::query!("lock table app_user in share row exclusive mode")
        .execute(&mut *tx)
        .await?;
    let any_user = sqlx::query_scalar!(r#"select exists (select 1 from app_user) as "exists!""#)
        .fetch_one(&mut *tx)
        .await?;
    if any_user {
        return Ok(None);
    }
    let one_time = password::one_time_password();
    let new = NewUser {
        email: &email.trim().to_lowercase(),
        name: "Administrator",
        role: Role::Admin,
        org: None,
        password: one_time.clone(),
        must_change_password: true,
    };
    create(&mut tx, &Actor::default(), new)
        .await
        .map_err(|e| anyhow::anyhow!("could not create the first administrator: {e}"))?;
    tx.commit().await?;
    Ok(Some(one_time))
}

#[cfg(test)]
mod tests {
    use super::looks_like_email;

    #[test]
    fn email_shape() {
        assert!(looks_like_email("a.person@nhs.net"));
        assert!(!looks_like_email("a person@nhs.net"));
        assert!(!looks_like_email("nhs.net"));
        assert!(!looks_like_email("@nhs.net"));
        assert!(!looks_like_email("a@b@c"));
    }
}
