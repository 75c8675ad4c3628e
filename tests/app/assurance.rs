//! Savings assurance forms (issue 12) through the router: every new field recorded by an ICB
//! editor and read back by a reviewer, each refused by the field with a clear message and
//! nothing stored changed, stale saves answered 409, the RAG reason, the savings requirement,
//! and the administrator's settings per year.

use medopt::auth::Role;
use sqlx::PgPool;

use crate::common::{Browser, FormState, TestApp, TestResponse, sel, texts};
use crate::plans::{BASE, PLAN, choose, set_actuals, set_target, start_plan, workstream_paths};
use crate::seed::snapshot;

/// A plan of five national opportunities; the first has a £12,000 target and actuals of
/// £500 a month for April to June (so the figures suggest red).
async fn plan<'a>(app: &'a TestApp) -> (Browser<'a>, Vec<String>) {
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut ed = app.login_as(&editor).await;
    start_plan(&mut ed).await;
    choose(&mut ed, &[1, 2, 3, 4, 5]).await;
    let paths = workstream_paths(&mut ed).await;
    assert_eq!(set_target(&mut ed, &paths[0], "12,000").await.status, 303);
    // Every workstream has a target, so the plan can be submitted.
    for path in &paths[1..] {
        assert_eq!(set_target(&mut ed, path, "1,200").await.status, 303);
    }
    let months = [("2024-04", "500"), ("2024-05", "500"), ("2024-06", "500")];
    assert_eq!(set_actuals(&mut ed, &paths[0], &months).await.status, 303);
    (ed, paths)
}

