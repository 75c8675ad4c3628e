//! One error type for handlers, so they can use `?`. It becomes the NHS-styled error page;
//! internal detail is logged (inside the request's span, so with its request id) and never shown.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::page::ErrorPage;

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

impl From<tower_sessions::session::Error> for AppError {
    fn from(error: tower_sessions::session::Error) -> Self {
        AppError::Internal(anyhow::anyhow!("session store: {error}"))
    }
}

/// The 500 page, also used by the panic handler.
pub fn internal_error_page() -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, ErrorPage::internal()).into_response()
}
