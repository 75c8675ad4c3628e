//! Protection against cross-site request forgery, in two layers:
//! - the browser's own signals: tower-http's `CsrfLayer` refuses cross-site requests by
//!   `Sec-Fetch-Site` / `Origin` (see [`crate::http`]), and [`require_same_scheme`] adds the
//!   scheme, which that layer's `Origin` check leaves out;
//! - a token in every form: [`require_token`] is middleware on the whole app, so every
//!   non-GET request is checked before any handler runs and no route can forget it.
//!
//! The token lives in the server-side session and is compared in constant time.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use tower_sessions::Session;

use super::keys;
use crate::AppState;
use crate::error::AppError;

/// Name of the hidden form field.
pub const FIELD: &str = "csrf_token";
/// Header accepted instead of the field (for scripts that enhance pages).
pub const HEADER: &str = "x-csrf-token";
/// Forms are small; file uploads are the largest bodies (the app's body limit is the same).
const MAX_FORM_BYTES: usize = 5 * 1024 * 1024;

/// The session's form token, created on first use.
pub async fn token(session: &Session) -> Result<String, tower_sessions::session::Error> {
    if let Some(token) = session.get::<String>(keys::CSRF).await? {
        return Ok(token);
    }
    rotate(session).await
}

/// Replaces the session's form token (at sign-in).
pub async fn rotate(session: &Session) -> Result<String, tower_sessions::session::Error> {
    let bytes: [u8; 32] = rand::random();
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    session.insert(keys::CSRF, &token).await?;
    Ok(token)
}

/// Middleware: lets safe methods through; anything else needs the session's token in the
/// `csrf_token` form field or the `x-csrf-token` header, or gets the "form expired" page.
pub async fn require_token(request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let expected = match request.extensions().get::<Session>() {
        Some(session) => match session.get::<String>(keys::CSRF).await {
            Ok(token) => token,
            Err(error) => return AppError::from(error).into_response(),
        },
        None => None,
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
        return AppError::TooLarge.into_response();
    };
    let header_token = parts
        .headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let multipart_boundary = parts
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok());
    let provided = match (header_token, multipart_boundary) {
        (Some(token), _) => Some(token),
        (None, Some(boundary)) => multipart_field(bytes.clone(), boundary).await,
        (None, None) => form_urlencoded::parse(&bytes)
            .find(|(key, _)| key == FIELD)
            .map(|(_, value)| value.into_owned()),
    };
    match (expected, provided) {
        (Some(expected), Some(provided))
            if constant_time_eq(expected.as_bytes(), provided.as_bytes()) =>
        {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        _ => {
            tracing::warn!(
                path = parts.uri.path(),
                "refused a request without a valid form token"
            );
            AppError::CsrfRejected.into_response()
        }
    }
}

/// Middleware: refuses a state-changing request whose `Origin` names another scheme than the
/// site's. tower-http's check compares the `Origin`'s host and port with `Host` but not the
/// scheme, so a page on `http://medopt.example` (anyone on the network can serve that) could
/// post to `https://medopt.example`. The site's scheme is `https` when
/// `MEDOPT_SECURE_COOKIES=true` (which says it is served over HTTPS), `http` otherwise. An
/// opaque `Origin: null` has no scheme to compare; the cross-site layer refuses it.
pub async fn require_same_scheme(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let expected = if state.config().secure_cookies {
        "https"
    } else {
        "http"
    };
    let scheme = request
        .headers()
        .get(header::ORIGIN)
        .map(|origin| origin.as_bytes())
        .filter(|origin| *origin != b"null")
        .map(|origin| origin.split(|b| *b == b':').next().unwrap_or_default());
    match scheme {
        Some(scheme) if !safe && !scheme.eq_ignore_ascii_case(expected.as_bytes()) => {
            tracing::warn!("refused a request from a page with another scheme");
            AppError::CsrfRejected.into_response()
        }
        _ => next.run(request).await,
    }
}

/// The token field of a `multipart/form-data` body (file uploads). Forms put it first, so
/// this stops before reaching the file.
async fn multipart_field(body: axum::body::Bytes, boundary: String) -> Option<String> {
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some(FIELD) {
            return field.text().await.ok();
        }
    }
    None
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn compares_exactly() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