/// Posts the form `action` of the workstream page `path` with `fields` changed.
async fn post_form(
    browser: &mut Browser<'_>,
    path: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> TestResponse {
    let mut form = browser.form(path, &format!("{path}/{action}")).await;
    for (name, value) in fields {
        form.set(name, value);
    }
    browser.submit(&form).await
}

/// The text of the assurance summary row `name` on the workstream page.
fn figure(response: &TestResponse, name: &str) -> String {
    texts(
        &response.html(),
        &format!("#assurance-figures [data-figure={name}] dd"),
    )
    .join(" ")
}

/// Asserts a refusal: `status`, each field's message, and nothing stored changed.
async fn refused(
    app: &TestApp,
    before: &[String],
    response: &TestResponse,
    status: u16,
    messages: &[(&str, &str)],
) {
    assert_eq!(response.status, status, "{}", response.body);
    for (field, message) in messages {
        assert_eq!(
            response.field_error(field).as_deref(),
            Some(&*format!("Error: {message}")),
            "{field}"
        );
    }
    assert_eq!(snapshot(&app.pool).await, before, "nothing stored changed");
}

#[sqlx::test]
async fn an_editor_records_the_saving_type_investment_and_full_year_effect(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (mut ed, paths) = plan(&app).await;
    let path = &paths[0];
    let page = ed.get(path).await;
    assert_eq!(figure(&page, "saving_type"), "Not recorded");

    // Nothing chosen, and a bad investment: a message by each field.
    let before = snapshot(&app.pool).await;
    let response = post_form(&mut ed, path, "classification", &[("investment", "lots")]).await;
    refused(
        &app,
        &before,
        &response,
        422,
        &[
            (
                "saving_type",
                "Choose whether the saving is recurrent or non-recurrent",
            ),
            (
                "benefit_type",
                "Choose whether the saving releases cash or avoids a cost",
            ),
            (
                "setting",
                "Choose where the saving falls: primary care, secondary care or system-wide",
            ),
            (
                "investment",
                "Investment: Enter an amount in pounds, like 12,500 or £12,500.50",
            ),
        ],
    )
    .await;
    assert_eq!(
        texts(&response.html(), ".nhsuk-error-summary__list a").len(),
        4
    );
    let response = post_form(
        &mut ed,
        path,
        "classification",
        &[
            ("saving_type", "recurrent"),
            ("benefit_type", "cash_releasing"),
            ("setting", "primary_care"),
            ("investment", "-5"),
        ],
    )
    .await;
    refused(
        &app,
        &before,
        &response,
        422,
        &[(
            "investment",
            "The investment cannot be negative: enter what delivering the saving costs in the year, or 0",
        )],
    )
    .await;

    // An investment larger than the gross target is allowed, and flagged.
    let saved = post_form(
        &mut ed,
        path,
        "classification",
        &[
            ("saving_type", "recurrent"),
            ("benefit_type", "cash_releasing"),
            ("setting", "primary_care"),
            ("investment", "£15,000"),
        ],
    )
    .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let page = ed.get(path).await;
    assert_eq!(figure(&page, "saving_type"), "Recurrent");
    assert_eq!(figure(&page, "benefit_type"), "Cash-releasing");
    assert_eq!(figure(&page, "setting"), "Primary care");
    assert_eq!(
        figure(&page, "net_target"),
        "-£3,000 Investment above the gross target"
    );
    // Three months of £500 from April: 12 × £500.
    assert!(figure(&page, "full_year_effect").starts_with("£6,000 12 times"));

    // The lead's own full-year effect, then a non-recurrent saving cannot keep it.
    let saved = post_form(
        &mut ed,
        path,
        "full-year-effect",
        &[("full_year_effect", "7,500")],
    )
    .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(
        figure(&ed.get(path).await, "full_year_effect"),
        "£7,500 Set by the lead"
    );
    let before = snapshot(&app.pool).await;
    let response = post_form(
        &mut ed,
        path,
        "classification",
        &[("saving_type", "non_recurrent")],
    )
    .await;
    refused(&app, &before, &response, 422, &[("saving_type", "This workstream has a full-year effect of £7,500, and a non-recurrent saving has none. Clear the full-year effect first, or keep the saving recurrent")]).await;
    for (value, message) in [
        (
            "-1",
            "The full-year effect cannot be negative: enter the saving a full year would deliver",
        ),
        (
            "1.234",
            "Full-year effect: Enter no more than 2 decimal places (pence)",
        ),
    ] {
        let response = post_form(
            &mut ed,
            path,
            "full-year-effect",
            &[("full_year_effect", value)],
        )
        .await;
        refused(
            &app,
            &before,
            &response,
            422,
            &[("full_year_effect", message)],
        )
        .await;
    }
    // Cleared, the saving can become non-recurrent; then a full-year effect is refused.
    let cleared = post_form(
        &mut ed,
        path,
        "full-year-effect",
        &[("full_year_effect", "")],
    )
    .await;
    assert_eq!(cleared.status, 303);
    let saved = post_form(
        &mut ed,
        path,
        "classification",
        &[("saving_type", "non_recurrent")],
    )
    .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let before = snapshot(&app.pool).await;
    let response = post_form(
        &mut ed,
        path,
        "full-year-effect",
        &[("full_year_effect", "100")],
    )
    .await;
    refused(&app, &before, &response, 422, &[("full_year_effect", "A non-recurrent saving has no full-year effect: leave this blank, or record the saving as recurrent first")]).await;
    assert_eq!(
        figure(&ed.get(path).await, "full_year_effect"),
        "Only for recurrent savings"
    );

    // Each change is on the workstream's history.
    let history = texts(&ed.get(path).await.html(), "#history-log li p strong");
    assert!(history.contains(&"Savings type or investment changed".to_owned()));
    assert!(history.contains(&"Full-year effect changed".to_owned()));
}

#[sqlx::test]
async fn an_editor_records_a_forecast_and_its_risk_adjusted_value(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (mut ed, paths) = plan(&app).await;
    let path = &paths[0];
    let before = snapshot(&app.pool).await;
    let response = post_form(
        &mut ed,
        path,
        "forecast",
        &[("forecast_month", "2030-01"), ("likely_outturn", "")],
    )
    .await;
    refused(
        &app,
        &before,
        &response,
        422,
        &[
            ("forecast_month", "Choose a month of 2024/25 that has started"),
            ("likely_outturn", "Enter the likely outturn: the saving you expect this workstream to make in the whole year"),
            ("confidence", "Choose how confident you are in the likely outturn: high, medium or low"),
        ],
    )
    .await;
    let saved = post_form(
        &mut ed,
        path,
        "forecast",
        &[
            ("forecast_month", "2024-06"),
            ("likely_outturn", "11,500"),
            ("confidence", "medium"),
        ],
    )
    .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let page = ed.get(path).await;
    assert_eq!(
        figure(&page, "likely_outturn"),
        "£11,500 As at June 2024, medium confidence"
    );
    // £1,500 reported counts in full, and 75% of the other £10,000.
    assert!(figure(&page, "risk_adjusted").starts_with("£9,000 The £1,500 reported"));
    assert_eq!(
        texts(&page.html(), "#forecasts [data-col=likely_outturn]"),
        ["£11,500"]
    );
    // A later month's forecast becomes the current one; the earlier stays in the history.
    let saved = post_form(
        &mut ed,
        path,
        "forecast",
        &[
            ("forecast_month", "2024-07"),
            ("likely_outturn", "9,000"),
            ("confidence", "high"),
        ],
    )
    .await;
    assert_eq!(saved.status, 303);
    let page = ed.get(path).await;
    assert!(figure(&page, "risk_adjusted").starts_with("£9,000"));
    assert_eq!(
        texts(&page.html(), "#forecasts [data-col=confidence]"),
        ["High (100%)", "Medium (75%)"]
    );
}

#[sqlx::test]
async fn a_rag_that_differs_from_the_suggestion_needs_a_reason_the_reviewer_sees(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (mut ed, paths) = plan(&app).await;
    let path = &paths[0];
    // £1,500 of a £3,000 target to date: 50%, so red is suggested.
    let page = ed.get(path).await;
    assert!(figure(&page, "suggested_rag").starts_with("Red 50% of the target to date"));
    let before = snapshot(&app.pool).await;
    let response = post_form(
        &mut ed,
        path,
        "updates",
        &[("rag", "green"), ("narrative", "Switches are under way")],
    )
    .await;
    refused(
        &app,
        &before,
        &response,
        422,
        &[(
            "rag_reason",
            "The figures suggest Red: say why the status is Green",
        )],
    )
    .await;
    // The suggested status needs no reason.
    let saved = post_form(
        &mut ed,
        path,
        "updates",
        &[("rag", "red"), ("narrative", "Behind plan")],
    )
    .await;
    assert_eq!(saved.status, 303);
    let saved = post_form(
        &mut ed,
        path,
        "updates",
        &[
            ("rag", "green"),
            ("narrative", "Switches are under way"),
            (
                "rag_reason",
                "The practices switched in July; the savings show from August",
            ),
        ],
    )
    .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let page = ed.get(path).await;
    assert!(figure(&page, "lead_rag").starts_with("Green Differs from the suggestion"));
    assert_eq!(
        texts(&page.html(), "#rag-reason"),
        [
            "Reason given when red was suggested: The practices switched in July; the savings show from August"
        ]
    );

    // The region's reviewer reads it on the workstream page and on the assurance page.
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;
    let mut rv = app.login_as(&reviewer).await;
    let page = rv.get(path).await;
    assert_eq!(page.status, 200);
    assert!(figure(&page, "lead_rag").contains("The practices switched in July"));
    assert!(
        page.html()
            .select(&sel(&format!(r#"form[action="{path}/updates"]"#)))
            .next()
            .is_none(),
        "the reviewer reads, and cannot record"
    );
    let id = path.rsplit('/').next().unwrap();
    let assurance = rv.get(&format!("{BASE}/assurance")).await;
    assert_eq!(
        texts(
            &assurance.html(),
            &format!("#assurance-workstreams tr[data-workstream=\"{id}\"] [data-col=reason]")
        ),
        ["Reason: The practices switched in July; the savings show from August"]
    );
    let events: i64 =
        sqlx::query_scalar("select count(*) from audit_event where action = 'workstream.update_added' and details -> 'after' ->> 'Reason for the RAG' is not null")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(events, 1);
}

#[sqlx::test]
async fn the_risk_log_records_dated_risks_and_their_changes(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (mut ed, paths) = plan(&app).await;
    let path = &paths[0];
    let before = snapshot(&app.pool).await;
    let response = post_form(
        &mut ed,
        path,
        "risks",
        &[
            ("risk_description", ""),
            ("risk_owner", "a\tb"),
            ("risk_status", "maybe"),
        ],
    )
    .await;
    refused(
        &app,
        &before,
        &response,
        422,
        &[
            ("risk_description", "Describe the risk: what could stop the saving being made"),
            ("risk_owner", "Owner must not contain invisible control characters, such as a tab or a null character. Type it again instead of pasting it"),
            ("risk_status", "Choose the risk's status: open, mitigated or closed"),
        ],
    )
    .await;
    let saved = post_form(
        &mut ed,
        path,
        "risks",
        &[
            ("risk_description", "Stock shortage of the preferred DOAC"),
            ("risk_mitigation", "Second supplier agreed"),
            ("risk_owner", "Lead pharmacist"),
        ],
    )
    .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let risk_id: i32 = sqlx::query_scalar("select risk_id from workstream_risk")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        saved.location(),
        Some(&*format!("{path}?notice=saved#risk-{risk_id}"))
    );
    let page = ed.get(path).await;
    let html = page.html();
    assert_eq!(
        texts(&html, &format!("#risk-{risk_id} h3")),
        ["Stock shortage of the preferred DOAC"]
    );
    assert_eq!(
        texts(&html, &format!("#risk-{risk_id} [data-col=status]")),
        ["Open"]
    );

    // Closing it, from the page as opened; the same form again is stale.
    let action = format!("{path}/risks/{risk_id}");
    let mut form = FormState::of(&html, &action);
    form.set("risk_status", "closed");
    assert_eq!(ed.submit(&form).await.status, 303);
    let before = snapshot(&app.pool).await;
    form.set("risk_status", "mitigated");
    let stale = ed.submit(&form).await;
    assert_eq!(stale.status, 409);
    assert!(stale.html().select(&sel("#conflict")).next().is_some());
    assert_eq!(snapshot(&app.pool).await, before);
    let html = ed.get(path).await.html();
    assert_eq!(
        texts(&html, &format!("#risk-{risk_id} [data-col=status]")),
        ["Closed"]
    );
    // Refused by the field of that risk's own form.
    let mut form = FormState::of(&html, &action);
    form.set("risk_description", "");
    let response = ed.submit(&form).await;
    refused(
        &app,
        &before,
        &response,
        422,
        &[(
            &format!("r{risk_id}_risk_description"),
            "Describe the risk: what could stop the saving being made",
        )],
    )
    .await;
    // Another ICB's editor cannot reach it.
    let other = app.user(Role::IcbEditor, Some("QOP")).await;
    let mut other = app.login_as(&other).await;
    assert_eq!(
        other
            .post(
                &action,
                &[
                    ("version", "2"),
                    ("risk_description", "x"),
                    ("risk_status", "open")
                ]
            )
            .await
            .status,
        404
    );
    assert_eq!(snapshot(&app.pool).await, before);
}

#[sqlx::test]
async fn stale_assurance_saves_answer_409_and_change_nothing(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (mut ed, paths) = plan(&app).await;
    let path = &paths[0];
    let opened = ed.get(path).await.html();
    // Someone saves first.
    assert_eq!(
        post_form(
            &mut ed,
            path,
            "full-year-effect",
            &[("full_year_effect", "")]
        )
        .await
        .status,
        303
    );
    let before = snapshot(&app.pool).await;
    for (action, fields) in [
        (
            "classification",
            vec![
                ("saving_type", "recurrent"),
                ("benefit_type", "cost_avoidance"),
                ("setting", "system"),
                ("investment", "10"),
            ],
        ),
        ("full-year-effect", vec![("full_year_effect", "")]),
        (
            "forecast",
            vec![
                ("forecast_month", "2024-05"),
                ("likely_outturn", "100"),
                ("confidence", "low"),
            ],
        ),
        (
            "risks",
            vec![("risk_description", "Late data"), ("risk_status", "open")],
        ),
    ] {
        let mut form = FormState::of(&opened, &format!("{path}/{action}"));
        for (name, value) in fields {
            form.set(name, value);
        }
        let response = ed.submit(&form).await;
        assert_eq!(response.status, 409, "{action}: {}", response.body);
        assert!(
            response.html().select(&sel("#conflict")).next().is_some(),
            "{action} shows the conflict"
        );
        assert_eq!(
            snapshot(&app.pool).await,
            before,
            "{action} changed nothing"
        );
    }
}

#[sqlx::test]
async fn the_savings_requirement_gives_the_gap_and_is_part_of_the_plan(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (mut ed, _) = plan(&app).await;
    let page = format!("{BASE}/assurance");
    let action = format!("{BASE}/assurance/requirement");
    let before = snapshot(&app.pool).await;
    for (value, message) in [
        (
            "a lot",
            "Savings requirement: Enter an amount in pounds, like 12,500 or £12,500.50",
        ),
        (
            "-100",
            "The savings requirement cannot be negative: enter what the ICB's financial plan needs from medicines optimisation",
        ),
    ] {
        let mut form = ed.form(&page, &action).await;
        form.set("savings_requirement", value);
        let response = ed.submit(&form).await;
        refused(
            &app,
            &before,
            &response,
            422,
            &[("savings_requirement", message)],
        )
        .await;
    }
    let opened = ed.form(&page, &action).await;
    let mut form = opened.clone();
    form.set("savings_requirement", "£50,000");
    let saved = ed.submit(&form).await;
    assert_eq!(
        saved.location(),
        Some(&*format!("{page}?notice=saved")),
        "{}",
        saved.body
    );
    let html = ed.get(&page).await.html();
    assert_eq!(
        texts(
            &html,
            "#plan-assurance [data-figure=savings_requirement] dd"
        ),
        ["£50,000"]
    );
    // £16,800 of targets: £33,200 still to find, on the dashboard too.
    assert_eq!(
        texts(&html, "#plan-assurance [data-figure=unidentified_gap] dd"),
        ["£33,200 Still to find"]
    );
    let dash = ed.get(BASE).await.html();
    assert!(
        texts(
            &dash,
            "#assurance-headline [data-figure=unidentified_gap] dd"
        )[0]
        .starts_with("£33,200")
    );
    // The same form again is stale.
    let before = snapshot(&app.pool).await;
    let mut stale = opened.clone();
    stale.set("savings_requirement", "60000");
    let response = ed.submit(&stale).await;
    assert_eq!(response.status, 409);
    assert_eq!(
        texts(&response.html(), "#conflict-table td"),
        ["£50,000", "£60,000"]
    );
    assert_eq!(snapshot(&app.pool).await, before);

    // While the plan is with the reviewer it cannot change; after agreement a change reopens it.
    let submit = ed.form(PLAN, &format!("{PLAN}/submit")).await;
    assert_eq!(ed.submit(&submit).await.status, 303);
    assert!(
        ed.get(&page)
            .await
            .html()
            .select(&sel(&format!(r#"form[action="{action}"]"#)))
            .next()
            .is_none()
    );
    let version: i32 = sqlx::query_scalar("select version from plan")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let before = snapshot(&app.pool).await;
    let response = ed
        .post(
            &action,
            &[
                ("version", &version.to_string()),
                ("savings_requirement", "1"),
            ],
        )
        .await;
    assert_eq!(response.status, 422);
    assert_eq!(snapshot(&app.pool).await, before);
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;
    let mut rv = app.login_as(&reviewer).await;
    let mut review = rv
        .form(&format!("{BASE}/review"), &format!("{PLAN}/review"))
        .await;
    review.set("decision", "agree");
    assert_eq!(rv.submit(&review).await.status, 303);
    let mut form = ed.form(&page, &action).await;
    form.set("savings_requirement", "45,000");
    assert_eq!(
        ed.submit(&form).await.location(),
        Some(&*format!("{page}?notice=reopened"))
    );
    let status: String = sqlx::query_scalar("select status::text from plan")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "draft");
    let audited: Vec<String> = sqlx::query_scalar(
        "select details -> 'after' ->> 'Savings requirement' from audit_event
         where action = 'plan.requirement_changed' order by audit_event_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, ["£50,000", "£45,000"]);
}

#[sqlx::test]
async fn an_administrator_sets_a_years_weights_and_thresholds(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.user(Role::Admin, None).await;
    let mut ad = app.login_as(&admin).await;
    let page = "/admin/catalogue/2025-26";
    let action = "/admin/catalogue/2025-26/assurance";
    let html = ad.get(page).await.html();
    let form = FormState::of(&html, action);
    assert_eq!(
        [
            "weight_high",
            "weight_medium",
            "weight_low",
            "rag_green",
            "rag_amber"
        ]
        .map(|f| form.get(f).unwrap().to_owned()),
        ["100", "75", "50", "95", "80"]
    );
    let settings = || async {
        sqlx::query_scalar::<_, String>(
            "select format('%s %s %s %s %s', confidence_weight_high, confidence_weight_medium,
                    confidence_weight_low, rag_green_percent, rag_amber_percent)
             from programme_year where starts_on = '2025-04-01'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    for (fields, errors) in [
        (
            vec![("weight_high", "lots"), ("rag_green", "")],
            vec![
                (
                    "weight_high",
                    "Enter the weight of high confidence as a whole percentage, like 75",
                ),
                (
                    "rag_green",
                    "Enter the green threshold as a whole percentage, like 75",
                ),
            ],
        ),
        (
            vec![("weight_medium", "101")],
            vec![(
                "weight_medium",
                "Enter the weight of medium confidence as a percentage from 0 to 100",
            )],
        ),
        (
            vec![("weight_high", "60"), ("weight_medium", "70")],
            vec![(
                "weight_medium",
                "Medium confidence cannot count for more than high confidence",
            )],
        ),
        (
            vec![("rag_green", "90"), ("rag_amber", "91")],
            vec![(
                "rag_amber",
                "The amber threshold must be at or below the green threshold",
            )],
        ),
    ] {
        let mut f = form.clone();
        for (name, value) in &fields {
            f.set(name, value);
        }
        let response = ad.submit(&f).await;
        assert_eq!(response.status, 422, "{fields:?}");
        for (field, message) in errors {
            assert_eq!(
                response.field_error(field).as_deref(),
                Some(&*format!("Error: {message}")),
                "{fields:?}"
            );
        }
        assert_eq!(settings().await, "100 75 50 95 80", "nothing changed");
    }
    let mut f = form.clone();
    f.set("weight_medium", "70%").set("rag_amber", "85");
    let saved = ad.submit(&f).await;
    assert_eq!(
        saved.location(),
        Some("/admin/catalogue/2025-26?notice=settings")
    );
    assert_eq!(settings().await, "100 70 50 95 85");
    assert_eq!(
        texts(&ad.get(saved.location().unwrap()).await.html(), "#notice"),
        ["The savings assurance settings have been saved."]
    );
    // A year copied from this one starts with its settings.
    let mut create = ad.form("/admin/catalogue", "/admin/catalogue/years").await;
    create.set("year", "2027/28").set("copy_from", "2025/26");
    assert_eq!(ad.submit(&create).await.status, 303);
    let copied: String = sqlx::query_scalar(
        "select format('%s %s', confidence_weight_medium, rag_amber_percent)
         from programme_year where starts_on = '2027-04-01'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(copied, "70 85");
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action = 'catalogue.assurance_settings_changed'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, 1);
}

#[sqlx::test]
async fn the_assurance_tables_and_views_are_scoped_like_the_rest(pool: PgPool) {
    use medopt::auth::scope::{self, Scope};
    let app = TestApp::new(pool).await;
    let mut ids = Vec::new();
    for icb in ["QE1", "QWE"] {
        let (_, ws) = crate::seed::plan(
            &app.pool,
            icb,
            2024,
            "submitted",
            &[crate::seed::Ws::national(1, 1_200)],
        )
        .await;
        sqlx::query(
            "with f as (insert into workstream_forecast (workstream_id, icb_id, month, likely_outturn_pence, confidence)
                        select workstream_id, icb_id, '2024-04-01', 100, 'high' from workstream where workstream_id = $1)
             insert into workstream_risk (workstream_id, icb_id, description)
             select workstream_id, icb_id, 'A risk' from workstream where workstream_id = $1",
        )
        .bind(ws[0])
        .execute(&app.pool)
        .await
        .unwrap();
        ids.push(ws[0]);
    }
    let icb_id = |code: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i32>("select icb_id from icb where ods_code = $1")
                .bind(code)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let qe1 = icb_id("QE1").await;
    let editor = Scope::Icb {
        icb_id: qe1,
        can_edit: true,
    };
    let north_west: i16 = sqlx::query_scalar("select region_id from icb where icb_id = $1")
        .bind(qe1)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let reviewer = Scope::Region {
        region_id: north_west,
    };
    let count = |sql: &'static str, scope: Scope| {
        let state = app.state.clone();
        async move {
            let mut tx = scope::begin(&state, &scope).await.unwrap();
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&mut *tx)
                .await
                .unwrap()
        }
    };
    for sql in [
        "select count(*) from workstream_forecast",
        "select count(*) from workstream_risk",
        "select count(*) from workstream_assurance",
        "select count(*) from plan_assurance",
    ] {
        assert_eq!(
            count(sql, editor.clone()).await,
            1,
            "{sql}: the editor's ICB only"
        );
        assert_eq!(
            count(sql, reviewer.clone()).await,
            1,
            "{sql}: the reviewer's region only"
        );
        assert_eq!(
            count(sql, Scope::National).await,
            2,
            "{sql}: national roles read all"
        );
    }
    // Neither the reviewer nor the editor can change another ICB's (or, for the reviewer,
    // any ICB's) forecasts or risks.
    for (scope, workstream) in [(reviewer, ids[0]), (editor, ids[1])] {
        let mut tx = scope::begin(&app.state, &scope).await.unwrap();
        for sql in [
            "update workstream_forecast set likely_outturn_pence = 1 where workstream_id = $1",
            "update workstream_risk set status = 'closed' where workstream_id = $1",
        ] {
            let changed = sqlx::query(sql)
                .bind(workstream)
                .execute(&mut *tx)
                .await
                .unwrap()
                .rows_affected();
            assert_eq!(changed, 0, "{scope:?}: {sql}");
        }
    }
}

#[sqlx::test]
async fn the_demo_dataset_has_savings_assurance_to_show(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    medopt::demo::load(&app.pool, &medopt::demo::DemoSpec::demo(today), today)
        .await
        .unwrap();
    let (unclassified, without_requirement, forecasts): (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from workstream where saving_type is null or benefit_type is null or setting is null),
                (select count(*) from plan where savings_requirement_pence is null),
                (select count(*) from workstream_forecast)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((unclassified, without_requirement), (0, 0));
    assert!(forecasts > 1_000, "{forecasts}");
    // Every forecast is of its plan's year, as at a month with an actual.
    let stray: i64 = sqlx::query_scalar(
        "select count(*) from workstream_forecast f
         where not exists (select 1 from workstream_month m where m.workstream_id = f.workstream_id
                           and m.month = f.month and m.actual_pence is not null)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(stray, 0);
}
