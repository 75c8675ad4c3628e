//! Importing a month's figures from CSV: the template, a valid file applied exactly once, every
//! kind of error reported with its row and column while nothing is written, file-level
//! refusals (size, not CSV) and a file whose changes went stale between preview and apply.

use medopt::auth::Role;
use sqlx::PgPool;

use crate::common::{Browser, FormState, TestApp, TestResponse, sel, text_of, texts};
use crate::seed::{self, Ws};

const IMPORT: &str = "/icbs/QE1/2024-25/import";
const HEADER: &str = "icb_code,month,row_type,workstream_id,measure_id,name,unit,planned_saving_gbp,actual_saving_gbp,measure_value";

struct Planted {
    statins: i32,
    local: i32,
    measure: i32,
    foreign: i32,
}

async fn plant(pool: &PgPool) -> Planted {
    let (_, ids) = seed::plan(
        pool,
        "QE1",
        2024,
        "agreed",
        &[
            Ws::national(1, 120_000).actuals(&[Some(9_000), Some(11_000)]),
            Ws::local("Care homes", 24_000),
        ],
    )
    .await;
    let measure = seed::measure(pool, ids[0], "Best-value DOACs", &[("2024-05-01", 70.0)]).await;
    let (_, foreign) = seed::plan(pool, "QWE", 2024, "draft", &[Ws::national(1, 12_000)]).await;
    Planted {
        statins: ids[0],
        local: ids[1],
        measure,
        foreign: foreign[0],
    }
}

async fn editor(app: &TestApp) -> Browser<'_> {
    let user = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut browser = app.login_as(&user).await;
    let page = browser.get(IMPORT).await;
    assert_eq!(page.status, 200, "{}", page.body);
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

