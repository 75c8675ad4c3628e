//! `/`: what the service is and where to go next.

use medopt::auth::Role;
use sqlx::PgPool;

use crate::common::{TestApp, sel};

fn links(html: &scraper::Html, css: &str) -> Vec<String> {
    html.select(&sel(css))
        .filter_map(|a| a.value().attr("href").map(str::to_owned))
        .collect()
}

#[sqlx::test]
async fn home_page_explains_the_service_and_links_to_reference_pages(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let response = app.get("/").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.h1(), "Medicines optimisation planning");
    let html = response.html();
    let main = links(&html, "main a");
    for expected in [
        "/organisations",
        "/catalogue/2024-25",
        "/catalogue/2023-24",
        "/login",
    ] {
        assert!(main.iter().any(|l| l == expected), "{expected} in {main:?}");
    }
    // Every link on the page leads somewhere that answers.
    for link in links(&html, "a[href^='/']") {
        assert_ne!(app.get(&link).await.status, 404, "{link}");
    }
}

#[sqlx::test]
async fn signed_in_users_are_pointed_at_their_own_work(pool: PgPool) {
    let app = TestApp::new(pool).await;
    for (role, org, expected) in [
        (
            Role::IcbEditor,
            Some("QE1"),
            vec!["/icbs/QE1", "/exports", "/account/notifications"],
        ),
        (
            Role::RegionReviewer,
            Some("Y62"),
            vec!["/regions/Y62", "/exports", "/account/notifications"],
        ),
        (
            Role::NationalAnalyst,
            None,
            vec!["/national", "/exports", "/organisations"],
        ),
        (
            Role::Admin,
            None,
            vec![
                "/national",
                "/admin/organisations",
                "/admin/users",
                "/admin/catalogue",
                "/admin/audit",
                "/admin/outbox",
                "/exports",
            ],
        ),
    ] {
        let user = app.user(role, org).await;
        let mut browser = app.login_as(&user).await;
        let html = browser.get("/").await.html();
        assert_eq!(links(&html, "#your-work a"), expected, "{role:?}");
    }
}
