//! Board reports: the ICB's report shows the dashboard's own figures, each workstream's RAG
//! and latest narrative, the red and amber workstreams as risks (red first) and the outcome
//! measures; the region's shows the roll-up's figures for its own ICBs only, with their risks
//! and measures. Nobody outside the scope gets either.

use medopt::auth::Role;
use sqlx::PgPool;

use crate::common::{TestApp, TestResponse, sel, text_of, texts};
use crate::seed::{self, Ws};

/// Adds an update (RAG and narrative) to a workstream, `days_ago` days ago.
async fn update(pool: &PgPool, workstream_id: i32, rag: &str, narrative: &str, days_ago: i32) {
    sqlx::query(
        "insert into workstream_update (workstream_id, icb_id, rag, narrative, author_name, created_at)
         select workstream_id, icb_id, $2::rag_status, $3, 'A lead', now() - make_interval(days => $4)
         from workstream where workstream_id = $1",
    )
    .bind(workstream_id)
    .bind(rag)
    .bind(narrative)
    .bind(days_ago)
    .execute(pool)
    .await
    .unwrap();
}

/// The value of each `[data-figure]` row of a table or summary list, by figure.
fn figures(response: &TestResponse, row: &str, value: &str) -> Vec<(String, String)> {
    let html = response.html();
    html.select(&sel(&format!("#headline {row}[data-figure]")))
        .map(|r| {
            (
                r.value().attr("data-figure").unwrap_or_default().to_owned(),
                r.select(&sel(value))
                    .next()
                    .map(|v| text_of(&v))
                    .unwrap_or_default(),
            )
        })
        .collect()
}

async fn plant(pool: &PgPool) -> Vec<i32> {
    let (_, ids) = seed::plan(
        pool,
        "QE1",
        2024,
        "agreed",
        &[
            Ws::national(1, 12_000)
                .rag("green")
                .actuals(&[Some(1_000), Some(1_000)]),
            Ws::national(4, 24_000)
                .rag("red")
                .actuals(&[Some(500), Some(400)]),
            Ws::local("Care home medicines reviews", 6_000).rag("amber"),
            Ws::national(7, 6_000).removed().rag("red"),
        ],
    )
    .await;
    update(
        pool,
        ids[1],
        "amber",
        "Supply problems slowed the switch.",
        30,
    )
    .await;
    update(
        pool,
        ids[1],
        "red",
        "Switch paused: the product is out of stock.",
        2,
    )
    .await;
    update(pool, ids[0], "green", "On track.", 5).await;
    seed::measure(
        pool,
        ids[1],
        "Best-value DOACs",
        &[("2024-04-01", 41.0), ("2024-05-01", 44.5)],
    )
    .await;
    let (_, foreign) = seed::plan(
        pool,
        "QWE",
        2024,
        "agreed",
        &[Ws::local("FOREIGN-REPORT-MARKER priority", 1_200).rag("red")],
    )
    .await;
    update(
        pool,
        foreign[0],
        "red",
        "FOREIGN-REPORT-MARKER narrative",
        1,
    )
    .await;
    seed::measure(pool, foreign[0], "FOREIGN-REPORT-MARKER measure", &[]).await;
    ids
}

