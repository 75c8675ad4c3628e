//! Regional and national roll-ups: totals equal the ICB figures computed independently (from
//! each ICB's own dashboard), other regions never appear, the review queue and matrix show
//! what was chosen and submitted, sorting, and effective-dated organisations after a merger.

use std::collections::BTreeMap;

use medopt::auth::Role;
use sqlx::PgPool;

use crate::common::{Browser, TestApp, TestResponse, pounds, sel, text_of, texts};
use crate::seed::{self, Ws};

const REGION: &str = "/regions/Y62/2024-25";

/// The North West (Y62: QE1, QOP, QYG) with varied plans, and one plan elsewhere (QWE, Y56).
async fn plant_region(pool: &PgPool) {
    seed::plan(
        pool,
        "QE1",
        2024,
        "agreed",
        &[
            Ws::national(1, 120_000).rag("green").actuals(&[
                Some(9_000),
                Some(11_000),
                None,
                Some(12_500),
            ]),
            Ws::national(4, 60_000)
                .rag("amber")
                .actuals(&[Some(4_000), Some(3_000)]),
            Ws::national(6, 24_000).actuals(&[Some(1_000)]),
            Ws::national(8, 36_000).rag("red"),
            Ws::national(9, 12_000),
            Ws::local("Care home antibiotics", 30_000).actuals(&[
                Some(2_600),
                Some(2_400),
                Some(2_500),
                Some(2_500),
            ]),
            // Removed after reporting April: no longer a choice, but its £500,000 still counts.
            Ws::national(10, 999_000)
                .actuals(&[Some(500_000)])
                .removed(),
        ],
    )
    .await;
    seed::plan(
        pool,
        "QOP",
        2024,
        "submitted",
        &[
            Ws::national(1, 48_000)
                .rag("red")
                .actuals(&[Some(1_000), Some(1_500), Some(-200)]),
            Ws::national(2, 24_000)
                .rag("green")
                .actuals(&[Some(2_500), Some(2_000), Some(2_100)]),
            Ws::national(4, 12_000),
        ],
    )
    .await;
    // QYG has no plan for 2024/25; one for 2023/24 that must not count.
    seed::plan(
        pool,
        "QYG",
        2023,
        "agreed",
        &[Ws::national(3, 777_000).actuals(&[Some(50_000)])],
    )
    .await;
    seed::plan(
        pool,
        "QWE",
        2024,
        "submitted",
        &[Ws::national(1, 900_000).actuals(&[Some(70_000)])],
    )
    .await;
}

/// The headline figures of an ICB's dashboard, in whole pounds, by `data-figure`.
async fn dashboard(browser: &mut Browser<'_>, code: &str) -> BTreeMap<String, String> {
    let response = browser.get(&format!("/icbs/{code}/2024-25")).await;
    assert_eq!(response.status, 200, "{code}");
    let html = response.html();
    html.select(&sel("#headline [data-figure]"))
        .map(|row| {
            let key = row.value().attr("data-figure").unwrap().to_owned();
            let value = row
                .select(&sel("dd"))
                .next()
                .map(|dd| text_of(&dd))
                .unwrap();
            (key, value)
        })
        .collect()
}

/// The cell `col` of the row matching `row_css`.
fn cell(response: &TestResponse, row_css: &str, col: &str) -> String {
    texts(&response.html(), &format!("{row_css} [data-col=\"{col}\"]"))
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no {col} in {row_css}"))
}

fn money(response: &TestResponse, row_css: &str, col: &str) -> i64 {
    pounds(&cell(response, row_css, col))
}

