//! Signing in and out, and changing one's own password.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use tower_sessions::Session;
use uuid::Uuid;

use super::current_user::{demo_loaded, now_seconds};
use super::scope::{self, Scope};
use super::{CurrentUser, csrf, keys, password};
use crate::AppState;
use crate::audit::{self, Actor, AuditEvent};
use crate::error::{AppError, AppResult};
use crate::forms::FieldErrors;
use crate::page::Layout;
use crate::routes::{Access, Routes};

/// Failed attempts in a row before an account is locked.
pub const MAX_FAILED_LOGINS: i32 = 5;
/// How long a lock lasts before it lifts by itself (an administrator can lift it sooner).
pub const LOCKOUT_MINUTES: i32 = 15;

/// The sign-in and account routes.
pub fn routes() -> Routes {
    Routes::new()
        .get("/login", Access::Public, show_login)
        .post("/login", Access::Public, sign_in)
        .post("/logout", Access::SignedIn, sign_out)
        .get("/account/password", Access::SignedIn, show_change_password)
        .post("/account/password", Access::SignedIn, change_password)
}

/// `/login`
#[derive(Template, WebTemplate)]
#[template(path = "auth/login.html")]
pub struct LoginPage {
    pub layout: Layout,
    pub csrf_token: String,
    pub email: String,
    pub next: String,
    pub signed_out: bool,
    pub errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

/// Only same-site paths are followed after sign-in (never `//host` or `/\host`).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

async fn show_login(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<LoginQuery>,
) -> AppResult<LoginPage> {
    Ok(LoginPage {
        layout: Layout::signed_out(demo_loaded(state.db()).await?),
        csrf_token: csrf::token(&session).await?,
        email: String::new(),
        next: safe_next(query.next.as_deref()),
        signed_out: query.signed_out.is_some(),
        errors: FieldErrors::default(),
    })
}

/// The client's address, for the per-address limit on sign-in attempts.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        Ok(ClientIp(ip))
    }
}

struct Account {
    user_id: Uuid,
    password_hash: String,
    active: bool,
    locked: bool,
    must_change_password: bool,
    org_code: Option<String>,
}

async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    headers: axum::http::HeaderMap,
    Form(form): Form<LoginForm>,
) -> AppResult<Response> {
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let anonymous = Actor {
        user_id: None,
        request_id: request_id.clone(),
    };
    if state.login_limiter().check_key(&ip).is_err() {
        audit::record_now(
            state.db(),
            &anonymous,
            AuditEvent::new("login.rate_limited"),
        )
        .await;
        return Err(AppError::TooManyRequests);
    }
    let email = form.email.trim().to_lowercase();
    let next = safe_next(form.next.as_deref());
    let mut errors = FieldErrors::default();
    if email.is_empty() {
        errors.add("email", "Enter your email address");
    }
    if form.password.is_empty() {
        errors.add("password", "Enter your password");
    }
    if !errors.is_empty() {
        return login_again(&state, &session, email, next, errors).await;
    }

    let mut tx = scope::begin(&state, &Scope::Nothing).await?;
    let account = sqlx::query_as!(
        Account,
        r#"
        select u.user_id, u.password_hash, u.active, u.must_change_password,
               coalesce(u.locked_until > now(), false) as "locked!",
               coalesce(i.ods_code, r.ods_code) as org_code
        from app_user u
        left join icb i on i.icb_id = u.icb_id
        left join region r on r.region_id = u.region_id
        where u.email = $1
        "#,
        email
    )
    .fetch_optional(&mut *tx)
    .await?;
    // Always verify, even for unknown accounts, so the answer takes as long either way.
    let matches = password::verify(
        form.password,
        account.as_ref().map(|a| a.password_hash.clone()),
    )
    .await?;

    let failure = match &account {
        None => Some("unknown_account"),
        Some(a) if !a.active => Some("inactive"),
        Some(a) if a.locked => Some("locked"),
        Some(_) if !matches => Some("wrong_password"),
        Some(_) => None,
    };
    let actor = Actor {
        user_id: account.as_ref().map(|a| a.user_id),
        request_id,
    };
    if let Some(reason) = failure {
        if let (Some(a), "wrong_password") = (&account, reason) {
            record_failed_attempt(&mut tx, &actor, a).await?;
        }
        let event = AuditEvent::new("login.failed")
            .organisation(account.as_ref().and_then(|a| a.org_code.as_ref()))
            .details(json!({ "reason": reason }));
        audit::record(&mut tx, &actor, event).await?;
        tx.commit().await?;
        errors.add(
            "email",
            "Enter a correct email address and password. After several wrong attempts an account is locked for 15 minutes.",
        );
        return login_again(&state, &session, email, next, errors).await;
    }
    let account = account.ok_or_else(|| anyhow::anyhow!("account vanished"))?;
    sqlx::query!(
        "update app_user set failed_logins = 0, locked_until = null where user_id = $1",
        account.user_id
    )
    .execute(&mut *tx)
    .await?;
    let event = AuditEvent::new("login.succeeded").organisation(account.org_code.as_ref());
    audit::record(&mut tx, &actor, event).await?;
    // Users land on their own work for the current (or latest) programme year.
    let landing = match next.as_str() {
        "/" => {
            let today = state.clock().today();
            crate::plans::landing::landing_page(&mut tx, account.user_id, today).await?
        }
        _ => None,
    };
    tx.commit().await?;

    // A new session id at sign-in defeats session fixation; a new form token with it.
    session.cycle_id().await?;
    session.insert(keys::USER_ID, account.user_id).await?;
    session.insert(keys::AUTH_AT, now_seconds()).await?;
    csrf::rotate(&session).await?;
    let target = if account.must_change_password {
        "/account/password".to_owned()
    } else {
        landing.unwrap_or(next)
    };
    Ok(Redirect::to(&target).into_response())
}

