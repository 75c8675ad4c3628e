//! The month page (`/icbs/{icb}/{year}/months/{month}`) through the router: one form for the
//! month's actual savings and measure values saved together, messages by the field, a stale
//! form refused whole (409) with nothing changed, months not started refused, read-only users
//! shown tables; the dashboard's link to the month that is due; and the plan-against-actual
//! grid's figures against an independent computation from the stored rows.

use chrono::NaiveDate;
use medopt::auth::Role;
use sqlx::PgPool;

use crate::common::{FormState, TestApp, TestResponse, pounds, sel, text_of, texts};
use crate::seed::{self, Ws};

const BASE: &str = "/icbs/QE1/2024-25";
const JUNE: &str = "/icbs/QE1/2024-25/months/2024-06";

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A draft 2024/25 plan for QE1: opportunities 1 and 2 (£1,200 a year each, £100 a month;
/// 1 reported April and May), a local priority, and a measure on opportunity 1.
async fn plant(app: &TestApp) -> (Vec<i32>, i32) {
    let (_, ids) = seed::plan(
        &app.pool,
        "QE1",
        2024,
        "agreed",
        &[
            Ws::national(1, 1200).actuals(&[Some(90), Some(110)]),
            Ws::national(2, 1200),
            Ws::local("Care home reviews", 2400),
        ],
    )
    .await;
    let measure = seed::measure(&app.pool, ids[0], "DOACs prescribed as best value", &[]).await;
    (ids, measure)
}

async fn june_actual(app: &TestApp, workstream: i32) -> Option<i64> {
    sqlx::query_scalar(
        "select actual_pence from workstream_month where workstream_id = $1 and month = '2024-06-01'",
    )
    .bind(workstream)
    .fetch_optional(&app.pool)
    .await
    .unwrap()
    .flatten()
}

fn month_form(page: &TestResponse) -> FormState {
    FormState::of(&page.html(), JUNE)
}

#[sqlx::test]
async fn a_month_is_entered_on_one_page_and_saved_together(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (ids, measure) = plant(&app).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut ed = app.login_as(&editor).await;

    let page = ed.get(JUNE).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.h1(), "June 2024 figures");
    // Every workstream's planned saving is shown beside its field; the plan is not editable.
    let html = page.html();
    assert_eq!(
        texts(&html, "fieldset [data-col=planned]"),
        ["£100", "£100", "£200"]
    );
    assert!(html.select(&sel("input[name^=planned]")).next().is_none());

    let mut form = month_form(&page);
    form.set(&format!("ws{}_actual", ids[0]), "1,250.50")
        .set(&format!("ws{}_actual", ids[2]), "-40")
        .set(&format!("m{measure}_value"), "61.5");
    let saved = ed.submit(&form).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(saved.location(), Some(&*format!("{JUNE}?notice=saved")));

    assert_eq!(june_actual(&app, ids[0]).await, Some(125_050));
    assert_eq!(june_actual(&app, ids[1]).await, None);
    assert_eq!(june_actual(&app, ids[2]).await, Some(-4_000));
    let value: f64 = sqlx::query_scalar(
        "select value from measure_value where measure_id = $1 and month = '2024-06-01'",
    )
    .bind(measure)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(value, 61.5);

    // Each changed record is audited on its workstream's history, like a save on its page;
    // the workstream nobody changed is not.
    let events: Vec<(String, String)> = sqlx::query_as(
        "select action, object_id from audit_event
         where action in ('workstream.actuals_changed', 'measure.values_changed')
           and details ->> 'source' = 'month' order by audit_event_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        events,
        [
            ("workstream.actuals_changed".into(), ids[0].to_string()),
            ("measure.values_changed".into(), ids[0].to_string()),
            ("workstream.actuals_changed".into(), ids[2].to_string()),
        ]
    );
    let history = ed.get(&format!("{BASE}/workstreams/{}", ids[0])).await;
    assert!(
        texts(&history.html(), "#history-log li")
            .iter()
            .any(|h| h.contains("Actual June 2024: not reported → £1,250.50")),
        "{:?}",
        texts(&history.html(), "#history-log li")
    );

    // The page shows what was saved, and sending the same again changes nothing.
    let page = ed.get(&format!("{JUNE}?notice=saved")).await;
    assert_eq!(
        texts(&page.html(), "#notice"),
        ["The month's figures have been saved."]
    );
    let again = month_form(&page);
    assert_eq!(again.get(&format!("ws{}_actual", ids[0])), Some("1250.50"));
    let unchanged = ed.submit(&again).await;
    assert_eq!(
        unchanged.location(),
        Some(&*format!("{JUNE}?notice=unchanged"))
    );

    // Clearing a figure is a change too.
    let mut clear = month_form(&ed.get(JUNE).await);
    clear.set(&format!("ws{}_actual", ids[2]), "");
    assert_eq!(ed.submit(&clear).await.status, 303);
    assert_eq!(june_actual(&app, ids[2]).await, None);
}

