//! Two-step verification: after the password, a code from an authenticator app (TOTP) or a
//! single-use recovery code.
//!
//! - Who must use it: administrators and regional reviewers always, everyone when
//!   `MEDOPT_REQUIRE_TWO_STEP=true` ([`required`]). Anyone may turn it on.
//! - Enrolment (`/account/two-step`, [`enrol`]): a secret is offered as a QR code and as text,
//!   and only becomes the user's when they type a code from it; ten recovery codes are then
//!   shown once. Until a user who must enrol has done so, [`crate::auth::CurrentUser`] sends
//!   every page of theirs to enrolment: the rule lives there, not in each handler.
//! - Signing in ([`verify`]): the password leaves the session *pending* (not signed in); the
//!   code page finishes the sign-in. Each code attempt is claimed like a password attempt
//!   ([`super::lockout`]), so wrong codes count towards the lock, and a code's time step is
//!   stored when it is accepted so it cannot be used again.
//! - An administrator (admin users page) or an operator (`medopt user reset-two-step`) can
//!   remove a user's two-step verification; they then enrol again.
//!
//! Secrets live in `user_two_step`, which the application role cannot read: these functions
//! use the owner's connections (like the rest of sign-in), except [`reset`], which only
//! deletes. Every enrolment, reset, success and failure is audited.

pub mod enrol;
pub mod recovery;
pub mod totp;
pub mod verify;

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Role, password};
use crate::audit::{self, Actor, AuditEvent};
use crate::config::Config;
use crate::routes::{Access, Routes};

/// The two-step routes.
pub fn routes() -> Routes {
    Routes::new()
        .get("/login/two-step", Access::Public, verify::show_code_page)
        .post("/login/two-step", Access::Public, verify::submit_code)
        .get("/account/two-step", Access::SignedIn, enrol::show)
        .post("/account/two-step", Access::SignedIn, enrol::confirm)
        .post(
            "/account/two-step/recovery-codes",
            Access::SignedIn,
            enrol::replace_recovery_codes,
        )
}

/// The code field of the sign-in, enrolment and recovery-code forms.
#[derive(Debug, serde::Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    pub code: String,
}

/// Whether users with `role` must use two-step verification.
pub fn required(role: Role, config: &Config) -> bool {
    config.require_two_step || always_required(role)
}

/// The roles that need two-step verification whatever the configuration: administrators
/// (who manage everyone) and regional reviewers (who agree plans).
pub fn always_required(role: Role) -> bool {
    matches!(role, Role::Admin | Role::RegionReviewer)
}

/// A user's two-step verification, once confirmed.
#[derive(Debug, Clone)]
pub struct Status {
    pub since: DateTime<Utc>,
    pub recovery_codes_left: i64,
}

/// The user's confirmed two-step verification, if any.
pub async fn status(db: &PgPool, user_id: Uuid) -> sqlx::Result<Option<Status>> {
    sqlx::query_as!(
        Status,
        r#"
        select t.confirmed_at as "since!",
               (select count(*) from recovery_code c where c.user_id = t.user_id and c.used_at is null) as "recovery_codes_left!"
        from user_two_step t
        where t.user_id = $1 and t.confirmed_at is not null
        "#,
        user_id
    )
    .fetch_optional(db)
    .await
}

/// The secret offered to `user_id` for enrolment: made on the first visit and kept until it
/// is confirmed, so reloading the page does not change the QR code someone already scanned.
/// `None` when the user has confirmed two-step verification already.
pub async fn pending_secret(db: &PgPool, user_id: Uuid) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!(
        r#"
        insert into user_two_step (user_id, secret) values ($1, $2)
        on conflict (user_id) do update set secret = user_two_step.secret
            where user_two_step.confirmed_at is null
        returning secret
        "#,
        user_id,
        totp::generate_secret(),
    )
    .fetch_optional(db)
    .await
}