#[sqlx::test]
async fn the_template_is_prefilled_and_a_valid_file_applies_exactly_once(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let p = plant(&app.pool).await;
    let mut browser = editor(&app).await;

    // 2024/25 is over, so the month offered first is its last, and a template asked for
    // without a month is for that month.
    let page = browser.get(IMPORT).await;
    assert_eq!(
        texts(&page.html(), "#month option[selected]"),
        ["March 2025"]
    );
    let latest = browser.get(&format!("{IMPORT}/template.csv")).await;
    assert_eq!(
        latest.header("content-disposition"),
        Some("attachment; filename=\"medopt-import-QE1-2025-03.csv\"")
    );

    let template = browser
        .get(&format!("{IMPORT}/template.csv?month=2024-05"))
        .await;
    assert_eq!(template.status, 200);
    assert_eq!(
        template.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    let text = template.body.strip_prefix('\u{feff}').unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // The template has the forecast columns; files without them are still accepted.
    assert_eq!(lines[0], format!("{HEADER},likely_outturn_gbp,confidence"));
    assert_eq!(
        lines[1],
        format!(
            "QE1,2024-05-01,saving,{},,1. Addressing problematic polypharmacy,,10000.00,11000.00,,,",
            p.statins
        )
    );
    assert!(
        lines[2].starts_with(&format!(
            "QE1,2024-05-01,saving,{},,Care homes,,2000.00,,",
            p.local
        )),
        "{}",
        lines[2]
    );
    assert_eq!(
        lines[3],
        format!(
            "QE1,2024-05-01,measure,{},{},Best-value DOACs (%),,,,70,,",
            p.statins, p.measure
        )
    );

    // Fill in: a new actual for the local priority, a corrected one, and a measure value.
    let filled = format!(
        "{HEADER}\r\n\
         QE1,2024-05-01,saving,{s},,Statins,,10000.00,\"11,250.50\",\r\n\
         QE1,2024-05-01,saving,{l},,Care homes,,2000.00,1800,\r\n\
         QE1,2024-05-01,measure,{s},{m},Best-value DOACs,,,,72.5\r\n\
         QE1,2024-04-01,saving,{s},,Statins,,,9000,\r\n",
        s = p.statins,
        l = p.local,
        m = p.measure
    );
    let before = seed::snapshot(&app.pool).await;
    let preview = browser
        .post_file(IMPORT, &[], "may.csv", filled.as_bytes())
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    let changes: Vec<Vec<String>> = preview
        .html()
        .select(&sel("#import-changes tbody tr"))
        .map(|tr| tr.select(&sel("th, td")).map(|c| text_of(&c)).collect())
        .collect();
    assert_eq!(changes.len(), 3, "{changes:?}");
    assert_eq!(changes[0][1..], ["May 2024", "£11,000", "£11,250.50"]);
    assert_eq!(changes[1][1..], ["May 2024", "Not reported", "£1,800"]);
    assert_eq!(changes[2][1..], ["May 2024", "70", "72.5"]);
    assert_eq!(
        seed::snapshot(&app.pool).await,
        before,
        "a preview writes nothing"
    );

    let confirm = FormState::of(&preview.html(), &format!("{IMPORT}/apply"));
    let applied = browser.submit(&confirm).await;
    assert_eq!(applied.status, 303, "{}", applied.body);
    assert_eq!(
        applied.location(),
        Some(format!("{IMPORT}?done=3").as_str())
    );
    let actuals: Vec<(i32, Option<i64>)> = sqlx::query_as(
        "select workstream_id, actual_pence from workstream_month
         where month = '2024-05-01' and workstream_id = any($1) order by workstream_id",
    )
    .bind(vec![p.statins, p.local])
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        actuals,
        [(p.statins, Some(1_125_050)), (p.local, Some(180_000))]
    );
    let value: f64 = sqlx::query_scalar(
        "select value from measure_value where measure_id = $1 and month = '2024-05-01'",
    )
    .bind(p.measure)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(value, 72.5);
    // Audited like edits on the page, so the workstream's history shows them.
    let history = browser
        .get(&format!("/icbs/QE1/2024-25/workstreams/{}", p.statins))
        .await;
    let changes = texts(&history.html(), "#history-log li li");
    assert!(
        changes.contains(&"Actual May 2024: £11,000 → £11,250.50".to_owned()),
        "{changes:?}"
    );
    let after_first = seed::snapshot(&app.pool).await;

    // The same confirmation again (a double click, or the back button) changes nothing.
    let again = browser.submit(&confirm).await;
    assert_eq!(again.status, 409);
    assert!(again.html().select(&sel("#no-changes")).next().is_some());
    // So does uploading the same file again.
    let second = browser
        .post_file(IMPORT, &[], "may.csv", filled.as_bytes())
        .await;
    assert_eq!(second.status, 200);
    assert!(second.html().select(&sel("#no-changes")).next().is_some());
    assert!(
        second
            .html()
            .select(&sel(&format!("form[action=\"{IMPORT}/apply\"]")))
            .next()
            .is_none()
    );
    assert_eq!(seed::snapshot(&app.pool).await, after_first);
    let imports: i64 =
        sqlx::query_scalar("select count(*) from audit_event where action = 'import.applied'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(imports, 1);
}

#[sqlx::test]
async fn every_error_is_reported_with_its_row_and_column_and_nothing_is_written(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let p = plant(&app.pool).await;
    let mut browser = editor(&app).await;
    let before = seed::snapshot(&app.pool).await;
    let file = format!(
        "{HEADER}\n\
         QE1,2024-05-01,saving,{s},,x,,,500,\n\
         QE1,2024-05-01,saving,{s},,x,,,600,\n\
         QE1,2023-05-01,saving,{s},,x,,,500,\n\
         QE1,2024-06-01,saving,{s},,x,,,12.345,\n\
         QE1,2024-06-01,saving,99999,,x,,,5,\n\
         QWE,2024-06-01,saving,{f},,x,,,5,\n\
         QE1,2024-07-01,saving,{f},,x,,,5,\n",
        s = p.statins,
        f = p.foreign
    );
    let response = browser
        .post_file(IMPORT, &[], "bad.csv", file.as_bytes())
        .await;
    assert_eq!(response.status, 422);
    assert_eq!(
        response.field_error("file").as_deref(),
        Some(
            "Error: The file has 7 problems: nothing was imported. Correct them and upload it again."
        )
    );
    let found = problems(&response);
    let foreign = format!("\"{}\" is not one of QE1's workstreams", p.foreign);
    let expected: Vec<(String, String, &str)> = vec![
        (
            "3".into(),
            "D (workstream_id)".into(),
            "This row repeats row 2",
        ),
        ("4".into(), "B (month)".into(), "May 2023 is not in 2024/25"),
        (
            "5".into(),
            "I (actual_saving_gbp)".into(),
            "Enter no more than 2 decimal places",
        ),
        (
            "6".into(),
            "D (workstream_id)".into(),
            "\"99999\" is not one of QE1's workstreams",
        ),
        (
            "7".into(),
            "A (icb_code)".into(),
            "This row is for QWE; you can only import figures for QE1",
        ),
        ("7".into(), "D (workstream_id)".into(), &foreign),
        ("8".into(), "D (workstream_id)".into(), &foreign),
    ];
    assert_eq!(found.len(), expected.len(), "{found:?}");
    for ((row, column, message), (e_row, e_column, e_message)) in found.iter().zip(&expected) {
        assert_eq!((row, column), (e_row, e_column), "{message}");
        assert!(
            message.starts_with(e_message),
            "{message} should start with {e_message}"
        );
    }
    // The summary at the top links to the file field.
    assert_eq!(texts(&response.html(), ".nhsuk-error-summary a").len(), 1);
    assert!(
        response
            .html()
            .select(&sel(".nhsuk-error-summary a[href=\"#file\"]"))
            .next()
            .is_some()
    );

    let headers = browser
        .post_file(
            IMPORT,
            &[],
            "bad.csv",
            b"icb,month,type\nQE1,2024-05-01,saving\n",
        )
        .await;
    let found = problems(&headers);
    assert_eq!(
        found[0],
        (
            "1".into(),
            "A (icb_code)".into(),
            "Expected the column icb_code, found icb".into()
        )
    );
    assert_eq!(
        found[1],
        (
            "1".into(),
            "C (row_type)".into(),
            "Expected the column row_type, found type".into()
        )
    );
    assert_eq!(seed::snapshot(&app.pool).await, before);
}

#[sqlx::test]
async fn files_that_are_too_big_or_not_csv_get_a_clear_message(pool: PgPool) {
    let app = TestApp::new(pool).await;
    plant(&app.pool).await;
    let mut browser = editor(&app).await;
    let before = seed::snapshot(&app.pool).await;
    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "big.csv",
            vec![b'x'; 1536 * 1024],
            "The file is larger than 1 MB",
        ),
        (
            "figures.xlsx",
            b"PK\x03\x04....".to_vec(),
            "The file is a spreadsheet",
        ),
        (
            "figures.csv",
            b"PK\x03\x04....".to_vec(),
            "The file is a spreadsheet",
        ),
        (
            "ansi.csv",
            b"icb_code,\xa3500\n".to_vec(),
            "The file is not saved as UTF-8",
        ),
    ];
    for (name, content, message) in cases {
        let response = browser.post_file(IMPORT, &[], name, &content).await;
        assert_eq!(response.status, 422, "{name}");
        let shown = texts(
            &response.html(),
            "#file-error, #import-problems [data-col=message]",
        )
        .join(" ");
        assert!(shown.contains(message), "{name}: {shown}");
    }
    let none = browser.post_file(IMPORT, &[], "", b"").await;
    assert_eq!(
        none.field_error("file").as_deref(),
        Some("Error: Choose a CSV file to upload")
    );
    // Over the service's limit for any request: its own page, not a bare error.
    let huge = browser
        .post_file(IMPORT, &[], "huge.csv", &vec![b'x'; 6 * 1024 * 1024])
        .await;
    assert_eq!(huge.status, 413);
    assert_eq!(huge.h1(), "The file is too large");
    assert_eq!(seed::snapshot(&app.pool).await, before);
}

