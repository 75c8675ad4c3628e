//! ICB programme plans through the router: the plan's review journey, the five-opportunity
//! rule, stale edits, who may change what, money and month validation, soft removal, history
//! and the dashboard's figures against an independent computation from the stored rows.

use medopt::auth::Role;
use sqlx::PgPool;

use crate::common::{Browser, FormState, TestApp, TestResponse, pounds, sel, text_of, texts};

pub(crate) const BASE: &str = "/icbs/QE1/2024-25";
pub(crate) const PLAN: &str = "/icbs/QE1/2024-25/plan";
pub(crate) const REVIEW: &str = "/icbs/QE1/2024-25/review";

/// The text of the first element matching `css`.
pub(crate) fn text(response: &TestResponse, css: &str) -> String {
    texts(&response.html(), css)
        .into_iter()
        .next()
        .unwrap_or_default()
}

pub(crate) async fn start_plan(browser: &mut Browser<'_>) {
    let form = browser.form(BASE, "/icbs/QE1/plans").await;
    let response = browser.submit(&form).await;
    assert_eq!(response.location(), Some(PLAN));
}

/// Ticks the opportunities with these catalogue numbers (keeping those already chosen).
pub(crate) async fn choose(browser: &mut Browser<'_>, numbers: &[i32]) -> TestResponse {
    let page = browser.get(PLAN).await.html();
    let mut form = FormState::of(&page, &format!("{PLAN}/opportunities"));
    for n in numbers {
        let value = page
            .select(&sel(&format!("#opportunity-{n}")))
            .next()
            .and_then(|i| i.value().attr("value"))
            .unwrap_or_else(|| panic!("no checkbox for opportunity {n}"))
            .to_owned();
        form.tick("opportunity", &value);
    }
    browser.submit(&form).await
}

/// A started plan with national opportunities 1–5, each with a £1,200 target split evenly:
/// ready to submit.
pub(crate) async fn plan_ready_to_submit(browser: &mut Browser<'_>) -> Vec<String> {
    start_plan(browser).await;
    choose(browser, &[1, 2, 3, 4, 5]).await;
    let paths = workstream_paths(browser).await;
    for path in &paths {
        assert_eq!(set_target(browser, path, "1200").await.status, 303);
    }
    paths
}

/// The workstream pages linked from the plan, in order.
pub(crate) async fn workstream_paths(browser: &mut Browser<'_>) -> Vec<String> {
    let page = browser.get(PLAN).await.html();
    page.select(&sel("#national-workstreams a, #local-workstreams a"))
        .filter_map(|a| a.value().attr("href").map(str::to_owned))
        .collect()
}

pub(crate) async fn set_target(
    browser: &mut Browser<'_>,
    path: &str,
    target: &str,
) -> TestResponse {
    let mut form = browser.form(path, &format!("{path}/target")).await;
    form.set("annual_target", target).set("action", "split");
    browser.submit(&form).await
}

/// Gives every workstream of the plan a target of £1,200 (a plan can only be submitted when
/// every workstream has one).
pub(crate) async fn target_every_workstream(browser: &mut Browser<'_>) {
    for path in workstream_paths(browser).await {
        let response = set_target(browser, &path, "1,200").await;
        assert_eq!(response.status, 303, "{}", response.body);
    }
}

pub(crate) async fn set_actuals(
    browser: &mut Browser<'_>,
    path: &str,
    values: &[(&str, &str)],
) -> TestResponse {
    let mut form = browser.form(path, &format!("{path}/actuals")).await;
    for (month, value) in values {
        form.set(&format!("actual_{month}"), value);
    }
    browser.submit(&form).await
}

pub(crate) async fn status(browser: &mut Browser<'_>) -> String {
    text(&browser.get(PLAN).await, "#plan-status")
}

pub(crate) fn id_of(path: &str) -> i32 {
    path.rsplit('/').next().unwrap().parse().unwrap()
}

