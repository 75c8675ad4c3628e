//! "To date" means one thing: April to the reporting month (or a chosen "as at" month) for every
//! workstream, ICB and roll-up; a workstream that has not reported shows as not reported; a
//! removed workstream's reported savings stay counted; forecasts do not assume unreported
//! months were delivered; totals are rounded sums and say so when rows do not add up.

use medopt::auth::Role;
use sqlx::PgPool;

use super::model::{Expected, Stored, month, pounds as whole, reporting_month};
use super::{
    check_dashboard, check_plans_csv, check_row, csv, csv_pence, csv_sum, date, figures, money, row,
};
use crate::common::{TestApp, sel, text_of, texts};
use crate::seed::{self, Ws};

/// QKK (London) with seven workstreams of £12,000 a year: every one reported April to
/// September, three of them October too.
async fn seven_workstreams(pool: &PgPool) -> Vec<i32> {
    let to_sep = [
        Some(900),
        Some(1_100),
        Some(950),
        Some(1_000),
        Some(1_050),
        Some(1_000),
    ];
    let with_oct: Vec<Option<i64>> = to_sep.iter().copied().chain([Some(700)]).collect();
    let mut workstreams: Vec<Ws> = [1, 2, 3, 4, 5]
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let ws = Ws::national(n, 12_000);
            if i < 3 {
                ws.actuals(&with_oct)
            } else {
                ws.actuals(&to_sep)
            }
        })
        .collect();
    workstreams.push(Ws::local("Care homes", 12_000).actuals(&to_sep));
    workstreams.push(Ws::local("Polypharmacy", 12_000).actuals(&to_sep));
    seed::plan(pool, "QKK", 2024, "agreed", &workstreams)
        .await
        .1
}

#[sqlx::test]
async fn one_early_return_moves_nobodys_to_date_and_unreported_workstreams_are_counted_as_such(
    pool: PgPool,
) {
    // 10 December 2024: October is the reporting month (its figures were due by 30 November).
    let today = date(2024, 12, 10);
    let app = TestApp::at(pool, today).await;
    let ids = seven_workstreams(&app.pool).await;
    let editor = app.user(Role::IcbEditor, Some("QKK")).await;
    let analyst = app.user(Role::NationalAnalyst, None).await;
    let mut ed = app.login_as(&editor).await;
    let mut an = app.login_as(&analyst).await;
    let to = reporting_month(today);
    assert_eq!(to, date(2024, 10, 1));

    let before = ed.get("/icbs/QKK/2024-25").await;
    let stored = Stored::load(&app.pool).await;
    let expected = stored.icb("QKK", 2024, to);
    check_dashboard(&before, &expected, "QKK before");
    let f = figures(&before, "#headline");
    assert_eq!(
        f["workstreams_reported"],
        "3 of 7 workstreams reported for October 2024"
    );
    // The four that have not reported October are not counted as £0 delivered: their £4,000
    // is shown apart and % of target compares the actuals with the months reported.
    assert_eq!(money(&f["not_reported_target"]), 4_000);
    assert_eq!(expected.percent(), Some(98));
    // Each workstream row says whether it reported October.
    let reported = texts(&before.html(), "#workstreams tbody [data-col=reported]");
    assert_eq!(
        reported
            .iter()
            .filter(|t| t.starts_with("Reported"))
            .count(),
        3
    );
    assert_eq!(
        reported
            .iter()
            .filter(|t| t.starts_with("Not reported"))
            .count(),
        4
    );

    // £1 for the current month on one workstream.
    let path = format!("/icbs/QKK/2024-25/workstreams/{}", ids[6]);
    let mut form = ed.form(&path, &format!("{path}/actuals")).await;
    form.set("actual_2024-12", "1");
    assert_eq!(ed.submit(&form).await.status, 303);
    let after = ed.get("/icbs/QKK/2024-25").await;
    let stored = Stored::load(&app.pool).await;
    let expected_after = stored.icb("QKK", 2024, to);
    assert_eq!(expected_after, expected, "the model: nothing to date moves");
    check_dashboard(&after, &expected, "QKK after an early return");
    assert_eq!(
        figures(&after, "#headline"),
        f,
        "the dashboard did not move"
    );

    // The region's row and total, England's, and plans.csv agree.
    let region = an.get("/regions/Y56/2024-25").await;
    assert_eq!(region.status, 200, "{}", region.body);
    check_row(
        &row(&region, "#icb-figures tr[data-ods-code=QKK]"),
        &expected,
        "QKK row",
    );
    assert!(
        row(&region, "#icb-figures tr[data-ods-code=QKK]")["reported"]
            .starts_with("3 of 7 for Oct 2024")
    );
    check_row(
        &row(&region, "#region-totals"),
        &stored.total(2024, Some("Y56"), to),
        "Y56",
    );
    let national = an.get("/national/2024-25").await;
    check_row(
        &row(&national, "tr[data-region=Y56]"),
        &stored.total(2024, Some("Y56"), to),
        "Y56 national",
    );
    check_row(
        &row(&national, "#national-totals"),
        &stored.total(2024, None, to),
        "England",
    );
    let plans = csv(&mut an, "/exports/plans.csv?year=2024-25").await;
    let qkk = plans.row_where("icb_code", "QKK");
    check_plans_csv(&qkk, &expected, "plans.csv QKK");
    assert_eq!(qkk["reporting_month"], "2024-10-01");
    assert_eq!(qkk["workstreams_reported"], "3");
    assert_eq!(qkk["workstreams_due"], "7");
}