#[sqlx::test]
async fn region_totals_equal_the_sum_of_each_icbs_own_dashboard(pool: PgPool) {
    // 15 September 2024: July is the reporting month.
    let today = chrono::NaiveDate::from_ymd_opt(2024, 9, 15).unwrap();
    let app = TestApp::at(pool, today).await;
    plant_region(&app.pool).await;
    let analyst = app.user(Role::NationalAnalyst, None).await;
    let mut browser = app.login_as(&analyst).await;
    let region = browser.get(REGION).await;
    assert_eq!(region.status, 200, "{}", region.body);

    let mut sums: BTreeMap<&str, i64> = BTreeMap::new();
    for code in ["QE1", "QOP"] {
        let figures = dashboard(&mut browser, code).await;
        let row = format!("#icb-figures tbody tr[data-ods-code=\"{code}\"]");
        for (figure, col) in [
            ("annual_target", "annual_target"),
            ("target_to_date", "target_to_date"),
            ("actual_to_date", "actual_to_date"),
            ("forecast_outturn", "forecast"),
        ] {
            let on_dashboard = pounds(&figures[figure]);
            assert_eq!(money(&region, &row, col), on_dashboard, "{code} {figure}");
            *sums.entry(col).or_default() += on_dashboard;
        }
        let percent = figures["percent_of_target"]
            .trim_end_matches('%')
            .to_owned();
        assert_eq!(
            cell(&region, &row, "percent"),
            format!("{percent}%"),
            "{code}"
        );
    }
    for (col, sum) in &sums {
        assert_eq!(
            money(&region, "#region-totals", col),
            *sum,
            "region total {col}"
        );
    }
    // QE1: actuals to July (9,000+11,000+12,500 + 4,000+3,000 + 1,000 + 2,600+2,400+2,500+2,500),
    // and the removed workstream's 500,000.
    assert_eq!(
        money(&region, "tr[data-ods-code=\"QE1\"]", "actual_to_date"),
        550_500
    );
    // The ICB without a plan is listed as not started, with nothing summed.
    assert_eq!(
        cell(&region, "tr[data-ods-code=\"QYG\"]", "status"),
        "Not started"
    );
    // The total's percentage is of the summed figures (the independent computation).
    let stored = crate::figures::model::Stored::load(&app.pool).await;
    let total = stored.total(
        2024,
        Some("Y62"),
        chrono::NaiveDate::from_ymd_opt(2024, 7, 1).unwrap(),
    );
    assert_eq!(
        cell(&region, "#region-totals", "percent"),
        format!("{}%", total.percent().unwrap())
    );

    // The national page's row for the region equals the region page's totals, and the
    // national total is the sum of the regions.
    let national = browser.get("/national/2024-25").await;
    assert_eq!(national.status, 200, "{}", national.body);
    for col in [
        "annual_target",
        "target_to_date",
        "actual_to_date",
        "forecast",
    ] {
        assert_eq!(
            money(&national, "tr[data-region=\"Y62\"]", col),
            money(&region, "#region-totals", col),
            "{col}"
        );
        let regions: i64 = national
            .html()
            .select(&sel(&format!("tbody tr[data-region] [data-col=\"{col}\"]")))
            .map(|c| pounds(&text_of(&c)))
            .sum();
        assert_eq!(money(&national, "#national-totals", col), regions, "{col}");
    }
    assert_eq!(cell(&national, "tr[data-region=\"Y62\"]", "icbs"), "3");
    assert_eq!(cell(&national, "tr[data-region=\"Y62\"]", "agreed"), "1");
    assert_eq!(cell(&national, "tr[data-region=\"Y62\"]", "submitted"), "1");
    assert_eq!(
        cell(&national, "tr[data-region=\"Y62\"]", "not_started"),
        "1"
    );
    assert_eq!(cell(&national, "#national-totals", "icbs"), "42");
    assert_eq!(cell(&national, "#national-totals", "submitted"), "2");
    // By opportunity: opportunity 1 was chosen by QE1, QOP and QWE; the removed 10 by nobody.
    assert_eq!(cell(&national, "tr[data-opportunity=\"1\"]", "icbs"), "3");
    assert_eq!(
        money(&national, "tr[data-opportunity=\"1\"]", "annual_target"),
        1_068_000
    );
    // Removed: no ICB chooses 10 now, but the £500,000 it saved stays with it.
    assert_eq!(cell(&national, "tr[data-opportunity=\"10\"]", "icbs"), "0");
    assert_eq!(
        money(&national, "tr[data-opportunity=\"10\"]", "actual_to_date"),
        500_000
    );
    // The opportunity table, with its line for the local priorities (which belong to no
    // national opportunity: QE1's saved £10,000), sums to the same national actual as the
    // regions.
    let by_opportunity: i64 = national
        .html()
        .select(&sel(
            "#opportunity-figures tbody [data-col=\"actual_to_date\"]",
        ))
        .map(|c| pounds(&text_of(&c)))
        .sum();
    assert_eq!(
        money(&national, "#local-priorities-line", "actual_to_date"),
        10_000
    );
    assert_eq!(
        by_opportunity,
        money(&national, "#national-totals", "actual_to_date")
    );
}

