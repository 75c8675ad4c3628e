//! The signed-in user, loaded for each request from the session and the database.
//!
//! The extractor is also where the account's obligations are enforced, for every handler at
//! once: a user who must choose a password, or must turn on two-step verification, reaches
//! only that page (and sign-out) until they have.
//!
//! Loading the user on every request (one indexed query) means deactivating an account or
//! changing a role takes effect at once, not at the next sign-in. The same query says whether
//! the demo dataset is loaded, for the banner every page shows then; visitors who are not
//! signed in get that answer from one small query of its own.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use sqlx::PgPool;
use tower_sessions::Session;
use uuid::Uuid;

use super::{Role, keys};
use crate::AppState;
use crate::audit::Actor;
use crate::error::AppError;
use crate::page::{Layout, UserBadge};

/// Sessions end after this long without a request.
pub const SESSION_IDLE_LIMIT: time::Duration = time::Duration::minutes(30);
/// A signed-in session's idle expiry is moved on at most this often.
const TOUCH_EVERY_SECONDS: f64 = 60.0;
/// Sessions end this long after sign-in, however active.
pub const SESSION_ABSOLUTE_LIMIT: chrono::Duration = chrono::Duration::hours(12);

/// A signed-in, active user.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user_id: Uuid,
    pub name: String,
    /// For the label an authenticator app shows; never logged.
    pub email: String,
    pub role: Role,
    pub icb_id: Option<i32>,
    pub region_id: Option<i16>,
    /// ODS code of the user's ICB or region.
    pub org_code: Option<String>,
    pub must_change_password: bool,
    /// Two-step verification is on for this user.
    pub two_step: bool,
    /// The user's role needs two-step verification and it is not on yet: every page sends
    /// them to `/account/two-step` until it is.
    pub must_enrol_two_step: bool,
    csrf_token: String,
    request_id: Option<String>,
    /// The demo dataset is loaded (see [`Layout::demo`]).
    demo: bool,
}

impl CurrentUser {
    /// Header data for pages.
    pub fn layout(&self) -> Layout {
        Layout {
            user: Some(UserBadge {
                name: self.name.clone(),
                role_label: self.role.label().into(),
            }),
            csrf_token: self.csrf_token.clone(),
            demo: self.demo,
        }
    }

    /// The form token to put in forms.
    pub fn csrf_token(&self) -> &str {
        &self.csrf_token
    }

    /// For audit events.
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: Some(self.user_id),
            request_id: self.request_id.clone(),
        }
    }
}

/// Why there is no current user.
enum NoUser {
    /// Not signed in, or the session ended.
    SignedOut,
    /// Something broke.
    Error(AppError),
}

impl From<AppError> for NoUser {
    fn from(error: AppError) -> Self {
        NoUser::Error(error)
    }
}

impl From<tower_sessions::session::Error> for NoUser {
    fn from(error: tower_sessions::session::Error) -> Self {
        NoUser::Error(error.into())
    }
}

impl From<sqlx::Error> for NoUser {
    fn from(error: sqlx::Error) -> Self {
        NoUser::Error(error.into())
    }
}