#[sqlx::test]
async fn an_earlier_as_at_month_can_be_chosen_and_a_month_not_due_is_refused(pool: PgPool) {
    let today = date(2024, 12, 10);
    let app = TestApp::at(pool, today).await;
    seven_workstreams(&app.pool).await;
    let analyst = app.user(Role::NationalAnalyst, None).await;
    let mut an = app.login_as(&analyst).await;
    let stored = Stored::load(&app.pool).await;
    let june = date(2024, 6, 1);

    let page = an.get("/icbs/QKK/2024-25?as_at=2024-06").await;
    check_dashboard(&page, &stored.icb("QKK", 2024, june), "QKK as at June");
    assert!(figures(&page, "#headline")["reporting_month"].starts_with("June 2024"));
    let region = an.get("/regions/Y56/2024-25?as_at=2024-06").await;
    check_row(
        &row(&region, "#region-totals"),
        &stored.total(2024, Some("Y56"), june),
        "Y56 June",
    );
    // Sorting keeps the month chosen.
    let sort_link = region
        .html()
        .select(&sel("#icb-figures thead a"))
        .next()
        .and_then(|a| a.value().attr("href").map(str::to_owned))
        .unwrap();
    assert!(sort_link.contains("as_at=2024-06&sort="), "{sort_link}");
    let national = an.get("/national/2024-25?as_at=2024-06").await;
    check_row(
        &row(&national, "#national-totals"),
        &stored.total(2024, None, june),
        "England June",
    );

    for (query, message) in [
        (
            "as_at=2024-11",
            "November 2024's figures are not due yet: choose October 2024",
        ),
        ("as_at=2025-06", "Choose a month of 2024/25"),
        ("as_at=junk", "Choose a month from the list"),
    ] {
        for path in [
            "/icbs/QKK/2024-25",
            "/regions/Y56/2024-25",
            "/national/2024-25",
        ] {
            let refused = an.get(&format!("{path}?{query}")).await;
            assert_eq!(refused.status, 422, "{path}?{query}");
            let error = refused.field_error("as_at").unwrap_or_default();
            assert!(error.contains(message), "{path}?{query}: {error}");
        }
    }
    // Refused, the page shows the reporting month's figures.
    let refused = an.get("/icbs/QKK/2024-25?as_at=2024-11").await;
    check_dashboard(
        &crate::common::TestResponse {
            status: axum::http::StatusCode::OK,
            ..refused
        },
        &stored.icb("QKK", 2024, date(2024, 10, 1)),
        "refused as-at",
    );
}