#[sqlx::test]
async fn figures_saved_after_the_preview_make_it_stale(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let p = plant(&app.pool).await;
    let mut browser = editor(&app).await;
    let file = format!("{HEADER}\nQE1,2024-06-01,saving,{},,x,,,750,\n", p.local);
    let preview = browser
        .post_file(IMPORT, &[], "june.csv", file.as_bytes())
        .await;
    let confirm = FormState::of(&preview.html(), &format!("{IMPORT}/apply"));
    // Someone else reports June before the confirmation.
    sqlx::query("update workstream_month set actual_pence = 1000 where workstream_id = $1 and month = '2024-06-01'")
        .bind(p.local)
        .execute(&app.pool)
        .await
        .unwrap();
    let before = seed::snapshot(&app.pool).await;
    let stale = browser.submit(&confirm).await;
    assert_eq!(stale.status, 409);
    assert!(texts(&stale.html(), "#notice")[0].starts_with("The saved figures changed"));
    // The new preview shows the change against what is saved now.
    assert_eq!(
        texts(&stale.html(), "#import-changes [data-col=before]"),
        ["£10"]
    );
    assert_eq!(seed::snapshot(&app.pool).await, before);
}

#[sqlx::test]
async fn viewers_cannot_import(pool: PgPool) {
    let app = TestApp::new(pool).await;
    plant(&app.pool).await;
    let viewer = app.user(Role::IcbViewer, Some("QE1")).await;
    let mut browser = app.login_as(&viewer).await;
    assert_eq!(browser.get(IMPORT).await.status, 403);
    assert_eq!(
        browser
            .get(&format!("{IMPORT}/template.csv?month=2024-05"))
            .await
            .status,
        403
    );
    let dashboard = browser.get("/icbs/QE1/2024-25").await;
    assert!(
        dashboard
            .html()
            .select(&sel("#import-link"))
            .next()
            .is_none()
    );
}

