//! CSV exports: documented columns and exact values for a known dataset, formula
//! neutralisation, scoping by role, auditing, filters, and streaming in bounded chunks.

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use medopt::auth::Role;
use medopt::exports::{CHUNK_BYTES, DATASETS};
use sqlx::PgPool;

use crate::common::{Browser, Csv, TestApp, sel, texts};
use crate::seed::{self, Ws};

fn documented(slug: &str) -> Vec<&'static str> {
    DATASETS
        .iter()
        .find(|d| d.slug == slug)
        .unwrap()
        .columns
        .iter()
        .map(|c| c.name)
        .collect()
}

async fn plant(pool: &PgPool) -> Vec<i32> {
    let (_, ids) = seed::plan(
        pool,
        "QE1",
        2024,
        "agreed",
        &[
            Ws::national(1, 120_000).rag("green").actuals(&[
                Some(9_000),
                Some(11_000),
                None,
                Some(12_500),
            ]),
            Ws::local("=HYPERLINK(\"http://evil.example\",\"Click\")", 30_000)
                .actuals(&[Some(-200)]),
        ],
    )
    .await;
    seed::plan(
        pool,
        "QOP",
        2024,
        "submitted",
        &[Ws::national(1, 48_000).actuals(&[Some(1_000)])],
    )
    .await;
    seed::plan(
        pool,
        "QWE",
        2024,
        "draft",
        &[Ws::national(2, 24_000).actuals(&[Some(7_777)])],
    )
    .await;
    sqlx::query("update workstream set lead_name = '+44 20 7946 0000', objectives = '{outcomes,value}' where workstream_id = $1")
        .bind(ids[0])
        .execute(pool)
        .await
        .unwrap();
    ids
}

