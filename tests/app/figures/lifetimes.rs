//! Mergers and lifetimes: an ICB answers for the months it existed in; recording a merger never
//! makes savings disappear; a mid-year merger splits targets and actuals at the date; a merged
//! or split ICB can be compared with its predecessors (restated on today's organisations); the
//! exports name the successors of closed ICBs. Every total is checked on every page and export
//! that shows it, against the independent computation.

use medopt::auth::Role;
use sqlx::PgPool;

use super::model::{Stored, pounds as whole, reporting_month};
use super::{check_dashboard, check_plans_csv, check_row, csv, csv_sum, date, figures, money, row};
use crate::common::{Browser, TestApp, texts};
use crate::seed::{self, Ws};

/// Adds an ICB through the administration page.
async fn add_icb(admin: &mut Browser<'_>, code: &str, name: &str, from: &str) {
    let added = admin
        .post(
            "/admin/organisations/icbs",
            &[
                ("ods_code", code),
                ("name", name),
                ("region", "Y56"),
                ("valid_from", from),
            ],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
}

/// Records that `predecessors` were succeeded by `successor` from `from`, through the page.
async fn succession(
    admin: &mut Browser<'_>,
    predecessors: &[&str],
    successor: &str,
    from: &str,
) -> crate::common::TestResponse {
    let mut fields: Vec<(&str, &str)> = predecessors.iter().map(|p| ("predecessors", *p)).collect();
    fields.push(("successor", successor));
    fields.push(("effective_from", from));
    admin
        .post("/admin/organisations/successions", &fields)
        .await
}

/// QKK and QMF with full-year plans reported April to September.
async fn two_full_year_plans(pool: &PgPool) {
    let to_sep: Vec<Option<i64>> = (0..6).map(|i| Some(900 + 20 * i)).collect();
    seed::plan(
        pool,
        "QKK",
        2024,
        "agreed",
        &[
            Ws::national(1, 120_000).actuals(&to_sep),
            Ws::national(4, 60_000).actuals(&to_sep),
            Ws::local("Care homes", 24_000).actuals(&to_sep),
        ],
    )
    .await;
    seed::plan(
        pool,
        "QMF",
        2024,
        "submitted",
        &[
            Ws::national(1, 48_000).actuals(&to_sep),
            Ws::national(2, 36_000).actuals(&to_sep),
        ],
    )
    .await;
}

#[sqlx::test]
async fn actuals_for_months_before_an_icb_existed_or_after_it_closed_are_refused(pool: PgPool) {
    let app = TestApp::at(pool, date(2025, 1, 20)).await;
    let admin = app.user(Role::Admin, None).await;
    // An account of QKK's made while it existed.
    let predecessor = app.user(Role::IcbEditor, Some("QKK")).await;
    let mut ad = app.login_as(&admin).await;
    two_full_year_plans(&app.pool).await;
    add_icb(
        &mut ad,
        "QZZ",
        "NHS South London Integrated Care Board",
        "2024-10-01",
    )
    .await;
    let merged = succession(&mut ad, &["QKK", "QMF"], "QZZ", "2024-10-01").await;
    assert_eq!(merged.status, 303, "{}", merged.body);
    let (_, ids) = seed::plan(
        &app.pool,
        "QZZ",
        2024,
        "draft",
        &[Ws::national(1, 0).phased(&[
            0, 0, 0, 0, 0, 0, 10_000, 10_000, 10_000, 10_000, 10_000, 10_000,
        ])],
    )
    .await;
    let before = seed::snapshot(&app.pool).await;

    let successor = app.user(Role::IcbEditor, Some("QZZ")).await;
    let mut zz = app.login_as(&successor).await;
    let path = format!("/icbs/QZZ/2024-25/workstreams/{}", ids[0]);
    let mut form = zz.form(&path, &format!("{path}/actuals")).await;
    form.set("actual_2024-09", "500")
        .set("actual_2024-10", "400");
    let refused = zz.submit(&form).await;
    assert_eq!(refused.status, 422);
    assert_eq!(
        refused.field_error("actual_2024-09").unwrap(),
        "Error: NHS South London Integrated Care Board did not exist in September 2024: it started on 1 October 2024"
    );
    assert_eq!(seed::snapshot(&app.pool).await, before, "nothing was saved");

    let mut kk = app.login_as(&predecessor).await;
    let qkk_ws: i32 = sqlx::query_scalar(
        "select w.workstream_id from workstream w join icb i using (icb_id) where i.ods_code = 'QKK' order by 1 limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let path = format!("/icbs/QKK/2024-25/workstreams/{qkk_ws}");
    let mut form = kk.form(&path, &format!("{path}/actuals")).await;
    form.set("actual_2024-10", "300");
    let refused = kk.submit(&form).await;
    assert_eq!(refused.status, 422);
    assert!(
        refused
            .field_error("actual_2024-10")
            .unwrap()
            .ends_with("did not exist in October 2024: it closed on 30 September 2024"),
        "{:?}",
        refused.field_error("actual_2024-10")
    );
    assert_eq!(seed::snapshot(&app.pool).await, before);

    // October is the successor's.
    let path = format!("/icbs/QZZ/2024-25/workstreams/{}", ids[0]);
    let mut form = zz.form(&path, &format!("{path}/actuals")).await;
    form.set("actual_2024-10", "400");
    assert_eq!(zz.submit(&form).await.status, 303);
}

#[sqlx::test]
async fn a_merger_that_would_make_recorded_savings_disappear_is_refused(pool: PgPool) {
    let today = date(2024, 12, 10);
    let app = TestApp::at(pool, today).await;
    two_full_year_plans(&app.pool).await;
    let admin = app.user(Role::Admin, None).await;
    let mut ad = app.login_as(&admin).await;
    add_icb(
        &mut ad,
        "QZZ",
        "NHS South London Integrated Care Board",
        "2024-04-01",
    )
    .await;
    let to = reporting_month(today);
    let stored = Stored::load(&app.pool).await;
    let england = stored.total(2024, None, to);
    let organisations = || async {
        sqlx::query_scalar::<_, String>(
            "select format('%s', i) from icb i union all select format('%s', s) from icb_succession s order by 1",
        )
        .fetch_all(&app.pool)
        .await
        .unwrap()
    };
    let before = organisations().await;

    // Backdated to the start of the year the predecessors planned and reported.
    let refused = succession(&mut ad, &["QKK", "QMF"], "QZZ", "2024-04-01").await;
    assert_eq!(refused.status, 422);
    let error = refused.field_error("effective_from").unwrap();
    assert!(
        error.contains("NHS North East London Integrated Care Board has a 2024/25 plan, which would stop counting"),
        "{error}"
    );
    assert!(error.contains("enter 1 May 2024 or later"), "{error}");
    // From a month the predecessors have reported.
    let refused = succession(&mut ad, &["QKK", "QMF"], "QZZ", "2024-08-01").await;
    let error = refused.field_error("effective_from").unwrap();
    assert!(
        error.contains("has actual savings recorded for September 2024, which would stop counting: enter 1 October 2024 or later"),
        "{error}"
    );
    // Not the first of a month.
    let refused = succession(&mut ad, &["QKK", "QMF"], "QZZ", "2024-10-15").await;
    assert!(
        refused
            .field_error("effective_from")
            .unwrap()
            .contains("first day of a month"),
        "{:?}",
        refused.field_error("effective_from")
    );
    assert_eq!(organisations().await, before, "nothing was recorded");

    // Every page and export that shows a total still counts the predecessors' savings.
    let analyst = app.user(Role::NationalAnalyst, None).await;
    let mut an = app.login_as(&analyst).await;
    for code in ["QKK", "QMF"] {
        let page = an.get(&format!("/icbs/{code}/2024-25")).await;
        check_dashboard(&page, &stored.icb(code, 2024, to), code);
    }
    let national = an.get("/national/2024-25").await;
    check_row(&row(&national, "#national-totals"), &england, "England");
    let region = an.get("/regions/Y56/2024-25").await;
    let y56 = stored.total(2024, Some("Y56"), to);
    check_row(&row(&region, "#region-totals"), &y56, "Y56");
    for code in ["QKK", "QMF"] {
        let css = format!("#icb-figures tr[data-ods-code={code}]");
        check_row(&row(&region, &css), &stored.icb(code, 2024, to), code);
    }
    for n in [1_i16, 2, 4] {
        let cells = row(&national, &format!("tr[data-opportunity=\"{n}\"]"));
        let e = stored.opportunity(n, 2024, None, to);
        assert_eq!(
            money(&cells["actual_to_date"]),
            whole(e.actual),
            "opportunity {n}"
        );
    }
    let plans = csv(&mut an, "/exports/plans.csv?year=2024-25").await;
    assert_eq!(
        csv_sum(&plans, "actual_to_date_gbp", |_| true),
        england.actual
    );
    assert_eq!(
        csv_sum(&plans, "annual_target_gbp", |_| true),
        england.annual
    );
    let ws = csv(&mut an, "/exports/workstreams.csv?year=2024-25").await;
    assert_eq!(csv_sum(&ws, "actual_to_date_gbp", |_| true), england.actual);
    let monthly = csv(&mut an, "/exports/monthly-savings.csv?year=2024-25").await;
    assert_eq!(
        csv_sum(&monthly, "actual_gbp", |r| r["counts_in_figures"] == "true"),
        england.actual
    );
}

/// The mid-year merger of QKK and QMF into QZZ from 1 October 2024, with QZZ's own plan for
/// October to March reported for October and November.
async fn mid_year_merger(app: &TestApp) {
    two_full_year_plans(&app.pool).await;
    let admin = app.user(Role::Admin, None).await;
    let mut ad = app.login_as(&admin).await;
    add_icb(
        &mut ad,
        "QZZ",
        "NHS South London Integrated Care Board",
        "2024-10-01",
    )
    .await;
    let merged = succession(&mut ad, &["QKK", "QMF"], "QZZ", "2024-10-01").await;
    assert_eq!(merged.status, 303, "{}", merged.body);
    let half = [
        0, 0, 0, 0, 0, 0, 1_500_000, 1_500_000, 1_500_000, 1_500_000, 1_500_000, 1_500_000,
    ];
    seed::plan(
        &app.pool,
        "QZZ",
        2024,
        "draft",
        &[
            Ws::national(1, 0).phased(&half).actual_pence(&[
                None,
                None,
                None,
                None,
                None,
                None,
                Some(1_400_000),
                Some(1_600_000),
            ]),
            Ws::local("Care homes", 0)
                .phased(&[
                    0, 0, 0, 0, 0, 0, 200_000, 200_000, 200_000, 200_000, 200_000, 200_000,
                ])
                .actual_pence(&[None, None, None, None, None, None, Some(210_000)]),
        ],
    )
    .await;
}

#[sqlx::test]
async fn a_mid_year_merger_splits_targets_and_actuals_at_the_date_on_every_page_and_export(
    pool: PgPool,
) {
    // 20 January 2025: November is the reporting month.
    let today = date(2025, 1, 20);
    let app = TestApp::at(pool, today).await;
    mid_year_merger(&app).await;
    let analyst = app.user(Role::NationalAnalyst, None).await;
    let mut an = app.login_as(&analyst).await;
    let stored = Stored::load(&app.pool).await;
    let to = reporting_month(today);

    // No double counting: the predecessors count April to September, QZZ October to March.
    let qkk = stored.icb("QKK", 2024, to);
    assert_eq!(
        qkk.annual,
        (60_000 + 30_000 + 12_000) * 100,
        "half of QKK's year"
    );
    assert_eq!(qkk.planned_after, 0, "nothing of QKK's after September");
    assert_eq!(stored.icb("QZZ", 2024, to).annual, (90_000 + 12_000) * 100);
    for code in ["QKK", "QMF", "QZZ"] {
        let page = an.get(&format!("/icbs/{code}/2024-25")).await;
        check_dashboard(&page, &stored.icb(code, 2024, to), code);
    }
    let qkk_page = an.get("/icbs/QKK/2024-25").await;
    assert_eq!(
        texts(&qkk_page.html(), "#lifetime-note p").join(""),
        "NHS South East London Integrated Care Board closed on 30 September 2024: its figures for 2024/25 count from April 2024 to September 2024, the months it existed in."
    );
    assert!(figures(&qkk_page, "#headline")["reporting_month"].starts_with("September 2024"));

    let region = an.get("/regions/Y56/2024-25").await;
    for code in ["QKK", "QMF", "QZZ", "QWE"] {
        check_row(
            &row(&region, &format!("#icb-figures tr[data-ods-code={code}]")),
            &stored.icb(code, 2024, to),
            code,
        );
    }
    let y56 = stored.total(2024, Some("Y56"), to);
    check_row(&row(&region, "#region-totals"), &y56, "Y56");
    for n in [1_i16, 2, 4] {
        let cells = row(&region, &format!("tr[data-opportunity=\"{n}\"]"));
        let e = stored.opportunity(n, 2024, Some("Y56"), to);
        assert_eq!(
            money(&cells["annual_target"]),
            whole(e.annual),
            "opportunity {n}"
        );
        assert_eq!(
            money(&cells["actual_to_date"]),
            whole(e.actual),
            "opportunity {n}"
        );
    }
    let national = an.get("/national/2024-25").await;
    check_row(&row(&national, "tr[data-region=Y56]"), &y56, "Y56 national");
    check_row(
        &row(&national, "#national-totals"),
        &stored.total(2024, None, to),
        "England",
    );

    let plans = csv(&mut an, "/exports/plans.csv?year=2024-25&region=Y56").await;
    for code in ["QKK", "QMF", "QZZ"] {
        check_plans_csv(
            &plans.row_where("icb_code", code),
            &stored.icb(code, 2024, to),
            code,
        );
    }
    assert_eq!(
        plans.row_where("icb_code", "QKK")["successor_icb_code"],
        "QZZ"
    );
    assert_eq!(plans.row_where("icb_code", "QZZ")["successor_icb_code"], "");
    assert_eq!(csv_sum(&plans, "annual_target_gbp", |_| true), y56.annual);
    let ws = csv(&mut an, "/exports/workstreams.csv?year=2024-25&region=Y56").await;
    assert_eq!(csv_sum(&ws, "annual_target_gbp", |_| true), y56.annual);
    assert_eq!(csv_sum(&ws, "actual_to_date_gbp", |_| true), y56.actual);
    let monthly = csv(
        &mut an,
        "/exports/monthly-savings.csv?year=2024-25&region=Y56",
    )
    .await;
    assert_eq!(
        csv_sum(&monthly, "target_gbp", |r| r["counts_in_figures"] == "true"),
        y56.planned_total
    );
    assert!(
        monthly
            .records()
            .iter()
            .filter(|r| r["icb_code"] == "QKK")
            .all(|r| r["successor_icb_code"] == "QZZ")
    );
}

#[sqlx::test]
async fn restated_figures_sum_the_predecessors_and_count_a_split_once(pool: PgPool) {
    // 15 June 2025: 2024/25 is over; QRV was split into QZ1 and QZ2 from 1 April 2025.
    let today = date(2025, 6, 15);
    let app = TestApp::at(pool, today).await;
    mid_year_merger(&app).await;
    seed::plan(
        &app.pool,
        "QRV",
        2024,
        "agreed",
        &[Ws::national(3, 24_000).actuals(&[Some(2_100); 12])],
    )
    .await;
    let admin = app.user(Role::Admin, None).await;
    let mut ad = app.login_as(&admin).await;
    for code in ["QZ1", "QZ2"] {
        add_icb(
            &mut ad,
            code,
            &format!("NHS Split {code} Integrated Care Board"),
            "2025-04-01",
        )
        .await;
        let split = succession(&mut ad, &["QRV"], code, "2025-04-01").await;
        assert_eq!(split.status, 303, "{}", split.body);
    }
    let stored = Stored::load(&app.pool).await;
    let to = reporting_month(today);
    let analyst = app.user(Role::NationalAnalyst, None).await;
    let mut an = app.login_as(&analyst).await;

    let qzz = stored.restated("QZZ", 2024, to, today);
    assert_eq!(
        qzz,
        stored.icb("QKK", 2024, to) + stored.icb("QMF", 2024, to) + stored.icb("QZZ", 2024, to)
    );
    let page = an.get("/icbs/QZZ/2024-25?view=restated").await;
    let restated = figures(&page, "#restated");
    assert_eq!(money(&restated["annual_target"]), whole(qzz.annual));
    assert_eq!(
        money(&restated["target_to_date"]),
        whole(qzz.target_to_date)
    );
    assert_eq!(money(&restated["actual_to_date"]), whole(qzz.actual));
    assert_eq!(money(&restated["forecast_outturn"]), whole(qzz.forecast()));
    assert!(restated["sources"].contains("(QKK)") && restated["sources"].contains("(QMF)"));
    // As recorded stays beside it.
    check_dashboard(&page, &stored.icb("QZZ", 2024, to), "QZZ as recorded");
    // Each successor of the split shows all of QRV's figures, with a note.
    let qrv = stored.icb("QRV", 2024, to);
    for code in ["QZ1", "QZ2"] {
        let page = an.get(&format!("/icbs/{code}/2024-25?view=restated")).await;
        assert_eq!(
            money(&figures(&page, "#restated")["actual_to_date"]),
            whole(qrv.actual),
            "{code}"
        );
        assert!(
            !texts(&page.html(), "#restated-split-note").is_empty(),
            "{code}"
        );
    }
    let old = an.get("/icbs/QRV/2024-25?view=restated").await;
    assert!(
        texts(&old.html(), "#restated-successors")
            .join("")
            .contains("carried on by")
    );

    // The region: every plan once in the total, though QRV's shows under two rows.
    let region = an.get("/regions/Y56/2024-25?view=restated").await;
    assert_eq!(region.status, 200, "{}", region.body);
    for code in ["QZZ", "QZ1", "QZ2", "QWE"] {
        check_row(
            &row(
                &region,
                &format!("#restated-figures tr[data-ods-code={code}]"),
            ),
            &stored.restated(code, 2024, to, today),
            code,
        );
    }
    let y56 = stored.total(2024, Some("Y56"), to);
    check_row(
        &row(&region, "#restated-figures-total"),
        &y56,
        "Y56 restated",
    );
    assert!(
        texts(&region.html(), "#restated-figures-note")
            .join("")
            .contains("split")
    );
    // As recorded on the same page, the same total.
    check_row(&row(&region, "#region-totals"), &y56, "Y56 as recorded");
    let national = an.get("/national/2024-25?view=restated").await;
    check_row(
        &row(&national, "#restated-england"),
        &stored.total(2024, None, to),
        "England restated",
    );
    check_row(
        &row(&national, "#restated-regions tr[data-region=Y56]"),
        &y56,
        "Y56 restated nationally",
    );

    let plans = csv(&mut an, "/exports/plans.csv?year=2024-25&region=Y56").await;
    assert_eq!(
        plans.row_where("icb_code", "QRV")["successor_icb_code"],
        // The test's split, and the reference data's 2026 merger into Z9B2Z.
        "QZ1;QZ2;Z9B2Z"
    );
    check_plans_csv(&plans.row_where("icb_code", "QRV"), &qrv, "QRV");
    assert_eq!(csv_sum(&plans, "actual_to_date_gbp", |_| true), y56.actual);
    // As recorded, the split changes nothing of 2024/25: QRV's plan, once, everywhere.
    let page = an.get("/icbs/QRV/2024-25").await;
    check_dashboard(&page, &qrv, "QRV as recorded");
    check_row(
        &row(&region, "#icb-figures tr[data-ods-code=QRV]"),
        &qrv,
        "QRV",
    );
    let opportunity = row(&region, "tr[data-opportunity=\"3\"]");
    assert_eq!(
        money(&opportunity["actual_to_date"]),
        whole(qrv.actual),
        "opportunity 3"
    );
    let ws = csv(&mut an, "/exports/workstreams.csv?year=2024-25&icb=QRV").await;
    assert_eq!(ws.values("successor_icb_code"), ["QZ1;QZ2;Z9B2Z"]);
    assert_eq!(csv_sum(&ws, "actual_to_date_gbp", |_| true), qrv.actual);
    let monthly = csv(&mut an, "/exports/monthly-savings.csv?year=2024-25&icb=QRV").await;
    assert!(
        monthly
            .values("successor_icb_code")
            .iter()
            .all(|c| *c == "QZ1;QZ2;Z9B2Z")
    );
    let counted = |r: &std::collections::BTreeMap<&str, &str>| r["counts_in_figures"] == "true";
    assert_eq!(csv_sum(&monthly, "actual_gbp", counted), qrv.actual);
    // A finished year: the forecast is the outturn, counted once.
    assert_eq!(qrv.forecast(), qrv.actual);
}

#[sqlx::test]
async fn a_successors_users_see_their_predecessors_figures_restated_but_not_their_pages(
    pool: PgPool,
) {
    let today = date(2025, 1, 20);
    let app = TestApp::at(pool, today).await;
    mid_year_merger(&app).await;
    let stored = Stored::load(&app.pool).await;
    let to = reporting_month(today);
    let editor = app.user(Role::IcbEditor, Some("QZZ")).await;
    let mut ed = app.login_as(&editor).await;
    let page = ed.get("/icbs/QZZ/2024-25?view=restated").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        money(&figures(&page, "#restated")["actual_to_date"]),
        whole(stored.restated("QZZ", 2024, to, today).actual)
    );
    assert_eq!(ed.get("/icbs/QKK/2024-25").await.status, 404);
    // Another ICB's user does not see the merged ICB's history.
    let other = app.user(Role::IcbEditor, Some("QWE")).await;
    let mut we = app.login_as(&other).await;
    assert_eq!(we.get("/icbs/QZZ/2024-25?view=restated").await.status, 404);
}