/// An ICB with a five-character ODS code (formed in April 2026) imports like any other; the
/// code in the file may be in any case.
#[sqlx::test]
async fn an_icb_with_a_five_character_code_imports_its_figures(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (_, ids) = seed::plan(
        &app.pool,
        "S1Y5D",
        2026,
        "agreed",
        &[Ws::national(9, 120_000).actuals(&[Some(9_000)])],
    )
    .await;
    let import = "/icbs/S1Y5D/2026-27/import";
    let user = app.user(Role::IcbEditor, Some("S1Y5D")).await;
    let mut browser = app.login_as(&user).await;
    let page = browser.get(import).await;
    assert_eq!(page.status, 200, "{}", page.body);
    browser.csrf = crate::common::token_on(&page.html());

    let template = browser
        .get(&format!("{import}/template.csv?month=2026-05"))
        .await;
    assert_eq!(
        template.header("content-disposition"),
        Some("attachment; filename=\"medopt-import-S1Y5D-2026-05.csv\"")
    );
    let text = template.body.strip_prefix('\u{feff}').unwrap();
    assert!(
        text.lines()
            .nth(1)
            .unwrap()
            .starts_with(&format!("S1Y5D,2026-05-01,saving,{},", ids[0])),
        "{text}"
    );

    let filled = format!(
        "{HEADER}\r\ns1y5d,2026-05-01,saving,{},,AF and DOACs,,,\"10,500\",\r\n",
        ids[0]
    );
    let preview = browser
        .post_file(import, &[], "may.csv", filled.as_bytes())
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert!(problems(&preview).is_empty(), "{:?}", problems(&preview));
    let confirm = FormState::of(&preview.html(), &format!("{import}/apply"));
    let applied = browser.submit(&confirm).await;
    assert_eq!(applied.status, 303, "{}", applied.body);
    let actual: Option<i64> = sqlx::query_scalar(
        "select actual_pence from workstream_month where workstream_id = $1 and month = '2026-05-01'",
    )
    .bind(ids[0])
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(actual, Some(1_050_000));
}
