//! The import of the monthly assurance fields (issue 12): a saving row carries the lead's
//! forecast as at its month (likely outturn and confidence), pre-filled in the template,
//! previewed, applied once and audited on the workstream's history; its mistakes are reported
//! by row and column with nothing written; a forecast saved on the page after the preview
//! stops the apply.

use medopt::auth::Role;
use sqlx::PgPool;

use crate::common::{Browser, FormState, TestApp, TestResponse, sel, text_of, texts};
use crate::seed::{self, Ws, snapshot};

const IMPORT: &str = "/icbs/QE1/2024-25/import";
const HEADER: &str = "icb_code,month,row_type,workstream_id,measure_id,name,unit,planned_saving_gbp,actual_saving_gbp,measure_value,likely_outturn_gbp,confidence";

async fn editor(app: &TestApp) -> Browser<'_> {
    let user = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut browser = app.login_as(&user).await;
    let page = browser.get(IMPORT).await;
    browser.csrf = crate::common::token_on(&page.html());
    browser
}

fn problems(response: &TestResponse) -> Vec<(String, String, String)> {
    response
        .html()
        .select(&sel("#import-problems tbody tr"))
        .map(|tr| {
            let cell = |col: &str| {
                tr.select(&sel(&format!("[data-col={col}]")))
                    .next()
                    .map(|c| text_of(&c))
                    .unwrap()
            };
            (cell("row"), cell("column"), cell("message"))
        })
        .collect()
}