#[sqlx::test]
async fn removing_a_workstream_keeps_the_savings_it_reported_in_every_total_and_export(
    pool: PgPool,
) {
    let today = date(2024, 12, 10);
    let app = TestApp::at(pool, today).await;
    let ids = seven_workstreams(&app.pool).await;
    let editor = app.user(Role::IcbEditor, Some("QKK")).await;
    let analyst = app.user(Role::NationalAnalyst, None).await;
    let mut ed = app.login_as(&editor).await;
    let mut an = app.login_as(&analyst).await;
    let to = reporting_month(today);
    let before = Stored::load(&app.pool).await.icb("QKK", 2024, to);

    // Opportunity 1 reported April to October: £6,700.
    let path = format!("/icbs/QKK/2024-25/workstreams/{}", ids[0]);
    let removal = ed
        .form(&format!("{path}/remove"), &format!("{path}/remove"))
        .await;
    assert_eq!(ed.submit(&removal).await.status, 303);

    let stored = Stored::load(&app.pool).await;
    let expected = stored.icb("QKK", 2024, to);
    assert_eq!(
        expected.actual, before.actual,
        "no delivered saving is lost"
    );
    assert_eq!(stored.workstream(ids[0], to).actual, 670_000);
    let dashboard = ed.get("/icbs/QKK/2024-25").await;
    check_dashboard(&dashboard, &expected, "QKK after removal");
    assert_eq!(
        money(&figures(&dashboard, "#headline")["actual_to_date"]),
        whole(before.actual)
    );
    // Its row stays on the dashboard, marked removed, so the rows still add up.
    let removed_row = row(
        &dashboard,
        &format!("#workstreams tr[data-workstream=\"{}\"]", ids[0]),
    );
    assert_eq!(money(&removed_row["actual_to_date"]), 6_700);
    let region = an.get("/regions/Y56/2024-25").await;
    check_row(
        &row(&region, "#icb-figures tr[data-ods-code=QKK]"),
        &expected,
        "QKK row",
    );
    let opportunity = row(&region, "tr[data-opportunity=\"1\"]");
    let e = stored.opportunity(1, 2024, Some("Y56"), to);
    assert_eq!(money(&opportunity["actual_to_date"]), whole(e.actual));
    assert_eq!(
        money(&opportunity["actual_to_date"]),
        6_700,
        "its savings stay with opportunity 1"
    );
    assert_eq!(
        row(&region, "tr[data-opportunity=\"1\"]")["icbs"],
        "0",
        "no longer chosen"
    );
    let national = an.get("/national/2024-25").await;
    check_row(
        &row(&national, "#national-totals"),
        &stored.total(2024, None, to),
        "England",
    );

    let plans = csv(&mut an, "/exports/plans.csv?year=2024-25&icb=QKK").await;
    check_plans_csv(&plans.row_where("icb_code", "QKK"), &expected, "plans.csv");
    let workstreams = csv(&mut an, "/exports/workstreams.csv?year=2024-25&icb=QKK").await;
    let removed = workstreams.row_where("workstream_id", &ids[0].to_string());
    assert_eq!(removed["removed_on"], today_utc());
    assert_eq!(csv_pence(removed["actual_to_date_gbp"]), 670_000);
    assert_eq!(
        csv_sum(&workstreams, "actual_to_date_gbp", |_| true),
        expected.actual
    );
    assert_eq!(
        csv_sum(&workstreams, "annual_target_gbp", |_| true),
        expected.annual
    );
    let monthly = csv(&mut an, "/exports/monthly-savings.csv?year=2024-25&icb=QKK").await;
    let counted = |r: &std::collections::BTreeMap<&str, &str>| {
        r["counts_in_figures"] == "true" && r["month"] <= "2024-10-01"
    };
    assert_eq!(csv_sum(&monthly, "actual_gbp", counted), expected.actual);
    assert_eq!(
        csv_sum(&monthly, "target_gbp", counted),
        expected.target_to_date
    );
}

/// Today's date in UTC, as `removed_on` records it.
fn today_utc() -> String {
    chrono::Utc::now().date_naive().to_string()
}

#[sqlx::test]
async fn a_finished_years_forecast_is_its_outturn_and_unreported_months_add_nothing(pool: PgPool) {
    // 15 June 2025: every month of 2024/25 is due.
    let today = date(2025, 6, 15);
    let app = TestApp::at(pool, today).await;
    let months: Vec<Option<i64>> = (0..10).map(|i| Some(800 + 10 * i)).collect();
    seed::plan(
        &app.pool,
        "QKK",
        2024,
        "agreed",
        &[
            // February and March never reported.
            Ws::national(1, 12_000).actuals(&months),
            Ws::national(2, 24_000).actuals(&[Some(2_000); 12]),
        ],
    )
    .await;
    seed::plan(
        &app.pool,
        "QWE",
        2024,
        "agreed",
        &[Ws::national(1, 6_000).actuals(&[Some(400); 12])],
    )
    .await;
    let analyst = app.user(Role::NationalAnalyst, None).await;
    let mut an = app.login_as(&analyst).await;
    let stored = Stored::load(&app.pool).await;
    let to = reporting_month(today);
    let expected = stored.icb("QKK", 2024, to);
    assert_eq!(
        expected.forecast(),
        expected.actual,
        "the year is over: the forecast is the outturn"
    );
    assert_eq!(expected.run_rate, Some(expected.actual));
    assert_eq!(
        expected.not_reported(),
        2_000 * 100,
        "February and March of opportunity 1"
    );

    let page = an.get("/icbs/QKK/2024-25").await;
    check_dashboard(&page, &expected, "QKK 2024/25");
    let f = figures(&page, "#headline");
    assert_eq!(money(&f["forecast_outturn"]), money(&f["actual_to_date"]));
    assert!(
        f["reporting_month"].starts_with("March 2025"),
        "{}",
        f["reporting_month"]
    );

    let region = an.get("/regions/Y56/2024-25").await;
    check_row(
        &row(&region, "#icb-figures tr[data-ods-code=QKK]"),
        &expected,
        "QKK",
    );
    check_row(
        &row(&region, "#region-totals"),
        &stored.total(2024, Some("Y56"), to),
        "Y56",
    );
    let national = an.get("/national/2024-25").await;
    check_row(
        &row(&national, "#national-totals"),
        &stored.total(2024, None, to),
        "England",
    );
    let plans = csv(&mut an, "/exports/plans.csv?year=2024-25").await;
    for code in ["QKK", "QWE"] {
        check_plans_csv(
            &plans.row_where("icb_code", code),
            &stored.icb(code, 2024, to),
            code,
        );
    }
}

