//! The review page (`/icbs/{icb}/{year}/review`) through the router: the plan's totals and
//! checks, each workstream's target and phasing, the ICB's cover note, the dated history of
//! every submission and decision with its comments (kept after agreement), and what changed
//! since the plan was last agreed. The decision form is there for the region's reviewers only;
//! a stale decision changes nothing.

use medopt::auth::Role;
use sqlx::PgPool;

use crate::common::{Browser, FormState, TestApp, TestResponse, sel, text_of, texts};
use crate::plans::{PLAN, REVIEW, choose, start_plan, status, workstream_paths};

/// The review history as shown: (what happened, the note), oldest first.
fn history(page: &TestResponse) -> Vec<(String, String)> {
    let html = page.html();
    html.select(&sel("#review-history li"))
        .map(|li| {
            let action = li.value().attr("data-action").unwrap().to_owned();
            let note = li
                .select(&sel(".app-note__text"))
                .next()
                .map(|n| text_of(&n))
                .unwrap_or_default();
            (action, note)
        })
        .collect()
}

fn pair(action: &str, note: &str) -> (String, String) {
    (action.to_owned(), note.to_owned())
}

/// Submits the plan with `note`.
async fn submit(ed: &mut Browser<'_>, note: &str) -> TestResponse {
    let mut form = ed.form(PLAN, &format!("{PLAN}/submit")).await;
    form.set("cover_note", note);
    ed.submit(&form).await
}

/// Records a decision.
async fn decide(rv: &mut Browser<'_>, decision: &str, comment: &str) -> TestResponse {
    let mut form = rv.form(REVIEW, &format!("{PLAN}/review")).await;
    form.set("decision", decision)
        .set("review_comment", comment);
    rv.submit(&form).await
}

/// Five national opportunities with £1,200 targets split evenly, the first phased by hand
/// (£300 in April, nothing in May or March, so it still adds up).
async fn plan_of_five(ed: &mut Browser<'_>) -> Vec<String> {
    start_plan(ed).await;
    choose(ed, &[1, 2, 3, 4, 5]).await;
    let paths = workstream_paths(ed).await;
    for path in &paths {
        let mut form = ed.form(path, &format!("{path}/target")).await;
        form.set("annual_target", "1200").set("action", "split");
        assert_eq!(ed.submit(&form).await.status, 303);
    }
    let mut form = ed.form(&paths[0], &format!("{}/target", paths[0])).await;
    form.set("planned_2024-04", "300")
        .set("planned_2024-05", "0")
        .set("planned_2025-03", "0")
        .set("action", "save");
    assert_eq!(ed.submit(&form).await.status, 303);
    paths
}

