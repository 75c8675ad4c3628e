//! `/catalogue/{year}`: the 16 national opportunities of a year in their two groups.

use sqlx::PgPool;

use crate::common::{TestApp, sel, text_of, texts};

/// (group heading, opportunity numbers) as shown on the page.
fn groups(html: &scraper::Html) -> Vec<(String, Vec<i32>)> {
    html.select(&sel("section.opportunity-group"))
        .map(|section| {
            let heading = text_of(&section.select(&sel("h2")).next().unwrap());
            let numbers = section
                .select(&sel("tr.opportunity td:first-child"))
                .map(|td| text_of(&td).parse().unwrap())
                .collect();
            (heading, numbers)
        })
        .collect()
}

/// Numbers of the rows that carry the tag with class `class`.
fn numbers_tagged(html: &scraper::Html, class: &str) -> Vec<i32> {
    html.select(&sel("tr.opportunity"))
        .filter(|row| row.select(&sel(&format!(".{class}"))).next().is_some())
        .map(|row| row.value().attr("data-number").unwrap().parse().unwrap())
        .collect()
}

#[sqlx::test]
async fn each_year_has_16_opportunities_in_two_groups(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    for year in ["2023-24", "2024-25", "2025-26", "2026-27"] {
        let response = app.get(&format!("/catalogue/{year}")).await;
        assert_eq!(response.status, 200, "{year}");
        let html = response.html();
        assert_eq!(
            groups(&html),
            vec![
                (
                    "Appropriate use, access and uptake".to_string(),
                    (1..=6).collect()
                ),
                ("Specific clinical areas".to_string(), (7..=16).collect()),
            ],
            "{year}"
        );
        assert_eq!(numbers_tagged(&html, "title-unconfirmed"), [13], "{year}");
    }
    let per_year: Vec<i64> = sqlx::query_scalar(
        "select count(*) from opportunity group by programme_year_id order by programme_year_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(per_year, [16, 16, 16, 16]);
}

#[sqlx::test]
async fn efficiency_focus_shows_on_4_6_8_and_9_from_2024_25(pool: PgPool) {
    let app = TestApp::new(pool).await;
    for year in ["2024-25", "2025-26", "2026-27"] {
        let html = app.get(&format!("/catalogue/{year}")).await.html();
        assert_eq!(
            numbers_tagged(&html, "efficiency-focus"),
            [4, 6, 8, 9],
            "{year}"
        );
    }
    let html = app.get("/catalogue/2023-24").await.html();
    assert!(numbers_tagged(&html, "efficiency-focus").is_empty());
}

#[sqlx::test]
async fn titles_are_shown_and_working_titles_say_so(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let html = app.get("/catalogue/2026-27").await.html();
    let row = |n: i32| {
        html.select(&sel(&format!(r#"tr[data-number="{n}"] td:nth-child(2)"#)))
            .next()
            .map(|td| text_of(&td))
            .unwrap()
    };
    assert_eq!(row(1), "Addressing problematic polypharmacy");
    assert_eq!(
        row(12),
        "Optimising lipid management for cardiovascular disease prevention"
    );
    assert_eq!(
        row(13),
        "Sodium valproate safety — title to be confirmed Working title"
    );
    assert!(row(9).starts_with("Identifying patients with atrial fibrillation"));
    assert_eq!(
        texts(&html, "h1"),
        ["National medicines optimisation opportunities"]
    );
}

#[sqlx::test]
async fn unknown_or_malformed_years_get_the_not_found_page(pool: PgPool) {
    let app = TestApp::new(pool).await;
    for path in [
        "/catalogue/2019-20",
        "/catalogue/2024-26",
        "/catalogue/latest",
        "/no-such-page",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status, 404, "{path}");
        assert_eq!(
            response.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(texts(&response.html(), "h1"), ["Page not found"], "{path}");
    }
}