#[sqlx::test]
async fn totals_are_rounded_sums_and_rows_that_do_not_add_up_carry_a_note(pool: PgPool) {
    let today = date(2024, 12, 10);
    let app = TestApp::at(pool, today).await;
    // Three workstreams of £0.50 a year: each row shows £1, the total £2 (£1.50 rounded).
    let half = |n: i16| Ws::national(n, 0).phased(&[50]).actual_pence(&[Some(50)]);
    seed::plan(
        &app.pool,
        "QKK",
        2024,
        "agreed",
        &[half(1), half(2), half(3)],
    )
    .await;
    seed::plan(&app.pool, "QWE", 2024, "agreed", &[Ws::national(1, 1_200)]).await;
    let analyst = app.user(Role::NationalAnalyst, None).await;
    let mut an = app.login_as(&analyst).await;
    let stored = Stored::load(&app.pool).await;
    let to = reporting_month(today);

    let page = an.get("/icbs/QKK/2024-25").await;
    check_dashboard(&page, &stored.icb("QKK", 2024, to), "QKK");
    let html = page.html();
    let annual: Vec<i64> = html
        .select(&sel("#workstreams tbody [data-col=annual_target]"))
        .map(|td| money(&text_of(&td)))
        .collect();
    assert_eq!(annual, [1, 1, 1]);
    assert_eq!(money(&row(&page, "#workstream-totals")["annual_target"]), 2);
    let note = texts(&html, "#rounding-note").join(" ");
    assert!(
        note.contains("annual targets add up to £1 more than the total"),
        "{note}"
    );
    // Where the rows do add up, no note.
    let other = an.get("/icbs/QWE/2024-25").await;
    assert!(texts(&other.html(), "#rounding-note").is_empty());
    // The region's total is the rounded sum of its plans too.
    let region = an.get("/regions/Y56/2024-25").await;
    check_row(
        &row(&region, "#region-totals"),
        &stored.total(2024, Some("Y56"), to),
        "Y56",
    );
}

/// A seeded pseudo-random generator, so a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

/// Random plans for London's five ICBs: targets phased unevenly, gaps in reporting, early
/// returns, removed workstreams with and without savings, negative savings.
async fn random_region(pool: &PgPool, seed: u64) {
    let mut rng = Lcg(seed);
    for code in ["QMJ", "QMF", "QRV", "QKK", "QWE"] {
        if rng.next(5) == 0 {
            continue;
        }
        let mut workstreams = Vec::new();
        let mut numbers: Vec<i16> = (1..=16).collect();
        for _ in 0..(2 + rng.next(6)) {
            let n = numbers.remove(rng.next(numbers.len() as u64) as usize);
            let phased: Vec<i64> = (0..12).map(|_| rng.next(500_000) as i64).collect();
            let reported_to = rng.next(12) as usize;
            let actual: Vec<Option<i64>> = (0..12)
                .map(|i| {
                    (i <= reported_to && rng.next(6) != 0)
                        .then(|| rng.next(600_000) as i64 - 50_000)
                })
                .collect();
            let mut ws = Ws::national(n, 0).phased(&phased).actual_pence(&actual);
            if rng.next(6) == 0 {
                ws = ws.removed();
            }
            workstreams.push(ws);
        }
        if rng.next(2) == 0 {
            workstreams.push(Ws::local("Local", 0).phased(&[rng.next(900_000) as i64; 12]));
        }
        if rng.next(3) == 0 {
            // A cost pressure: a planned spending increase, with its (negative) actuals.
            let actual: Vec<Option<i64>> =
                (0..8).map(|_| Some(-(rng.next(300_000) as i64))).collect();
            workstreams.push(
                Ws::local("More anticoagulation", 0)
                    .phased(&[-(rng.next(300_000) as i64); 12])
                    .actual_pence(&actual)
                    .cost_pressure(),
            );
        }
        seed::plan(pool, code, 2024, "agreed", &workstreams).await;
    }
}