#[sqlx::test]
async fn a_reviewer_sees_only_their_own_regions_icbs(pool: PgPool) {
    let app = TestApp::new(pool).await;
    plant_region(&app.pool).await;
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;
    let mut browser = app.login_as(&reviewer).await;
    let page = browser.get(REGION).await;
    assert_eq!(page.status, 200);
    let html = page.html();
    let listed: Vec<String> = html
        .select(&sel("#icb-figures tbody tr"))
        .map(|tr| tr.value().attr("data-ods-code").unwrap().to_owned())
        .collect();
    // In name order: Cheshire and Merseyside, Greater Manchester, Lancashire and South Cumbria.
    assert_eq!(listed, ["QYG", "QOP", "QE1"]);
    for other in ["QWE", "North East London", "South East London"] {
        assert!(
            !page.body.contains(other),
            "{other} appears on the North West's page"
        );
    }
    // Every ICB links to its dashboard for the year.
    let links: Vec<&str> = html
        .select(&sel("#icb-figures tbody th a"))
        .filter_map(|a| a.value().attr("href"))
        .collect();
    assert_eq!(
        links,
        [
            "/icbs/QYG/2024-25",
            "/icbs/QOP/2024-25",
            "/icbs/QE1/2024-25"
        ]
    );
    // Another region's roll-up and the national one are not theirs.
    assert_eq!(browser.get("/regions/Y56/2024-25").await.status, 404);
    assert_eq!(browser.get("/national/2024-25").await.status, 403);
    // No England line on the chart: a reviewer's scope does not cover England's figures.
    let lines = texts(&html, ".medopt-chart__reference-label");
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with("Plan") && lines[1].starts_with("Region"),
        "{lines:?}"
    );
}

#[sqlx::test]
async fn the_review_queue_and_matrix_show_what_each_icb_submitted_and_chose(pool: PgPool) {
    let app = TestApp::new(pool).await;
    plant_region(&app.pool).await;
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;
    let mut browser = app.login_as(&reviewer).await;
    let page = browser.get(REGION).await;
    let html = page.html();
    let queue: Vec<(String, String)> = html
        .select(&sel("#review-queue tbody tr th a"))
        .map(|a| (text_of(&a), a.value().attr("href").unwrap().to_owned()))
        .collect();
    assert_eq!(
        queue,
        [(
            "Review the plan of QOP".to_owned(),
            "/icbs/QOP/2024-25/review".to_owned()
        )]
        .map(|(t, h)| (t.replace("QOP", &short_name(&page, "QOP")), h))
    );
    // The queue's link opens the plan's review, where the reviewer can agree or return it.
    assert_eq!(browser.get("/icbs/QOP/2024-25/review").await.status, 200);

    // Matrix rows are ICBs; each cell says in words whether it was chosen and its RAG.
    let row = |name: &str| -> Vec<String> {
        html.select(&sel("#opportunity-matrix tbody tr"))
            .find(|tr| {
                tr.select(&sel("th"))
                    .next()
                    .is_some_and(|th| text_of(&th) == name)
            })
            .map(|tr| {
                tr.select(&sel("td .nhsuk-u-visually-hidden"))
                    .map(|c| text_of(&c))
                    .collect()
            })
            .unwrap_or_else(|| panic!("no matrix row {name}"))
    };
    let qe1 = row(&short_name(&page, "QE1"));
    assert_eq!(qe1.len(), 16);
    assert_eq!(qe1[0], "Chosen, green");
    assert_eq!(qe1[3], "Chosen, amber");
    assert_eq!(qe1[5], "Chosen, no RAG status yet");
    assert_eq!(qe1[7], "Chosen, red");
    assert_eq!(qe1[9], "Not chosen", "a removed workstream is not a choice");
    assert!(
        row(&short_name(&page, "QYG"))
            .iter()
            .all(|c| c == "Not chosen")
    );
    let choosing: Vec<String> = texts(&html, "#opportunity-matrix tfoot td.app-matrix__number");
    assert_eq!(choosing[0], "2", "QE1 and QOP chose opportunity 1");
    // QOP chose only three: flagged.
    assert!(cell(&page, "tr[data-ods-code=\"QOP\"]", "chosen").contains("Under 5"));
}

