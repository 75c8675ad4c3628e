//! Every state-changing route refuses requests without the session's form token, and
//! cross-site requests whatever they carry.

use axum::body::Body;
use axum::http::Request;
use medopt::auth::Role;
use sqlx::PgPool;

use crate::common::{TestApp, sel};

/// Fills `{…}` path parameters with values that exist.
fn concrete(path: &str, user_id: &str) -> String {
    path.replace("{icb}", "QE1")
        .replace("{region}", "Y62")
        .replace("{year}", "2024-25")
        .replace("{number}", "12")
        .replace("{user_id}", user_id)
}

#[sqlx::test]
async fn every_post_route_rejects_a_missing_or_wrong_token(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.user(Role::Admin, None).await;
    let target = app.user(Role::IcbEditor, Some("QE1")).await;
    let target_id = target.user_id.to_string();
    let posts: Vec<_> = medopt::http::route_table()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert!(posts.len() >= 10, "{posts:?}");
    for signed_in_as in [&admin, &target] {
        let mut browser = app.login_as(signed_in_as).await;
        for route in &posts {
            let path = concrete(route.path, &target_id);
            for fields in [vec![], vec![("csrf_token", "forged-token")]] {
                let response = browser.post_raw(&path, &fields).await;
                assert_eq!(response.status, 403, "{path} with {fields:?}");
                assert_eq!(response.h1(), "Your form could not be sent", "{path}");
            }
        }
        // Still signed in: the refusals changed nothing.
        assert_eq!(browser.get("/account/password").await.status, 200);
    }
    let events: i64 = sqlx::query_scalar("select count(*) from audit_event where action like 'user.%' or action like 'plan.%' or action like 'catalogue.%'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(events, 2, "only the two fixture users were created");
}

#[sqlx::test]
async fn cross_site_posts_are_refused_even_with_a_token(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let browser = app.login_as(&editor).await;
    let body = format!("csrf_token={}&year=2024-25", browser.csrf.clone().unwrap());
    let request = Request::post("/icbs/QE1/plans")
        .header("cookie", browser.cookie.clone().unwrap())
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "cross-site")
        .header("origin", "https://evil.example")
        .body(Body::from(body))
        .unwrap();
    let response = app.request(request).await;
    assert_eq!(response.status, 403);
    let plans: i64 = sqlx::query_scalar("select count(*) from plan")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(plans, 0);
}

#[sqlx::test]
async fn every_form_on_a_page_carries_the_token(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.user(Role::Admin, None).await;
    let target = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut browser = app.login_as(&admin).await;
    let token = browser.csrf.clone().unwrap();
    for path in [
        "/",
        "/admin/users",
        &format!("/admin/users/{}", target.user_id),
        "/admin/catalogue",
        "/admin/catalogue/2024-25",
        "/icbs/QE1",
    ] {
        let html = browser.get(path).await.html();
        for form in html.select(&sel(r#"form[method="post"]"#)) {
            let field = form.select(&sel(r#"input[name="csrf_token"]"#)).next();
            assert_eq!(
                field.and_then(|f| f.value().attr("value")),
                Some(token.as_str()),
                "{path}: {:?}",
                form.value().attr("action")
            );
        }
    }
}
