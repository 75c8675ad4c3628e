//! One error type for handlers, so they can use `?`. It becomes the NHS-styled error page;
//! internal detail is logged (inside the request's span, so with its request id) and never shown.
//!
//! A database that cannot be reached is not a bug: [`AppError::Unavailable`] (and any sqlx
//! error that means the same, see [`crate::db::is_unavailable`]) answers 503 with
//! `Retry-After`, so people and load balancers know to come back.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::page::ErrorPage;

/// Seconds a client is asked to wait before trying again while the database is unreachable.
pub const RETRY_AFTER_SECONDS: u32 = 30;

/// Result alias for handlers.
pub type AppResult<T, E = AppError> = Result<T, E>;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The object does not exist, or the caller may not know it exists.
    #[error("not found")]
    NotFound,
    /// The caller's role does not include this action (the object itself is in scope).
    #[error("forbidden")]
    Forbidden,
    /// A request the service cannot read (a form that does not fit its fields).
    #[error("bad request")]
    BadRequest,
    /// A state-changing request without a valid form token.
    #[error("missing or invalid form token")]
    CsrfRejected,
    /// The request body is larger than the service accepts.
    #[error("request body too large")]
    TooLarge,
    /// The service is at its limit for this kind of request (downloads); try again soon.
    #[error("busy")]
    Busy,
    /// Too many attempts from one address.
    #[error("too many requests")]
    TooManyRequests,
    /// The database cannot be reached (or the session store, which lives there).
    #[error("database unavailable")]
    Unavailable,
    /// A database failure.
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    /// Anything else unexpected.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::NotFound => (StatusCode::NOT_FOUND, ErrorPage::not_found()).into_response(),
            AppError::Forbidden => (StatusCode::FORBIDDEN, ErrorPage::forbidden()).into_response(),
            AppError::BadRequest => {
                (StatusCode::BAD_REQUEST, ErrorPage::bad_request()).into_response()
            }
            AppError::CsrfRejected => {
                (StatusCode::FORBIDDEN, ErrorPage::form_expired()).into_response()
            }
            AppError::TooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, ErrorPage::too_large()).into_response()
            }
            AppError::Busy => (StatusCode::SERVICE_UNAVAILABLE, ErrorPage::busy()).into_response(),
            AppError::TooManyRequests => (
                StatusCode::TOO_MANY_REQUESTS,
                ErrorPage::too_many_requests(),
            )
                .into_response(),
            AppError::Unavailable => unavailable_page(),
            AppError::Sqlx(error) if crate::db::is_unavailable(&error) => {
                tracing::error!(error = %error, "database unavailable");
                unavailable_page()
            }
            // Text PostgreSQL cannot store (a NUL character). Forms refuse it by the field
            // first; this is the last resort for one that does not.
            AppError::Sqlx(sqlx::Error::Database(error))
                if error.code().as_deref() == Some(UNTRANSLATABLE_CHARACTER) =>
            {
                tracing::warn!("refused text the database cannot store");
                (StatusCode::BAD_REQUEST, ErrorPage::bad_characters()).into_response()
            }
            AppError::Sqlx(error) => {
                tracing::error!(error = %error, "database error");
                internal_error_page()
            }
            AppError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "internal error");
                internal_error_page()
            }
        }
    }
}

/// PostgreSQL's `character_not_in_repertoire` (22021): a NUL character in text.
const UNTRANSLATABLE_CHARACTER: &str = "22021";

impl From<tower_sessions::session::Error> for AppError {
    fn from(error: tower_sessions::session::Error) -> Self {
        use tower_sessions::session::Error;
        use tower_sessions::session_store::Error as StoreError;
        match error {
            Error::Store(StoreError::Backend(message))
                if crate::auth::session_store::is_unavailable(&message) =>
            {
                tracing::error!(error = %message, "session store unavailable");
                AppError::Unavailable
            }
            other => AppError::Internal(anyhow::anyhow!("session store: {other}")),
        }
    }
}

/// The styled 503 page with `Retry-After`: the database cannot be reached.
pub fn unavailable_page() -> Response {
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, ErrorPage::unavailable()).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    response
}

/// The 500 page, also used by the panic handler.
pub fn internal_error_page() -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, ErrorPage::internal()).into_response()
}