/// What a code typed at enrolment did.
#[derive(Debug)]
pub enum Enrolment {
    /// Confirmed: the recovery codes, to show once.
    Confirmed(Vec<String>),
    /// The code was not the app's current one.
    WrongCode,
    /// Confirmed already (in another tab, say).
    AlreadyOn,
}

/// Confirms the pending secret with `code`, stores fresh recovery codes and audits it.
pub async fn confirm_enrolment(
    db: &PgPool,
    actor: &Actor,
    user_id: Uuid,
    org_code: Option<&String>,
    code: &str,
) -> anyhow::Result<Enrolment> {
    let secret = sqlx::query_scalar!(
        "select secret from user_two_step where user_id = $1 and confirmed_at is null",
        user_id
    )
    .fetch_optional(db)
    .await?;
    let Some(secret) = secret else {
        return Ok(Enrolment::AlreadyOn);
    };
    let Some(step) = totp::check(&secret, code, totp::now_unix()) else {
        return Ok(Enrolment::WrongCode);
    };
    // Hashed before the transaction: no connection waits on the slow hash.
    let codes = recovery::generate();
    let hashes = recovery::hash_all(&codes).await?;
    let mut tx = db.begin().await?;
    let confirmed = sqlx::query_scalar!(
        r#"update user_two_step set confirmed_at = now(), last_used_step = $3
           where user_id = $1 and secret = $2 and confirmed_at is null returning user_id"#,
        user_id,
        secret,
        i64::try_from(step)?,
    )
    .fetch_optional(&mut *tx)
    .await?;
    if confirmed.is_none() {
        return Ok(Enrolment::AlreadyOn);
    }
    store_recovery_codes(&mut tx, user_id, &hashes).await?;
    let event = AuditEvent::new("two_step.enrolled")
        .object("user", user_id)
        .organisation(org_code);
    audit::record(&mut tx, actor, event).await?;
    tx.commit().await?;
    Ok(Enrolment::Confirmed(codes))
}

/// Replaces a user's recovery codes with `hashes`.
async fn store_recovery_codes(
    conn: &mut PgConnection,
    user_id: Uuid,
    hashes: &[String],
) -> sqlx::Result<()> {
    sqlx::query!("delete from recovery_code where user_id = $1", user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "insert into recovery_code (user_id, code_hash) select $1, unnest($2::text[])",
        user_id,
        hashes
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// How a code was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    AuthenticatorApp,
    RecoveryCode,
}

impl Method {
    /// For the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::AuthenticatorApp => "totp",
            Method::RecoveryCode => "recovery_code",
        }
    }
}

/// What a code typed at sign-in (or to replace recovery codes) was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    Accepted(Method),
    /// Right, but its time step (or the recovery code) was used already.
    Reused,
    Wrong,
}

impl CodeCheck {
    /// For the audit log of a failure.
    pub fn reason(self) -> &'static str {
        match self {
            CodeCheck::Accepted(_) => "accepted",
            CodeCheck::Reused => "code_reused",
            CodeCheck::Wrong => "wrong_code",
        }
    }
}

/// Checks `input` (an app's code, or a recovery code when `recovery_codes` allows) for a user
/// with confirmed two-step verification, and uses it up if it is right.
pub async fn check_code(
    db: &PgPool,
    user_id: Uuid,
    input: &str,
    recovery_codes: bool,
) -> anyhow::Result<CodeCheck> {
    if totp::normalise_code(input).is_some() {
        return check_app_code(db, user_id, input).await;
    }
    if !(recovery_codes && recovery::looks_like_code(input)) {
        return Ok(CodeCheck::Wrong);
    }
    let unused = sqlx::query!(
        "select recovery_code_id, code_hash from recovery_code where user_id = $1 and used_at is null order by recovery_code_id",
        user_id
    )
    .fetch_all(db)
    .await?;
    let hashes = unused.iter().map(|c| c.code_hash.clone()).collect();
    let Some(index) = password::verify_any(recovery::normalise(input), hashes).await? else {
        return Ok(CodeCheck::Wrong);
    };
    // Two requests with the same code: only one marks it used.
    let used = sqlx::query_scalar!(
        "update recovery_code set used_at = now() where recovery_code_id = $1 and used_at is null returning recovery_code_id",
        unused[index].recovery_code_id
    )
    .fetch_optional(db)
    .await?;
    Ok(if used.is_some() {
        CodeCheck::Accepted(Method::RecoveryCode)
    } else {
        CodeCheck::Reused
    })
}