#[sqlx::test]
async fn mistakes_are_shown_by_their_fields_and_nothing_is_saved(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (ids, measure) = plant(&app).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut ed = app.login_as(&editor).await;
    let before = seed::snapshot(&app.pool).await;

    let mut form = month_form(&ed.get(JUNE).await);
    form.set(&format!("ws{}_actual", ids[0]), "12,34")
        .set(&format!("ws{}_actual", ids[1]), "500")
        .set(&format!("m{measure}_value"), "about sixty");
    let refused = ed.submit(&form).await;
    assert_eq!(refused.status, 422);
    assert_eq!(
        refused
            .field_error(&format!("ws{}_actual", ids[0]))
            .unwrap(),
        "Error: 1. Addressing problematic polypharmacy: Use commas only between groups of 3 digits, like 1,234,567"
    );
    assert!(
        refused
            .field_error(&format!("m{measure}_value"))
            .unwrap()
            .contains("Enter a number for DOACs prescribed as best value")
    );
    // The error summary links to each field; the values typed are shown again.
    let html = refused.html();
    let links: Vec<String> = html
        .select(&sel(".nhsuk-error-summary a"))
        .filter_map(|a| a.value().attr("href").map(str::to_owned))
        .collect();
    assert_eq!(
        links,
        [
            format!("#ws{}_actual", ids[0]),
            format!("#m{measure}_value")
        ]
    );
    let shown = FormState::of(&html, JUNE);
    assert_eq!(shown.get(&format!("ws{}_actual", ids[1])), Some("500"));
    assert_eq!(seed::snapshot(&app.pool).await, before, "nothing was saved");

    // A figure sent twice is refused rather than guessed at.
    let mut twice = month_form(&ed.get(JUNE).await);
    twice
        .fields
        .push((format!("ws{}_actual", ids[1]), "7".into()));
    twice
        .fields
        .push((format!("ws{}_actual", ids[1]), "8".into()));
    assert_eq!(ed.submit(&twice).await.status, 422);
    assert_eq!(seed::snapshot(&app.pool).await, before);
}

