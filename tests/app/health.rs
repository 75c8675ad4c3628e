//! `/healthz` and `/readyz`.

use medopt::AppState;
use medopt::config::Config;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::common::TestApp;

#[sqlx::test]
async fn healthz_and_readyz_answer_ok_with_a_database(pool: PgPool) {
    let app = TestApp::without_reference_data(pool);
    assert_eq!(app.get("/healthz").await.status, 200);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.body, "ready");
}

#[tokio::test]
async fn readyz_is_503_when_the_database_is_unreachable() {
    // Nothing listens on port 1; the pool connects lazily, as after a database outage.
    let pool = PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_secs(1))
        .connect_lazy("postgres://medopt@127.0.0.1:1/medopt")
        .unwrap();
    let router = medopt::app(AppState::new(pool, Config::for_tests()));
    let request = axum::http::Request::get("/readyz")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = crate::common::send(&router, request).await;
    assert_eq!(response.status, 503);
    assert_eq!(response.body, "database unreachable");

    // The process itself is still alive.
    let request = axum::http::Request::get("/healthz")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(crate::common::send(&router, request).await.status, 200);
}
