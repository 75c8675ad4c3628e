//! The whole web application: every feature's routes plus one middleware stack.
//! [`app`] is used both by the server and by the tests, so tests exercise exactly what runs.

use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::csrf::{CsrfLayer, ProtectionError};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::auth::session_store::PgSessionStore;
use crate::auth::{self, SESSION_IDLE_LIMIT};
use crate::error::{AppError, internal_error_page, unavailable_page};
use crate::routes::{RouteInfo, Routes};
use crate::{
    AppState, accessibility, admin, assets, assurance, catalogue, exports, health, home, icbs,
    notifications, orgs, plans, prescribing, reports, rollups,
};

/// Requests that take longer are answered 503 and their work dropped.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest request body accepted (CSV imports are the biggest bodies we expect).
const BODY_LIMIT_BYTES: usize = 5 * 1024 * 1024;
/// Our pages load only our own scripts, styles, images and fonts, and cannot be framed.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; \
     base-uri 'self'; form-action 'self'; frame-ancestors 'none'";
/// HSTS for a year, subdomains included (ASVS 5.0 3.4.1 at level 2).
const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000; includeSubDomains";

/// Every feature's routes but the probes (which must answer without the session store).
fn routes() -> Routes {
    Routes::new()
        .merge(home::routes())
        .merge(accessibility::routes())
        .merge(orgs::routes())
        .merge(catalogue::routes())
        .merge(auth::login::routes())
        .merge(auth::two_step::routes())
        .merge(icbs::routes())
        .merge(plans::routes())
        .merge(rollups::routes())
        .merge(assurance::routes())
        .merge(exports::routes())
        .merge(prescribing::routes())
        .merge(admin::routes())
        .merge(notifications::routes())
        .merge(reports::routes())
}

/// Every route with its declared access (for the access-matrix test and documentation).
pub fn route_table() -> Vec<RouteInfo> {
    routes().merge(health::routes()).into_parts().1
}

/// Builds the application with all routes and middleware.
pub fn app(state: AppState) -> Router {
    let (router, _) = routes().into_parts();
    let (probes, _) = health::routes().into_parts();
    router
        // The access check every route is built with (crate::routes::enforce) finds the state here.
        .layer(Extension(state.clone()))
        // Pages may show what only the signed-in user may see: no shared cache keeps them
        // (a handler that sets its own Cache-Control keeps it).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        // Innermost first: the form-token check needs the session, which needs the cookie.
        .layer(middleware::from_fn(auth::csrf::require_token))
        .layer(session_layer(&state))
        .layer(middleware::map_response(explain_session_store_failure))
        // Probes, static files and the 404 fallback are added after, so they cost no session
        // lookup and keep answering while the database is down.
        .merge(probes)
        .merge(assets::router())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::csrf::require_same_scheme,
        ))
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
                .layer(middleware::from_fn(crate::timing::server_timing))
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
                ))
                .layer(strict_transport_security(state.config().secure_cookies)),
        )
        .with_state(state)
}

/// Server-side sessions: HttpOnly, SameSite=Lax, ended after 30 idle minutes, `Secure` and
/// `__Host-` over HTTPS. A session is saved when it changes; a signed-in user's session is
/// touched at most once a minute to move its expiry on (see `auth::current_user`), so most
/// requests cost no session write.
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
        .with_always_save(false)
}

/// Served over HTTPS (`MEDOPT_SECURE_COOKIES=true`), browsers are told to use nothing else
/// for a year, on subdomains too (HSTS); over plain HTTP (development) the header would be
/// ignored, so it is left out.
fn strict_transport_security<B>(
    https: bool,
) -> SetResponseHeaderLayer<impl Fn(&Response<B>) -> Option<HeaderValue> + Clone> {
    let value = https.then(|| HeaderValue::from_static(STRICT_TRANSPORT_SECURITY));
    SetResponseHeaderLayer::if_not_present(
        header::STRICT_TRANSPORT_SECURITY,
        move |_: &Response<B>| value.clone(),
    )
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

/// The session layer answers a bare 500 when it cannot save the session after the page was
/// made: that is the database gone away mid-request, so say so like every other page does.
async fn explain_session_store_failure(response: Response) -> Response {
    let bare = !response.headers().contains_key(header::CONTENT_TYPE);
    if response.status() == axum::http::StatusCode::INTERNAL_SERVER_ERROR && bare {
        unavailable_page()
    } else {
        response
    }
}

async fn not_found() -> impl IntoResponse {
    AppError::NotFound
}
