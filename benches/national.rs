//! The national-scale benchmark: figures, not a pass/fail test.
//!
//! It loads `medopt::demo::DemoSpec::national_scale()` (every ICB, five programme years, 12
//! workstreams each with monthly figures and two outcome measures) into a fresh database
//! `medopt_bench`, serves the real application on a local port, and measures over many
//! requests through HTTP the ICB dashboard, a regional roll-up, the national roll-up and a
//! full monthly-savings export, each beside the bare SQL behind it (run straight on the pool),
//! and prints p50, p99 and their ratio, plus the export's rows per second and memory.
//!
//! Run: `cargo bench --bench national` (release build; `DATABASE_URL` names a server to use,
//! otherwise the private cluster starts). Figures are recorded in docs/performance.md.

#![expect(clippy::unwrap_used, reason = "a benchmark panics with the reason")]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use medopt::audit::Actor;
use medopt::auth::Role;
use medopt::auth::two_step::{self, totp};
use medopt::config::Config;
use medopt::demo::{self, DemoSpec};
use medopt::users::{self, NewUser, OrgRef};
use medopt::{AppState, db, reference};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Executor, PgPool};

const PASSWORD: &str = "benchmark amber lantern 97";
const YEAR: &str = "2025-26";
const REGION: &str = "Y60";
const ICB: &str = "QE1";
const PAGE_REQUESTS: usize = 200;
const EXPORT_REQUESTS: usize = 5;

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run());
}

async fn run() {
    let pool = fresh_database().await;
    println!("== loading the national-scale dataset");
    let started = Instant::now();
    let today = medopt::clock::Clock::system().today();
    let report = demo::load(&pool, &DemoSpec::national_scale(), today)
        .await
        .unwrap();
    let counts: (i64, i64, i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from plan), (select count(*) from workstream),
                (select count(*) from workstream_month), (select count(*) from measure),
                (select count(*) from measure_value)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    println!(
        "loaded in {:.1} s: {} ICBs, {} plans, {} workstreams, {} workstream-months, {} measures, {} measure values",
        started.elapsed().as_secs_f64(),
        report.icbs,
        counts.0,
        counts.1,
        counts.2,
        counts.3,
        counts.4
    );
    pool.execute("vacuum analyze").await.unwrap();

    let base = serve(pool.clone()).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let analyst = sign_in(
        &client,
        &base,
        &account(&pool, Role::NationalAnalyst, None).await,
    )
    .await;
    let reviewer = sign_in(
        &client,
        &base,
        &account(&pool, Role::RegionReviewer, Some(REGION)).await,
    )
    .await;
    let editor = sign_in(
        &client,
        &base,
        &account(&pool, Role::IcbEditor, Some(ICB)).await,
    )
    .await;

    // The server's clock is the system's, so the bare SQL runs to the same reporting month.
    let to_month = medopt::domain::reporting_month(today).key() + "-01";
    println!("\n== {PAGE_REQUESTS} requests each, one at a time (p50 / p99 in ms)\n");
    println!("| Page | HTTP p50 | HTTP p99 | SQL p50 | SQL p99 | HTTP p50 ÷ SQL p50 |");
    println!("|---|---:|---:|---:|---:|---:|");
    let pages = [
        (
            "ICB dashboard",
            format!("/icbs/{ICB}/{YEAR}"),
            &editor,
            dashboard_sql(&to_month),
        ),
        (
            "Regional roll-up",
            format!("/regions/{REGION}/{YEAR}"),
            &reviewer,
            format!(
                "{};\n{}",
                region_sql(&to_month),
                opportunities_sql(Some(REGION), &to_month)
            ),
        ),
        (
            "National roll-up",
            format!("/national/{YEAR}"),
            &analyst,
            format!(
                "{};\n{}",
                national_sql(&to_month),
                opportunities_sql(None, &to_month)
            ),
        ),
    ];
    for (name, path, cookie, sql) in pages {
        let http = time(PAGE_REQUESTS, || get_page(&client, &base, &path, cookie)).await;
        let bare = time(PAGE_REQUESTS, || run_sql(&pool, &sql)).await;
        print_row(name, &http, &bare);
    }

    println!("\n== full monthly-savings export (every year), {EXPORT_REQUESTS} downloads\n");
    let mut export = Vec::new();
    let mut rows = 0;
    let mut bytes = 0;
    let mut peak_growth = 0;
    for _ in 0..EXPORT_REQUESTS {
        let before = memory("VmRSS");
        reset_peak_memory();
        let started = Instant::now();
        let (r, b) = download(&client, &base, "/exports/monthly-savings.csv", &analyst).await;
        export.push(started.elapsed());
        peak_growth = peak_growth.max(memory("VmHWM").saturating_sub(before));
        (rows, bytes) = (r, b);
    }
    let bare = time(EXPORT_REQUESTS, || stream_sql(&pool, EXPORT_SQL)).await;
    println!("| Export | HTTP p50 | HTTP p99 | SQL p50 | SQL p99 | HTTP p50 ÷ SQL p50 |");
    println!("|---|---:|---:|---:|---:|---:|");
    export.sort();
    print_row("monthly-savings.csv", &export, &bare);
    let seconds = percentile(&export, 50).as_secs_f64();
    println!(
        "\n{rows} rows, {:.1} MB: {:.0} rows/s through HTTP (p50); process peak memory grew by at most {:.1} MB during a download",
        bytes as f64 / 1e6,
        rows as f64 / seconds,
        peak_growth as f64 / 1024.0
    );
}