async fn check_app_code(db: &PgPool, user_id: Uuid, code: &str) -> anyhow::Result<CodeCheck> {
    let secret = sqlx::query_scalar!(
        "select secret from user_two_step where user_id = $1 and confirmed_at is not null",
        user_id
    )
    .fetch_optional(db)
    .await?;
    let Some(step) = secret.and_then(|s| totp::check(&s, code, totp::now_unix())) else {
        return Ok(CodeCheck::Wrong);
    };
    // The check and the use are one statement: of two requests with the same code, one wins.
    let used = sqlx::query_scalar!(
        r#"update user_two_step set last_used_step = $2
           where user_id = $1 and confirmed_at is not null
             and (last_used_step is null or last_used_step < $2)
           returning user_id"#,
        user_id,
        i64::try_from(step)?,
    )
    .fetch_optional(db)
    .await?;
    Ok(if used.is_some() {
        CodeCheck::Accepted(Method::AuthenticatorApp)
    } else {
        CodeCheck::Reused
    })
}

/// New recovery codes for a user with confirmed two-step verification (the old ones stop
/// working), audited; returns them to show once.
pub async fn replace_recovery_codes(
    db: &PgPool,
    actor: &Actor,
    user_id: Uuid,
    org_code: Option<&String>,
) -> anyhow::Result<Vec<String>> {
    let codes = recovery::generate();
    let hashes = recovery::hash_all(&codes).await?;
    let mut tx = db.begin().await?;
    store_recovery_codes(&mut tx, user_id, &hashes).await?;
    let event = AuditEvent::new("two_step.recovery_codes_replaced")
        .object("user", user_id)
        .organisation(org_code);
    audit::record(&mut tx, actor, event).await?;
    tx.commit().await?;
    Ok(codes)
}

/// Removes a user's two-step verification and recovery codes (a lost phone), audited. They
/// enrol again at their next sign-in if their role needs it. Returns whether there was any.
pub async fn reset(
    conn: &mut PgConnection,
    actor: &Actor,
    user_id: Uuid,
    org_code: Option<&String>,
) -> sqlx::Result<bool> {
    sqlx::query!("delete from recovery_code where user_id = $1", user_id)
        .execute(&mut *conn)
        .await?;
    let removed = sqlx::query_scalar!(
        "delete from user_two_step where user_id = $1 returning confirmed_at",
        user_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let was_on = removed.flatten().is_some();
    let event = AuditEvent::new("two_step.reset")
        .object("user", user_id)
        .organisation(org_code)
        .details(json!({ "was_on": was_on }));
    audit::record(conn, actor, event).await?;
    Ok(was_on)
}

/// Turns two-step verification on with a given secret, confirmed, without recovery codes: for
/// `medopt demo`, whose operator adds the printed secret to an app, and for tests. Audited.
pub async fn enrol_with_secret(
    conn: &mut PgConnection,
    actor: &Actor,
    user_id: Uuid,
    secret: &str,
) -> anyhow::Result<()> {
    totp::code_at(secret, 0)?; // a secret apps can use
    sqlx::query!("delete from recovery_code where user_id = $1", user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        r#"
        insert into user_two_step (user_id, secret, confirmed_at) values ($1, $2, now())
        on conflict (user_id) do update
            set secret = excluded.secret, confirmed_at = now(), last_used_step = null
        "#,
        user_id,
        secret
    )
    .execute(&mut *conn)
    .await?;
    let event = AuditEvent::new("two_step.enrolled")
        .object("user", user_id)
        .details(json!({ "by": "operator" }));
    audit::record(conn, actor, event).await?;
    Ok(())
}