#[sqlx::test]
async fn the_review_page_shows_what_a_reviewer_needs_above_the_decision(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;
    let mut ed = app.login_as(&editor).await;
    plan_of_five(&mut ed).await;
    assert_eq!(
        submit(
            &mut ed,
            "Phasing follows last year's outturn.\nLeads to follow."
        )
        .await
        .status,
        303
    );

    let mut rv = app.login_as(&reviewer).await;
    // The plan page says the plan waits for this reviewer and links to the review page.
    let plan = rv.get(PLAN).await.html();
    let link = plan.select(&sel("#review-link")).next().unwrap();
    assert_eq!(link.value().attr("href"), Some(REVIEW));
    assert!(
        plan.select(&sel(&format!("form[action=\"{PLAN}/review\"]")))
            .next()
            .is_none(),
        "the decision is taken on the review page"
    );

    let page = rv.get(REVIEW).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let html = page.html();
    assert_eq!(page.h1(), "Review of the 2024/25 plan");
    assert_eq!(
        texts(&html, "#cover-note .app-note__text"),
        ["Phasing follows last year's outturn. Leads to follow."]
    );
    let figure = |key: &str| texts(&html, &format!("#plan-totals [data-figure={key}] dd"));
    assert_eq!(figure("national"), ["5"]);
    assert_eq!(figure("local"), ["0"]);
    assert_eq!(figure("annual_target"), ["£6,000"]);
    assert_eq!(figure("phased_total"), ["£6,000"]);
    let check = |id: &str| {
        let li = html.select(&sel(&format!("#{id}"))).next().unwrap();
        (
            li.value().attr("data-passed").unwrap().to_owned(),
            text_of(&li),
        )
    };
    assert_eq!(check("check-opportunities").0, "true");
    assert_eq!(check("check-targets").0, "true");
    // The plan could only be submitted because every check passes (phasing that does not add
    // up is refused when it is saved: tests/app/figures/money.rs).
    assert_eq!(check("check-phasing").0, "true");
    assert_eq!(
        texts(&html, "#review-workstreams [data-col=adds_up]"),
        ["Yes", "Yes", "Yes", "Yes", "Yes"]
    );
    // The month-by-month phasing, April first.
    let first_row: Vec<String> = html
        .select(&sel("#review-phasing tbody tr"))
        .next()
        .unwrap()
        .select(&sel("td"))
        .map(|td| text_of(&td))
        .collect();
    assert_eq!(first_row[..2], ["£300", "£0"]);
    assert_eq!(
        texts(&html, "#changes-none"),
        ["This plan has not been agreed before, so everything in it is new to review."]
    );
    let editor_name: String = sqlx::query_scalar("select name from app_user where user_id = $1")
        .bind(editor.user_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(texts(&html, "#review-history li")[0].contains(&format!("by {editor_name}")));
    assert_eq!(
        history(&page),
        [pair(
            "Submitted for review",
            "Phasing follows last year's outturn.\nLeads to follow."
        )]
        .map(|(a, n)| (a, n.replace('\n', " ")))
    );
    // The decision form comes after all of that.
    assert!(
        html.select(&sel("form.app-review-form #decision"))
            .next()
            .is_some()
    );

    // The editor, a viewer and an analyst see the page without the form.
    let viewer = app.user(Role::IcbViewer, Some("QE1")).await;
    let analyst = app.user(Role::NationalAnalyst, None).await;
    for user in [&viewer, &analyst] {
        let mut b = app.login_as(user).await;
        let page = b.get(REVIEW).await;
        assert_eq!(page.status, 200);
        assert!(
            page.html()
                .select(&sel("form.app-review-form"))
                .next()
                .is_none()
        );
        assert_eq!(history(&page).len(), 1);
    }
    assert!(
        ed.get(REVIEW)
            .await
            .html()
            .select(&sel("form.app-review-form"))
            .next()
            .is_none()
    );
}

#[sqlx::test]
async fn every_submission_and_decision_is_kept_with_its_comments(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;
    let mut ed = app.login_as(&editor).await;
    let mut rv = app.login_as(&reviewer).await;
    let paths = plan_of_five(&mut ed).await;

    assert_eq!(submit(&mut ed, "First go.").await.status, 303);
    let returned = decide(&mut rv, "return", "Fix the polypharmacy phasing.").await;
    assert_eq!(
        returned.location(),
        Some(&*format!("{REVIEW}?notice=returned"))
    );
    let mut form = ed.form(&paths[0], &format!("{}/target", paths[0])).await;
    form.set("action", "split");
    assert_eq!(ed.submit(&form).await.status, 303);
    assert_eq!(submit(&mut ed, "Phasing fixed.").await.status, 303);
    assert_eq!(decide(&mut rv, "agree", "").await.status, 303);

    let page = rv.get(&format!("{REVIEW}?notice=agreed")).await;
    assert_eq!(texts(&page.html(), "#plan-status"), ["Agreed"]);
    assert_eq!(
        history(&page),
        [
            pair("Submitted for review", "First go."),
            pair("Returned with comments", "Fix the polypharmacy phasing."),
            pair("Submitted for review", "Phasing fixed."),
            pair("Agreed", ""),
        ],
        "the returned plan's comments are kept after it is agreed"
    );
    assert_eq!(
        texts(&page.html(), "#changes-none")[0].split(" on ").next(),
        Some("Nothing has changed since the plan was agreed")
    );
    assert!(
        page.html()
            .select(&sel("form.app-review-form"))
            .next()
            .is_none()
    );

    // The ICB changes the agreed plan: it goes back to draft, and the page says what changed
    // since it was agreed.
    let mut form = ed.form(&paths[1], &format!("{}/target", paths[1])).await;
    form.set("annual_target", "2400").set("action", "split");
    assert_eq!(ed.submit(&form).await.status, 303);
    choose(&mut ed, &[9]).await;
    assert_eq!(status(&mut ed).await, "Draft");
    let page = ed.get(REVIEW).await;
    let html = page.html();
    let changes: Vec<Vec<String>> = html
        .select(&sel("#changes tbody tr"))
        .map(|tr| tr.select(&sel("th, td")).map(|c| text_of(&c)).collect())
        .collect();
    let two = "2. Addressing low priority prescribing";
    assert_eq!(
        changes[0],
        [two, "Annual target", "£1,200", "£2,400"].map(str::to_owned)
    );
    assert_eq!(
        changes[1],
        [two, "Phasing, April 2024", "£100", "£200"].map(str::to_owned)
    );
    assert_eq!(changes.len(), 1 + 12 + 1, "{changes:?}");
    assert_eq!(changes[13][1], "Added to the plan");
    assert!(changes[13][0].starts_with("9. "));
    assert_eq!(
        history(&page).last().map(|(a, _)| a.as_str()),
        Some("Back to draft after a change to the agreed plan")
    );
    let stored: i64 = sqlx::query_scalar("select count(*) from plan_review_event")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 5);
}