#[sqlx::test]
async fn plans_and_monthly_savings_have_their_documented_columns_and_exact_values(pool: PgPool) {
    // 15 September 2024: July is the reporting month.
    let app = TestApp::at(pool, chrono::NaiveDate::from_ymd_opt(2024, 9, 15).unwrap()).await;
    let ids = plant(&app.pool).await;
    let analyst = app.user(Role::NationalAnalyst, None).await;
    let mut browser = app.login_as(&analyst).await;

    let response = browser
        .get("/exports/plans.csv?year=2024-25&region=Y62")
        .await;
    assert_eq!(
        response.header("content-disposition"),
        Some("attachment; filename=\"medopt-plans-2024-25-Y62.csv\"")
    );
    let plans = Csv::parse(&response);
    assert_eq!(plans.header, documented("plans"));
    assert_eq!(
        plans.values("icb_code"),
        ["QYG", "QOP", "QE1"],
        "every ICB of the region, by name"
    );
    let qe1 = plans.row_where("icb_code", "QE1");
    assert_eq!(qe1["financial_year"], "2024/25");
    assert_eq!(qe1["region_code"], "Y62");
    assert_eq!(
        qe1["icb_name"],
        "NHS Lancashire and South Cumbria Integrated Care Board"
    );
    assert_eq!(qe1["plan_status"], "agreed");
    assert_eq!(qe1["national_opportunities_chosen"], "1");
    assert_eq!(qe1["local_priorities"], "1");
    assert_eq!(qe1["annual_target_gbp"], "150000.00");
    // To July: 4 months of £10,000 + 4 of £2,500 planned; actuals 32,500 - 200.
    assert_eq!(qe1["target_to_date_gbp"], "50000.00");
    assert_eq!(qe1["actual_to_date_gbp"], "32300.00");
    // Reported: April, May and July of the first (£30,000), April of the second (£2,500).
    assert_eq!(qe1["reported_target_to_date_gbp"], "32500.00");
    assert_eq!(qe1["not_reported_target_to_date_gbp"], "17500.00");
    assert_eq!(qe1["variance_to_date_gbp"], "-200.00");
    assert_eq!(qe1["percent_of_target_to_date"], "99");
    assert_eq!(qe1["forecast_outturn_gbp"], "132300.00");
    assert_eq!(qe1["latest_month_reported"], "2024-07-01");
    assert_eq!(qe1["reporting_month"], "2024-07-01");
    assert_eq!(qe1["workstreams_due"], "2");
    assert_eq!(qe1["workstreams_reported"], "1");
    assert_eq!(qe1["months_overdue"], "3", "May, June and July");
    assert_eq!(qe1["pct_of_annual_target"], "22");
    assert_eq!(qe1["forecast_vs_annual_target_gbp"], "-17700.00");
    assert_eq!(
        qe1["run_rate_forecast_gbp"], "96900.00",
        "32,300 over 4 months, times 12"
    );
    assert_eq!(qe1["successor_icb_code"], "");
    assert_eq!(qe1["workstreams_green"], "1");
    assert_eq!(qe1["workstreams_no_rag"], "1");
    let qyg = plans.row_where("icb_code", "QYG");
    assert_eq!(qyg["plan_status"], "not_started");
    assert_eq!(qyg["annual_target_gbp"], "");

    let monthly = Csv::parse(&browser.get("/exports/monthly-savings.csv?icb=QE1").await);
    assert_eq!(monthly.header, documented("monthly-savings"));
    assert_eq!(monthly.rows.len(), 24, "12 months of 2 workstreams");
    let first = ids[0].to_string();
    let months: Vec<(&str, &str, &str)> = monthly
        .rows
        .iter()
        .filter(|r| r[monthly.column("workstream_id")] == first)
        .take(4)
        .map(|r| (r[7].as_str(), r[8].as_str(), r[9].as_str()))
        .collect();
    assert_eq!(
        months,
        [
            ("2024-04-01", "10000.00", "9000.00"),
            ("2024-05-01", "10000.00", "11000.00"),
            ("2024-06-01", "10000.00", ""),
            ("2024-07-01", "10000.00", "12500.00"),
        ]
    );

    let workstreams = Csv::parse(
        &browser
            .get("/exports/workstreams.csv?year=2024-25&opportunity=1")
            .await,
    );
    assert_eq!(workstreams.header, documented("workstreams"));
    assert_eq!(workstreams.values("icb_code"), ["QOP", "QE1"]);
    let ws = workstreams.row_where("icb_code", "QE1");
    assert_eq!(ws["kind"], "national");
    assert_eq!(ws["opportunity_number"], "1");
    assert_eq!(ws["ics_objectives"], "outcomes; value");
    assert_eq!(ws["rag_status"], "green");
    assert_eq!(ws["actual_to_date_gbp"], "32500.00");
}

#[sqlx::test]
async fn free_text_that_a_spreadsheet_would_run_is_neutralised_and_numbers_stay_numbers(
    pool: PgPool,
) {
    let app = TestApp::new(pool).await;
    plant(&app.pool).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut browser = app.login_as(&editor).await;
    let workstreams = Csv::parse(&browser.get("/exports/workstreams.csv").await);
    let local = workstreams.row_where("kind", "local");
    assert_eq!(
        local["title"],
        "'=HYPERLINK(\"http://evil.example\",\"Click\")"
    );
    let national = workstreams.row_where("kind", "national");
    assert_eq!(national["lead"], "'+44 20 7946 0000");
    // A negative amount is a number, not a formula.
    assert_eq!(local["actual_to_date_gbp"], "-200.00");
    let monthly = Csv::parse(&browser.get("/exports/monthly-savings.csv").await);
    assert!(monthly.values("actual_gbp").contains(&"-200.00"));
    assert!(
        monthly
            .values("workstream_title")
            .contains(&"'=HYPERLINK(\"http://evil.example\",\"Click\")")
    );
}