#[sqlx::test]
async fn the_icb_report_shows_the_dashboards_figures_with_risks_and_measures(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let ids = plant(&app.pool).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut ed = app.login_as(&editor).await;

    let report = ed.get("/icbs/QE1/2024-25/report").await;
    assert_eq!(report.status, 200, "{}", report.body);
    assert_eq!(report.h1(), "Medicines optimisation board report, 2024/25");
    assert!(!report.body.contains("FOREIGN-REPORT-MARKER"));
    // The headline figures are the dashboard's.
    let dashboard = ed.get("/icbs/QE1/2024-25").await;
    let on_dashboard = figures(&dashboard, "div", "dd");
    let on_report = figures(&report, "tr", "td");
    for key in [
        "annual_target",
        "target_to_date",
        "actual_to_date",
        "variance",
        "percent_of_target",
        "forecast_outturn",
    ] {
        let find = |list: &[(String, String)]| {
            list.iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("no {key}"))
        };
        let dash = find(&on_dashboard);
        let rep = find(&on_report);
        assert!(
            dash.starts_with(&rep) || rep.starts_with(&dash),
            "{key}: dashboard {dash}, report {rep}"
        );
    }
    assert_eq!(
        texts(&report.html(), "#headline [data-figure=annual_target] td"),
        ["£42,000"]
    );

    let html = report.html();
    // The removed workstream is not in the report; each live one with its latest update.
    let rows: Vec<String> = html
        .select(&sel("#workstreams tbody tr"))
        .filter_map(|r| r.value().attr("data-workstream").map(str::to_owned))
        .collect();
    assert_eq!(
        rows,
        [ids[0].to_string(), ids[1].to_string(), ids[2].to_string()]
    );
    let narrative = |id: i32| {
        texts(
            &html,
            &format!("#workstreams tr[data-workstream=\"{id}\"] [data-col=narrative]"),
        )
        .join("")
    };
    assert!(narrative(ids[1]).ends_with("Switch paused: the product is out of stock."));
    assert_eq!(narrative(ids[2]), "No updates yet");

    // Risks: red, then amber, each with its latest update.
    let risks: Vec<String> = html
        .select(&sel("#risks li"))
        .filter_map(|r| r.value().attr("data-workstream").map(str::to_owned))
        .collect();
    assert_eq!(risks, [ids[1].to_string(), ids[2].to_string()]);
    assert!(texts(&html, "#risks li")[0].contains("Switch paused"));

    // Measures, with the latest value.
    assert_eq!(texts(&html, "#measures tbody tr").len(), 1);
    assert_eq!(
        texts(&html, "#measures [data-col=latest]"),
        ["44.5 in May 2024"]
    );
    // The chart and its figures.
    assert_eq!(html.select(&sel(".app-report__chart svg")).count(), 1);
    assert_eq!(texts(&html, "#chart-data tbody tr").len(), 12);
}

#[sqlx::test]
async fn a_year_without_a_plan_still_has_a_report_page(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let viewer = app.user(Role::IcbViewer, Some("QE1")).await;
    let mut browser = app.login_as(&viewer).await;
    let report = browser.get("/icbs/QE1/2023-24/report").await;
    assert_eq!(report.status, 200);
    assert_eq!(
        texts(&report.html(), "#no-plan"),
        ["There is no 2023/24 plan for this ICB yet."]
    );
}

#[sqlx::test]
async fn the_region_report_shows_its_own_icbs_with_their_risks_and_measures(pool: PgPool) {
    let app = TestApp::new(pool).await;
    plant(&app.pool).await;
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;
    let mut rv = app.login_as(&reviewer).await;

    let report = rv.get("/regions/Y62/2024-25/report").await;
    assert_eq!(report.status, 200, "{}", report.body);
    assert!(!report.body.contains("FOREIGN-REPORT-MARKER"));
    let html = report.html();
    // The ICB rows carry the roll-up's figures.
    let rollup = rv.get("/regions/Y62/2024-25").await.html();
    let row = |page: &scraper::Html, col: &str| {
        texts(page, &format!("tr[data-ods-code=QE1] [data-col={col}]"))
    };
    for col in [
        "annual_target",
        "target_to_date",
        "actual_to_date",
        "percent",
        "forecast",
    ] {
        assert_eq!(row(&html, col), row(&rollup, col), "{col}");
    }
    assert_eq!(
        texts(&html, "#region-totals [data-col=annual_target]"),
        texts(&rollup, "#region-totals [data-col=annual_target]")
    );
    let codes: Vec<&str> = html
        .select(&sel("#icb-figures tbody tr"))
        .filter_map(|r| r.value().attr("data-ods-code"))
        .collect();
    let mut sorted = codes.clone();
    sorted.sort();
    assert_eq!(sorted, ["QE1", "QOP", "QYG"]);
    // Risks: the region's red workstream, then the amber one.
    let risks: Vec<String> = html
        .select(&sel("#risks tbody tr"))
        .map(|r| text_of(&r))
        .collect();
    assert_eq!(risks.len(), 2, "{risks:?}");
    assert!(risks[0].contains("Red") && risks[0].contains("Switch paused"));
    assert!(risks[1].contains("Amber") && risks[1].contains("Care home medicines reviews"));
    assert_eq!(
        texts(&html, "#measures [data-col=latest]"),
        ["44.5 in May 2024"]
    );

    // Another region's report, or an ICB user, is not found.
    assert_eq!(rv.get("/regions/Y56/2024-25/report").await.status, 404);
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut ed = app.login_as(&editor).await;
    assert_eq!(ed.get("/regions/Y62/2024-25/report").await.status, 404);
    assert_eq!(ed.get("/icbs/QWE/2024-25/report").await.status, 404);
}