#[sqlx::test]
async fn the_cover_note_is_checked_and_a_stale_decision_changes_nothing(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;
    let mut ed = app.login_as(&editor).await;
    plan_of_five(&mut ed).await;

    let long = "x".repeat(5001);
    for (note, message) in [
        (
            long.as_str(),
            "The cover note must be 5,000 characters or fewer",
        ),
        (
            "Bell \u{7} character",
            "must not contain invisible control characters",
        ),
    ] {
        let refused = submit(&mut ed, note).await;
        assert_eq!(refused.status, 422);
        assert!(
            refused.field_error("cover_note").unwrap().contains(message),
            "{:?}",
            refused.field_error("cover_note")
        );
        // What was typed is shown again.
        let shown = FormState::of(&refused.html(), &format!("{PLAN}/submit"));
        assert_eq!(
            shown.get("cover_note").map(str::len),
            Some(note.trim().len())
        );
        assert_eq!(status(&mut ed).await, "Draft");
    }
    let events: i64 = sqlx::query_scalar("select count(*) from plan_review_event")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(events, 0);

    // The last cover note is offered again on the next submission.
    assert_eq!(submit(&mut ed, "As discussed.").await.status, 303);
    let mut rv = app.login_as(&reviewer).await;
    assert_eq!(
        decide(&mut rv, "return", "More detail, please.")
            .await
            .status,
        303
    );
    let form = ed.form(PLAN, &format!("{PLAN}/submit")).await;
    assert_eq!(form.get("cover_note"), Some("As discussed."));

    // A decision on a page opened before the plan changed is refused whole.
    assert_eq!(submit(&mut ed, "Detail added.").await.status, 303);
    let mut stale = rv.form(REVIEW, &format!("{PLAN}/review")).await;
    sqlx::query("update plan set version = version + 1")
        .execute(&app.pool)
        .await
        .unwrap();
    let before = crate::seed::snapshot(&app.pool).await;
    stale.set("decision", "agree");
    let refused = rv.submit(&stale).await;
    assert_eq!(refused.status, 409);
    assert!(refused.html().select(&sel("#conflict")).next().is_some());
    assert_eq!(crate::seed::snapshot(&app.pool).await, before);
    assert_eq!(history(&rv.get(REVIEW).await).len(), 3);

    // A decision without its choice is answered by the field, on the review page.
    let mut form = rv.form(REVIEW, &format!("{PLAN}/review")).await;
    form.set("review_comment", "");
    let refused = rv.submit(&form).await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.h1(), "Review of the 2024/25 plan");
    assert!(refused.field_error("decision").is_some());
}

#[sqlx::test]
async fn only_a_reviewer_of_the_region_can_record_a_decision_in_the_history(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (plan_id, _) = crate::seed::plan(&app.pool, "QE1", 2024, "submitted", &[]).await;
    // As an ICB editor's request would run: the plan's ICB is writable, not reviewable.
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query(
        "select set_config('role', 'medopt_app', true),
                set_config('medopt.read_icbs', icb_id::text, true),
                set_config('medopt.write_icbs', icb_id::text, true)
         from plan where plan_id = $1",
    )
    .bind(plan_id)
    .execute(&mut *tx)
    .await
    .unwrap();
    let forged = sqlx::query(
        "insert into plan_review_event (plan_id, icb_id, action, actor_name)
         select plan_id, icb_id, 'agreed', 'Someone' from plan where plan_id = $1",
    )
    .bind(plan_id)
    .execute(&mut *tx)
    .await;
    assert!(forged.is_err(), "an editor cannot record an agreement");
}