#[sqlx::test]
async fn each_role_exports_only_what_it_may_read_and_every_download_is_audited(pool: PgPool) {
    let app = TestApp::new(pool).await;
    plant(&app.pool).await;
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;
    let mut browser = app.login_as(&reviewer).await;
    let monthly = Csv::parse(&browser.get("/exports/monthly-savings.csv").await);
    assert!(!monthly.rows.is_empty());
    assert!(monthly.values("region_code").iter().all(|r| *r == "Y62"));
    assert!(!monthly.values("icb_code").contains(&"QWE"));
    let plans = Csv::parse(&browser.get("/exports/plans.csv").await);
    assert!(plans.values("region_code").iter().all(|r| *r == "Y62"));
    // Naming another region or ICB does not widen the scope: it is not found.
    assert_eq!(
        browser.get("/exports/plans.csv?region=Y56").await.status,
        404
    );
    assert_eq!(browser.get("/exports/plans.csv?icb=QWE").await.status, 404);
    assert_eq!(browser.get("/exports/audit-log.csv").await.status, 403);

    let editor = app.user(Role::IcbEditor, Some("QOP")).await;
    let mut ed = app.login_as(&editor).await;
    let own = Csv::parse(&ed.get("/exports/monthly-savings.csv?year=2024-25").await);
    assert!(own.values("icb_code").iter().all(|c| *c == "QOP"));
    assert_eq!(own.rows.len(), 12);

    let admin = app.user(Role::Admin, None).await;
    let mut ad = app.login_as(&admin).await;
    let audit = Csv::parse(&ad.get("/exports/audit-log.csv?region=Y62").await);
    assert_eq!(audit.header, documented("audit-log"));
    let downloads: Vec<(&str, &str)> = audit
        .rows
        .iter()
        .filter(|r| r[audit.column("action")] == "export.downloaded")
        .map(|r| {
            (
                r[audit.column("object_id")].as_str(),
                r[audit.column("actor_email")].as_str(),
            )
        })
        .collect();
    // The reviewer's two, the editor's and this one (refused requests are not downloads); an
    // unfiltered download is recorded against the user's own organisation.
    assert_eq!(downloads.len(), 4, "{downloads:?}");
    assert_eq!(downloads[3], ("audit-log", admin.email.as_str()));
    let events: i64 =
        sqlx::query_scalar("select count(*) from audit_event where action = 'export.downloaded'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(events, 4);
}

#[sqlx::test]
async fn bad_filters_are_shown_by_their_field(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let analyst = app.user(Role::NationalAnalyst, None).await;
    let mut browser = app.login_as(&analyst).await;
    let response = browser
        .get("/exports/plans.csv?year=1999-2000&opportunity=four")
        .await;
    assert_eq!(response.status, 422);
    assert_eq!(
        response.field_error("year").as_deref(),
        Some("Error: Select a programme year, like 2024/25")
    );
    assert!(response.field_error("opportunity").is_some());
    assert_eq!(browser.get("/exports/unknown.csv").await.status, 404);
    // The dictionary lists every dataset with its columns, in order.
    let page = browser.get("/exports").await;
    let html = page.html();
    for dataset in DATASETS.iter().filter(|d| !d.admin_only) {
        let names = texts(
            &html,
            &format!("table[data-dataset=\"{}\"] tbody th", dataset.slug),
        );
        let expected: Vec<&str> = dataset.columns.iter().map(|c| c.name).collect();
        assert_eq!(names, expected, "{}", dataset.slug);
        // The download is a submit button of the filter form, sent to the dataset's address.
        let action = html
            .select(&sel(&format!(
                "#dataset-{} button.app-download",
                dataset.slug
            )))
            .next()
            .and_then(|b| b.value().attr("formaction").map(str::to_owned));
        assert_eq!(action, Some(format!("/exports/{}.csv", dataset.slug)));
    }
    assert!(
        html.select(&sel("#dataset-audit-log")).next().is_none(),
        "admins only"
    );
}

async fn download_frames(
    app: &TestApp,
    browser: &Browser<'_>,
    path: &str,
) -> (usize, usize, usize) {
    let request = Request::get(path)
        .header("cookie", browser.cookie.clone().unwrap())
        .body(Body::empty())
        .unwrap();
    let response = app.unbuffered(request).await;
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let (mut frames, mut largest, mut lines) = (0, 0, 0);
    while let Some(frame) = body.frame().await {
        let data = frame.unwrap().into_data().unwrap();
        frames += 1;
        largest = largest.max(data.len());
        lines += data.iter().filter(|b| **b == b'\n').count();
    }
    (frames, largest, lines)
}

#[sqlx::test]
async fn a_compressed_export_arrives_whole(pool: PgPool) {
    // Browsers ask for gzip; the compression layer reads the stream to its end and beyond.
    let app = TestApp::new(pool).await;
    plant(&app.pool).await;
    let analyst = app.user(Role::NationalAnalyst, None).await;
    let browser = app.login_as(&analyst).await;
    let request = Request::get("/exports/monthly-savings.csv")
        .header("cookie", browser.cookie.clone().unwrap())
        .header("accept-encoding", "gzip")
        .body(Body::empty())
        .unwrap();
    let response = app.unbuffered(request).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("gzip")
    );
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&bytes[..2], [0x1f, 0x8b], "a gzip stream");
    assert!(bytes.len() > 100);
}

