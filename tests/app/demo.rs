//! `medopt demo`: the synthetic dataset covers every ICB in every year from 2023/24 to the
//! current one that it existed in, with plausible, consistent figures dated relative to today;
//! loading it again changes no data; its accounts sign in; every page says the data is
//! synthetic; exports have a title on every row; real plans are never overwritten; the
//! national scale loads.

use std::process::{Command, Stdio};

use chrono::NaiveDate;
use medopt::auth::Role;
use medopt::demo::{self, DemoReport, DemoSpec, RealPlansExist};
use sqlx::PgPool;

use crate::common::{Browser, TestApp, sel, texts};

/// A fixed "today", so the dataset is the same on every run: 2023/24 to 2025/26 are over,
/// 2026/27 has reported April to October.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
}

async fn load_demo(app: &TestApp) -> DemoReport {
    demo::load(&app.pool, &DemoSpec::demo(today()), today())
        .await
        .unwrap()
}

/// Plans of 2023/24, 2024/25 and 2025/26 (the 42 ICBs of 2022) and 2026/27 (the 36 of 2026).
const DEMO_PLANS: usize = 42 * 3 + 36;

async fn scalar(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every row of the tables the demo writes, as one fingerprint per table.
async fn snapshot(pool: &PgPool) -> Vec<(String, i64, String)> {
    let mut tables = Vec::new();
    for table in [
        "programme_year",
        "opportunity",
        "plan",
        "workstream",
        "workstream_month",
        "workstream_update",
        "measure",
        "measure_value",
        "workstream_forecast",
        "demo_dataset",
    ] {
        let sql = format!(
            "select count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from {table} t"
        );
        // The table names are the literals above.
        let (count, digest): (i64, String) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_one(pool)
            .await
            .unwrap();
        tables.push((table.to_owned(), count, digest));
    }
    tables
}

/// Signs in with an e-mail and password that are not the harness's own.
async fn sign_in<'a>(
    app: &'a TestApp,
    email: &str,
    password: &str,
) -> (Browser<'a>, Option<String>) {
    let mut browser = app.browser();
    let response = browser.sign_in(email, password).await;
    let landed = (response.status == 303)
        .then(|| response.location().map(str::to_owned))
        .flatten();
    (browser, landed)
}

fn password_of(report: &DemoReport, role: Role) -> (String, String) {
    let account = report.accounts.iter().find(|a| a.role == role).unwrap();
    (account.email.clone(), account.password.clone())
}

