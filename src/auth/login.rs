//! Signing in and out, and changing one's own password.
//!
//! Sign-in: the client's and the account's allowance of attempts ([`AppState::take_sign_in_attempt`]),
//! then an attempt claimed in the database before the password is checked
//! ([`super::lockout`]), then either the two-step code page ([`super::two_step::verify`]) or
//! `complete_sign_in`. No database connection is held while a password is hashed.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use tower_sessions::Session;
use uuid::Uuid;

use super::client_ip::ClientIp;
use super::current_user::{demo_loaded, now_seconds};
use super::lockout::{self, LOCKOUT_MINUTES};
use super::scope::{self, Scope};
use super::two_step::{self, verify};
use super::{CurrentUser, csrf, keys, password};
use crate::AppState;
use crate::audit::{self, Actor, AuditEvent};
use crate::error::{AppError, AppResult};
use crate::forms::FieldErrors;
use crate::page::Layout;
use crate::routes::{Access, Routes};

pub use super::lockout::MAX_FAILED_LOGINS;

/// The message for a wrong address or password (the same for both, and for locked accounts).
const WRONG_CREDENTIALS: &str = "Enter a correct email address and password. After several \
    wrong attempts an account is locked for 15 minutes.";

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

/// Where to go after sign-in: `next` if it is a path on this site, else `/` (the landing page).
///
/// Only visible ASCII is followed: browsers drop tabs and line breaks from addresses, so
/// `/\t/evil.example` would become `//evil.example`, another site; and a control character
/// cannot go into a `Location` header at all. Backslashes are refused because browsers read
/// them as slashes.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
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

/// The `x-request-id` of a request, for audit rows written before anyone is signed in.
pub(super) fn anonymous(headers: &HeaderMap) -> Actor {
    Actor {
        user_id: None,
        request_id: headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }
}

async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> AppResult<Response> {
    let anonymous = anonymous(&headers);
    let email = form.email.trim().to_lowercase();
    let next = safe_next(form.next.as_deref());
    if !state.take_sign_in_attempt(ip, &email) {
        let event = AuditEvent::new("login.rate_limited");
        audit::record_now(state.db(), &anonymous, event).await;
        return Err(AppError::TooManyRequests);
    }
    let mut errors = FieldErrors::default();
    if email.is_empty() {
        errors.add("email", "Enter your email address");
    } else {
        errors.check_plain_text("email", "Email address", &email);
    }
    if form.password.is_empty() {
        errors.add("password", "Enter your password");
    }
    if !errors.is_empty() {
        return login_again(&state, &session, email, next, errors).await;
    }
    let user_id = match check_password(&state, &email, form.password).await? {
        Ok(user_id) => user_id,
        Err(attempt) => {
            let account = lockout::account_of(state.db(), &email).await?;
            record_failed_attempt(&state, anonymous, account, attempt).await;
            errors.add("email", WRONG_CREDENTIALS);
            return login_again(&state, &session, email, next, errors).await;
        }
    };
    if two_step::status(state.db(), user_id).await?.is_some() {
        // The password is proved, so its count starts again; the code is counted next.
        lockout::reset(state.db(), user_id).await?;
        let actor = Actor {
            user_id: Some(user_id),
            ..anonymous
        };
        let event = AuditEvent::new("login.password_accepted");
        audit::record_now(state.db(), &actor, event).await;
        verify::start(&session, user_id, &next).await?;
        return Ok(Redirect::to("/login/two-step").into_response());
    }
    complete_sign_in(&state, &session, anonymous, user_id, next, None).await
}

/// Claims an attempt on `email`'s account, then checks `password`: the account's id, or the
/// failure to audit. Holds no database connection while the hash runs.
async fn check_password(
    state: &AppState,
    email: &str,
    password: String,
) -> AppResult<Result<Uuid, FailedAttempt>> {
    let failed = |reason, locks_account| FailedAttempt {
        action: "login.failed",
        reason,
        locks_account,
    };
    Ok(match lockout::claim_by_email(state.db(), email).await? {
        Ok(claimed) => {
            if password::verify(password, Some(claimed.password_hash)).await? {
                Ok(claimed.user_id)
            } else {
                Err(failed("wrong_password", claimed.locks_account))
            }
        }
        Err(refusal) => {
            // The same work as a wrong password, so the answer does not tell them apart.
            password::verify(password, None).await?;
            Err(failed(refusal.reason(), false))
        }
    })
}