/// The short name the page shows for `code` in the ICB table.
fn short_name(page: &TestResponse, code: &str) -> String {
    texts(
        &page.html(),
        &format!("#icb-figures tr[data-ods-code=\"{code}\"] th a"),
    )
    .into_iter()
    .next()
    .unwrap()
}

#[sqlx::test]
async fn columns_sort_both_ways_and_say_so(pool: PgPool) {
    let app = TestApp::new(pool).await;
    plant_region(&app.pool).await;
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;
    let mut browser = app.login_as(&reviewer).await;
    let order = |page: &TestResponse| -> Vec<String> {
        page.html()
            .select(&sel("#icb-figures tbody tr"))
            .map(|tr| tr.value().attr("data-ods-code").unwrap().to_owned())
            .collect()
    };
    let desc = browser
        .get(&format!("{REGION}?sort=actual_to_date&order=desc"))
        .await;
    assert_eq!(order(&desc), ["QE1", "QOP", "QYG"]);
    let asc = browser
        .get(&format!("{REGION}?sort=actual_to_date&order=asc"))
        .await;
    assert_eq!(
        order(&asc),
        ["QOP", "QE1", "QYG"],
        "no plan sorts last both ways"
    );
    let sorted: Vec<String> = asc
        .html()
        .select(&sel("#icb-figures th[aria-sort]"))
        .map(|th| format!("{} {}", text_of(&th), th.value().attr("aria-sort").unwrap()))
        .collect();
    assert_eq!(sorted, ["Actual to date ascending"]);
    // Nonsense falls back to the ICB name.
    let fallback = browser
        .get(&format!("{REGION}?sort=x'--&order=sideways"))
        .await;
    assert_eq!(fallback.status, 200);
    assert_eq!(order(&fallback), ["QYG", "QOP", "QE1"], "by ICB name");
}

