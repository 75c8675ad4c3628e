//! Two people (or one double click) acting at once. For every workflow step and every edit
//! form, N requests made from the same page (one `version`) are sent together: exactly one is
//! applied, with exactly one audit event, and every other is answered 409 "changed since you
//! opened the page" with nothing changed. Then the races between different forms: content
//! saves against a submit, and an import's apply against a page save, in both orders.

use medopt::auth::Role;
use sqlx::PgPool;

use crate::common::{Browser, FormState, TestApp, TestResponse, sel, texts};
use crate::plans::{
    BASE, PLAN, REVIEW, choose, set_actuals, set_target, start_plan, workstream_paths,
};

/// How many requests each case sends at once.
const N: usize = 12;

/// Audit events with `action`.
async fn events(app: &TestApp, action: &str) -> i64 {
    sqlx::query_scalar("select count(*) from audit_event where action = $1")
        .bind(action)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// The statuses of the answers, counted: (applied, stale, other).
fn outcome(responses: &[TestResponse]) -> (usize, usize, Vec<u16>) {
    let applied = responses.iter().filter(|r| r.status == 303).count();
    let stale = responses.iter().filter(|r| r.status == 409).count();
    let other = responses
        .iter()
        .map(|r| r.status.as_u16())
        .filter(|s| *s != 303 && *s != 409)
        .collect();
    (applied, stale, other)
}

/// Asserts one applied and the rest refused as stale, each stale answer saying so.
fn exactly_one_applied(case: &str, responses: &[TestResponse]) {
    let (applied, stale, other) = outcome(responses);
    assert_eq!((applied, stale, other), (1, N - 1, vec![]), "{case}");
    for r in responses.iter().filter(|r| r.status == 409) {
        let html = r.html();
        assert!(
            html.select(&sel("#conflict, .app-conflict, [id^=conflict]"))
                .next()
                .is_some(),
            "{case}: a stale answer shows the conflict"
        );
    }
}

/// A plan with five national opportunities, each with a £1,200 target.
async fn plan_of_five<'a>(app: &'a TestApp) -> (Browser<'a>, Vec<String>) {
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut ed = app.login_as(&editor).await;
    start_plan(&mut ed).await;
    choose(&mut ed, &[1, 2, 3, 4, 5]).await;
    let paths = workstream_paths(&mut ed).await;
    for path in &paths {
        assert_eq!(set_target(&mut ed, path, "1200").await.status, 303);
    }
    (ed, paths)
}

/// The same form `N` times, with `vary` changing the i-th copy.
fn copies(form: &FormState, vary: impl Fn(usize, &mut FormState)) -> Vec<FormState> {
    (0..N)
        .map(|i| {
            let mut f = form.clone();
            vary(i, &mut f);
            f
        })
        .collect()
}

#[sqlx::test]
async fn workflow_steps_apply_once_whatever_the_number_of_requests(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (mut ed, _) = plan_of_five(&app).await;
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;
    let mut rv = app.login_as(&reviewer).await;

    // Submit.
    let submit = ed.form(PLAN, &format!("{PLAN}/submit")).await;
    let answers = ed.submit_all(&copies(&submit, |_, _| {})).await;
    exactly_one_applied("submit", &answers);
    assert_eq!(events(&app, "plan.submitted").await, 1);

    // Agree and return at once: one decision, audited once, and the status is that decision's.
    let review = rv.form(REVIEW, &format!("{PLAN}/review")).await;
    let answers = rv
        .submit_all(&copies(&review, |i, f| {
            if i % 2 == 0 {
                f.set("decision", "agree");
            } else {
                f.set("decision", "return")
                    .set("review_comment", "Add the lipid work");
            }
        }))
        .await;
    exactly_one_applied("agree or return", &answers);
    let (agreed, returned) = (
        events(&app, "plan.agreed").await,
        events(&app, "plan.returned").await,
    );
    assert_eq!(agreed + returned, 1);
    let status: String = sqlx::query_scalar("select status::text from plan")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, if agreed == 1 { "agreed" } else { "returned" });

    // Once agreed, a change of content reopens it: N target saves, one reopening, audited.
    if returned == 1 {
        let submit = ed.form(PLAN, &format!("{PLAN}/submit")).await;
        assert_eq!(ed.submit(&submit).await.status, 303);
        let mut review = rv.form(REVIEW, &format!("{PLAN}/review")).await;
        review.set("decision", "agree");
        assert_eq!(rv.submit(&review).await.status, 303);
    }
    let path = &workstream_paths(&mut ed).await[0];
    let target = ed.form(path, &format!("{path}/target")).await;
    let answers = ed
        .submit_all(&copies(&target, |i, f| {
            f.set("annual_target", &format!("{}", 2000 + i))
                .set("action", "split");
        }))
        .await;
    exactly_one_applied("target of an agreed plan", &answers);
    assert_eq!(
        events(&app, "plan.reopened").await,
        1,
        "the reopening is audited once"
    );
    assert_eq!(events(&app, "workstream.target_changed").await, 5 + 1);
    let status: String = sqlx::query_scalar("select status::text from plan")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "draft");
}