/// A failed attempt at a password or a two-step code, for the audit log.
pub(super) struct FailedAttempt {
    pub action: &'static str,
    pub reason: &'static str,
    /// It was the last attempt allowed: the account is now locked.
    pub locks_account: bool,
}

/// Audits a failed attempt (and the lock it caused) in transactions of their own.
pub(super) async fn record_failed_attempt(
    state: &AppState,
    anonymous: Actor,
    account: Option<(Uuid, Option<String>)>,
    attempt: FailedAttempt,
) {
    let (user_id, org_code) = account.unzip();
    let org_code = org_code.flatten();
    let actor = Actor {
        user_id,
        ..anonymous
    };
    let event = AuditEvent::new(attempt.action)
        .organisation(org_code.as_ref())
        .details(json!({ "reason": attempt.reason }));
    audit::record_now(state.db(), &actor, event).await;
    if let (Some(user_id), true) = (user_id, attempt.locks_account) {
        let event = AuditEvent::new("account.locked")
            .object("user", user_id)
            .organisation(org_code.as_ref())
            .details(json!({ "minutes": LOCKOUT_MINUTES }));
        audit::record_now(state.db(), &actor, event).await;
    }
}

/// What a sign-in needs to know about the account.
struct Account {
    must_change_password: bool,
    org_code: Option<String>,
}

/// Signs `user_id` in: resets the failure count, audits, gives the session a new id and form
/// token, and sends the user on (to choose a password, their ICB's dashboard or `next`).
/// `two_step` says how the second step was passed, if there was one.
pub(super) async fn complete_sign_in(
    state: &AppState,
    session: &Session,
    anonymous: Actor,
    user_id: Uuid,
    next: String,
    two_step: Option<two_step::Method>,
) -> AppResult<Response> {
    let mut tx = scope::begin(state, &Scope::Nothing).await?;
    let account = sqlx::query_as!(
        Account,
        r#"
        select u.must_change_password,
               coalesce(i.ods_code, r.ods_code) as org_code
        from app_user u
        left join icb i on i.icb_id = u.icb_id
        left join region r on r.region_id = u.region_id
        where u.user_id = $1
        "#,
        user_id
    )
    .fetch_one(&mut *tx)
    .await?;
    lockout::reset(&mut *tx, user_id).await?;
    let actor = Actor {
        user_id: Some(user_id),
        ..anonymous
    };
    let details = match two_step {
        Some(method) => json!({ "two_step": method.as_str() }),
        None => json!({}),
    };
    let event = AuditEvent::new("login.succeeded")
        .organisation(account.org_code.as_ref())
        .details(details);
    audit::record(&mut tx, &actor, event).await?;
    // Users land on their own work for the current (or latest) programme year.
    let landing = match next.as_str() {
        "/" => {
            let today = state.clock().today();
            crate::plans::landing::landing_page(&mut tx, user_id, today).await?
        }
        _ => None,
    };
    tx.commit().await?;

    // A new session id at sign-in defeats session fixation; a new form token with it.
    session.cycle_id().await?;
    verify::clear(session).await?;
    session.insert(keys::USER_ID, user_id).await?;
    session.insert(keys::AUTH_AT, now_seconds()).await?;
    csrf::rotate(session).await?;
    let target = if account.must_change_password {
        "/account/password".to_owned()
    } else {
        landing.unwrap_or(next)
    };
    Ok(Redirect::to(&target).into_response())
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
    // Checked in the order of the form's fields, which the error summary follows. No
    // connection is held while the passwords are hashed.
    let mut errors = FieldErrors::default();
    let current_hash = sqlx::query_scalar!(
        "select password_hash from app_user where user_id = $1",
        user.user_id
    )
    .fetch_one(state.db())
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
    let mut tx = scope::begin(&state, &Scope::Nothing).await?;
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
        // Browsers drop tabs and line breaks from addresses: `/\t/x` is `//x`.
        for control in ['\t', '\n', '\r', '\0', '\x0b', ' '] {
            assert_eq!(safe_next(Some(&format!("/{control}/evil.example"))), "/");
        }
        assert_eq!(safe_next(Some("/icbs/QE1\\..\\x")), "/");
        assert_eq!(
            safe_next(Some("/icbs/QE1/2024-25?tab=a%20b")),
            "/icbs/QE1/2024-25?tab=a%20b"
        );
        assert_eq!(safe_next(Some("/caf\u{e9}")), "/");
    }
}