#[sqlx::test]
async fn a_merger_shows_the_old_icbs_before_it_and_the_new_one_after(pool: PgPool) {
    let app = TestApp::new(pool).await;
    // History that must stay with the ICB that recorded it.
    seed::plan(
        &app.pool,
        "QKK",
        2024,
        "agreed",
        &[Ws::national(1, 12_000).actuals(&[Some(1_000)])],
    )
    .await;
    let admin = app.user(Role::Admin, None).await;
    let mut browser = app.login_as(&admin).await;
    let added = browser
        .post(
            "/admin/organisations/icbs",
            &[
                ("ods_code", "qzz"),
                ("name", "NHS South London Integrated Care Board"),
                ("region", "Y56"),
                ("valid_from", "2026-04-01"),
            ],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    let merged = browser
        .post(
            "/admin/organisations/successions",
            &[
                ("predecessors", "QKK"),
                ("predecessors", "QMF"),
                ("successor", "QZZ"),
                ("effective_from", "2026-04-01"),
            ],
        )
        .await;
    assert_eq!(merged.status, 303, "{}", merged.body);

    let listed = |page: &TestResponse| -> Vec<String> {
        page.html()
            .select(&sel("#icb-figures tbody tr"))
            .map(|tr| tr.value().attr("data-ods-code").unwrap().to_owned())
            .collect()
    };
    let before = browser.get("/regions/Y56/2024-25").await;
    let before = listed(&before);
    assert!(before.contains(&"QKK".to_owned()) && before.contains(&"QMF".to_owned()));
    assert!(!before.contains(&"QZZ".to_owned()));
    let after = browser.get("/regions/Y56/2026-27").await;
    let after = listed(&after);
    assert!(after.contains(&"QZZ".to_owned()), "{after:?}");
    for gone in ["QKK", "QMF", "QMJ", "QRV"] {
        assert!(!after.contains(&gone.to_owned()), "{gone} in {after:?}");
    }
    // History stays with QKK.
    let qkk = browser.get("/icbs/QKK/2024-25").await;
    assert_eq!(
        pounds(&texts(&qkk.html(), "[data-figure=actual_to_date] dd")[0]),
        1_000
    );
    let admin_page = browser.get("/admin/organisations").await;
    assert_eq!(
        texts(
            &admin_page.html(),
            "#icbs tr[data-ods-code=\"QKK\"] [data-col=valid_to]"
        ),
        ["31 March 2026"]
    );
    let recorded = texts(&admin_page.html(), "#successions tbody td:nth-child(2)");
    assert_eq!(
        recorded.len(),
        16 + 2,
        "the shipped successions and this one"
    );
    assert_eq!(recorded.iter().filter(|s| s.ends_with("(QZZ)")).count(), 2);
}

#[sqlx::test]
async fn recording_a_change_checks_every_field_and_changes_nothing_when_wrong(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.user(Role::Admin, None).await;
    let mut browser = app.login_as(&admin).await;
    let before: Vec<String> =
        sqlx::query_scalar("select format('%s', i) from icb i order by icb_id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let refused = browser
        .post(
            "/admin/organisations/successions",
            &[
                ("predecessors", "QE1"),
                ("successor", "QE1"),
                ("effective_from", "2026-02-30"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused
            .field_error("effective_from")
            .unwrap()
            .contains("real date")
    );
    let refused = browser
        .post(
            "/admin/organisations/successions",
            &[
                ("predecessors", "QE1"),
                ("successor", "QE1"),
                ("effective_from", "2026-04-01"),
            ],
        )
        .await;
    assert_eq!(
        refused.field_error("predecessors").unwrap(),
        "Error: An ICB cannot succeed itself: untick the successor"
    );
    let duplicate = browser
        .post(
            "/admin/organisations/icbs",
            &[
                ("ods_code", "QE1"),
                ("name", "Again"),
                ("region", "Y62"),
                ("valid_from", "2026-04-01"),
            ],
        )
        .await;
    assert_eq!(duplicate.status, 422);
    assert_eq!(
        duplicate.field_error("ods_code").unwrap(),
        "Error: An ICB with the code QE1 already exists"
    );
    let blank = browser.post("/admin/organisations/icbs", &[]).await;
    for field in ["ods_code", "name", "region", "valid_from"] {
        assert!(blank.field_error(field).is_some(), "{field}");
    }
    let after: Vec<String> =
        sqlx::query_scalar("select format('%s', i) from icb i order by icb_id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(before, after);
}

/// A fresh install rolls 2026/27 up over the ICBs of 2026/27: every region has some, East of
/// England its three new ones, and no ICB appears that had closed.
#[sqlx::test]
async fn the_2026_27_roll_ups_show_the_icbs_of_2026_27(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let analyst = app.user(Role::NationalAnalyst, None).await;
    let mut browser = app.login_as(&analyst).await;
    let national = browser.get("/national/2026-27").await;
    assert_eq!(national.status, 200);
    let html = national.html();
    let icbs = |region: &str| {
        texts(
            &html,
            &format!(r#"tr[data-region="{region}"] [data-col=icbs]"#),
        )
        .join("")
        .parse::<i64>()
        .unwrap()
    };
    let counts: Vec<i64> = ["Y56", "Y58", "Y59", "Y60", "Y61", "Y62", "Y63"]
        .into_iter()
        .map(icbs)
        .collect();
    assert_eq!(counts, [4, 7, 4, 11, 3, 3, 4]);
    assert_eq!(texts(&html, "#national-totals [data-col=icbs]"), ["36"]);

    let east = browser.get("/regions/Y61/2026-27").await.html();
    let mut listed: Vec<String> = east
        .select(&sel("#icb-figures tbody tr"))
        .filter_map(|tr| tr.value().attr("data-ods-code").map(str::to_owned))
        .collect();
    listed.sort();
    assert_eq!(listed, ["D7T5G", "S1Y5D", "T6Y0W"]);
    // The year before, the six ICBs that closed.
    let before = browser.get("/regions/Y61/2025-26").await.html();
    assert_eq!(before.select(&sel("#icb-figures tbody tr")).count(), 6);
}