#[sqlx::test]
async fn plan_forms_apply_once_whatever_the_number_of_requests(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (mut ed, _) = plan_of_five(&app).await;
    let page = ed.get(PLAN).await.html();
    let value = |n: i32| {
        page.select(&sel(&format!("#opportunity-{n}")))
            .next()
            .and_then(|i| i.value().attr("value"))
            .unwrap()
            .to_owned()
    };
    let (six, seven) = (value(6), value(7));

    let choices = FormState::of(&page, &format!("{PLAN}/opportunities"));
    let answers = ed
        .submit_all(&copies(&choices, |i, f| {
            f.tick("opportunity", if i % 2 == 0 { &six } else { &seven });
        }))
        .await;
    exactly_one_applied("opportunity choices", &answers);
    assert_eq!(events(&app, "plan.opportunities_changed").await, 1 + 1);
    let live: i64 = sqlx::query_scalar("select count(*) from workstream where removed_at is null")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(live, 6, "one choice was applied, not several");

    let priority = ed.form(PLAN, &format!("{PLAN}/priorities")).await;
    let answers = ed
        .submit_all(&copies(&priority, |i, f| {
            f.set("priority_title", &format!("Care homes review {i}"));
        }))
        .await;
    exactly_one_applied("local priorities", &answers);
    let local: i64 = sqlx::query_scalar("select count(*) from workstream where title is not null")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(local, 1);
}

#[sqlx::test]
async fn workstream_forms_apply_once_whatever_the_number_of_requests(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (mut ed, paths) = plan_of_five(&app).await;
    let path = paths[0].clone();
    let page = ed.get(&path).await.html();
    let form = |action: &str| FormState::of(&page, &format!("{path}/{action}"));

    let cases: Vec<(&str, Vec<FormState>, &str)> = vec![
        (
            "details",
            copies(&form("details"), |i, f| {
                f.set("lead_name", &format!("Lead pharmacist {i}"));
            }),
            "workstream.details_changed",
        ),
        (
            "actuals",
            copies(&form("actuals"), |i, f| {
                f.set("actual_2024-06", &format!("{}", 100 + i));
            }),
            "workstream.actuals_changed",
        ),
        (
            "updates",
            copies(&form("updates"), |i, f| {
                // The figures suggest red by now: a green needs its reason.
                f.set("rag", "green")
                    .set("narrative", &format!("On track {i}"))
                    .set("rag_reason", "Catching up in the autumn");
            }),
            "workstream.update_added",
        ),
        (
            "measures",
            copies(&form("measures"), |i, f| {
                f.set("measure_name", &format!("DOACs best value {i}"))
                    .set("measure_unit", "%")
                    .set("measure_direction", "higher_is_better")
                    .set("baseline_value", "40")
                    .set("baseline_month", "2024-03")
                    .set("target_value", "80")
                    .set("target_month", "2025-03");
            }),
            "measure.created",
        ),
    ];
    // Each case from a freshly opened page, so each starts from the current version.
    for (case, _, action) in &cases {
        let fresh = ed.get(&path).await.html();
        let mut forms = cases
            .iter()
            .find(|(c, _, _)| c == case)
            .map(|(_, f, _)| f.clone())
            .unwrap();
        let version = FormState::of(&fresh, &format!("{path}/{case}"))
            .get("version")
            .unwrap()
            .to_owned();
        for f in &mut forms {
            f.set("version", &version);
        }
        let before = events(&app, action).await;
        let answers = ed.submit_all(&forms).await;
        exactly_one_applied(case, &answers);
        assert_eq!(
            events(&app, action).await,
            before + 1,
            "{case}: audited once"
        );
    }
    let updates: i64 = sqlx::query_scalar("select count(*) from workstream_update")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(updates, 1);

    // A measure's values.
    let page = ed.get(&path).await.html();
    let values_action = page
        .select(&sel("form[action*='/measures/']"))
        .next()
        .and_then(|f| f.value().attr("action"))
        .unwrap()
        .to_owned();
    let values = FormState::of(&page, &values_action);
    let answers = ed
        .submit_all(&copies(&values, |i, f| {
            f.set("value_2024-06", &format!("{}", 50 + i));
        }))
        .await;
    exactly_one_applied("measure values", &answers);
    assert_eq!(events(&app, "measure.values_changed").await, 1);

    // The target, then removal, of another workstream.
    let other = paths[1].clone();
    let target = ed.form(&other, &format!("{other}/target")).await;
    let before = events(&app, "workstream.target_changed").await;
    let answers = ed
        .submit_all(&copies(&target, |i, f| {
            // £100 a month phased; April takes what makes the months add up to the target.
            f.set("annual_target", &format!("{}", 3000 + i))
                .set("planned_2024-04", &format!("{}", 1900 + i));
        }))
        .await;
    exactly_one_applied("target and phasing", &answers);
    assert_eq!(events(&app, "workstream.target_changed").await, before + 1);
    let removal = ed
        .form(&format!("{other}/remove"), &format!("{other}/remove"))
        .await;
    let answers = ed.submit_all(&copies(&removal, |_, _| {})).await;
    exactly_one_applied("removal", &answers);
    assert_eq!(events(&app, "workstream.removed").await, 1);
}