/// A new, empty `medopt_bench` database, migrated, with the reference data.
async fn fresh_database() -> PgPool {
    let server = match std::env::var("DATABASE_URL") {
        Ok(url) => url,
        Err(_) => {
            let options = medopt::devdb::Options::from_env().unwrap();
            medopt::devdb::LocalPostgres::start(&options)
                .unwrap()
                .url("postgres")
        }
    };
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&server)
        .await
        .unwrap();
    admin
        .execute("drop database if exists medopt_bench with (force)")
        .await
        .unwrap();
    admin.execute("create database medopt_bench").await.unwrap();
    admin.close().await;
    let url = match server.rsplit_once('/') {
        Some((server, _)) => format!("{server}/medopt_bench"),
        None => server,
    };
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .connect(&url)
        .await
        .unwrap();
    db::migrate(&pool).await.unwrap();
    reference::load(&pool).await.unwrap();
    pool
}

/// Serves the application on a free local port; returns its base URL.
async fn serve(pool: PgPool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = medopt::app(AppState::new(pool, Config::for_tests()));
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    format!("http://{address}")
}

async fn account(pool: &PgPool, role: Role, org: Option<&str>) -> String {
    let email = format!("bench.{}@example.nhs.uk", role.as_str());
    let mut conn = pool.acquire().await.unwrap();
    let org = org.map(|code| OrgRef {
        kind: role.org_kind().unwrap(),
        code: code.into(),
    });
    let user_id = users::create(
        &mut conn,
        &Actor::default(),
        NewUser {
            email: &email,
            name: "Benchmark user",
            role,
            org: org.as_ref(),
            password: PASSWORD.into(),
            must_change_password: false,
        },
    )
    .await
    .unwrap();
    // Reviewers must use two-step verification: sign-in then asks for a code.
    if two_step::always_required(role) {
        two_step::enrol_with_secret(&mut conn, &Actor::default(), user_id, TWO_STEP_SECRET)
            .await
            .unwrap();
    }
    email
}

/// The two-step secret of the benchmark accounts that need one.
const TWO_STEP_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// The form token on `page`.
fn token_on(html: &str) -> String {
    scraper::Html::parse_document(html)
        .select(&scraper::Selector::parse("input[name=csrf_token]").unwrap())
        .next()
        .and_then(|i| i.value().attr("value"))
        .unwrap()
        .to_owned()
}