async fn forecasts(pool: &PgPool) -> Vec<(i32, String, i64, String)> {
    sqlx::query_as(
        "select workstream_id, to_char(month, 'YYYY-MM'), likely_outturn_pence, confidence::text
         from workstream_forecast order by workstream_id, month",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test]
async fn a_months_file_carries_each_workstreams_forecast(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (_, ids) = seed::plan(
        &app.pool,
        "QE1",
        2024,
        "agreed",
        &[
            Ws::national(1, 12_000).actuals(&[Some(1_000), Some(1_000)]),
            Ws::local("Care homes", 2_400),
        ],
    )
    .await;
    let measure = seed::measure(&app.pool, ids[0], "Best-value DOACs", &[]).await;
    sqlx::query(
        "insert into workstream_forecast (workstream_id, icb_id, month, likely_outturn_pence, confidence)
         select workstream_id, icb_id, '2024-05-01', 1150000, 'medium' from workstream where workstream_id = $1",
    )
    .bind(ids[0])
    .execute(&app.pool)
    .await
    .unwrap();
    let mut browser = editor(&app).await;

    // The template carries what is saved for the month.
    let template = browser
        .get(&format!("{IMPORT}/template.csv?month=2024-05"))
        .await;
    let text = template.body.trim_start_matches('\u{feff}');
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], HEADER);
    assert!(lines[1].ends_with(",11500.00,medium"), "{}", lines[1]);
    assert!(lines[2].ends_with(",,"), "{}", lines[2]);

    // Mistakes, by row and column, and nothing written.
    let before = snapshot(&app.pool).await;
    let bad = format!(
        "{HEADER}\n\
         QE1,2024-06-01,saving,{a},,x,,,,,12000,\n\
         QE1,2024-06-01,saving,{b},,x,,,,,,high\n\
         QE1,2024-07-01,saving,{a},,x,,,,,12000,very\n\
         QE1,2024-07-01,measure,{a},{m},x,,,,71,12000,high\n\
         QE1,2025-06-01,saving,{b},,x,,,,,100,low\n",
        a = ids[0],
        b = ids[1],
        m = measure
    );
    let refused = browser
        .post_file(IMPORT, &[], "june.csv", bad.as_bytes())
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(
        problems(&refused),
        [
            ("2".into(), "L (confidence)".into(), "Enter the confidence (high, medium or low) with the likely outturn".into()),
            ("3".into(), "K (likely_outturn_gbp)".into(), "Enter the likely outturn for the year with the confidence".into()),
            ("4".into(), "L (confidence)".into(), "Enter high, medium or low".into()),
            ("5".into(), "K (likely_outturn_gbp)".into(), "A measure row has no forecast: put the likely outturn and confidence on the workstream's saving row".into()),
            ("6".into(), "B (month)".into(), "June 2025 is not in 2024/25 (April 2024 to March 2025)".into()),
        ]
    );
    assert_eq!(snapshot(&app.pool).await, before);

    // A June file with actuals and forecasts: previewed, then applied once.
    let good = format!(
        "{HEADER}\n\
         QE1,2024-06-01,saving,{a},,x,,,900,,\"11,000\",High\n\
         QE1,2024-06-01,saving,{b},,x,,,,,2400.50,low\n\
         QE1,2024-05-01,saving,{a},,x,,,,,11500,medium\n",
        a = ids[0],
        b = ids[1]
    );
    let preview = browser
        .post_file(IMPORT, &[], "june.csv", good.as_bytes())
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    let rows: Vec<Vec<String>> = preview
        .html()
        .select(&sel("#import-changes tbody tr"))
        .map(|tr| tr.select(&sel("th, td")).map(|c| text_of(&c)).collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec![
                "Actual saving: 1. Addressing problematic polypharmacy".to_owned(),
                "June 2024".into(),
                "Not reported".into(),
                "£900".into()
            ],
            vec![
                "Forecast: 1. Addressing problematic polypharmacy".to_owned(),
                "June 2024".into(),
                "Not recorded".into(),
                "£11,000 (high confidence)".into()
            ],
            vec![
                "Forecast: Care homes".to_owned(),
                "June 2024".into(),
                "Not recorded".into(),
                "£2,400.50 (low confidence)".into()
            ],
        ]
    );
    assert_eq!(
        snapshot(&app.pool).await,
        before,
        "a preview writes nothing"
    );
    let confirm = FormState::of(&preview.html(), &format!("{IMPORT}/apply"));
    let applied = browser.submit(&confirm).await;
    assert_eq!(applied.location(), Some(&*format!("{IMPORT}?done=3")));
    assert_eq!(
        forecasts(&app.pool).await,
        [
            (ids[0], "2024-05".into(), 1_150_000, "medium".into()),
            (ids[0], "2024-06".into(), 1_100_000, "high".into()),
            (ids[1], "2024-06".into(), 240_050, "low".into()),
        ]
    );
    let page = browser
        .get(&format!("/icbs/QE1/2024-25/workstreams/{}", ids[0]))
        .await;
    let history = texts(&page.html(), "#history-log li li");
    assert!(
        history.contains(&"Likely outturn (as at June 2024): (blank) → £11,000".to_owned()),
        "{history:?}"
    );
    assert_eq!(
        texts(
            &page.html(),
            "#assurance-figures [data-figure=likely_outturn] dd"
        ),
        ["£11,000 As at June 2024, high confidence"]
    );
    let source: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action = 'workstream.forecast_changed' and details ->> 'source' = 'import'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(source, 2);
    // Applied once: the same confirmation again changes nothing.
    let after = snapshot(&app.pool).await;
    assert_eq!(browser.submit(&confirm).await.status, 409);
    assert_eq!(snapshot(&app.pool).await, after);

    // A forecast saved on the page after the preview stops the apply, and says who saved it.
    let july = format!(
        "{HEADER}\nQE1,2024-07-01,saving,{a},,x,,,,,10000,low\n",
        a = ids[0]
    );
    let preview = browser
        .post_file(IMPORT, &[], "july.csv", july.as_bytes())
        .await;
    let confirm = FormState::of(&preview.html(), &format!("{IMPORT}/apply"));
    let path = format!("/icbs/QE1/2024-25/workstreams/{}", ids[0]);
    let mut form = browser.form(&path, &format!("{path}/forecast")).await;
    form.set("forecast_month", "2024-07")
        .set("likely_outturn", "9,500")
        .set("confidence", "medium");
    assert_eq!(browser.submit(&form).await.status, 303);
    let moved = browser.submit(&confirm).await;
    assert_eq!(moved.status, 409);
    let html = moved.html();
    assert_eq!(
        texts(&html, "#import-moved [data-col=now]"),
        ["£9,500 (medium confidence)"]
    );
    assert!(texts(&html, "#import-moved [data-col=by]")[0].starts_with("Test ICB editor"));
    assert!(
        forecasts(&app.pool)
            .await
            .contains(&(ids[0], "2024-07".into(), 950_000, "medium".into())),
        "the page's forecast is kept"
    );
}
