//! Security headers, request ids, compression and static file caching.

use axum::body::Body;
use axum::http::Request;
use sqlx::PgPool;

use crate::common::{TestApp, sel};

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

/// The addresses a page links for its stylesheets, scripts, icons and manifest.
fn linked_static_files(html: &scraper::Html) -> Vec<String> {
    let (links, scripts) = (sel("head link[href]"), sel("head script"));
    let hrefs = html.select(&links).filter_map(|l| l.value().attr("href"));
    let sources = html.select(&scripts).flat_map(|s| {
        [s.value().attr("src"), s.value().attr("data-nhsuk-frontend")]
            .into_iter()
            .flatten()
    });
    hrefs.chain(sources).map(str::to_owned).collect()
}

/// `/static/css/app.<16 hex digits>.css` → true.
fn has_content_hash(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    name.split('.')
        .any(|part| part.len() == 16 && part.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[sqlx::test]
async fn static_files_are_linked_by_content_hash_and_kept_for_a_year(pool: PgPool) {
    let app = TestApp::without_reference_data(pool);
    let page = app.get("/login").await.html();
    let linked = linked_static_files(&page);
    assert_eq!(linked.len(), 10, "{linked:?}");
    let expected_types = [
        (".css", "text/css"),
        (".js", "text/javascript"),
        (".svg", "image/svg+xml"),
        (".png", "image/png"),
        (".ico", "image/x-icon"),
        (".json", "application/json"),
    ];
    for path in &linked {
        assert!(
            path.starts_with("/static/") && has_content_hash(path),
            "{path}"
        );
        let response = app.get(path).await;
        assert_eq!(response.status, 200, "{path}");
        let (_, media_type) = expected_types
            .iter()
            .find(|(ending, _)| path.ends_with(ending))
            .unwrap_or_else(|| panic!("unexpected file type: {path}"));
        let content_type = response.header("content-type").unwrap_or_default();
        assert_eq!(content_type.split(';').next(), Some(*media_type), "{path}");
        assert_eq!(
            response.header("cache-control"),
            Some("public, max-age=31536000, immutable"),
            "{path}"
        );
        // The content hash is the entity tag, so a revalidation costs no body.
        let etag = response.header("etag").unwrap().to_owned();
        let request = Request::get(path.as_str())
            .header("if-none-match", &etag)
            .body(Body::empty())
            .unwrap();
        let revalidated = app.request(request).await;
        assert_eq!(revalidated.status, 304, "{path}");
        assert!(revalidated.body.is_empty());
    }

    // Stylesheets and scripts are compressed like pages.
    let css = linked.iter().find(|p| p.ends_with(".css")).unwrap();
    let request = Request::get(css.as_str())
        .header("accept-encoding", "br, gzip")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app.request(request).await.header("content-encoding"),
        Some("br")
    );

    // A hash that is not the file's (an older release's) is not found.
    let stale = css.replace(css.rsplit('.').nth(1).unwrap(), "0123456789abcdef");
    assert_eq!(app.get(&stale).await.status, 404, "{stale}");
    assert_eq!(app.get("/static/no-such-file.css").await.status, 404);
}

#[sqlx::test]
async fn plain_static_addresses_still_work_with_short_caching(pool: PgPool) {
    let app = TestApp::without_reference_data(pool);
    for (path, media_type) in [
        ("/static/js/app.js", "text/javascript"),
        ("/static/nhsuk-frontend/nhsuk-frontend.min.css", "text/css"),
        ("/assets/images/favicon.ico", "image/x-icon"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status, 200, "{path}");
        let content_type = response.header("content-type").unwrap_or_default();
        assert_eq!(content_type.split(';').next(), Some(media_type), "{path}");
        assert_eq!(
            response.header("cache-control"),
            Some("public, max-age=3600"),
            "{path}"
        );
        assert!(response.header("etag").is_some(), "{path}");
    }
}

/// The NHS.UK frontend's compiled CSS asks for its icons at absolute `/assets/…` addresses.
#[sqlx::test]
async fn every_file_the_stylesheets_name_is_served(pool: PgPool) {
    let app = TestApp::without_reference_data(pool);
    let page = app.get("/login").await.html();
    let mut named = Vec::new();
    for css in linked_static_files(&page)
        .iter()
        .filter(|p| p.ends_with(".css"))
    {
        let body = app.get(css).await.body;
        for (_, rest) in body
            .match_indices("url(")
            .map(|(i, _)| body.split_at(i + 4))
        {
            let end = rest.find(')').unwrap();
            let target = rest[..end].trim_matches(['"', '\'']);
            if !target.starts_with("data:") {
                named.push(target.to_owned());
            }
        }
    }
    assert!(named.len() >= 4, "{named:?}");
    for target in named {
        assert!(target.starts_with("/assets/"), "{target}");
        let response = app.get(&target).await;
        assert_eq!(response.status, 200, "{target}");
        assert_eq!(response.header("content-type"), Some("image/svg+xml"));
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