/// Posts `fields` (and the form token of the page at `path`) as a form; returns the answer.
async fn post_form(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    cookie: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let page = client
        .get(format!("{base}{path}"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let token = token_on(&page.text().await.unwrap());
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf_token", &token)
        .extend_pairs(fields)
        .finish();
    client
        .post(format!("{base}{path}"))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Signs in through the sign-in page (and the two-step code page, for accounts that need
/// it); returns the session cookie.
async fn sign_in(client: &reqwest::Client, base: &str, email: &str) -> String {
    let page = client.get(format!("{base}/login")).send().await.unwrap();
    let cookie = session_cookie(&page).unwrap();
    let fields = [("email", email), ("password", PASSWORD), ("next", "/")];
    let signed_in = post_form(client, base, "/login", &cookie, &fields).await;
    assert_eq!(signed_in.status(), 303, "sign-in of {email}");
    let cookie = session_cookie(&signed_in).unwrap_or(cookie);
    if signed_in
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        != Some("/login/two-step")
    {
        return cookie;
    }
    let code = totp::code_at(TWO_STEP_SECRET, totp::now_unix()).unwrap();
    let verified = post_form(client, base, "/login/two-step", &cookie, &[("code", &code)]).await;
    assert_eq!(verified.status(), 303, "two-step code of {email}");
    session_cookie(&verified).unwrap_or(cookie)
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("medopt_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

async fn get_page(client: &reqwest::Client, base: &str, path: &str, cookie: &str) {
    let response = client
        .get(format!("{base}{path}"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.bytes().await.unwrap();
}

/// Downloads `path` chunk by chunk (never holding the file); returns its rows and bytes.
async fn download(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    cookie: &str,
) -> (usize, usize) {
    let mut response = client
        .get(format!("{base}{path}"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    let (mut lines, mut bytes) = (0, 0);
    while let Some(chunk) = response.chunk().await.unwrap() {
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    (lines - 1, bytes)
}

async fn run_sql(pool: &PgPool, sql: &str) {
    for statement in sql.split(";\n").filter(|s| !s.trim().is_empty()) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
            .fetch_all(pool)
            .await
            .unwrap();
    }
}

async fn stream_sql(pool: &PgPool, sql: &str) {
    let mut rows = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).fetch(pool);
    while rows.try_next().await.unwrap().is_some() {}
}

/// Runs `f` `n` times after a few warm-up runs; the durations, sorted.
async fn time<F, Fut>(n: usize, mut f: F) -> Vec<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..5.min(n) {
        f().await;
    }
    let mut durations = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        f().await;
        durations.push(started.elapsed());
    }
    durations.sort();
    durations
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let index = ((sorted.len() * p).div_ceil(100)).saturating_sub(1);
    sorted[index.min(sorted.len() - 1)]
}

fn print_row(name: &str, http: &[Duration], sql: &[Duration]) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "| {name} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
        ms(percentile(http, 50)),
        ms(percentile(http, 99)),
        ms(percentile(sql, 50)),
        ms(percentile(sql, 99)),
        ms(percentile(http, 50)) / ms(percentile(sql, 50))
    );
}

/// A line of /proc/self/status in kB (`VmRSS`: now; `VmHWM`: peak since the last reset).
fn memory(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or(0)
}

/// Resets `VmHWM` to the current size (Linux: `5` to /proc/self/clear_refs).
fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

// The SQL behind each page, as its handler runs it (without row-level security: the bare
// cost of the figures). Keep in step with src/plans/dashboard.rs and src/rollups/figures.rs.

const YEAR_ID: &str =
    "(select programme_year_id from programme_year where starts_on = '2025-04-01')";

/// The dashboard's queries, "to date" running to `to_month`.
fn dashboard_sql(to_month: &str) -> String {
    format!(
        "select f.* from plan_figures('{to_month}') f
         where f.icb_id = (select icb_id from icb where ods_code = 'QE1') and f.programme_year_id = {YEAR_ID};
         select f.* from workstream_figures('{to_month}') f
         where f.icb_id = (select icb_id from icb where ods_code = 'QE1') and f.programme_year_id = {YEAR_ID};
         select month, sum(planned_pence)::bigint, sum(actual_pence)::bigint
         from workstream_month_figures
         where icb_id = (select icb_id from icb where ods_code = 'QE1') and programme_year_id = {YEAR_ID}
         group by month order by month"
    )
}

/// The regional roll-up's queries.
fn region_sql(to_month: &str) -> String {
    format!(
        "select i.ods_code, f.*
         from icb i
         left join plan_figures('{to_month}') f on f.icb_id = i.icb_id and f.programme_year_id = {YEAR_ID}
         where i.region_id = (select region_id from region where ods_code = 'Y60')
           and ((i.valid_from <= '2026-03-31' and (i.valid_to is null or i.valid_to >= '2025-04-01'))
                or f.plan_id is not null)
         order by i.name;
         select i.ods_code, i.name, p.submitted_at
         from plan p join icb i on i.icb_id = p.icb_id
         where i.region_id = (select region_id from region where ods_code = 'Y60')
           and p.programme_year_id = {YEAR_ID} and p.status = 'submitted'
         order by p.submitted_at nulls first, i.name;
         select i.ods_code, o.number, w.rag
         from workstream w
         join plan p on p.plan_id = w.plan_id and p.icb_id = w.icb_id
         join icb i on i.icb_id = w.icb_id
         join opportunity o on o.opportunity_id = w.opportunity_id
         where i.region_id = (select region_id from region where ods_code = 'Y60')
           and p.programme_year_id = {YEAR_ID} and w.removed_at is null"
    )
}

/// The national roll-up's ICB rows (summed by region in Rust).
fn national_sql(to_month: &str) -> String {
    format!(
        "select i.ods_code, r.ods_code, f.*
         from icb i
         join region r on r.region_id = i.region_id
         left join plan_figures('{to_month}') f on f.icb_id = i.icb_id and f.programme_year_id = {YEAR_ID}
         where (i.valid_from <= '2026-03-31' and (i.valid_to is null or i.valid_to >= '2025-04-01'))
               or f.plan_id is not null
         order by r.name, i.name"
    )
}

/// The opportunity table's query, for one region or (`None`) the nation.
fn opportunities_sql(region: Option<&str>, to_month: &str) -> String {
    let region_filter = region.map_or_else(String::new, |code| {
        format!("and i.region_id = (select region_id from region where ods_code = '{code}')")
    });
    format!(
        "with chosen as (
             select f.*, w.rag from workstream_figures('{to_month}') f
             join workstream w on w.workstream_id = f.workstream_id and w.icb_id = f.icb_id
             join icb i on i.icb_id = f.icb_id
             where f.programme_year_id = {YEAR_ID} and f.opportunity_id is not null {region_filter}
         )
         select o.number, count(c.workstream_id) filter (where not c.removed),
                sum(c.annual_target_pence), sum(c.target_to_date_pence), sum(c.actual_to_date_pence)
         from opportunity o
         left join chosen c on c.opportunity_id = o.opportunity_id
         where o.programme_year_id = {YEAR_ID}
         group by o.opportunity_id order by o.number"
    )
}

const EXPORT_SQL: &str = "
select y.starts_on, r.ods_code, i.ods_code, i.name, w.workstream_id, o.number,
       coalesce(w.title, o.title), m.month, m.planned_pence, m.actual_pence
from workstream_month m
join workstream w on w.workstream_id = m.workstream_id and w.icb_id = m.icb_id
join plan p on p.plan_id = w.plan_id and p.icb_id = w.icb_id
join programme_year y on y.programme_year_id = p.programme_year_id
join icb i on i.icb_id = w.icb_id
join region r on r.region_id = i.region_id
left join opportunity o on o.opportunity_id = w.opportunity_id
order by y.starts_on, r.name, i.name, w.workstream_id, m.month";