/// Counts a wrong password; the fifth in a row locks the account for a while.
async fn record_failed_attempt(
    tx: &mut sqlx::PgConnection,
    actor: &Actor,
    account: &Account,
) -> AppResult<()> {
    let locked = sqlx::query_scalar!(
        r#"
        update app_user
           set failed_logins = case when failed_logins + 1 >= $2 then 0 else failed_logins + 1 end,
               locked_until = case when failed_logins + 1 >= $2
                                   then now() + make_interval(mins => $3) else locked_until end
         where user_id = $1
        returning locked_until is not null and locked_until > now() as "locked!"
        "#,
        account.user_id,
        MAX_FAILED_LOGINS,
        LOCKOUT_MINUTES,
    )
    .fetch_one(&mut *tx)
    .await?;
    if locked {
        let event = AuditEvent::new("account.locked")
            .object("user", account.user_id)
            .organisation(account.org_code.as_ref())
            .details(json!({ "minutes": LOCKOUT_MINUTES }));
        audit::record(tx, actor, event).await?;
    }
    Ok(())
}

async fn login_again(
    state: &AppState,
    session: &Session,
    email: String,
    next: String,
    errors: FieldErrors,
) -> AppResult<Response> {
    let page = LoginPage {
        layout: Layout::signed_out(demo_loaded(state.db()).await?),
        csrf_token: csrf::token(session).await?,
        email,
        next,
        signed_out: false,
        errors,
    };
    Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

async fn sign_out(
    State(state): State<AppState>,
    user: CurrentUser,
    session: Session,
) -> AppResult<Redirect> {
    let event = AuditEvent::new("logout").organisation(user.org_code.as_ref());
    audit::record_now(state.db(), &user.actor(), event).await;
    // Deletes the stored session, so the old cookie is worthless even if replayed.
    session.flush().await?;
    Ok(Redirect::to("/login?signed_out=1"))
}

/// `/account/password`
#[derive(Template, WebTemplate)]
#[template(path = "auth/change_password.html")]
pub struct ChangePasswordPage {
    pub layout: Layout,
    pub must_change: bool,
    pub errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
pub struct ChangePasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

async fn show_change_password(user: CurrentUser) -> ChangePasswordPage {
    ChangePasswordPage {
        layout: user.layout(),
        must_change: user.must_change_password,
        errors: FieldErrors::default(),
    }
}

async fn change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    session: Session,
    Form(form): Form<ChangePasswordForm>,
) -> AppResult<Response> {
    // Checked in the order of the form's fields, which the error summary follows.
    let mut errors = FieldErrors::default();
    let mut tx = scope::begin(&state, &Scope::Nothing).await?;
    let current_hash = sqlx::query_scalar!(
        "select password_hash from app_user where user_id = $1",
        user.user_id
    )
    .fetch_one(&mut *tx)
    .await?;
    let same_as_current = form.new_password == form.current_password;
    if !password::verify(form.current_password, Some(current_hash)).await? {
        errors.add("current_password", "Your current password is not correct");
    }
    if let Err(rule) = password::check_rules(&form.new_password) {
        errors.add("new_password", rule.to_string());
    } else if same_as_current {
        errors.add(
            "new_password",
            "New password must be different from your current password",
        );
    }
    if form.confirm_password != form.new_password {
        errors.add("confirm_password", "Passwords do not match");
    }
    if !errors.is_empty() {
        let page = ChangePasswordPage {
            layout: user.layout(),
            must_change: user.must_change_password,
            errors,
        };
        return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let new_hash = password::hash(form.new_password).await?;
    sqlx::query!(
        r#"update app_user set password_hash = $2, must_change_password = false, password_changed_at = now(),
                  updated_at = now() where user_id = $1"#,
        user.user_id,
        new_hash
    )
    .execute(&mut *tx)
    .await?;
    let event = AuditEvent::new("password.changed")
        .object("user", user.user_id)
        .organisation(user.org_code.as_ref());
    audit::record(&mut tx, &user.actor(), event).await?;
    tx.commit().await?;
    // Other sessions of this user end; this one continues, re-authenticated by the current
    // password just given, under a new id.
    session.cycle_id().await?;
    session.insert(keys::AUTH_AT, now_seconds()).await?;
    Ok(Redirect::to("/").into_response())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn follows_only_same_site_paths() {
        assert_eq!(safe_next(Some("/icbs/QE1")), "/icbs/QE1");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