/// Every ICB with a plan in every programme year, `per_plan` local priorities each and twelve
/// months of figures for each: the rows of a big monthly-savings export, planted in bulk.
async fn plant_many(pool: &PgPool, per_plan: i32) -> i64 {
    sqlx::query(
        "insert into plan (icb_id, programme_year_id, status)
         select icb_id, programme_year_id, 'agreed' from icb, programme_year
         where starts_on < '2025-04-01' and valid_from <= starts_on",
    )
    .execute(pool)
    .await
    .unwrap();
    // One transaction: the database checks at commit that each target's months add up.
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(
        "insert into workstream (icb_id, plan_id, title, annual_target_pence)
         select p.icb_id, p.plan_id, 'Local priority ' || n, 1200000
         from plan p, generate_series(1, $1) n",
    )
    .bind(per_plan)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "insert into workstream_month (workstream_id, icb_id, month, planned_pence, actual_pence)
         select w.workstream_id, w.icb_id, (y.starts_on + make_interval(months => m))::date, 100000, 98765
         from workstream w join plan p using (plan_id) join programme_year y using (programme_year_id),
              generate_series(0, 11) m",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    sqlx::query_scalar("select count(*) from workstream_month")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn a_large_export_streams_in_bounded_chunks(pool: PgPool) {
    let app = TestApp::new(pool).await;
    // 42 ICBs × 2 years × 120 workstreams × 12 months.
    let rows = plant_many(&app.pool, 120).await;
    assert_eq!(rows, 42 * 2 * 120 * 12);
    let analyst = app.user(Role::NationalAnalyst, None).await;
    let browser = app.login_as(&analyst).await;
    let (frames, largest, lines) =
        download_frames(&app, &browser, "/exports/monthly-savings.csv").await;
    assert_eq!(lines as i64, rows + 1, "every row and the header");
    // The file (about 10 MB) never exists whole: it arrives in many chunks of bounded size.
    assert!(frames > 100, "{frames} frames");
    assert!(
        largest <= CHUNK_BYTES + 16 * 1024,
        "largest frame {largest} bytes"
    );
}

#[sqlx::test]
async fn downloads_beyond_the_limit_are_asked_to_wait(pool: PgPool) {
    // Each streaming download holds a database connection: at most half the pool (here 2 of
    // 5) stream at once, so pages keep their connections.
    let app = TestApp::new(pool).await;
    plant_many(&app.pool, 12).await; // about 1 MB: more than the few chunks that wait unread
    let analyst = app.user(Role::NationalAnalyst, None).await;
    let mut browser = app.login_as(&analyst).await;
    let open = |browser: &Browser<'_>| {
        Request::get("/exports/monthly-savings.csv")
            .header("cookie", browser.cookie.clone().unwrap())
            .body(Body::empty())
            .unwrap()
    };
    // Two downloads that nobody reads yet.
    let first = app.unbuffered(open(&browser)).await;
    let second = app.unbuffered(open(&browser)).await;
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let third = browser.get("/exports/monthly-savings.csv").await;
    assert_eq!(third.status, 503);
    assert_eq!(third.h1(), "Too many downloads at the moment");
    // When one is abandoned its slot comes back.
    drop(first);
    let mut status = 0;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let response = app.unbuffered(open(&browser)).await;
        status = response.status().as_u16();
        if status == 200 {
            break;
        }
    }
    assert_eq!(status, 200);
    drop(second);
}
