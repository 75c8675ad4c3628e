//! Security headers, request ids, compression and static file caching.

use axum::body::Body;
use axum::http::Request;
use sqlx::PgPool;

use crate::common::TestApp;

#[sqlx::test]
async fn pages_and_errors_carry_security_headers(pool: PgPool) {
    let app = TestApp::new(pool).await;
    for path in ["/", "/organisations", "/catalogue/2024-25", "/no-such-page"] {
        let response = app.get(path).await;
        let csp = response
            .header("content-security-policy")
            .unwrap_or_default();
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
        for expected in [
            "default-src 'self'",
            "script-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ] {
            assert!(
                directives.contains(&expected),
                "{path}: missing {expected} in {csp}"
            );
        }
        assert_eq!(
            response.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            response.header("referrer-policy"),
            Some("same-origin"),
            "{path}"
        );
        assert_eq!(response.header("x-frame-options"), Some("DENY"), "{path}");
        assert!(
            response
                .header("x-request-id")
                .is_some_and(|id| id.len() == 36),
            "{path}"
        );
    }
}

#[sqlx::test]
async fn a_request_id_sent_by_a_proxy_is_kept(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let request = Request::get("/healthz")
        .header("x-request-id", "proxy-id-123")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app.request(request).await.header("x-request-id"),
        Some("proxy-id-123")
    );
}

#[sqlx::test]
async fn pages_are_compressed_when_the_browser_accepts_it(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let request = Request::get("/organisations")
        .header("accept-encoding", "gzip")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app.request(request).await.header("content-encoding"),
        Some("gzip")
    );
}

#[sqlx::test]
async fn static_files_are_served_with_cache_headers(pool: PgPool) {
    let app = TestApp::without_reference_data(pool);
    for path in [
        "/static/js/app.js",
        "/static/nhsuk-frontend/nhsuk-frontend.min.css",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status, 200, "{path}");
        assert_eq!(
            response.header("cache-control"),
            Some("public, max-age=3600"),
            "{path}"
        );
        assert!(response.header("last-modified").is_some(), "{path}");
    }
}

#[sqlx::test]
async fn oversized_bodies_are_refused(pool: PgPool) {
    let app = TestApp::without_reference_data(pool);
    let request = Request::post("/healthz")
        .header("content-length", (6 * 1024 * 1024).to_string())
        .body(Body::from(vec![b'a'; 6 * 1024 * 1024]))
        .unwrap();
    assert_eq!(app.request(request).await.status, 413);
}

#[tokio::test]
async fn internal_errors_show_the_nhs_error_page_without_their_detail() {
    use axum::response::IntoResponse;
    let response =
        medopt::error::AppError::Internal(anyhow::anyhow!("relation secret_table does not exist"))
            .into_response();
    assert_eq!(response.status(), 500);
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let body = String::from_utf8_lossy(&bytes);
    let html = scraper::Html::parse_document(&body);
    assert_eq!(
        crate::common::texts(&html, "h1"),
        ["Sorry, there is a problem with the service"]
    );
    assert!(!body.contains("secret_table"));
}
