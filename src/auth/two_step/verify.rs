//! `/login/two-step`: the second step of signing in.
//!
//! After a right password the session holds only a *pending* sign-in (who, where to, since
//! when), under a new session id; nobody is signed in until a code is accepted here. A pending
//! sign-in lasts [`PENDING_LIMIT_SECONDS`]; then the password must be given again.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;
use tower_sessions::Session;
use uuid::Uuid;

use super::{CodeCheck, CodeForm, check_code};
use crate::AppState;
use crate::audit::{self, Actor, AuditEvent};
use crate::auth::client_ip::ClientIp;
use crate::auth::current_user::{demo_loaded, now_seconds};
use crate::auth::lockout::{self, Refusal};
use crate::auth::login::{self, FailedAttempt};
use crate::auth::{csrf, keys};
use crate::error::{AppError, AppResult};
use crate::forms::FieldErrors;
use crate::page::Layout;

/// How long the code page waits after the password.
pub const PENDING_LIMIT_SECONDS: f64 = 300.0;

const WRONG_CODE: &str = "Enter the current 6-digit code from your authenticator app, or an \
    unused recovery code. After several wrong attempts your account is locked for 15 minutes.";
const LOCKED: &str = "Your account is locked after too many wrong attempts. Try again in 15 \
    minutes, or ask your system administrator to unlock it.";

/// A sign-in waiting for its code.
#[derive(Debug, Clone)]
pub struct Pending {
    pub user_id: Uuid,
    pub next: String,
}

/// Leaves `user_id`'s sign-in pending in `session` (under a new session id).
pub(crate) async fn start(
    session: &Session,
    user_id: Uuid,
    next: &str,
) -> Result<(), tower_sessions::session::Error> {
    session.cycle_id().await?;
    session.insert(keys::PENDING_USER_ID, user_id).await?;
    session.insert(keys::PENDING_AT, now_seconds()).await?;
    session.insert(keys::PENDING_NEXT, next).await?;
    csrf::rotate(session).await?;
    Ok(())
}

/// The session's pending sign-in, unless there is none or it is too old.
async fn pending(session: &Session) -> Result<Option<Pending>, tower_sessions::session::Error> {
    let Some(user_id) = session.get::<Uuid>(keys::PENDING_USER_ID).await? else {
        return Ok(None);
    };
    let since = session.get::<f64>(keys::PENDING_AT).await?.unwrap_or(0.0);
    if now_seconds() - since > PENDING_LIMIT_SECONDS {
        clear(session).await?;
        return Ok(None);
    }
    let next = session.get::<String>(keys::PENDING_NEXT).await?;
    Ok(Some(Pending {
        user_id,
        next: login::safe_next(next.as_deref()),
    }))
}

/// Forgets a pending sign-in.
pub(crate) async fn clear(session: &Session) -> Result<(), tower_sessions::session::Error> {
    session.remove_value(keys::PENDING_USER_ID).await?;
    session.remove_value(keys::PENDING_AT).await?;
    session.remove_value(keys::PENDING_NEXT).await?;
    Ok(())
}

/// `/login/two-step`
#[derive(Template, WebTemplate)]
#[template(path = "auth/two_step_code.html")]
pub struct CodePage {
    pub layout: Layout,
    pub csrf_token: String,
    /// No pending sign-in (it ran out, or there never was one): start again.
    pub expired: bool,
    pub errors: FieldErrors,
}

impl CodePage {
    async fn new(
        state: &AppState,
        session: &Session,
        expired: bool,
        errors: FieldErrors,
    ) -> AppResult<Self> {
        Ok(Self {
            layout: Layout::signed_out(demo_loaded(state.db()).await?),
            csrf_token: csrf::token(session).await?,
            expired,
            errors,
        })
    }
}

pub(super) async fn show_code_page(
    State(state): State<AppState>,
    session: Session,
) -> AppResult<CodePage> {
    let expired = pending(&session).await?.is_none();
    CodePage::new(&state, &session, expired, FieldErrors::default()).await
}

pub(super) async fn submit_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> AppResult<Response> {
    let anonymous = login::anonymous(&headers);
    let Some(pending) = pending(&session).await? else {
        return Ok(Redirect::to("/login/two-step").into_response());
    };
    if !state.take_sign_in_attempt(ip, &pending.user_id.to_string()) {
        return Err(AppError::TooManyRequests);
    }
    let mut errors = FieldErrors::default();
    let code = form.code.trim();
    if code.is_empty() {
        errors.add("code", "Enter the code from your authenticator app");
    } else if errors.check_plain_text("code", "Code", code) {
        // Claimed before it is checked, like a password (see `lockout`).
        let (check, locks_account) = match lockout::claim_by_id(state.db(), pending.user_id).await?
        {
            Ok(claimed) => {
                let check = check_code(state.db(), pending.user_id, code, true).await?;
                (Ok(check), claimed.locks_account)
            }
            Err(refusal) => (Err(refusal), false),
        };
        if let Ok(CodeCheck::Accepted(method)) = check {
            let actor = Actor {
                user_id: Some(pending.user_id),
                ..anonymous.clone()
            };
            let event = AuditEvent::new("two_step.succeeded")
                .object("user", pending.user_id)
                .details(json!({ "method": method.as_str() }));
            audit::record_now(state.db(), &actor, event).await;
            let (user_id, next) = (pending.user_id, pending.next);
            return login::complete_sign_in(
                &state,
                &session,
                anonymous,
                user_id,
                next,
                Some(method),
            )
            .await;
        }
        let message = refuse(&state, anonymous, pending.user_id, check, locks_account).await?;
        errors.add("code", message);
    }
    let page = CodePage::new(&state, &session, false, errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// Audits a refused code (and the lock it caused); the message for the code field.
async fn refuse(
    state: &AppState,
    anonymous: Actor,
    user_id: Uuid,
    check: Result<CodeCheck, Refusal>,
    locks_account: bool,
) -> sqlx::Result<&'static str> {
    let reason = match check {
        Ok(check) => check.reason(),
        Err(refusal) => refusal.reason(),
    };
    let account = account_of(state, user_id).await?;
    let attempt = FailedAttempt {
        action: "two_step.failed",
        reason,
        locks_account,
    };
    login::record_failed_attempt(state, anonymous, account, attempt).await;
    Ok(if check == Err(Refusal::Locked) {
        LOCKED
    } else {
        WRONG_CODE
    })
}

async fn account_of(
    state: &AppState,
    user_id: Uuid,
) -> sqlx::Result<Option<(Uuid, Option<String>)>> {
    let row = sqlx::query!(
        r#"
        select coalesce(i.ods_code, r.ods_code) as org_code
        from app_user u
        left join icb i on i.icb_id = u.icb_id
        left join region r on r.region_id = u.region_id
        where u.user_id = $1
        "#,
        user_id
    )
    .fetch_optional(state.db())
    .await?;
    Ok(row.map(|r| (user_id, r.org_code)))
}
