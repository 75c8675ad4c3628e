//! Money that adds up: a workstream's phasing sums exactly to its annual target, only a cost
//! pressure goes below zero, the database refuses anything else at commit, rows stored before
//! the rules are listed rather than changed, submitting checks the plan (the reviewer sees the
//! same checks), and monthly rows outside the plan's year cannot be stored.

use medopt::auth::Role;
use sqlx::PgPool;

use super::date;
use crate::common::{FormState, TestApp, texts};
use crate::plans::{BASE, PLAN, choose, set_target, start_plan, workstream_paths};
use crate::seed::{self, Ws};

/// The phased months of each workstream against its target, from the stored rows.
async fn sums(pool: &PgPool) -> Vec<(i32, i64, i64, bool)> {
    sqlx::query_as(
        "select w.workstream_id, w.annual_target_pence,
                coalesce((select sum(planned_pence) from workstream_month m where m.workstream_id = w.workstream_id), 0)::bigint,
                w.cost_pressure
         from workstream w order by 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test]
async fn phasing_must_add_up_and_only_a_cost_pressure_goes_below_zero(pool: PgPool) {
    let app = TestApp::at(pool, date(2024, 12, 10)).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut ed = app.login_as(&editor).await;
    start_plan(&mut ed).await;
    choose(&mut ed, &[1, 7]).await;
    let paths = workstream_paths(&mut ed).await;
    let path = &paths[0];
    let before = seed::snapshot(&app.pool).await;

    // Months that do not add up to the target: refused by the phasing, nothing stored.
    let mut form = ed.form(path, &format!("{path}/target")).await;
    form.set("annual_target", "12,000").set("action", "save");
    for m in ["2024-04", "2024-05", "2024-06"] {
        form.set(&format!("planned_{m}"), "1,000");
    }
    let refused = ed.submit(&form).await;
    assert_eq!(refused.status, 422);
    assert_eq!(
        refused.field_error("phasing").unwrap(),
        "Error: The months add up to £3,000, which is £9,000 less than the annual target of £12,000: change the months or the target, or save and split evenly"
    );
    // The error summary leads to the first month.
    assert_eq!(
        texts(
            &refused.html(),
            ".nhsuk-error-summary a[href='#planned_2024-04']"
        )
        .len(),
        1
    );
    // A negative target or month without the cost-pressure mark.
    let mut form = ed.form(path, &format!("{path}/target")).await;
    form.set("annual_target", "-12,000").set("action", "split");
    let refused = ed.submit(&form).await;
    assert!(
        refused
            .field_error("annual_target")
            .unwrap()
            .contains("mark the workstream as a cost pressure")
    );
    let mut form = ed.form(path, &format!("{path}/target")).await;
    form.set("annual_target", "0").set("action", "save");
    form.set("planned_2024-05", "-500")
        .set("planned_2024-06", "500");
    let refused = ed.submit(&form).await;
    assert_eq!(
        refused.field_error("planned_2024-05").unwrap(),
        "Error: May 2024: a month's target cannot be negative unless the workstream is a cost pressure"
    );
    assert_eq!(seed::snapshot(&app.pool).await, before, "nothing was saved");

    // A cost pressure: more anticoagulation after AF detection.
    let mut form = ed.form(&paths[1], &format!("{}/target", paths[1])).await;
    form.set("annual_target", "-24,000")
        .set("cost_pressure", "yes")
        .set("action", "split");
    assert_eq!(ed.submit(&form).await.status, 303);
    let page = ed.get(&paths[1]).await;
    assert!(
        texts(
            &page.html(),
            "#figures [data-figure=annual_target] .nhsuk-tag"
        )
        .contains(&"Cost pressure".to_owned())
    );
    let dashboard = ed.get(BASE).await;
    assert!(
        texts(&dashboard.html(), "#workstreams .nhsuk-tag").contains(&"Cost pressure".to_owned())
    );
    assert_eq!(set_target(&mut ed, path, "12,000").await.status, 303);

    // Independently: every stored workstream's months add up to its target, and only the cost
    // pressure is negative.
    for (id, target, phased, cost_pressure) in sums(&app.pool).await {
        assert_eq!(phased, target, "workstream {id}");
        assert_eq!(target < 0, cost_pressure, "workstream {id}");
    }

    // The database refuses the same from anyone, at commit.
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query(
        "update workstream_month set planned_pence = planned_pence + 1 where month = '2024-04-01'",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    let error = tx.commit().await.unwrap_err();
    assert!(error.to_string().contains("adds up to"), "{error}");
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("update workstream set cost_pressure = false where annual_target_pence < 0")
        .execute(&mut *tx)
        .await
        .unwrap_err();
    drop(tx);
    for (id, target, phased, _) in sums(&app.pool).await {
        assert_eq!(phased, target, "workstream {id}");
    }
}

#[sqlx::test]
async fn rows_stored_before_the_rules_are_listed_not_changed_and_still_take_actuals(pool: PgPool) {
    let app = TestApp::at(pool, date(2024, 12, 10)).await;
    let (_, ids) = seed::plan(&app.pool, "QE1", 2024, "draft", &[Ws::national(1, 12_000)]).await;
    // As an old release could have stored it: the triggers are not run for this session.
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("set local session_replication_role = replica")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("update workstream_month set planned_pence = 0 where workstream_id = $1 and month = '2024-04-01'")
        .bind(ids[0])
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let before = seed::snapshot(&app.pool).await;

    let problems = medopt::figures::check::problems(&app.pool).await.unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(
        problems[0].problem,
        "phasing does not add up to the annual target"
    );
    assert_eq!(problems[0].ods_code, "QE1");
    assert_eq!(problems[0].year, "2024/25");
    assert_eq!(problems[0].workstream_id, ids[0]);
    assert_eq!(
        seed::snapshot(&app.pool).await,
        before,
        "listed, not changed"
    );

    // Recording progress on it still works; changing its target must put the phasing right.
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut ed = app.login_as(&editor).await;
    let path = format!("{BASE}/workstreams/{}", ids[0]);
    let mut form = ed.form(&path, &format!("{path}/actuals")).await;
    form.set("actual_2024-04", "900");
    assert_eq!(ed.submit(&form).await.status, 303);
    let page = ed.get(&path).await;
    assert!(
        texts(&page.html(), "#phasing-mismatch p")
            .join("")
            .contains("less than the annual target")
    );
    // The plan cannot be submitted until it is.
    let plan = ed.get(PLAN).await;
    let phasing = texts(&plan.html(), "#plan-checks [data-check=phasing]").join("");
    assert!(phasing.starts_with("Not yet"), "{phasing}");
}

#[sqlx::test]
async fn submitting_checks_targets_and_phasing_and_the_reviewer_sees_the_same_checks(pool: PgPool) {
    let app = TestApp::at(pool, date(2024, 12, 10)).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;
    let mut ed = app.login_as(&editor).await;
    start_plan(&mut ed).await;
    choose(&mut ed, &[1, 2, 3, 4, 5]).await;
    let paths = workstream_paths(&mut ed).await;
    for path in &paths[..4] {
        assert_eq!(set_target(&mut ed, path, "12,000").await.status, 303);
    }
    let checks = |page: &crate::common::TestResponse| -> Vec<String> {
        texts(&page.html(), "#plan-checks li")
    };
    let page = ed.get(PLAN).await;
    let listed = checks(&page);
    assert_eq!(listed.len(), 3);
    assert!(
        listed[0].starts_with("Passed At least 5 national opportunities"),
        "{listed:?}"
    );
    assert!(
        listed[1].starts_with("Not yet Every workstream has a savings target"),
        "{listed:?}"
    );
    assert!(
        listed[1].contains("5. "),
        "names the workstream: {listed:?}"
    );
    assert!(listed[2].starts_with("Passed"), "{listed:?}");
    let submit = FormState::of(&page.html(), &format!("{PLAN}/submit"));
    let refused = ed.submit(&submit).await;
    assert_eq!(refused.status, 422);
    let error = refused.field_error("submit").unwrap();
    assert!(
        error.contains("set a savings target (or mark as a cost pressure): 5. "),
        "{error}"
    );

    // A cost pressure with no target yet passes the target check.
    let mut form = ed.form(&paths[4], &format!("{}/target", paths[4])).await;
    form.set("annual_target", "0")
        .set("cost_pressure", "yes")
        .set("action", "split");
    assert_eq!(ed.submit(&form).await.status, 303);
    let submit = ed.form(PLAN, &format!("{PLAN}/submit")).await;
    assert_eq!(ed.submit(&submit).await.status, 303);

    // The reviewer sees the same checks on the review page, above the decision form.
    let mut rv = app.login_as(&reviewer).await;
    let page = rv.get(&PLAN.replace("/plan", "/review")).await;
    let html = page.html();
    let passed: Vec<&str> = html
        .select(&crate::common::sel("#checks li"))
        .filter_map(|li| li.value().attr("data-passed"))
        .collect();
    assert_eq!(passed, ["true", "true", "true"]);
    assert!(
        html.select(&crate::common::sel("form.app-review-form #decision"))
            .next()
            .is_some()
    );
}

#[sqlx::test]
async fn monthly_rows_outside_the_plans_year_cannot_be_stored(pool: PgPool) {
    let app = TestApp::at(pool, date(2024, 12, 10)).await;
    let (_, ids) = seed::plan(&app.pool, "QE1", 2024, "draft", &[Ws::national(1, 0)]).await;
    for month in ["2024-03-01", "2025-04-01"] {
        let error = sqlx::query(
            "insert into workstream_month (workstream_id, icb_id, month, planned_pence, actual_pence)
             select workstream_id, icb_id, $2::date, 0, 100 from workstream where workstream_id = $1",
        )
        .bind(ids[0])
        .bind(month)
        .execute(&app.pool)
        .await
        .unwrap_err();
        assert!(
            error.to_string().contains("outside the programme year"),
            "{month}: {error}"
        );
    }
    let count: i64 = sqlx::query_scalar(
        "select count(*) from workstream_month where month < '2024-04-01' or month >= '2025-04-01'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(count, 0);
}
