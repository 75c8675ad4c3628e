//! The whole web application: every feature's routes plus one middleware stack.
//! [`app`] is used both by the server and by the tests, so tests exercise exactly what runs.

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::csrf::{CsrfLayer, ProtectionError};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::auth::session_store::PgSessionStore;
use crate::auth::{self, SESSION_IDLE_LIMIT};
use crate::error::{AppError, internal_error_page};
use crate::routes::{RouteInfo, Routes};
use crate::{
    AppState, accessibility, admin, catalogue, exports, health, home, icbs, orgs, plans,
    prescribing, rollups,
};

/// Requests that take longer are answered 503 and their work dropped.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest request body accepted (CSV imports are the biggest bodies we expect).
const BODY_LIMIT_BYTES: usize = 5 * 1024 * 1024;
/// Our pages load only our own scripts, styles, images and fonts, and cannot be framed.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; \
     base-uri 'self'; form-action 'self'; frame-ancestors 'none'";
/// Static files are not fingerprinted, so they are cached for an hour and then revalidated.
const STATIC_CACHE_CONTROL: &str = "public, max-age=3600";

/// Every feature's routes.
fn routes() -> Routes {
    Routes::new()
        .merge(home::routes())
        .merge(accessibility::routes())
        .merge(orgs::routes())
        .merge(catalogue::routes())
        .merge(health::routes())
        .merge(auth::login::routes())
        .merge(icbs::routes())
        .merge(plans::routes())
        .merge(rollups::routes())
        .merge(exports::routes())
        .merge(prescribing::routes())
        .merge(admin::routes())
}

/// Every route with its declared access (for the access-matrix test and documentation).
pub fn route_table() -> Vec<RouteInfo> {
    routes().into_parts().1
}

/// Builds the application with all routes and middleware.
pub fn app(state: AppState) -> Router {
    let (router, _) = routes().into_parts();
    router
        // Innermost first: the form-token check needs the session, which needs the cookie.
        // Static files and the 404 fallback are added after, so they cost no session lookup.
        .layer(middleware::from_fn(auth::csrf::require_token))
        .layer(session_layer(&state))
        .merge(static_files())
        .fallback(not_found)
        .layer(
            CsrfLayer::new().with_rejection_response(|_: ProtectionError| {
                tracing::warn!("refused a cross-site request");
                AppError::CsrfRejected.into_response()
            }),
        )
        // Body limits innermost of the stack, so their bare 413 can be turned into a page that
        // still gets every header below.
        .layer(
            ServiceBuilder::new()
                .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
                .layer(RequestBodyLimitLayer::new(BODY_LIMIT_BYTES)),
        )
        .layer(middleware::map_response(explain_too_large))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(request_span))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(CatchPanicLayer::custom(|_| internal_error_page()))
                .layer(TimeoutLayer::with_status_code(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    REQUEST_TIMEOUT,
                ))
                .layer(CompressionLayer::new())
                .layer(security_header(
                    header::CONTENT_SECURITY_POLICY,
                    CONTENT_SECURITY_POLICY,
                ))
                .layer(security_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                .layer(security_header(header::X_FRAME_OPTIONS, "DENY"))
                .layer(security_header(header::REFERRER_POLICY, "same-origin"))
                .layer(security_header(
                    HeaderName::from_static("cross-origin-opener-policy"),
                    "same-origin",
                ))
                .layer(security_header(
                    HeaderName::from_static("permissions-policy"),
                    "camera=(), microphone=(), geolocation=(), interest-cohort=()",
                )),
        )
        .with_state(state)
}

/// `/static/…` from the `static/` folder, and `/assets/…` for the NHS.UK frontend's icons,
/// which its compiled CSS requests from that absolute path.
fn static_files() -> Router<AppState> {
    let cached = SetResponseHeaderLayer::overriding(
        header::CACHE_CONTROL,
        HeaderValue::from_static(STATIC_CACHE_CONTROL),
    );
    Router::new()
        .nest_service("/static", ServeDir::new("static"))
        .nest_service("/assets", ServeDir::new("static/nhsuk-frontend/assets"))
        .layer(cached)
}

/// Server-side sessions: HttpOnly, SameSite=Lax, ended after 30 idle minutes (every request
/// saves the session, which moves the expiry on), `Secure` and `__Host-` over HTTPS.
fn session_layer(state: &AppState) -> SessionManagerLayer<PgSessionStore> {
    let secure = state.config().secure_cookies;
    let name = if secure {
        "__Host-medopt_session"
    } else {
        "medopt_session"
    };
    SessionManagerLayer::new(PgSessionStore::new(state.db().clone()))
        .with_name(name)
        .with_secure(secure)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(SESSION_IDLE_LIMIT))
        .with_always_save(true)
}

fn security_header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// One span per request with its id; only the path is logged (query strings may carry
/// search terms, and nothing personal goes into logs).
fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        request_id,
        method = %request.method(),
        path = request.uri().path(),
    )
}

/// The body-limit layers answer a bare 413: give it the service's page, which says what to do.
async fn explain_too_large(response: Response) -> Response {
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if response.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE && !is_page {
        AppError::TooLarge.into_response()
    } else {
        response
    }
}

async fn not_found() -> impl IntoResponse {
    AppError::NotFound
}