#[sqlx::test]
async fn a_stale_form_is_refused_whole_and_shows_what_changed(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (ids, _) = plant(&app).await;
    let first = app.user(Role::IcbEditor, Some("QE1")).await;
    let second = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut a = app.login_as(&first).await;
    let mut b = app.login_as(&second).await;

    let mut mine = month_form(&a.get(JUNE).await);
    // Meanwhile someone else saves June on the first workstream's own page.
    let path = format!("{BASE}/workstreams/{}", ids[0]);
    let mut theirs = b.form(&path, &format!("{path}/actuals")).await;
    theirs.set("actual_2024-06", "300");
    assert_eq!(b.submit(&theirs).await.status, 303);
    let before = seed::snapshot(&app.pool).await;

    mine.set(&format!("ws{}_actual", ids[0]), "250")
        .set(&format!("ws{}_actual", ids[1]), "75");
    let stale = a.submit(&mine).await;
    assert_eq!(stale.status, 409);
    let html = stale.html();
    assert_eq!(
        texts(&html, "#conflict-changed li"),
        ["1. Addressing problematic polypharmacy"]
    );
    let rows: Vec<Vec<String>> = html
        .select(&sel("#conflict-table tbody tr"))
        .map(|tr| tr.select(&sel("th, td")).map(|c| text_of(&c)).collect())
        .collect();
    assert_eq!(
        rows,
        [[
            "Actual saving, 1. Addressing problematic polypharmacy",
            "300",
            "250"
        ]]
    );
    // Nothing was saved, not even the other workstream's figure, and the form shows what is
    // saved now, with the new version.
    assert_eq!(seed::snapshot(&app.pool).await, before);
    assert_eq!(june_actual(&app, ids[1]).await, None);
    let fresh = FormState::of(&html, JUNE);
    assert_eq!(fresh.get(&format!("ws{}_actual", ids[0])), Some("300"));
    let mut retry = fresh.clone();
    retry.set(&format!("ws{}_actual", ids[1]), "75");
    assert_eq!(a.submit(&retry).await.status, 303);
    assert_eq!(june_actual(&app, ids[1]).await, Some(7_500));
    assert_eq!(june_actual(&app, ids[0]).await, Some(30_000));

    // A workstream removed since the form was opened makes it stale too.
    let mut old = month_form(&a.get(JUNE).await);
    sqlx::query("update workstream set removed_at = now() where workstream_id = $1")
        .bind(ids[2])
        .execute(&app.pool)
        .await
        .unwrap();
    old.set(&format!("ws{}_actual", ids[1]), "80");
    let stale = a.submit(&old).await;
    assert_eq!(stale.status, 409);
    assert_eq!(june_actual(&app, ids[1]).await, Some(7_500));
}