async fn load(parts: &Parts, state: &AppState) -> Result<CurrentUser, NoUser> {
    let session = parts
        .extensions
        .get::<Session>()
        .cloned()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("session layer missing")))?;
    let Some(user_id) = session.get::<Uuid>(keys::USER_ID).await? else {
        return Err(NoUser::SignedOut);
    };
    let auth_at = session.get::<f64>(keys::AUTH_AT).await?.unwrap_or(0.0);
    let now = now_seconds();
    if now - auth_at > SESSION_ABSOLUTE_LIMIT.num_seconds() as f64 {
        session.flush().await?;
        return Err(NoUser::SignedOut);
    }
    // Activity moves the idle expiry on, but a write on every request would cost more than the
    // page: a minute's precision on a 30-minute limit is plenty.
    let touched = session.get::<f64>(keys::TOUCHED).await?.unwrap_or(0.0);
    if now - touched >= TOUCH_EVERY_SECONDS {
        session.insert(keys::TOUCHED, now).await?;
    }
    let row = sqlx::query!(
        r#"
        select u.name, u.email, u.role as "role: Role", u.icb_id, u.region_id, u.must_change_password,
               coalesce(i.ods_code, r.ods_code) as org_code,
               exists (select 1 from user_two_step t
                       where t.user_id = u.user_id and t.confirmed_at is not null) as "two_step!",
               -- for the banner on every page: folded in here to save a round trip
               exists (select 1 from demo_dataset) as "demo!"
        from app_user u
        left join icb i on i.icb_id = u.icb_id
        left join region r on r.region_id = u.region_id
        where u.user_id = $1 and u.active
          -- a password set since this sign-in ends the session
          and u.password_changed_at <= to_timestamp($2)
        "#,
        user_id,
        auth_at
    )
    .fetch_optional(state.db())
    .await?;
    let Some(row) = row else {
        // Deactivated, deleted or given a new password since sign-in.
        session.flush().await?;
        return Err(NoUser::SignedOut);
    };
    let csrf_token = super::csrf::token(&session).await?;
    let request_id = parts
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let must_enrol_two_step = !row.two_step && super::two_step::required(row.role, state.config());
    Ok(CurrentUser {
        user_id,
        name: row.name,
        email: row.email,
        role: row.role,
        icb_id: row.icb_id,
        region_id: row.region_id,
        org_code: row.org_code,
        must_change_password: row.must_change_password,
        two_step: row.two_step,
        must_enrol_two_step,
        csrf_token,
        request_id,
        demo: row.demo,
    })
}

/// Whether the demo dataset is loaded, for pages seen by visitors who are not signed in.
pub async fn demo_loaded(db: &PgPool) -> sqlx::Result<bool> {
    sqlx::query_scalar!(r#"select exists (select 1 from demo_dataset) as "demo!""#)
        .fetch_one(db)
        .await
}

/// Now, as Unix seconds with microseconds: the form of the session's sign-in time.
pub(crate) fn now_seconds() -> f64 {
    Utc::now().timestamp_micros() as f64 / 1e6
}

/// Paths a user who must change their password may still reach.
const ALLOWED_BEFORE_PASSWORD_CHANGE: [&str; 2] = ["/account/password", "/logout"];
/// Paths a user who must turn on two-step verification may still reach.
const ALLOWED_BEFORE_TWO_STEP: [&str; 2] = ["/account/two-step", "/logout"];

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // The route's access check (crate::routes::enforce) loaded the user already, and
        // applied the obligations below.
        if let Some(user) = parts.extensions.get::<CurrentUser>() {
            return Ok(user.clone());
        }
        let user = match load(parts, state).await {
            Ok(user) => user,
            Err(NoUser::SignedOut) => return Err(sign_in_redirect(parts).into_response()),
            Err(NoUser::Error(error)) => return Err(error.into_response()),
        };
        // One obligation at a time: the password first, then two-step verification.
        let (page, allowed) = if user.must_change_password {
            ("/account/password", ALLOWED_BEFORE_PASSWORD_CHANGE)
        } else if user.must_enrol_two_step {
            ("/account/two-step", ALLOWED_BEFORE_TWO_STEP)
        } else {
            return Ok(user);
        };
        if allowed.contains(&parts.uri.path()) {
            Ok(user)
        } else {
            Err(Redirect::to(page).into_response())
        }
    }
}

/// Sends the user to sign in, then back here (for pages they can simply reload).
fn sign_in_redirect(parts: &Parts) -> Redirect {
    if parts.method == axum::http::Method::GET {
        let here = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
        Redirect::to(&format!("/login?next={next}"))
    } else {
        Redirect::to("/login")
    }
}

/// The signed-in user if there is one, for pages anyone may see. The second field says
/// whether the demo dataset is loaded, for a visitor who is not signed in.
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<CurrentUser>, bool);

impl MaybeUser {
    /// Header data for pages.
    pub fn layout(&self) -> Layout {
        self.0
            .as_ref()
            .map_or_else(|| Layout::signed_out(self.1), CurrentUser::layout)
    }
}

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<CurrentUser>() {
            return Ok(MaybeUser(Some(user.clone()), user.demo));
        }
        match load(parts, state).await {
            Ok(user) => {
                let demo = user.demo;
                Ok(MaybeUser(Some(user), demo))
            }
            Err(NoUser::SignedOut) => match demo_loaded(state.db()).await {
                Ok(demo) => Ok(MaybeUser(None, demo)),
                Err(error) => Err(AppError::from(error).into_response()),
            },
            Err(NoUser::Error(error)) => Err(error.into_response()),
        }
    }
}