#[sqlx::test]
async fn a_plan_goes_from_draft_to_agreed_through_a_returned_review(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;
    let mut ed = app.login_as(&editor).await;

    start_plan(&mut ed).await;
    assert_eq!(status(&mut ed).await, "Draft");
    let saved = choose(&mut ed, &[1, 2, 3, 4, 5]).await;
    assert_eq!(saved.location(), Some(&*format!("{PLAN}?notice=saved")));
    assert!(text(&ed.get(PLAN).await, "#chosen-count").starts_with("5 chosen (at least 5 needed)"));

    let paths = workstream_paths(&mut ed).await;
    assert_eq!(paths.len(), 5);
    for path in &paths {
        let response = set_target(&mut ed, path, "£12,000").await;
        assert_eq!(response.status, 303, "{}", response.body);
    }
    let response = set_actuals(
        &mut ed,
        &paths[0],
        &[
            ("2024-04", "1,000"),
            ("2024-05", "£1,250.50"),
            ("2024-06", "-200"),
        ],
    )
    .await;
    assert_eq!(response.status, 303, "{}", response.body);

    let submit = ed.form(PLAN, &format!("{PLAN}/submit")).await;
    assert_eq!(
        ed.submit(&submit).await.location(),
        Some(&*format!("{PLAN}?notice=submitted"))
    );
    assert_eq!(status(&mut ed).await, "Submitted for review");
    // While the regional team reviews it, the choices cannot change.
    let page = ed.get(PLAN).await;
    assert!(
        page.html()
            .select(&sel(&format!(r#"form[action="{PLAN}/opportunities"]"#)))
            .next()
            .is_none()
    );
    let version: i32 = sqlx::query_scalar("select version from plan")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let refused = ed
        .post(
            &format!("{PLAN}/opportunities"),
            &[("version", &version.to_string())],
        )
        .await;
    assert_eq!(refused.status, 422);

    let mut rv = app.login_as(&reviewer).await;
    let mut review = rv.form(REVIEW, &format!("{PLAN}/review")).await;
    review.set("decision", "return");
    let missing_comment = rv.submit(&review).await;
    assert_eq!(missing_comment.status, 422);
    assert!(
        missing_comment
            .field_error("review_comment")
            .unwrap()
            .contains("Enter comments")
    );
    review.set(
        "review_comment",
        "Add a local priority on antimicrobial prescribing.",
    );
    assert_eq!(rv.submit(&review).await.status, 303);
    assert_eq!(status(&mut ed).await, "Returned with comments");
    assert_eq!(
        text(&ed.get(PLAN).await, "#review-comment p"),
        "Add a local priority on antimicrobial prescribing."
    );

    let mut priority = ed.form(PLAN, &format!("{PLAN}/priorities")).await;
    priority.set("priority_title", "Antimicrobial prescribing");
    assert_eq!(ed.submit(&priority).await.status, 303);
    target_every_workstream(&mut ed).await;
    let submit = ed.form(PLAN, &format!("{PLAN}/submit")).await;
    assert_eq!(ed.submit(&submit).await.status, 303);
    assert_eq!(status(&mut rv).await, "Submitted for review");

    let mut review = rv.form(REVIEW, &format!("{PLAN}/review")).await;
    review.set("decision", "agree");
    assert_eq!(
        rv.submit(&review).await.location(),
        Some(&*format!("{REVIEW}?notice=agreed"))
    );
    assert_eq!(status(&mut ed).await, "Agreed");

    // Changing an agreed plan's choices puts it back to draft, and says so.
    let reopened = choose(&mut ed, &[6]).await;
    assert_eq!(
        reopened.location(),
        Some(&*format!("{PLAN}?notice=reopened"))
    );
    let page = ed.get(&format!("{PLAN}?notice=reopened")).await;
    assert_eq!(text(&page, "#plan-status"), "Draft");
    assert!(text(&page, "#notice").contains("back to draft"));

    let actions: Vec<String> = sqlx::query_scalar(
        "select action from audit_event where action like 'plan.%' order by audit_event_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        actions,
        [
            "plan.created",
            "plan.opportunities_changed",
            "plan.submitted",
            "plan.returned",
            "plan.submitted",
            "plan.agreed",
            "plan.reopened",
            "plan.opportunities_changed"
        ]
    );
}

#[sqlx::test]
async fn a_plan_needs_five_national_opportunities_to_be_submitted(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut ed = app.login_as(&editor).await;
    start_plan(&mut ed).await;
    choose(&mut ed, &[1, 2, 3, 4]).await;
    // A local priority does not count towards the five.
    let mut priority = ed.form(PLAN, &format!("{PLAN}/priorities")).await;
    priority.set("priority_title", "Polypharmacy reviews");
    ed.submit(&priority).await;

    let page = ed.get(PLAN).await;
    assert!(
        text(&page, "#submit-hint").contains("Choose 1 more"),
        "{}",
        text(&page, "#submit-hint")
    );
    let submit = FormState::of(&page.html(), &format!("{PLAN}/submit"));
    let refused = ed.submit(&submit).await;
    assert_eq!(refused.status, 422);
    assert!(
        refused
            .field_error("submit")
            .unwrap()
            .contains("you have chosen 4")
    );
    assert_eq!(status(&mut ed).await, "Draft");

    choose(&mut ed, &[9]).await;
    target_every_workstream(&mut ed).await;
    let submit = ed.form(PLAN, &format!("{PLAN}/submit")).await;
    assert_eq!(ed.submit(&submit).await.status, 303);
    assert_eq!(status(&mut ed).await, "Submitted for review");
}

#[sqlx::test]
async fn a_stale_save_is_refused_with_both_values_and_changes_nothing(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let first = app.user(Role::IcbEditor, Some("QE1")).await;
    let second = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut a = app.login_as(&first).await;
    let mut b = app.login_as(&second).await;
    start_plan(&mut a).await;
    choose(&mut a, &[1]).await;
    let path = workstream_paths(&mut a).await.remove(0);

    let mut form_a = a.form(&path, &format!("{path}/target")).await;
    let mut form_b = b.form(&path, &format!("{path}/target")).await;
    form_a.set("annual_target", "10,000").set("action", "split");
    assert_eq!(a.submit(&form_a).await.status, 303);
    form_b.set("annual_target", "20,000").set("action", "split");
    let stale = b.submit(&form_b).await;
    assert_eq!(stale.status, 409);
    let html = stale.html();
    let rows: Vec<Vec<String>> = html
        .select(&sel("#conflict-table tbody tr"))
        .map(|tr| tr.select(&sel("th, td")).map(|c| text_of(&c)).collect())
        .collect();
    assert!(
        rows.contains(&vec![
            "Annual target".into(),
            "£10,000".into(),
            "£20,000".into()
        ]),
        "{rows:?}"
    );
    // The form now shows what is saved.
    assert_eq!(
        FormState::of(&html, &format!("{path}/target")).get("annual_target"),
        Some("10000")
    );
    let stored: i64 =
        sqlx::query_scalar("select annual_target_pence from workstream where workstream_id = $1")
            .bind(id_of(&path))
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored, 1_000_000);

    // Two people changing the plan's choices at once: the second is told, nothing changes.
    let plan_a = a.form(PLAN, &format!("{PLAN}/opportunities")).await;
    let plan_b = b.form(PLAN, &format!("{PLAN}/opportunities")).await;
    let mut plan_a = plan_a;
    plan_a.tick("opportunity", &opportunity_value(&mut a, 2).await);
    assert_eq!(a.submit(&plan_a).await.status, 303);
    let mut plan_b = plan_b;
    plan_b.tick("opportunity", &opportunity_value(&mut b, 3).await);
    let stale = b.submit(&plan_b).await;
    assert_eq!(stale.status, 409);
    assert!(
        texts(&stale.html(), "#conflict-saved li")
            .iter()
            .any(|t| t.starts_with("2. "))
    );
    assert_eq!(workstream_paths(&mut a).await.len(), 2);
}

async fn opportunity_value(browser: &mut Browser<'_>, number: i32) -> String {
    let page = browser.get(PLAN).await.html();
    page.select(&sel(&format!("#opportunity-{number}")))
        .next()
        .and_then(|i| i.value().attr("value"))
        .unwrap()
        .to_owned()
}

#[sqlx::test]
async fn viewers_see_the_plan_but_cannot_change_it(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let viewer = app.user(Role::IcbViewer, Some("QE1")).await;
    let mut ed = app.login_as(&editor).await;
    start_plan(&mut ed).await;
    choose(&mut ed, &[1]).await;
    let path = workstream_paths(&mut ed).await.remove(0);
    let form = ed.form(&path, &format!("{path}/target")).await;

    let mut vw = app.login_as(&viewer).await;
    for page in [BASE, PLAN, path.as_str()] {
        let response = vw.get(page).await;
        assert_eq!(response.status, 200, "{page}");
        let buttons = texts(&response.html(), "main form:not(#figures-view) button");
        assert!(buttons.is_empty(), "{page} offers {buttons:?}");
    }
    let mut attempt = form.clone();
    attempt.set("annual_target", "5,000");
    attempt.set("csrf_token", vw.csrf.as_deref().unwrap());
    assert_eq!(vw.submit(&attempt).await.status, 403);
    let stored: i64 =
        sqlx::query_scalar("select annual_target_pence from workstream where workstream_id = $1")
            .bind(id_of(&path))
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored, 0);
}

#[sqlx::test]
async fn another_icbs_workstream_is_not_found_through_your_own_icbs_address(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let other = app.user(Role::IcbEditor, Some("QWE")).await;
    let mut ot = app.login_as(&other).await;
    let form = ot.form("/icbs/QWE/2024-25", "/icbs/QWE/plans").await;
    ot.submit(&form).await;
    let page = ot.get("/icbs/QWE/2024-25/plan").await.html();
    let mut choose_form = FormState::of(&page, "/icbs/QWE/2024-25/plan/opportunities");
    let value = page
        .select(&sel("#opportunity-1"))
        .next()
        .unwrap()
        .value()
        .attr("value")
        .unwrap();
    choose_form.tick("opportunity", value);
    ot.submit(&choose_form).await;
    let foreign_id: i32 = sqlx::query_scalar("select workstream_id from workstream")
        .fetch_one(&app.pool)
        .await
        .unwrap();

    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let analyst = app.user(Role::NationalAnalyst, None).await;
    let mut ed = app.login_as(&editor).await;
    start_plan(&mut ed).await;
    let path = format!("{BASE}/workstreams/{foreign_id}");
    assert_eq!(ed.get(&path).await.status, 404);
    assert_eq!(
        ed.post(
            &format!("{path}/target"),
            &[("annual_target", "1"), ("version", "1")]
        )
        .await
        .status,
        404
    );
    assert_eq!(ed.post(&format!("{path}/remove"), &[]).await.status, 404);
    let mut an = app.login_as(&analyst).await;
    assert_eq!(
        an.get(&path).await.status,
        404,
        "even national users reach it only through its own ICB"
    );
    assert_eq!(
        an.get(&format!("/icbs/QWE/2024-25/workstreams/{foreign_id}"))
            .await
            .status,
        200
    );
    let removed: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("select removed_at from workstream where workstream_id = $1")
            .bind(foreign_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(removed.is_none());
}

#[sqlx::test]
async fn money_and_months_are_checked_by_the_field_and_bad_input_changes_nothing(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut ed = app.login_as(&editor).await;
    start_plan(&mut ed).await;
    choose(&mut ed, &[1]).await;
    let path = workstream_paths(&mut ed).await.remove(0);
    let stored = |pool: PgPool| async move {
        sqlx::query_scalar::<_, i64>("select annual_target_pence from workstream")
            .fetch_one(&pool)
            .await
            .unwrap()
    };

    for (input, message) in [
        ("12abc", "Enter an amount in pounds"),
        ("1,23", "commas only between groups of 3 digits"),
        ("12.345", "2 decimal places"),
        ("-500", "cannot be negative"),
    ] {
        let mut form = ed.form(&path, &format!("{path}/target")).await;
        form.set("annual_target", input).set("action", "save");
        let refused = ed.submit(&form).await;
        assert_eq!(refused.status, 422, "{input}");
        let error = refused.field_error("annual_target").unwrap_or_default();
        assert!(error.contains(message), "{input}: {error}");
        // What the user typed is still in the field.
        assert_eq!(
            FormState::of(&refused.html(), &format!("{path}/target")).get("annual_target"),
            Some(input)
        );
        assert_eq!(stored(app.pool.clone()).await, 0);
    }

    let mut form = ed.form(&path, &format!("{path}/target")).await;
    form.set("annual_target", "£1,234.56")
        .set("action", "split");
    assert_eq!(ed.submit(&form).await.status, 303);
    assert_eq!(stored(app.pool.clone()).await, 123_456);
    let planned: Vec<i64> =
        sqlx::query_scalar("select planned_pence from workstream_month order by month")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(planned.len(), 12);
    assert_eq!(planned.iter().sum::<i64>(), 123_456);
    assert_eq!(
        planned[11] - planned[0],
        123_456 % 12,
        "the remainder goes to March"
    );

    // Phasing that does not add up is refused by the field, and nothing changes.
    let mut form = ed.form(&path, &format!("{path}/target")).await;
    form.set("planned_2024-04", "0").set("action", "save");
    let refused = ed.submit(&form).await;
    assert_eq!(refused.status, 422);
    assert!(
        refused
            .field_error("phasing")
            .unwrap()
            .contains("less than the annual target of £1,234.56")
    );
    let planned_now: Vec<i64> =
        sqlx::query_scalar("select planned_pence from workstream_month order by month")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(planned_now, planned);

    // A month outside the programme year, and a bad amount, are refused by the field.
    let refused = ed
        .post(
            &format!("{path}/actuals"),
            &[("version", "3"), ("actual_2025-04", "100")],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused
            .field_error("actuals")
            .unwrap()
            .contains("months of 2024/25")
    );
    let response = set_actuals(&mut ed, &path, &[("2024-04", "ten pounds")]).await;
    assert_eq!(response.status, 422);
    assert!(
        response
            .field_error("actual_2024-04")
            .unwrap()
            .starts_with("Error: April 2024")
    );
    let actuals: i64 = sqlx::query_scalar("select count(actual_pence) from workstream_month")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(actuals, 0);

    // A closed year refuses phasing and actuals with a message.
    sqlx::query(
        "update programme_year set open_for_editing = false where starts_on = '2024-04-01'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let page = ed.get(&path).await;
    assert!(text(&page, "#locked").contains("closed for editing"));
    let refused = ed
        .post(
            &format!("{path}/target"),
            &[
                ("version", "4"),
                ("annual_target", "5000"),
                ("action", "split"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused
            .field_error("annual_target")
            .unwrap()
            .contains("closed for editing")
    );
    assert_eq!(stored(app.pool.clone()).await, 123_456);
}

#[sqlx::test]
async fn removing_a_workstream_with_progress_asks_first_and_keeps_its_history(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut ed = app.login_as(&editor).await;
    start_plan(&mut ed).await;
    choose(&mut ed, &[1, 2]).await;
    let paths = workstream_paths(&mut ed).await;
    set_target(&mut ed, &paths[0], "12,000").await;
    set_actuals(&mut ed, &paths[0], &[("2024-04", "700")]).await;

    // Un-ticking it asks for confirmation and changes nothing yet.
    let mut form = ed.form(PLAN, &format!("{PLAN}/opportunities")).await;
    form.untick("opportunity", &opportunity_value(&mut ed, 1).await);
    let confirm = ed.submit(&form).await;
    assert_eq!(confirm.status, 200);
    assert_eq!(texts(&confirm.html(), "#removing li").len(), 1);
    assert_eq!(workstream_paths(&mut ed).await.len(), 2);

    let yes = FormState::of(&confirm.html(), &format!("{PLAN}/opportunities"));
    assert_eq!(ed.submit(&yes).await.status, 303);
    assert_eq!(workstream_paths(&mut ed).await, vec![paths[1].clone()]);
    // The £700 it saved before it was removed still counts.
    let dashboard = ed.get(BASE).await;
    assert_eq!(
        text(&dashboard, "#headline [data-figure=actual_to_date] dd"),
        "£700"
    );
    // Its page and figures are kept.
    let kept = ed.get(&paths[0]).await;
    assert_eq!(kept.status, 200);
    assert!(text(&kept, "#locked").contains("removed"));

    // Choosing it again brings it back with its actuals.
    choose(&mut ed, &[1]).await;
    assert_eq!(workstream_paths(&mut ed).await, paths);
    assert_eq!(
        text(&ed.get(BASE).await, "[data-figure=actual_to_date] dd"),
        "£700"
    );

    // The remove page of a workstream without progress, then removal.
    let confirm = ed.get(&format!("{}/remove", paths[1])).await;
    assert_eq!(confirm.status, 200);
    let removal = FormState::of(&confirm.html(), &format!("{}/remove", paths[1]));
    assert_eq!(ed.submit(&removal).await.status, 303);
    assert_eq!(workstream_paths(&mut ed).await, vec![paths[0].clone()]);
    let rows: i64 = sqlx::query_scalar("select count(*) from workstream")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 2, "nothing is deleted");
}

#[sqlx::test]
async fn updates_measures_and_history_are_kept_on_the_workstream(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut ed = app.login_as(&editor).await;
    start_plan(&mut ed).await;
    choose(&mut ed, &[1]).await;
    let path = workstream_paths(&mut ed).await.remove(0);

    for (rag, narrative) in [
        ("green", "Started switching"),
        ("amber", "Supply problem in May"),
    ] {
        let mut form = ed.form(&path, &format!("{path}/updates")).await;
        form.set("rag", rag).set("narrative", narrative);
        assert_eq!(ed.submit(&form).await.status, 303);
    }
    let mut form = ed.form(&path, &format!("{path}/updates")).await;
    form.set("narrative", "");
    let refused = ed.submit(&form).await;
    assert!(refused.field_error("rag").is_some() && refused.field_error("narrative").is_some());

    let mut details = ed.form(&path, &format!("{path}/details")).await;
    details
        .set("lead_name", "Priya Shah")
        .tick("objectives", "value");
    assert_eq!(ed.submit(&details).await.status, 303);
    set_target(&mut ed, &path, "6,000").await;

    let mut measure = ed.form(&path, &format!("{path}/measures")).await;
    measure
        .set("measure_name", "Patients on the preferred product")
        .set("measure_unit", "%")
        .set("measure_direction", "higher_is_better")
        .set("baseline_value", "40")
        .set("baseline_month", "March 2024")
        .set("target_value", "75")
        .set("target_month", "2025-03");
    let added = ed.submit(&measure).await;
    assert_eq!(added.status, 303, "{}", added.body);
    let page = ed.get(&path).await;
    let action = page
        .html()
        .select(&sel(".app-measure form"))
        .next()
        .and_then(|f| f.value().attr("action").map(str::to_owned))
        .unwrap();
    let mut values = FormState::of(&page.html(), &action);
    values
        .set("value_2024-04", "41.5")
        .set("value_2024-05", "44");
    assert_eq!(ed.submit(&values).await.status, 303);

    let page = ed.get(&path).await;
    assert_eq!(text(&page, "#rag-status"), "RAG: Amber");
    let log = texts(&page.html(), "#update-log .app-update-log__text");
    assert_eq!(
        log,
        ["Supply problem in May", "Started switching"],
        "newest first"
    );
    assert!(
        text(&page, "#update-log p").contains("by Test ICB editor"),
        "{}",
        text(&page, "#update-log p")
    );
    let measure_rows = texts(&page.html(), ".app-measure dd");
    assert!(
        measure_rows.contains(&"40 in March 2024".to_owned()),
        "{measure_rows:?}"
    );
    assert!(
        measure_rows.contains(&"44 in May 2024".to_owned()),
        "{measure_rows:?}"
    );

    let history = texts(&page.html(), "#history-log li li");
    for expected in [
        "Lead: (blank) → Priya Shah",
        "ICS objectives: (blank) → Enhance productivity and value for money",
        "Annual target: £0 → £6,000",
        "RAG status: Green → Amber",
        "Patients on the preferred product May 2024: (blank) → 44",
    ] {
        assert!(
            history.contains(&expected.to_owned()),
            "{expected} not in {history:?}"
        );
    }
}

/// Pence rounded to whole pounds, half away from zero (how the pages round).
fn rounded(pence: i64) -> i64 {
    let pounds = (pence.abs() + 50) / 100;
    if pence < 0 { -pounds } else { pounds }
}

#[sqlx::test]
async fn dashboard_figures_match_an_independent_computation_from_the_stored_rows(pool: PgPool) {
    // 10 December 2024: October is the reporting month.
    let today = chrono::NaiveDate::from_ymd_opt(2024, 12, 10).unwrap();
    let app = TestApp::at(pool, today).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut ed = app.login_as(&editor).await;
    start_plan(&mut ed).await;
    choose(&mut ed, &[1, 2, 3, 4, 5, 6]).await;
    let paths = workstream_paths(&mut ed).await;
    // Varied figures, entered as a user would.
    let mut seed: i64 = 12_345;
    let mut next = || {
        seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
        seed
    };
    for (i, path) in paths.iter().enumerate() {
        let target = 10_000 + next() % 90_000;
        set_target(&mut ed, path, &format!("{target}.{:02}", next() % 100)).await;
        let months: Vec<(String, String)> = ["2024-04", "2024-05", "2024-06", "2024-07", "2024-08"]
            .iter()
            .take(2 + i % 4)
            .map(|m| {
                (
                    m.to_string(),
                    format!("{}.{:02}", next() % 9_000 - 1_500, next() % 100),
                )
            })
            .collect();
        let months: Vec<(&str, &str)> = months
            .iter()
            .map(|(m, v)| (m.as_str(), v.as_str()))
            .collect();
        let response = set_actuals(&mut ed, path, &months).await;
        assert_eq!(response.status, 303, "{}", response.body);
    }
    // A removed workstream and another ICB's plan must not count.
    set_actuals(&mut ed, &paths[5], &[("2024-09", "99999")]).await;
    let removal = ed
        .form(
            &format!("{}/remove", paths[5]),
            &format!("{}/remove", paths[5]),
        )
        .await;
    assert_eq!(ed.submit(&removal).await.status, 303);
    sqlx::query(
        "with p as (insert into plan (icb_id, programme_year_id) select icb_id, programme_year_id
                    from icb, programme_year where ods_code = 'QWE' and starts_on = '2024-04-01' returning plan_id, icb_id),
              w as (insert into workstream (icb_id, plan_id, title, annual_target_pence) select icb_id, plan_id, 'Other', 777777 from p returning workstream_id, icb_id)
         insert into workstream_month (workstream_id, icb_id, month, planned_pence, actual_pence)
         select workstream_id, icb_id, '2024-10-01', 777777, 888888 from w",
    )
    .execute(&app.pool)
    .await
    .unwrap();

    // The independent computation (tests/app/figures/model.rs) over the stored rows.
    let stored = crate::figures::model::Stored::load(&app.pool).await;
    let to = crate::figures::model::reporting_month(today);
    let expected = stored.icb("QE1", 2024, to);
    let page = ed.get(BASE).await;
    crate::figures::check_dashboard(&page, &expected, "QE1");
    let figure = |name: &str| text(&page, &format!("#headline [data-figure={name}] dd"));
    let (target_to_date, actual_to_date, remaining_plan) = (
        expected.target_to_date,
        expected.actual,
        expected.planned_after,
    );
    // The removed workstream's actuals (September's £99,999 among them) still count: it
    // reported them before it was removed.
    let reported: i64 = sqlx::query_scalar(
        "select sum(actual_pence)::bigint from workstream_month where workstream_id = $1 and month <= '2024-10-01'",
    )
    .bind(id_of(&paths[5]))
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(stored.workstream(id_of(&paths[5]), to).actual, reported);
    assert!(reported >= 9_999_900 - 3 * 150_000, "{reported}");
    assert!(
        figure("national_chosen").starts_with("5 At least 5"),
        "{}",
        figure("national_chosen")
    );

    // The workstream rows cover the same months, so they add up to the headline (to the pound).
    let html = page.html();
    let column = |col: &str| -> i64 {
        html.select(&sel(&format!("#workstreams tbody td[data-col={col}]")))
            .map(|td| pounds(&text_of(&td)))
            .sum()
    };
    assert!((column("target_to_date") - rounded(target_to_date)).abs() <= 3);
    assert!((column("actual_to_date") - rounded(actual_to_date)).abs() <= 3);
    assert_eq!(
        html.select(&sel("#workstreams tbody tr")).count(),
        6,
        "five in the plan and the removed one, whose September saving still counts"
    );

    // The chart has a text alternative and its numbers are in the table beneath.
    assert!(
        html.select(&sel(".app-chart svg[role=img] title"))
            .next()
            .is_some()
    );
    let rows = html.select(&sel("#chart-data tbody tr")).count();
    assert_eq!(rows, 12);
    let march = texts(&html, "#chart-data tbody tr:last-child td");
    assert_eq!(pounds(&march[0]), rounded(target_to_date + remaining_plan));
}

#[sqlx::test]
async fn icb_users_land_on_their_dashboard_and_can_switch_years(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut ed = app.browser();
    let response = ed.sign_in(&editor.email, crate::common::PASSWORD).await;
    assert_eq!(
        response.location(),
        Some("/icbs/QE1/2026-27"),
        "the current programme year"
    );
    let page = ed.get(BASE).await;
    let years: Vec<String> = page
        .html()
        .select(&sel(".app-year-nav a"))
        .filter_map(|a| a.value().attr("href").map(str::to_owned))
        .collect();
    assert_eq!(
        years,
        [
            "/icbs/QE1/2026-27",
            "/icbs/QE1/2025-26",
            "/icbs/QE1/2023-24"
        ]
    );
    assert_eq!(text(&page, ".app-year-nav [aria-current=page]"), "2024/25");
    assert_eq!(ed.get("/icbs/QE1/2019-20").await.status, 404);
    assert_eq!(ed.get("/icbs/QE1/not-a-year/plan").await.status, 404);
}
