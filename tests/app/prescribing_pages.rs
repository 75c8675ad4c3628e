//! Where users see the prescribing measures: an ICB's page of its chosen opportunities (the
//! same panel the workstream page uses), the regional and national roll-ups, the measure
//! library, and the `prescribing-measures` export; each checked against the stored figures.

use medopt::auth::Role;
use medopt::domain::FinancialYear;
use medopt::prescribing::figures;
use medopt::prescribing::library::{self, Unit};
use medopt::prescribing::panel::{self, Verdict, ordinal};
use scraper::Html;
use sqlx::PgPool;

use crate::common::{TestApp, pounds, sel, text_of, texts};
use crate::prescribing::{load, month, synth_files};
use crate::seed::{self, Ws};

/// QE1 chose 2, 4 and 9 for 2024/25; QYG (same region) 9 and 11; prescribing loaded for
/// March (the baseline) to May 2024.
async fn setup(pool: &PgPool) -> (TestApp, tempfile::TempDir) {
    let app = TestApp::new(pool.clone()).await;
    seed::plan(
        pool,
        "QE1",
        2024,
        "agreed",
        &[
            Ws::national(2, 1000),
            Ws::national(4, 1000),
            Ws::national(9, 5000),
        ],
    )
    .await;
    seed::plan(
        pool,
        "QYG",
        2024,
        "submitted",
        &[Ws::national(9, 1000), Ws::national(11, 1000)],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    load(
        pool,
        &synth_files(pool, month(2024, 3), month(2024, 5), dir.path()).await,
    )
    .await;
    (app, dir)
}

/// An ICB's stored value and percentile of a measure in a month.
async fn icb_value(
    pool: &PgPool,
    icb: &str,
    slug: &str,
    m: chrono::NaiveDate,
) -> (f64, f64, f64, f64) {
    sqlx::query_as(
        "select v.value, v.percentile, v.numerator, v.denominator from prescribing_icb_value v
         join icb i on i.icb_id = v.icb_id
         join prescribing_measure m on m.prescribing_measure_id = v.prescribing_measure_id
         where i.ods_code = $1 and m.slug = $2 and v.month = $3",
    )
    .bind(icb)
    .bind(slug)
    .bind(m)
    .fetch_one(pool)
    .await
    .unwrap()
}

fn unit_of(slug: &str) -> (Unit, bool) {
    let m = library::shipped()
        .unwrap()
        .into_iter()
        .find(|m| m.slug == slug)
        .unwrap();
    (m.unit(), m.lower_is_better)
}

fn one(html: &Html, css: &str) -> String {
    let found = texts(html, css);
    assert_eq!(found.len(), 1, "{css}: {found:?}");
    found[0].clone()
}

#[sqlx::test]
async fn an_icb_sees_its_chosen_opportunities_measured_against_england(pool: PgPool) {
    let (app, _dir) = setup(&pool).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut b = app.login_as(&editor).await;
    let page = b.get("/icbs/QE1/2024-25/prescribing").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let html = page.html();
    assert_eq!(page.h1(), "Prescribing measures, 2024/25");
    let sections: Vec<String> = html
        .select(&sel("section.app-prescribing-opportunity"))
        .map(|s| s.value().attr("id").unwrap().to_owned())
        .collect();
    assert_eq!(
        sections,
        ["opportunity-2", "opportunity-4", "opportunity-9"]
    );
    assert!(
        one(&html, "#opportunity-4 .app-prescribing__not-shown")
            .contains("Secondary care medicines")
    );
    assert!(
        one(&html, "#opportunity-9 .app-prescribing__latest")
            .contains("Latest prescribing month loaded: May 2024")
    );
    assert!(
        !texts(&html, "#opportunity-9 .app-prescribing__synthetic").is_empty(),
        "says it is synthetic"
    );

    // DOACs: the chart, and the figures it draws in its table (newest first).
    let doacs = "#prescribing-doacs-nhse";
    assert_eq!(
        html.select(&sel(&format!("{doacs} svg.medopt-chart--deciles")))
            .count(),
        1
    );
    let months = texts(&html, &format!("{doacs} table tbody th"));
    assert_eq!(months, ["May 2024", "April 2024", "March 2024"]);
    let (unit, lower_is_better) = unit_of("doacs_nhse");
    let (may, may_percentile, _, _) = icb_value(&pool, "QE1", "doacs_nhse", month(2024, 5)).await;
    let (march, _, _, _) = icb_value(&pool, "QE1", "doacs_nhse", month(2024, 3)).await;
    assert_eq!(
        texts(
            &html,
            &format!("{doacs} table tbody tr:first-child [data-col=value]")
        ),
        [unit.format(may)]
    );
    assert_eq!(
        texts(
            &html,
            &format!("{doacs} table tbody tr:first-child [data-col=percentile]")
        ),
        [ordinal(may_percentile.round() as i64)]
    );
    assert_eq!(
        one(&html, &format!("{doacs} [data-figure=latest] dd")),
        format!("{} (May 2024)", unit.format(may))
    );
    assert!(
        one(&html, &format!("{doacs} [data-figure=percentile] dd")).starts_with(&format!(
            "{} percentile",
            ordinal(may_percentile.round() as i64)
        ))
    );
    let change = one(&html, &format!("{doacs} [data-figure=change] dd"));
    assert_eq!(
        change,
        format!(
            "{} {}",
            unit.format_change(may - march),
            Verdict::of(march, may, lower_is_better).label()
        )
    );

    // A cost measure's potential saving: each month's spending beyond England's 10th
    // percentile rate, over the three months, scaled to a year.
    let mut conn = pool.acquire().await.unwrap();
    let stored = figures::measures(&mut conn, Some(2)).await.unwrap();
    let omnibus = stored
        .iter()
        .find(|m| m.measure.slug == "lp_omnibus_cost")
        .unwrap();
    let spread = figures::england_deciles(&mut conn, &[omnibus.id], month(2024, 3), month(2024, 5))
        .await
        .unwrap();
    let mut beyond = 0.0;
    for s in &spread {
        let (_, _, numerator, denominator) =
            icb_value(&pool, "QE1", "lp_omnibus_cost", s.month).await;
        beyond += numerator - s.deciles[0] / 1000.0 * denominator;
    }
    let expected = (beyond * 12.0 / 3.0).max(0.0).round() as i64;
    let saving = one(
        &html,
        "#prescribing-lp-omnibus-cost [data-figure=saving] dd",
    );
    let shown = pounds(saving.split_whitespace().next().unwrap());
    assert!(
        (shown - expected).abs() <= 1,
        "saving {saving} against £{expected}"
    );
    assert!(
        saving.contains("from March 2024 to May 2024 (3 months, scaled to a year)"),
        "{saving}"
    );

    // Another ICB's page is not disclosed.
    assert_eq!(b.get("/icbs/QYG/2024-25/prescribing").await.status, 404);
}

#[sqlx::test]
async fn the_panel_says_when_prescribing_data_cannot_help(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let year = FinancialYear::starting(2024).unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let icb: i32 = sqlx::query_scalar("select icb_id from icb where ods_code = 'QE1'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let empty = panel::for_opportunity(&mut conn, icb, 9, year)
        .await
        .unwrap();
    assert!(!empty.has_data() && empty.not_shown.is_none() && empty.measures.is_empty());
    let thirteen = panel::for_opportunity(&mut conn, icb, 13, year)
        .await
        .unwrap();
    assert!(thirteen.not_shown.unwrap().contains("no measure"));

    // An ICB without a plan for the year says so, and still names the latest month.
    let analyst = app.user(Role::NationalAnalyst, None).await;
    let mut b = app.login_as(&analyst).await;
    let page = b.get("/icbs/QOP/2024-25/prescribing").await;
    assert_eq!(page.status, 200);
    assert!(one(&page.html(), "#no-plan").contains("There is no 2024/25 plan"));
    assert!(
        page.html()
            .select(&sel("strong"))
            .any(|s| text_of(&s) == "none")
    );
}

#[sqlx::test]
async fn the_roll_ups_show_the_chosen_measures_by_icb_and_by_region(pool: PgPool) {
    let (app, _dir) = setup(&pool).await;
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;
    let mut b = app.login_as(&reviewer).await;
    let page = b.get("/regions/Y62/2024-25").await;
    assert_eq!(page.status, 200);
    let html = page.html();
    assert!(one(&html, "#prescribing .app-prescribing__latest").contains("May 2024"));
    let (unit, lower_is_better) = unit_of("doacs_nhse");
    let rows: Vec<String> = html
        .select(&sel("#prescribing-opportunity-9 tbody tr"))
        .map(|r| r.value().attr("data-code").unwrap().to_owned())
        .collect();
    assert_eq!(rows, ["QYG", "QE1"], "the ICBs that chose it, by name");
    for icb in ["QE1", "QYG"] {
        let (may, percentile, _, _) = icb_value(&pool, icb, "doacs_nhse", month(2024, 5)).await;
        let (march, _, _, _) = icb_value(&pool, icb, "doacs_nhse", month(2024, 3)).await;
        let cell = one(
            &html,
            &format!("#prescribing-opportunity-9 tr[data-code={icb}] td"),
        );
        assert_eq!(
            cell,
            format!(
                "{} {} percentile {}",
                unit.format(may),
                ordinal(percentile.round() as i64),
                Verdict::of(march, may, lower_is_better).label()
            )
        );
    }
    assert_eq!(
        texts(&html, "#prescribing-opportunity-11 tbody tr th a").len(),
        1
    );
    assert!(one(&html, "#prescribing-not-shown").starts_with("4. "));

    // Nationally: the region's choosing ICBs taken together.
    let analyst = app.user(Role::NationalAnalyst, None).await;
    let mut b = app.login_as(&analyst).await;
    let page = b.get("/national/2024-25").await;
    assert_eq!(page.status, 200);
    let html = page.html();
    let (qe1, _, qe1_n, qe1_d) = icb_value(&pool, "QE1", "doacs_nhse", month(2024, 5)).await;
    let (_, _, qyg_n, qyg_d) = icb_value(&pool, "QYG", "doacs_nhse", month(2024, 5)).await;
    assert!(qe1 > 0.0);
    let together = (qe1_n + qyg_n) / (qe1_d + qyg_d);
    let row = one(&html, "#prescribing-opportunity-9 tr[data-code=Y62] th");
    assert_eq!(row, "North West regional roll-up (2 ICBs)");
    let cell = one(&html, "#prescribing-opportunity-9 tr[data-code=Y62] td");
    assert!(cell.starts_with(&unit.format(together)), "{cell}");
}

#[sqlx::test]
async fn the_measure_library_lists_definitions_and_the_months_loaded(pool: PgPool) {
    let (app, _dir) = setup(&pool).await;
    let viewer = app.user(Role::IcbViewer, Some("QE1")).await;
    let mut b = app.login_as(&viewer).await;
    let page = b.get("/prescribing").await;
    assert_eq!(page.status, 200);
    let html = page.html();
    assert_eq!(page.h1(), "Prescribing measures");
    for m in library::shipped().unwrap() {
        assert_eq!(
            html.select(&sel(&format!("#measure-{}", m.slug))).count(),
            1,
            "{}",
            m.slug
        );
    }
    assert_eq!(texts(&html, "#months-loaded tbody tr").len(), 3);
    assert!(one(&html, "#prescribing-latest").contains("May 2024"));
    assert!(!texts(&html, "#prescribing-synthetic").is_empty());
}

#[sqlx::test]
async fn the_prescribing_export_is_documented_scoped_and_filtered(pool: PgPool) {
    let (app, _dir) = setup(&pool).await;
    let parse = |body: &str| -> (Vec<String>, Vec<Vec<String>>) {
        let body = body.strip_prefix('\u{feff}').unwrap();
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let header = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        let rows = reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect();
        (header, rows)
    };
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut b = app.login_as(&editor).await;
    let download = b.get("/exports/prescribing-measures.csv").await;
    assert_eq!(download.status, 200, "{}", download.body);
    let (header, rows) = parse(&download.body);
    assert_eq!(
        header,
        [
            "month",
            "region_code",
            "icb_code",
            "measure_slug",
            "numerator",
            "denominator",
            "value",
            "percentile"
        ]
    );
    let measures = library::shipped().unwrap().len();
    assert_eq!(
        rows.len(),
        3 * measures,
        "three months of QE1's measures only"
    );
    assert!(rows.iter().all(|r| r[1] == "Y62" && r[2] == "QE1"));
    let may = rows
        .iter()
        .find(|r| r[0] == "2024-05-01" && r[3] == "doacs_nhse")
        .unwrap();
    let (value, percentile, numerator, denominator) =
        icb_value(&pool, "QE1", "doacs_nhse", month(2024, 5)).await;
    let parsed: Vec<f64> = may[4..].iter().map(|c| c.parse().unwrap()).collect();
    assert_eq!(parsed, [numerator, denominator, value, percentile]);
    // Another ICB is out of an ICB user's scope.
    assert_eq!(
        b.get("/exports/prescribing-measures.csv?icb=QYG")
            .await
            .status,
        404
    );

    let analyst = app.user(Role::NationalAnalyst, None).await;
    let mut b = app.login_as(&analyst).await;
    let filtered = b
        .get("/exports/prescribing-measures.csv?year=2024-25&opportunity=9")
        .await;
    let (_, rows) = parse(&filtered.body);
    assert_eq!(
        rows.len(),
        2 * 42,
        "April and May (March is 2023/24), every ICB"
    );
    assert!(
        rows.iter()
            .all(|r| r[3] == "doacs_nhse" && r[0] != "2024-03-01")
    );
    let exports = b.get("/exports").await;
    assert!(
        exports
            .html()
            .select(&sel("#dataset-prescribing-measures"))
            .count()
            == 1
    );
}
