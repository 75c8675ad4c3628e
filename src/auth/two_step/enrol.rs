//! `/account/two-step`: turning two-step verification on (a QR code, the secret as text, and
//! a code to prove the app has it), seeing it is on, and replacing the recovery codes.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::{CodeCheck, CodeForm, Enrolment, Status, totp};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::auth::lockout::{self, Refusal};
use crate::auth::login::{self, FailedAttempt};
use crate::error::AppResult;
use crate::forms::FieldErrors;
use crate::page::Layout;

/// `/account/two-step` before enrolment.
#[derive(Template, WebTemplate)]
#[template(path = "auth/two_step_enrol.html")]
pub struct EnrolPage {
    pub layout: Layout,
    /// The user's role needs it: nothing else works until it is done.
    pub required: bool,
    /// The QR code, as a `data:` URI.
    pub qr_code: String,
    /// The secret in groups of four, for typing into an app.
    pub secret: String,
    pub errors: FieldErrors,
}

/// `/account/two-step` once it is on.
#[derive(Template, WebTemplate)]
#[template(path = "auth/two_step_status.html")]
pub struct StatusPage {
    pub layout: Layout,
    pub since: String,
    pub recovery_codes_left: i64,
    pub errors: FieldErrors,
}

impl StatusPage {
    fn new(user: &CurrentUser, status: &Status, errors: FieldErrors) -> Self {
        Self {
            layout: user.layout(),
            since: status.since.format("%-d %B %Y").to_string(),
            recovery_codes_left: status.recovery_codes_left,
            errors,
        }
    }
}

/// The recovery codes, shown once after enrolment or when replaced.
#[derive(Template, WebTemplate)]
#[template(path = "auth/recovery_codes.html")]
pub struct RecoveryCodesPage {
    pub layout: Layout,
    pub codes: Vec<String>,
    /// Just enrolled (rather than replaced).
    pub enrolled: bool,
}

pub(super) async fn show(State(state): State<AppState>, user: CurrentUser) -> AppResult<Response> {
    Ok(match super::status(state.db(), user.user_id).await? {
        Some(status) => StatusPage::new(&user, &status, FieldErrors::default()).into_response(),
        None => enrol_page(&state, &user, FieldErrors::default()).await?,
    })
}

/// The enrolment page with the user's pending secret (or, if they enrolled meanwhile, a
/// redirect to the status page).
async fn enrol_page(
    state: &AppState,
    user: &CurrentUser,
    errors: FieldErrors,
) -> AppResult<Response> {
    let Some(secret) = super::pending_secret(state.db(), user.user_id).await? else {
        return Ok(Redirect::to("/account/two-step").into_response());
    };
    let url = totp::otpauth_url(&secret, &user.email)?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = EnrolPage {
        layout: user.layout(),
        required: user.must_enrol_two_step,
        qr_code: totp::qr_code_data_uri(&url)?,
        secret: totp::grouped(&secret),
        errors,
    };
    Ok((status, page).into_response())
}

/// The code field, checked for something to compare.
fn code_field<'a>(form: &'a CodeForm, errors: &mut FieldErrors) -> Option<&'a str> {
    let code = form.code.trim();
    if code.is_empty() {
        errors.add("code", "Enter the 6-digit code from your authenticator app");
        return None;
    }
    errors
        .check_plain_text("code", "Code", code)
        .then_some(code)
}

pub(super) async fn confirm(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<CodeForm>,
) -> AppResult<Response> {
    let mut errors = FieldErrors::default();
    if let Some(code) = code_field(&form, &mut errors) {
        let actor = user.actor();
        let org = user.org_code.as_ref();
        match super::confirm_enrolment(state.db(), &actor, user.user_id, org, code).await? {
            Enrolment::Confirmed(codes) => {
                let page = RecoveryCodesPage {
                    layout: user.layout(),
                    codes,
                    enrolled: true,
                };
                return Ok(page.into_response());
            }
            Enrolment::AlreadyOn => return Ok(Redirect::to("/account/two-step").into_response()),
            Enrolment::WrongCode => errors.add(
                "code",
                "The code is not right. Enter the 6-digit code your authenticator app shows now",
            ),
        }
    }
    enrol_page(&state, &user, errors).await
}

pub(super) async fn replace_recovery_codes(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<CodeForm>,
) -> AppResult<Response> {
    let Some(status) = super::status(state.db(), user.user_id).await? else {
        return Ok(Redirect::to("/account/two-step").into_response());
    };
    let mut errors = FieldErrors::default();
    if let Some(code) = code_field(&form, &mut errors) {
        // A stolen session must not be able to guess its way to new codes: wrong codes
        // count towards the lock like at sign-in.
        let (check, locks_account) = match lockout::claim_by_id(state.db(), user.user_id).await? {
            Ok(claimed) => {
                let check = super::check_code(state.db(), user.user_id, code, false).await?;
                (Ok(check), claimed.locks_account)
            }
            Err(refusal) => (Err(refusal), false),
        };
        if check == Ok(CodeCheck::Accepted(super::Method::AuthenticatorApp)) {
            lockout::reset(state.db(), user.user_id).await?;
            let org = user.org_code.as_ref();
            let codes =
                super::replace_recovery_codes(state.db(), &user.actor(), user.user_id, org).await?;
            let page = RecoveryCodesPage {
                layout: user.layout(),
                codes,
                enrolled: false,
            };
            return Ok(page.into_response());
        }
        let attempt = FailedAttempt {
            action: "two_step.failed",
            reason: check.map_or_else(Refusal::reason, CodeCheck::reason),
            locks_account,
        };
        let account = Some((user.user_id, user.org_code.clone()));
        login::record_failed_attempt(&state, user.actor(), account, attempt).await;
        errors.add(
            "code",
            "The code is not right. Enter the 6-digit code your authenticator app shows now",
        );
    }
    let page = StatusPage::new(&user, &status, errors);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}