#[sqlx::test]
async fn random_plans_match_the_independent_computation_on_every_page_and_export(pool: PgPool) {
    let today = date(2025, 1, 20);
    let app = TestApp::at(pool, today).await;
    let analyst = app.user(Role::NationalAnalyst, None).await;
    let mut an = app.login_as(&analyst).await;
    for seed_value in [7_u64, 1_234, 99_991] {
        sqlx::raw_sql("delete from workstream_month; delete from workstream; delete from plan;")
            .execute(&app.pool)
            .await
            .unwrap();
        random_region(&app.pool, seed_value).await;
        let stored = Stored::load(&app.pool).await;
        for as_at in [None, Some(month(2024, 3)), Some(month(2024, 5))] {
            let to = as_at.unwrap_or(reporting_month(today));
            let query =
                as_at.map_or_else(String::new, |m| format!("?as_at={}", &m.to_string()[..7]));
            let what = |w: &str| format!("seed {seed_value}, to {to}: {w}");
            let region = an.get(&format!("/regions/Y56/2024-25{query}")).await;
            assert_eq!(region.status, 200, "{}", region.body);
            for code in ["QMJ", "QMF", "QRV", "QKK", "QWE"] {
                let expected = stored.icb(code, 2024, to);
                if stored.plan_of(code, 2024).is_some() {
                    let page = an.get(&format!("/icbs/{code}/2024-25{query}")).await;
                    check_dashboard(&page, &expected, &what(code));
                    // The rows add up to the headline (to the pound, with the note otherwise).
                    let html = page.html();
                    let sum: i64 = html
                        .select(&sel("#workstreams tbody [data-col=actual_to_date]"))
                        .map(|td| money(&text_of(&td)))
                        .sum();
                    let total = money(&row(&page, "#workstream-totals")["actual_to_date"]);
                    assert!(
                        sum == total || !texts(&html, "#rounding-note").is_empty(),
                        "{}",
                        what(code)
                    );
                }
                check_row(
                    &row(&region, &format!("#icb-figures tr[data-ods-code={code}]")),
                    &expected,
                    &what(code),
                );
            }
            check_row(
                &row(&region, "#region-totals"),
                &stored.total(2024, Some("Y56"), to),
                &what("Y56"),
            );
            for n in 1..=16_i16 {
                let cells = row(&region, &format!("tr[data-opportunity=\"{n}\"]"));
                let e = stored.opportunity(n, 2024, Some("Y56"), to);
                assert_eq!(
                    money(&cells["actual_to_date"]),
                    whole(e.actual),
                    "{} opportunity {n}",
                    what("")
                );
                assert_eq!(
                    money(&cells["target_to_date"]),
                    whole(e.target_to_date),
                    "{} opportunity {n}",
                    what("")
                );
            }
            let national = an.get(&format!("/national/2024-25{query}")).await;
            check_row(
                &row(&national, "#national-totals"),
                &stored.total(2024, None, to),
                &what("England"),
            );
        }
        let to = reporting_month(today);
        let plans = csv(&mut an, "/exports/plans.csv?year=2024-25&region=Y56").await;
        for code in ["QMJ", "QMF", "QRV", "QKK", "QWE"] {
            if stored.plan_of(code, 2024).is_some() {
                check_plans_csv(
                    &plans.row_where("icb_code", code),
                    &stored.icb(code, 2024, to),
                    code,
                );
            }
        }
        let total: Expected = stored.total(2024, Some("Y56"), to);
        let ws = csv(&mut an, "/exports/workstreams.csv?year=2024-25&region=Y56").await;
        assert_eq!(
            csv_sum(&ws, "actual_to_date_gbp", |_| true),
            total.actual,
            "seed {seed_value}"
        );
        assert_eq!(
            csv_sum(&ws, "target_to_date_gbp", |_| true),
            total.target_to_date
        );
        assert_eq!(csv_sum(&ws, "annual_target_gbp", |_| true), total.annual);
    }
}