#[sqlx::test]
async fn nothing_changes_a_plan_after_it_was_submitted(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (mut ed, paths) = plan_of_five(&app).await;
    // Target saves opened before the submit race it: whichever comes second is refused when
    // it would change a submitted plan, so no content change is audited after the submit.
    let submit = ed.form(PLAN, &format!("{PLAN}/submit")).await;
    let mut forms = vec![submit];
    for (i, path) in paths.iter().enumerate() {
        let mut target = ed.form(path, &format!("{path}/target")).await;
        target
            .set("annual_target", &format!("{}", 5000 + i))
            .set("action", "split");
        forms.push(target);
    }
    let answers = ed.submit_all(&forms).await;
    assert_eq!(answers[0].status, 303, "the submit applies");
    for a in &answers[1..] {
        assert!(matches!(a.status.as_u16(), 303 | 422), "{}", a.status);
    }
    let late: i64 = sqlx::query_scalar(
        "select count(*) from audit_event
         where action like 'workstream.%' and audit_event_id >
               (select audit_event_id from audit_event where action = 'plan.submitted')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(late, 0, "no content change after plan.submitted");
    let applied = answers[1..].iter().filter(|a| a.status == 303).count() as i64;
    assert_eq!(events(&app, "workstream.target_changed").await, 5 + applied);
}

/// The import page's preview of a file setting June's actual of `workstream` to `amount`.
async fn preview(ed: &mut Browser<'_>, workstream: i32, amount: &str) -> FormState {
    let file = format!(
        "icb_code,month,row_type,workstream_id,measure_id,name,unit,planned_saving_gbp,actual_saving_gbp,measure_value\n\
         QE1,2024-06-01,saving,{workstream},,x,,,{amount},\n"
    );
    let page = ed
        .post_file(&format!("{BASE}/import"), &[], "june.csv", file.as_bytes())
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    FormState::of(&page.html(), &format!("{BASE}/import/apply"))
}

async fn june_actual(app: &TestApp, workstream: i32) -> Option<i64> {
    sqlx::query_scalar("select actual_pence from workstream_month where workstream_id = $1 and month = '2024-06-01'")
        .bind(workstream)
        .fetch_optional(&app.pool)
        .await
        .unwrap()
        .flatten()
}

#[sqlx::test]
async fn an_import_and_a_page_save_never_overwrite_each_other(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (mut ed, paths) = plan_of_five(&app).await;
    let id: i32 = paths[0].rsplit('/').next().unwrap().parse().unwrap();

    // Preview, then a page save of the same month, then apply: refused, and the page says
    // what changed and who changed it; the page's value is kept.
    let apply = preview(&mut ed, id, "250").await;
    assert_eq!(
        set_actuals(&mut ed, &paths[0], &[("2024-06", "70")])
            .await
            .status,
        303
    );
    let refused = ed.submit(&apply).await;
    assert_eq!(refused.status, 409);
    let html = refused.html();
    assert_eq!(
        texts(&html, "#import-moved [data-col=then]"),
        ["Not reported"]
    );
    assert_eq!(texts(&html, "#import-moved [data-col=now]"), ["£70"]);
    assert!(texts(&html, "#import-moved [data-col=by]")[0].starts_with("Test ICB editor"));
    assert_eq!(june_actual(&app, id).await, Some(7000));

    // A page opened, then an import applied, then the page saved: the page is stale.
    let page_form = ed.form(&paths[0], &format!("{}/actuals", paths[0])).await;
    let apply = preview(&mut ed, id, "250").await;
    assert_eq!(ed.submit(&apply).await.status, 303);
    let mut stale = page_form.clone();
    stale.set("actual_2024-06", "80");
    assert_eq!(ed.submit(&stale).await.status, 409);
    assert_eq!(june_actual(&app, id).await, Some(25000));

    // Both at once: exactly one of them applies, and the audit's "before" of the one that
    // applied is the value it replaced.
    let page_form = ed.form(&paths[0], &format!("{}/actuals", paths[0])).await;
    let apply = preview(&mut ed, id, "300").await;
    let mut save = page_form.clone();
    save.set("actual_2024-06", "90");
    let answers = ed.submit_all(&[apply, save]).await;
    let applied: Vec<bool> = answers.iter().map(|a| a.status == 303).collect();
    assert_eq!(
        applied.iter().filter(|a| **a).count(),
        1,
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    let expected = if applied[0] { 30000 } else { 9000 };
    assert_eq!(june_actual(&app, id).await, Some(expected));
    let before: String = sqlx::query_scalar(
        "select details -> 'before' ->> 'Actual June 2024' from audit_event
         where action = 'workstream.actuals_changed' order by audit_event_id desc limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(before, "£250");
}

#[sqlx::test]
async fn one_preview_applied_many_times_applies_once(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (mut ed, paths) = plan_of_five(&app).await;
    let id: i32 = paths[0].rsplit('/').next().unwrap().parse().unwrap();
    let apply = preview(&mut ed, id, "410").await;
    let answers = ed.submit_all(&copies(&apply, |_, _| {})).await;
    let (applied, stale, other) = outcome(&answers);
    assert_eq!((applied, stale, other), (1, N - 1, vec![]));
    assert_eq!(events(&app, "import.applied").await, 1);
    assert_eq!(events(&app, "workstream.actuals_changed").await, 1);
    for a in answers.iter().filter(|a| a.status == 409) {
        assert_eq!(
            texts(&a.html(), "#notice"),
            ["These figures have already been imported: nothing was changed."]
        );
    }
    // And once more, later.
    assert_eq!(ed.submit(&apply).await.status, 409);
    assert_eq!(events(&app, "import.applied").await, 1);
    assert_eq!(june_actual(&app, id).await, Some(41000));
}

#[sqlx::test]
async fn the_month_form_applies_once_whatever_the_number_of_requests(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (mut ed, paths) = plan_of_five(&app).await;
    let june = format!("{BASE}/months/2024-06");
    let ids: Vec<i32> = paths
        .iter()
        .map(|p| p.rsplit('/').next().unwrap().parse().unwrap())
        .collect();

    // The same figures sent N times: one save, one audit event per workstream it changes.
    let form = ed.form(&june, &june).await;
    let answers = ed
        .submit_all(&copies(&form, |i, f| {
            f.set(&format!("ws{}_actual", ids[0]), &format!("{}", 100 + i))
                .set(&format!("ws{}_actual", ids[1]), "55");
        }))
        .await;
    exactly_one_applied("month figures", &answers);
    assert_eq!(events(&app, "workstream.actuals_changed").await, 2);
    assert_eq!(june_actual(&app, ids[1]).await, Some(5500));

    // The month page against a workstream page's actuals form, both opened before either is
    // saved, sent together: exactly one applies, and the other is told.
    let month = ed.form(&june, &june).await;
    let page = ed.form(&paths[0], &format!("{}/actuals", paths[0])).await;
    let mut by_month = month.clone();
    by_month.set(&format!("ws{}_actual", ids[0]), "400");
    let mut by_page = page.clone();
    by_page.set("actual_2024-06", "500");
    for (round, forms) in [
        [by_month.clone(), by_page.clone()],
        [by_page.clone(), by_month.clone()],
    ]
    .into_iter()
    .enumerate()
    {
        // Each round sends figures that differ from what is saved, whichever won before.
        let bump = 10 * round as i64;
        let month = ed.form(&june, &june).await;
        let page = ed.form(&paths[0], &format!("{}/actuals", paths[0])).await;
        let forms: Vec<FormState> = forms
            .iter()
            .map(|f| {
                let mut fresh = if f.action == june {
                    month.clone()
                } else {
                    page.clone()
                };
                for (name, value) in &f.fields {
                    if name.ends_with("_actual") || name.starts_with("actual_") {
                        let bumped = value.parse::<i64>().map(|v| (v + bump).to_string());
                        fresh.set(name, &bumped.unwrap_or_else(|_| value.clone()));
                    }
                }
                fresh
            })
            .collect();
        let answers = ed.submit_all(&forms).await;
        let statuses: Vec<u16> = answers.iter().map(|a| a.status.as_u16()).collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 303).count(),
            1,
            "{statuses:?}"
        );
        assert!(statuses.contains(&409), "{statuses:?}");
        let applied = if statuses[0] == 303 {
            &forms[0]
        } else {
            &forms[1]
        };
        let expected = if applied.action == june {
            40_000
        } else {
            50_000
        } + bump * 100;
        assert_eq!(june_actual(&app, ids[0]).await, Some(expected));
    }
}

#[sqlx::test]
async fn assurance_forms_apply_once_whatever_the_number_of_requests(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (mut ed, paths) = plan_of_five(&app).await;
    let path = paths[0].clone();

    // Each workstream form, from a freshly opened page (one version), N times at once.
    type Vary = fn(usize, &mut FormState);
    let cases: [(&str, &str, Vary); 5] = [
        (
            "classification",
            "workstream.classification_changed",
            |i, f| {
                f.set("saving_type", "recurrent")
                    .set("benefit_type", "cash_releasing")
                    .set("setting", "primary_care")
                    .set("investment", &format!("{}", 100 + i));
            },
        ),
        (
            "full-year-effect",
            "workstream.full_year_effect_changed",
            |i, f| {
                f.set("full_year_effect", &format!("{}", 5_000 + i));
            },
        ),
        ("forecast", "workstream.forecast_changed", |i, f| {
            f.set("forecast_month", "2024-06")
                .set("likely_outturn", &format!("{}", 1_000 + i))
                .set("confidence", "medium");
        }),
        ("risks", "risk.added", |i, f| {
            f.set("risk_description", &format!("Supply risk {i}"))
                .set("risk_status", "open");
        }),
        ("updates", "workstream.update_added", |i, f| {
            f.set("rag", "green")
                .set("narrative", &format!("On track {i}"))
                .set("rag_reason", "Switches are starting");
        }),
    ];
    for (action, event, vary) in cases {
        let form = ed.form(&path, &format!("{path}/{action}")).await;
        let before = events(&app, event).await;
        let answers = ed.submit_all(&copies(&form, vary)).await;
        exactly_one_applied(action, &answers);
        assert_eq!(
            events(&app, event).await,
            before + 1,
            "{action}: audited once"
        );
    }
    let risks: i64 = sqlx::query_scalar("select count(*) from workstream_risk")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(risks, 1);

    // A risk's own form, on the risk's version.
    let page = ed.get(&path).await.html();
    let action = page
        .select(&sel("form[action*='/risks/']"))
        .next()
        .and_then(|f| f.value().attr("action"))
        .unwrap()
        .to_owned();
    let risk = FormState::of(&page, &action);
    let answers = ed
        .submit_all(&copies(&risk, |i, f| {
            f.set("risk_mitigation", &format!("Second supplier {i}"));
        }))
        .await;
    exactly_one_applied("risk", &answers);
    assert_eq!(events(&app, "risk.changed").await, 1);

    // The plan's savings requirement.
    let assurance = "/icbs/QE1/2024-25/assurance";
    let requirement = ed
        .form(assurance, &format!("{assurance}/requirement"))
        .await;
    let answers = ed
        .submit_all(&copies(&requirement, |i, f| {
            f.set("savings_requirement", &format!("{}", 90_000 + i));
        }))
        .await;
    exactly_one_applied("savings requirement", &answers);
    assert_eq!(events(&app, "plan.requirement_changed").await, 1);

    // Starting next year from this one: N confirmations of one preview copy once.
    let next = "/icbs/QE1/2024-25/next-year";
    let confirm = ed.form(next, next).await;
    let answers = ed.submit_all(&copies(&confirm, |_, _| {})).await;
    exactly_one_applied("next year", &answers);
    assert_eq!(events(&app, "plan.carried_forward").await, 1);
    let copied: i64 = sqlx::query_scalar(
        "select count(*) from workstream where carried_from_workstream_id is not null",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(copied, 5, "each workstream copied once");
}