#[sqlx::test]
async fn months_that_have_not_started_are_shown_but_refuse_actuals(pool: PgPool) {
    let app = TestApp::at(pool, day(2024, 7, 15)).await;
    let (ids, measure) = plant(&app).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut ed = app.login_as(&editor).await;

    let september = "/icbs/QE1/2024-25/months/2024-09";
    let page = ed.get(september).await;
    assert_eq!(page.status, 200);
    let html = page.html();
    assert!(
        texts(&html, "#locked")[0].starts_with("September 2024 has not started yet"),
        "{:?}",
        texts(&html, "#locked")
    );
    assert!(
        html.select(&sel(&format!("form[action=\"{september}\"]")))
            .next()
            .is_none()
    );
    assert_eq!(
        texts(&html, "#month-figures tbody [data-col=planned]")[0],
        "£100"
    );

    let before = seed::snapshot(&app.pool).await;
    let version: i32 =
        sqlx::query_scalar("select version from workstream where workstream_id = $1")
            .bind(ids[0])
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let mversion: i32 = sqlx::query_scalar("select version from measure where measure_id = $1")
        .bind(measure)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let refused = ed
        .post(
            september,
            &[
                (&format!("ws{}_version", ids[0]), &version.to_string()),
                (&format!("ws{}_actual", ids[0]), "100"),
                (&format!("m{measure}_version"), &mversion.to_string()),
                (&format!("m{measure}_value"), "50"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(
        texts(&refused.html(), ".nhsuk-error-summary li"),
        [
            "1. Addressing problematic polypharmacy: September 2024 has not started yet",
            "DOACs prescribed as best value: September 2024 has not started yet"
        ]
    );
    assert_eq!(seed::snapshot(&app.pool).await, before);

    // A month outside the year is not a page of it.
    assert_eq!(ed.get("/icbs/QE1/2024-25/months/2025-04").await.status, 404);
    assert_eq!(ed.get("/icbs/QE1/2024-25/months/2024-6").await.status, 404);
}

#[sqlx::test]
async fn readers_and_a_closed_year_see_figures_as_tables(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (ids, _) = plant(&app).await;
    let workstream = format!("{BASE}/workstreams/{}", ids[0]);
    let may = "/icbs/QE1/2024-25/months/2024-05";
    let readers = [
        app.user(Role::IcbViewer, Some("QE1")).await,
        app.user(Role::RegionReviewer, Some("Y62")).await,
        app.user(Role::NationalAnalyst, None).await,
        app.user(Role::Admin, None).await,
    ];
    let check = |who: &str, month: &TestResponse, ws: &TestResponse| {
        assert_eq!(
            (month.status.as_u16(), ws.status.as_u16()),
            (200, 200),
            "{who}"
        );
        for (page, response) in [("month", month), ("workstream", ws)] {
            let html = response.html();
            let fields: Vec<String> = html
                .select(&sel(
                    "main input:not([type=hidden]), main textarea, main button",
                ))
                .map(|e| e.value().attr("name").unwrap_or("button").to_owned())
                .collect();
            assert!(fields.is_empty(), "{who} {page}: {fields:?}");
        }
        let month_html = month.html();
        let rows: Vec<Vec<String>> = month_html
            .select(&sel("#month-figures tbody tr"))
            .map(|tr| tr.select(&sel("td")).map(|c| text_of(&c)).collect())
            .collect();
        assert_eq!(rows[0], ["£100", "£110", "£10"], "{who}");
        assert_eq!(rows[1], ["£100", "Not reported", "–"], "{who}");
        let ws_html = ws.html();
        assert_eq!(
            texts(
                &ws_html,
                "#saved-months tr[data-month='2024-05'] [data-col=actual]"
            ),
            ["£110"],
            "{who}"
        );
        assert!(
            ws_html.select(&sel("#details-summary")).next().is_some(),
            "{who}"
        );
    };
    for reader in &readers {
        let mut browser = app.login_as(reader).await;
        let month = browser.get(may).await;
        let ws = browser.get(&workstream).await;
        check(reader.role.as_str(), &month, &ws);
    }

    // An editor sees the forms while the year is open, and tables once it is closed.
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut ed = app.login_as(&editor).await;
    assert!(
        ed.get(may)
            .await
            .html()
            .select(&sel(&format!("form[action=\"{may}\"]")))
            .next()
            .is_some()
    );
    sqlx::query(
        "update programme_year set open_for_editing = false where starts_on = '2024-04-01'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let month = ed.get(may).await;
    let ws = ed.get(&workstream).await;
    check("editor of a closed year", &month, &ws);
    assert!(texts(&month.html(), "#locked")[0].contains("closed for editing"));
}

/// The href of the dashboard's link to the month to report.
async fn report_link(app: &TestApp, role: Role) -> Option<(String, String)> {
    let user = app.user(role, Some("QE1")).await;
    let mut browser = app.login_as(&user).await;
    let html = browser.get(BASE).await.html();
    html.select(&sel("#report-month-link"))
        .next()
        .map(|a| (a.value().attr("href").unwrap().to_owned(), text_of(&a)))
}

#[sqlx::test]
async fn the_dashboard_links_to_the_month_that_is_due(pool: PgPool) {
    // 5 December 2024: November's figures are due (by the end of December).
    let app = TestApp::at(pool, day(2024, 12, 5)).await;
    let (ids, _) = plant(&app).await;
    assert_eq!(
        report_link(&app, Role::IcbEditor).await,
        Some((
            "/icbs/QE1/2024-25/months/2024-11".into(),
            "Report the figures for November 2024".into()
        ))
    );
    // Once November is reported, December (under way) is next.
    sqlx::query(
        "update workstream_month set actual_pence = 5000 where workstream_id = $1 and month = '2024-11-01'",
    )
    .bind(ids[1])
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        report_link(&app, Role::IcbViewer).await,
        Some((
            "/icbs/QE1/2024-25/months/2024-12".into(),
            "See the figures for December 2024".into()
        ))
    );
}

#[sqlx::test]
async fn the_grid_matches_an_independent_computation_from_the_stored_rows(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (plan_id, _) = seed::plan(
        &app.pool,
        "QE1",
        2024,
        "agreed",
        &[
            Ws::national(4, 12_000).actuals(&[Some(900), Some(1_100), None, Some(700)]),
            Ws::national(9, 6_000).actuals(&[Some(450), None, Some(520)]),
            Ws::local("Care home reviews", 2_400).actuals(&[Some(0), Some(-50)]),
            Ws::national(1, 5_000).actuals(&[Some(999)]).removed(),
        ],
    )
    .await;
    let viewer = app.user(Role::IcbViewer, Some("QE1")).await;
    let mut browser = app.login_as(&viewer).await;
    let page = browser.get(&format!("{BASE}/grid")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let html = page.html();

    // Independently: "to date" runs to the reporting month (the latest month whose figures are
    // due), as on every page; 2024/25 is over, so that is the whole year. Live workstreams.
    let expected: Vec<(i32, i64, i64)> = sqlx::query_as(
        "with live as (select workstream_id from workstream where plan_id = $1 and removed_at is null)
         select w.workstream_id,
                (sum(m.planned_pence) / 100)::bigint,
                (coalesce(sum(m.actual_pence), 0) / 100)::bigint
         from live w join workstream_month m using (workstream_id)
         group by w.workstream_id order by w.workstream_id",
    )
    .bind(plan_id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(expected.len(), 3, "the removed workstream is left out");
    let mut total = (0, 0);
    for (id, planned, actual) in &expected {
        let body = format!("tbody[data-workstream=\"{id}\"]");
        let cell = |css: &str| pounds(&texts(&html, &format!("{body} {css}"))[0]);
        assert_eq!(cell("tr[data-kind=planned] [data-col=to_date]"), *planned);
        assert_eq!(cell("tr[data-kind=actual] [data-col=to_date]"), *actual);
        assert_eq!(cell("[data-col=variance]"), actual - planned);
        let percent = texts(&html, &format!("{body} [data-col=percent]"))[0].clone();
        let rounded = (*actual as f64 * 100.0 / *planned as f64).round();
        assert_eq!(percent, format!("{rounded}%"));
        total = (total.0 + planned, total.1 + actual);
    }
    let grand = |css: &str| pounds(&texts(&html, &format!("#grid-total {css}"))[0]);
    assert_eq!(grand("tr[data-kind=planned] [data-col=to_date]"), total.0);
    assert_eq!(grand("tr[data-kind=actual] [data-col=to_date]"), total.1);
    assert_eq!(grand("[data-col=variance]"), total.1 - total.0);

    // Each month's cells are the stored figures: opportunity 4's row, April to March.
    let row = |kind: &str| -> Vec<String> {
        html.select(&sel(&format!(
            "tbody[data-workstream=\"{}\"] tr[data-kind={kind}] td",
            expected[0].0
        )))
        .map(|td| text_of(&td))
        .take(12)
        .collect()
    };
    assert_eq!(row("planned"), vec!["£1,000".to_owned(); 12]);
    assert_eq!(
        row("actual")[..5],
        ["£900", "£1,100", "– Not reported", "£700", "– Not reported"]
    );
    // Month headings are row and column headers of an accessible table, linking to the month.
    let headers: Vec<String> = html
        .select(&sel("#grid thead th a"))
        .filter_map(|a| a.value().attr("href").map(str::to_owned))
        .collect();
    assert_eq!(headers.len(), 12);
    assert_eq!(headers[0], "/icbs/QE1/2024-25/months/2024-04");
    assert_eq!(
        html.select(&sel("#grid tbody th[scope=rowgroup]")).count(),
        expected.len() + 1
    );
    // The dashboard and the tabs link to it.
    let dashboard = browser.get(BASE).await.html();
    assert!(dashboard.select(&sel("#grid-link")).next().is_some());
    assert!(
        dashboard
            .select(&sel(".app-tabs a[href=\"/icbs/QE1/2024-25/grid\"]"))
            .next()
            .is_some()
    );
}