#[sqlx::test]
async fn the_demo_gives_every_icb_a_varied_plan_for_each_year_it_existed(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let report = load_demo(&app).await;
    assert!(!report.already_loaded);
    assert!(
        report.years_created.is_empty(),
        "the reference data has every year"
    );
    assert_eq!(
        (report.icbs, report.plans, report.plans_kept),
        (48, DEMO_PLANS, 0)
    );

    // Every ICB has one plan for each year it existed in, and none for the others: the
    // twelve abolished in March 2026 stop at 2025/26, the six formed in April start in 2026/27.
    let per_year: Vec<(NaiveDate, i64)> = sqlx::query_as(
        "select y.starts_on, count(*) from plan p join programme_year y using (programme_year_id)
         group by 1 order by 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let first = |y| NaiveDate::from_ymd_opt(y, 4, 1).unwrap();
    assert_eq!(
        per_year,
        [
            (first(2023), 42),
            (first(2024), 42),
            (first(2025), 42),
            (first(2026), 36)
        ]
    );
    let misplaced = scalar(
        &pool,
        "select count(*) from icb i, programme_year y
         where (i.valid_from <= y.starts_on + interval '1 year' - interval '1 day'
                and (i.valid_to is null or i.valid_to >= y.starts_on))
           <> exists (select 1 from plan p where p.icb_id = i.icb_id and p.programme_year_id = y.programme_year_id)",
    )
    .await;
    assert_eq!(misplaced, 0);

    // A plan with the reviewer was sent days to a few weeks ago, in the current year; none
    // waits for months. Nothing was opened, submitted or reviewed before its year's plans
    // could be (the March before it).
    let waiting: Vec<(NaiveDate, i64)> = sqlx::query_as(
        "select y.starts_on, ('2026-11-25'::date - p.submitted_at::date)::bigint
         from plan p join programme_year y using (programme_year_id) where p.status = 'submitted'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(!waiting.is_empty());
    for (year, days) in &waiting {
        assert_eq!(*year, first(2026));
        assert!((0..=21).contains(days), "waiting {days} days");
    }
    let early = scalar(
        &pool,
        "select count(*) from plan p join programme_year y using (programme_year_id)
         where least(p.created_at, p.submitted_at, p.reviewed_at)::date < y.starts_on - 31",
    )
    .await;
    assert_eq!(early, 0);

    // 5–9 national opportunities (fewer only in a few drafts) and 1–3 local priorities.
    let shapes: Vec<(String, i64, i64)> = sqlx::query_as(
        "select p.status::text, count(w.opportunity_id), count(*) - count(w.opportunity_id)
         from plan p join workstream w using (plan_id) group by p.plan_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(shapes.len(), DEMO_PLANS);
    for (status, national, local) in &shapes {
        assert!((1..=3).contains(local), "{local} local priorities");
        if status == "draft" {
            assert!((2..=9).contains(national), "{national} national in a draft");
        } else {
            assert!(
                (5..=9).contains(national),
                "{national} national when {status}"
            );
        }
    }
    assert!(
        shapes.iter().any(|(s, n, _)| s == "draft" && *n < 5),
        "a few drafts have not yet chosen five"
    );

    // Every state, with review comments on returned plans.
    for status in ["draft", "submitted", "returned", "agreed"] {
        let n: i64 = sqlx::query_scalar("select count(*) from plan where status::text = $1")
            .bind(status)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert!(n > 0, "no {status} plan");
    }
    let agreed = scalar(&pool, "select count(*) from plan where status = 'agreed'").await;
    assert!(
        agreed as usize > DEMO_PLANS / 2,
        "most plans are agreed: {agreed}"
    );
    let returned_without_comment = scalar(
        &pool,
        "select count(*) from plan where status = 'returned' and review_comment is null",
    )
    .await;
    assert_eq!(returned_without_comment, 0);

    // Each workstream's phasing sums to its annual target, which is £50k–£2m when set.
    let unbalanced = scalar(
        &pool,
        "select count(*) from workstream w
         where w.annual_target_pence <> coalesce((select sum(m.planned_pence) from workstream_month m
                                                  where m.workstream_id = w.workstream_id), 0)",
    )
    .await;
    assert_eq!(unbalanced, 0);
    let implausible = scalar(
        &pool,
        "select count(*) from workstream
         where annual_target_pence <> 0 and annual_target_pence not between 5000000 and 200000000",
    )
    .await;
    assert_eq!(implausible, 0);

    // RAG with dated updates; some workstreams off track; measures with values.
    let reds = scalar(&pool, "select count(*) from workstream where rag = 'red'").await;
    let greens = scalar(&pool, "select count(*) from workstream where rag = 'green'").await;
    assert!(reds > 0 && greens > reds, "{greens} green, {reds} red");
    let rag_without_update = scalar(
        &pool,
        "select count(*) from workstream w where rag is not null
         and not exists (select 1 from workstream_update u where u.workstream_id = w.workstream_id)",
    )
    .await;
    assert_eq!(rag_without_update, 0);
    assert!(scalar(&pool, "select count(*) from measure_value").await > 1000);
    assert_eq!(
        scalar(&pool, "select count(*) from workstream").await,
        report.workstreams as i64
    );
    assert_eq!(
        scalar(&pool, "select count(*) from measure").await,
        report.measures as i64
    );
    // Nothing is dated after "today".
    let future = scalar(
        &pool,
        "select (select count(*) from plan where greatest(created_at, updated_at, submitted_at, reviewed_at) > '2026-11-25')
              + (select count(*) from workstream_update where created_at > '2026-11-25')
              + (select count(*) from workstream_month where actual_pence is not null and month > '2026-10-01')",
    )
    .await;
    assert_eq!(future, 0);
}

#[sqlx::test]
async fn loading_again_changes_no_data_and_resets_the_demo_passwords(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let first = load_demo(&app).await;
    let before = snapshot(&pool).await;
    let second = load_demo(&app).await;
    assert_eq!(snapshot(&pool).await, before);
    assert!(second.already_loaded);
    assert_eq!((second.plans, second.plans_kept), (0, DEMO_PLANS));
    assert!(first.accounts.iter().all(|a| a.created));
    assert!(second.accounts.iter().all(|a| !a.created));
    assert_eq!(
        scalar(
            &pool,
            "select count(*) from app_user where email like 'demo.%'"
        )
        .await,
        5
    );

    let (email, old) = password_of(&first, Role::IcbEditor);
    let (_, new) = password_of(&second, Role::IcbEditor);
    assert_ne!(old, new);
    assert_eq!(sign_in(&app, &email, &old).await.1, None);
    assert!(sign_in(&app, &email, &new).await.1.is_some());
}

#[sqlx::test]
async fn demo_accounts_sign_in_and_see_their_icb(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let report = load_demo(&app).await;
    let roles: Vec<(Role, Option<&str>)> = report
        .accounts
        .iter()
        .map(|a| (a.role, a.organisation.as_deref()))
        .collect();
    assert_eq!(
        roles,
        [
            (Role::IcbEditor, Some("QE1")),
            (Role::IcbViewer, Some("QE1")),
            (Role::RegionReviewer, Some("Y62")),
            (Role::NationalAnalyst, None),
            (Role::Admin, None),
        ]
    );
    assert!(
        report
            .accounts
            .iter()
            .all(|a| a.email.starts_with("demo.") && a.email.ends_with("@example.nhs.uk"))
    );

    let (email, password) = password_of(&report, Role::IcbEditor);
    let (mut editor, landed) = sign_in(&app, &email, &password).await;
    assert_eq!(landed.as_deref(), Some("/icbs/QE1/2026-27"));
    let dashboard = editor.get("/icbs/QE1/2026-27").await;
    assert_eq!(dashboard.status, 200);
    let html = dashboard.html();
    assert!(html.select(&sel("#workstreams tbody tr")).count() >= 6);
    let latest = texts(&html, r#"[data-figure="latest_month"] dd"#);
    // "To date" runs to the reporting month (the latest month whose figures are due), which
    // the showcase ICB has reported.
    let reporting = medopt::domain::reporting_month(medopt::clock::Clock::system().today());
    assert_eq!(
        latest,
        [reporting.label()],
        "the showcase ICB reported every month that is due"
    );
    let last_year = editor.get("/icbs/QE1/2025-26").await.html();
    assert_eq!(
        texts(&last_year, r#"[data-figure="latest_month"] dd"#),
        ["March 2026"]
    );
    let workstreams: Vec<String> = html
        .select(&sel("#workstreams tbody th a"))
        .filter_map(|a| a.value().attr("href").map(str::to_owned))
        .collect();
    for path in &workstreams {
        let page = editor.get(path).await;
        assert_eq!(page.status, 200, "{path}");
    }
    assert_eq!(editor.get("/icbs/QE1/2026-27/plan").await.status, 200);
    let years = editor.get("/icbs/QE1").await;
    assert_eq!(
        texts(&years.html(), ".plan-status"),
        ["Agreed", "Agreed", "Agreed", "Agreed"],
        "the showcase plans are agreed"
    );

    // The reviewer has a plan waiting in the region. The demo turned on their two-step
    // verification and printed the secret to add to an app.
    let (email, password) = password_of(&report, Role::RegionReviewer);
    let (mut reviewer, landed) = sign_in(&app, &email, &password).await;
    assert_eq!(landed.as_deref(), Some("/login/two-step"));
    let account = report
        .accounts
        .iter()
        .find(|a| a.role == Role::RegionReviewer)
        .unwrap();
    let two_step = account
        .two_step
        .as_ref()
        .expect("the reviewer has a two-step secret");
    assert!(two_step.otpauth_url.starts_with("otpauth://totp/"));
    assert!(two_step.otpauth_url.contains(&two_step.secret));
    let response = reviewer
        .submit_code(&crate::common::current_code(&two_step.secret))
        .await;
    assert_eq!(response.status, 303, "{}", response.body);
    let with_secret: Vec<Role> = report
        .accounts
        .iter()
        .filter(|a| a.two_step.is_some())
        .map(|a| a.role)
        .collect();
    assert_eq!(with_secret, [Role::RegionReviewer, Role::Admin]);
    let region = reviewer.get("/regions/Y62/2026-27").await;
    assert_eq!(region.status, 200);
    assert!(
        !texts(&region.html(), "#review-queue tbody tr").is_empty(),
        "nothing in the review queue"
    );
}

#[sqlx::test]
async fn every_page_says_the_data_is_synthetic_once_the_demo_is_loaded(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let pages = ["/", "/organisations", "/catalogue/2024-25", "/login"];
    let banner = |html: &scraper::Html| texts(html, "#demo-banner");
    for page in pages {
        let response = app.get(page).await;
        assert_eq!(response.status, 200, "{page}");
        assert!(
            banner(&response.html()).is_empty(),
            "{page} before the demo"
        );
    }
    let report = load_demo(&app).await;
    for page in pages {
        let shown = banner(&app.get(page).await.html());
        assert_eq!(shown.len(), 1, "{page}");
        assert!(
            shown[0].contains("Demo data: every figure on this site is synthetic"),
            "{page}: {shown:?}"
        );
    }
    let (email, password) = password_of(&report, Role::NationalAnalyst);
    let (mut analyst, _) = sign_in(&app, &email, &password).await;
    for page in [
        "/",
        "/icbs/QWE/2023-24",
        "/regions/Y56",
        "/account/password",
    ] {
        let response = analyst.get(page).await;
        assert_eq!(response.status, 200, "{page}");
        assert_eq!(banner(&response.html()).len(), 1, "{page} signed in");
    }
}

#[sqlx::test]
async fn every_exported_row_has_a_title(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let report = load_demo(&app).await;
    let (email, password) = password_of(&report, Role::NationalAnalyst);
    let (mut analyst, _) = sign_in(&app, &email, &password).await;
    let mut working_titles = 0;
    for (dataset, column) in [
        ("workstreams", "title"),
        ("monthly-savings", "workstream_title"),
        ("measure-values", "workstream_title"),
    ] {
        let response = analyst.get(&format!("/exports/{dataset}.csv")).await;
        assert_eq!(response.status, 200, "{dataset}");
        let text = response.body.trim_start_matches('\u{feff}');
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let at = reader
            .headers()
            .unwrap()
            .iter()
            .position(|h| h == column)
            .unwrap_or_else(|| panic!("{dataset} has no {column} column"));
        let mut rows = 0;
        for record in reader.records() {
            let title = record.unwrap()[at].to_owned();
            assert!(
                !title.trim().is_empty(),
                "{dataset} row {rows} has no title"
            );
            assert_ne!(title, "Title to be confirmed", "{dataset}");
            working_titles += usize::from(title.ends_with("— title to be confirmed"));
            rows += 1;
        }
        assert!(rows > 100, "{dataset}: {rows} rows");
    }
    assert!(working_titles > 0, "opportunity 13 is chosen somewhere");
}

#[sqlx::test]
async fn real_plans_are_never_overwritten(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    sqlx::query(
        "insert into plan (icb_id, programme_year_id, review_comment)
         select i.icb_id, y.programme_year_id, 'real'
         from icb i, programme_year y where i.ods_code = 'QE1' and y.starts_on = '2024-04-01'",
    )
    .execute(&pool)
    .await
    .unwrap();
    let before = snapshot(&pool).await;

    let error = demo::load(&pool, &DemoSpec::demo(today()), today())
        .await
        .unwrap_err();
    let refused = error.downcast_ref::<RealPlansExist>().unwrap();
    assert_eq!(refused.plans, ["QE1 2024/25"]);
    assert!(error.to_string().contains("never overwrites real data"));
    assert_eq!(snapshot(&pool).await, before);
    assert_eq!(
        scalar(
            &pool,
            "select count(*) from app_user where email like 'demo.%'"
        )
        .await,
        0
    );
    assert!(
        app.get("/")
            .await
            .html()
            .select(&sel("#demo-banner"))
            .next()
            .is_none()
    );
}

#[sqlx::test]
async fn national_scale_gives_every_icb_five_years_of_twelve_workstreams(pool: PgPool) {
    let _app = TestApp::new(pool.clone()).await;
    let spec = DemoSpec::national_scale();
    let report = demo::load(&pool, &spec, today()).await.unwrap();
    let years: Vec<String> = report
        .years_created
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        years,
        ["2027/28"],
        "the reference data has 2023/24 to 2026/27"
    );
    assert_eq!(
        scalar(&pool, "select count(*) from opportunity").await,
        5 * 16,
        "new years copy the latest catalogue"
    );

    // The twelve ICBs abolished on 31 March 2026 have plans up to 2025/26 only, the six
    // formed on 1 April 2026 from 2026/27.
    let expected = scalar(
        &pool,
        "select count(*) from icb i join programme_year y
           on i.valid_from <= y.starts_on + interval '1 year' - interval '1 day'
          and (i.valid_to is null or i.valid_to >= y.starts_on)",
    )
    .await;
    assert_eq!(expected, 42 * 3 + 36 * 2);
    assert_eq!(report.plans as i64, expected);
    assert_eq!(scalar(&pool, "select count(*) from plan").await, expected);
    let not_twelve = scalar(
        &pool,
        "select count(*) from (select plan_id from workstream group by plan_id having count(*) <> 12) p",
    )
    .await;
    assert_eq!(not_twelve, 0);

    // Every month up to the last complete one has figures: April 2023 to October 2026.
    let reported_months = scalar(
        &pool,
        "select count(distinct month) from workstream_month where actual_pence is not null",
    )
    .await;
    assert_eq!(reported_months, 12 * 3 + 7);
    let gaps = scalar(
        &pool,
        "select count(*) from workstream_month where actual_pence is null and month <= '2026-10-01'",
    )
    .await;
    assert_eq!(gaps, 0);
    assert_eq!(
        scalar(&pool, "select count(*) from measure").await,
        expected * 12 * 2
    );
}

#[sqlx::test]
async fn the_command_prints_the_accounts_and_logs_no_password(pool: PgPool) {
    let _app = TestApp::new(pool.clone()).await;
    let base = std::env::var("DATABASE_URL").unwrap();
    let (server, _) = base.rsplit_once('/').unwrap();
    let url = format!(
        "{server}/{}",
        pool.connect_options().get_database().unwrap()
    );
    let run = || {
        // Both pipes are read together: debug logging fills stderr's buffer otherwise.
        let output = Command::new(env!("CARGO_BIN_EXE_medopt"))
            .arg("demo")
            .env("DATABASE_URL", &url)
            .env("MEDOPT_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{stderr}");
        (String::from_utf8_lossy(&output.stdout).into_owned(), stderr)
    };
    let (stdout, stderr) = run();
    // The command's "today" is the real one, so count what it wrote.
    let plans = scalar(&pool, "select count(*) from plan").await;
    assert!(
        stdout.contains(&format!("Loaded the demo dataset: 48 ICBs, {plans} plans")),
        "{stdout}"
    );
    assert!(stdout.contains("/login"));
    let passwords: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("@example.nhs.uk"))
        .filter_map(|l| l.split_whitespace().last())
        .collect();
    assert_eq!(passwords.len(), 5, "{stdout}");
    for password in &passwords {
        assert!(!stderr.contains(password), "a password reached the log");
    }
    let (again, _) = run();
    assert!(again.contains("already loaded"), "{again}");
    assert!(
        again.contains("Reset the passwords of 5 demo accounts"),
        "{again}"
    );
}
