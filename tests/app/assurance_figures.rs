//! Savings assurance figures (issue 12) against an independent computation from the stored
//! rows: net target, full-year effect, risk-adjusted forecast, suggested RAG, unidentified gap
//! and the splits, on the dashboard, the assurance page, each workstream's page, the regional
//! and national roll-ups and the exports — and again after an administrator changes the
//! year's weights and thresholds. The arithmetic here is written out afresh from the rules
//! in the README, not taken from the app.

use std::collections::BTreeMap;

use medopt::auth::Role;
use scraper::Html;
use sqlx::PgPool;

use crate::common::{Browser, TestApp, TestResponse, pounds, sel, texts};
use crate::seed::{self, Ws};

const YEAR: &str = "2024-25";

/// `n / d` to the nearest whole number, halves away from zero.
fn div_round(n: i128, d: i128) -> i64 {
    let q = n / d;
    let r = n % d;
    let q = if 2 * r.abs() >= d.abs() {
        q + n.signum() * d.signum()
    } else {
        q
    };
    i64::try_from(q).unwrap()
}

/// Whole pounds as the pages round them.
fn whole_pounds(pence: i64) -> i64 {
    div_round(i128::from(pence), 100)
}

/// Pounds with two decimals as the exports write them.
fn gbp(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", pence.abs() / 100, pence.abs() % 100)
}

/// A workstream as stored.
#[derive(Debug, Clone)]
struct Stored {
    id: i32,
    icb: String,
    local: bool,
    target: i64,
    investment: i64,
    carried: i64,
    saving_type: Option<String>,
    benefit_type: Option<String>,
    setting: Option<String>,
    fye_lead: Option<i64>,
    planned: [i64; 12],
    actual: [Option<i64>; 12],
    forecast: Option<(i64, String)>,
    rag: Option<String>,
    open_risks: i64,
}

/// The year's settings: weights (high, medium, low) and thresholds (green, amber).
#[derive(Debug, Clone, Copy)]
struct Settings {
    high: i64,
    medium: i64,
    low: i64,
    green: i64,
    amber: i64,
}

impl Stored {
    fn actual_to_date(&self) -> i64 {
        self.actual.iter().flatten().sum()
    }

    fn net(&self) -> i64 {
        self.target - self.investment
    }

    fn recurrent(&self) -> bool {
        self.saving_type.as_deref() == Some("recurrent")
    }

    /// The lead's figure, or 12 × the average month from the first non-zero actual to the
    /// latest reported month, once that is two months or more.
    fn full_year_effect(&self) -> Option<(i64, &'static str)> {
        if !self.recurrent() {
            return None;
        }
        if let Some(lead) = self.fye_lead {
            return Some((lead, "lead"));
        }
        let first = self
            .actual
            .iter()
            .position(|a| matches!(a, Some(x) if *x != 0))?;
        let latest = self.actual.iter().rposition(Option::is_some)?;
        let span = latest - first + 1;
        if span < 2 {
            return None;
        }
        let sum: i64 = self.actual[first..=latest].iter().flatten().sum();
        Some((div_round(i128::from(sum) * 12, span as i128), "run_rate"))
    }

    fn risk_adjusted(&self, s: Settings) -> Option<i64> {
        let (likely, confidence) = self.forecast.clone()?;
        let weight = match confidence.as_str() {
            "high" => s.high,
            "medium" => s.medium,
            _ => s.low,
        };
        let actual = self.actual_to_date();
        Some(if likely <= actual {
            likely
        } else {
            actual + div_round(i128::from(likely - actual) * i128::from(weight), 100)
        })
    }

    fn suggested(&self, s: Settings) -> Option<&'static str> {
        let latest = self.actual.iter().rposition(Option::is_some)?;
        let to_date: i64 = self.planned[..=latest].iter().sum();
        if to_date == 0 {
            return None;
        }
        let percent = div_round(i128::from(self.actual_to_date()) * 100, i128::from(to_date));
        Some(if percent >= s.green {
            "green"
        } else if percent >= s.amber {
            "amber"
        } else {
            "red"
        })
    }
}

/// Sums over a set of workstreams (a plan, a region, England).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sums {
    target: i64,
    investment: i64,
    net: i64,
    recurrent: i64,
    non_recurrent: i64,
    cash: i64,
    avoidance: i64,
    primary: i64,
    secondary: i64,
    system: i64,
    fye: i64,
    likely: i64,
    risk_adjusted: i64,
    without_forecast: i64,
    actual: i64,
    rag_differs: i64,
}

fn sums<'a>(rows: impl IntoIterator<Item = &'a Stored>, s: Settings) -> Sums {
    let mut t = Sums::default();
    for w in rows {
        let is = |v: &Option<String>, key: &str| v.as_deref() == Some(key);
        t.target += w.target;
        t.investment += w.investment;
        t.net += w.net();
        t.actual += w.actual_to_date();
        if is(&w.saving_type, "recurrent") {
            t.recurrent += w.target;
        }
        if is(&w.saving_type, "non_recurrent") {
            t.non_recurrent += w.target;
        }
        if is(&w.benefit_type, "cash_releasing") {
            t.cash += w.target;
        }
        if is(&w.benefit_type, "cost_avoidance") {
            t.avoidance += w.target;
        }
        if is(&w.setting, "primary_care") {
            t.primary += w.target;
        }
        if is(&w.setting, "secondary_care") {
            t.secondary += w.target;
        }
        if is(&w.setting, "system") {
            t.system += w.target;
        }
        t.fye += w.full_year_effect().map_or(0, |(e, _)| e);
        if let (Some(lead), Some(suggested)) = (w.rag.as_deref(), w.suggested(s))
            && lead != suggested
        {
            t.rag_differs += 1;
        }
        match (&w.forecast, w.risk_adjusted(s)) {
            (Some((likely, _)), Some(r)) => {
                t.likely += likely;
                t.risk_adjusted += r;
            }
            _ => t.without_forecast += 1,
        }
    }
    t
}

/// A workstream's row as read: id, ICB, local, target, investment, carried forward, saving
/// type, benefit, setting, the lead's full-year effect, RAG.
type Row = (
    i32,
    String,
    bool,
    i64,
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
);

/// Every live workstream of the year's plans, read from the tables (not the views).
async fn stored(pool: &PgPool) -> Vec<Stored> {
    let rows: Vec<Row> = sqlx::query_as(
        "select w.workstream_id, i.ods_code, w.opportunity_id is null, w.annual_target_pence,
                    w.investment_pence, w.carried_forward_pence, w.saving_type::text,
                    w.benefit_type::text, w.setting::text, w.full_year_effect_pence, w.rag::text
             from workstream w join icb i using (icb_id)
             join plan p on p.plan_id = w.plan_id
             join programme_year y on y.programme_year_id = p.programme_year_id
             where w.removed_at is null and y.starts_on = '2024-04-01'
             order by w.workstream_id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut out = Vec::new();
    for (id, icb, local, target, investment, carried, st, bt, setting, fye, rag) in rows {
        let months: Vec<(chrono::NaiveDate, i64, Option<i64>)> = sqlx::query_as(
            "select month, planned_pence, actual_pence from workstream_month where workstream_id = $1",
        )
        .bind(id)
        .fetch_all(pool)
        .await
        .unwrap();
        let mut planned = [0; 12];
        let mut actual = [None; 12];
        for (month, p, a) in months {
            let i = ((chrono::Datelike::year(&month) - 2024) * 12
                + chrono::Datelike::month(&month) as i32
                - 4) as usize;
            planned[i] = p;
            actual[i] = a;
        }
        let forecast: Option<(i64, String)> = sqlx::query_as(
            "select likely_outturn_pence, confidence::text from workstream_forecast
             where workstream_id = $1 order by month desc limit 1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await
        .unwrap();
        let open_risks: i64 = sqlx::query_scalar(
            "select count(*) from workstream_risk where workstream_id = $1 and status = 'open'",
        )
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap();
        out.push(Stored {
            id,
            icb,
            local,
            target,
            investment,
            carried,
            saving_type: st,
            benefit_type: bt,
            setting,
            fye_lead: fye,
            planned,
            actual,
            forecast,
            rag,
            open_risks,
        });
    }
    out
}

/// Sets a workstream's assurance fields straight in the table.
async fn assure(pool: &PgPool, id: i32, fields: (&str, &str, &str, i64, Option<i64>)) {
    let (saving_type, benefit, setting, investment, fye) = fields;
    sqlx::query(
        "update workstream set saving_type = $2::saving_type, benefit_type = $3::benefit_type,
                setting = $4::saving_setting, investment_pence = $5, full_year_effect_pence = $6
         where workstream_id = $1",
    )
    .bind(id)
    .bind(saving_type)
    .bind(benefit)
    .bind(setting)
    .bind(investment)
    .bind(fye)
    .execute(pool)
    .await
    .unwrap();
}

async fn forecast(pool: &PgPool, id: i32, month: &str, pence: i64, confidence: &str) {
    sqlx::query(
        "insert into workstream_forecast (workstream_id, icb_id, month, likely_outturn_pence, confidence)
         select workstream_id, icb_id, $2::date, $3, $4::forecast_confidence from workstream where workstream_id = $1",
    )
    .bind(id)
    .bind(month)
    .bind(pence)
    .bind(confidence)
    .execute(pool)
    .await
    .unwrap();
}

async fn set_requirement(pool: &PgPool, icb: &str, pence: i64) {
    sqlx::query(
        "update plan set savings_requirement_pence = $2
         where icb_id = (select icb_id from icb where ods_code = $1)",
    )
    .bind(icb)
    .bind(pence)
    .execute(pool)
    .await
    .unwrap();
}

/// Three ICBs' 2024/25 plans with every kind of workstream (see the comments).
async fn plant(pool: &PgPool) -> Vec<i32> {
    let (_, qe1) = seed::plan(
        pool,
        "QE1",
        2024,
        "draft",
        &[
            // Starts in July: its full-year effect comes from July to September.
            Ws::national(1, 12_000).rag("green").actuals(&[
                Some(0),
                Some(0),
                Some(0),
                Some(1_000),
                Some(1_000),
                Some(1_500),
            ]),
            // The lead's full-year effect; a month not reported between.
            Ws::national(2, 6_000)
                .rag("amber")
                .actuals(&[Some(500), Some(500), None, Some(400)]),
            // Non-recurrent, with an investment larger than its target.
            Ws::national(3, 5_000).actuals(&[Some(100), Some(200)]),
            // A local priority not classified yet (so no full-year effect), forecast in pence.
            Ws::local("Care homes medication review", 2_400).actuals(&[None, Some(100), Some(100)]),
            // Removed: counts nowhere.
            Ws::national(4, 9_000).removed(),
        ],
    )
    .await;
    assure(
        pool,
        qe1[0],
        ("recurrent", "cash_releasing", "primary_care", 200_000, None),
    )
    .await;
    assure(
        pool,
        qe1[1],
        (
            "recurrent",
            "cost_avoidance",
            "secondary_care",
            0,
            Some(800_000),
        ),
    )
    .await;
    assure(
        pool,
        qe1[2],
        ("non_recurrent", "cash_releasing", "system", 600_000, None),
    )
    .await;
    assure(
        pool,
        qe1[4],
        ("recurrent", "cash_releasing", "system", 0, Some(1_000_000)),
    )
    .await;
    forecast(pool, qe1[0], "2024-06-01", 900_000, "low").await;
    forecast(pool, qe1[0], "2024-09-01", 1_300_000, "medium").await;
    forecast(pool, qe1[1], "2024-07-01", 500_000, "high").await;
    forecast(pool, qe1[3], "2024-05-01", 300_033, "low").await;
    forecast(pool, qe1[4], "2024-05-01", 900_000, "high").await;
    for (id, status) in [(qe1[0], "open"), (qe1[0], "closed"), (qe1[2], "open")] {
        sqlx::query(
            "insert into workstream_risk (workstream_id, icb_id, description, status)
             select workstream_id, icb_id, 'A risk', $2::risk_status from workstream where workstream_id = $1",
        )
        .bind(id)
        .bind(status)
        .execute(pool)
        .await
        .unwrap();
    }
    set_requirement(pool, "QE1", 10_000_000).await;

    let (_, qop) = seed::plan(
        pool,
        "QOP",
        2024,
        "agreed",
        &[Ws::national(1, 20_000).actuals(&[Some(1_000), Some(1_000)])],
    )
    .await;
    assure(
        pool,
        qop[0],
        ("recurrent", "cash_releasing", "primary_care", 0, None),
    )
    .await;
    forecast(pool, qop[0], "2024-05-01", 1_800_000, "high").await;

    let (_, qwe) = seed::plan(
        pool,
        "QWE",
        2024,
        "submitted",
        &[Ws::local("Wound care formulary", 30_000).actuals(&[Some(2_000)])],
    )
    .await;
    assure(
        pool,
        qwe[0],
        (
            "non_recurrent",
            "cost_avoidance",
            "secondary_care",
            100_000,
            None,
        ),
    )
    .await;
    forecast(pool, qwe[0], "2024-04-01", 2_500_000, "medium").await;
    set_requirement(pool, "QWE", 5_000_000).await;
    qe1
}

/// The first amount of money (`£1,234` or `-£5`) in the text of the first element matching
/// `css`, in whole pounds.
fn money_at(html: &Html, css: &str) -> i64 {
    let text = texts(html, css)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("nothing matches {css}"));
    first_money(&text).unwrap_or_else(|| panic!("no money in {css}: {text}"))
}

fn first_money(text: &str) -> Option<i64> {
    text.split_whitespace()
        .find(|t| t.contains('£'))
        .map(|t| pounds(t.trim_end_matches([',', ';', '.'])))
}

/// Checks a summary row's money (`[data-figure=…] dd`).
fn figure(html: &Html, list: &str, name: &str) -> i64 {
    money_at(html, &format!("{list} [data-figure={name}] dd"))
}

/// Checks a table cell (`tr… [data-col=…]`).
fn cell(html: &Html, row: &str, col: &str) -> i64 {
    money_at(html, &format!("{row} [data-col={col}]"))
}

fn csv_rows(response: &TestResponse) -> Vec<BTreeMap<String, String>> {
    assert_eq!(response.status, 200, "{}", response.body);
    let body = response.body.trim_start_matches('\u{feff}');
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.unwrap().iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

fn opt_gbp(pence: Option<i64>) -> String {
    pence.map(gbp).unwrap_or_default()
}

/// Everything an ICB's plan shows, against `expected` for `icb`'s workstreams.
async fn check_icb_pages(
    browser: &mut Browser<'_>,
    all: &[Stored],
    icb: &str,
    s: Settings,
    requirement: Option<i64>,
) {
    let own: Vec<&Stored> = all.iter().filter(|w| w.icb == icb).collect();
    let t = sums(own.iter().copied(), s);
    let base = format!("/icbs/{icb}/{YEAR}");

    // The dashboard's headline.
    let dash = browser.get(&base).await;
    assert_eq!(dash.status, 200);
    let html = dash.html();
    let list = "#assurance-headline";
    match requirement {
        Some(r) => {
            assert_eq!(figure(&html, list, "savings_requirement"), whole_pounds(r));
            assert_eq!(
                figure(&html, list, "unidentified_gap"),
                whole_pounds(r - t.target)
            );
        }
        None => assert_eq!(
            texts(&html, &format!("{list} [data-figure=unidentified_gap] dd")),
            ["Record the savings requirement to see the gap"]
        ),
    }
    for (col, value) in [
        ("net_target", t.net),
        ("recurrent", t.recurrent),
        ("non_recurrent", t.non_recurrent),
        ("cash_releasing", t.cash),
        ("cost_avoidance", t.avoidance),
        ("primary_care", t.primary),
        ("secondary_care", t.secondary),
        ("system", t.system),
    ] {
        assert_eq!(
            money_at(&html, &format!("{list} [data-col={col}]")),
            whole_pounds(value),
            "{icb} dashboard {col}"
        );
    }
    assert_eq!(figure(&html, list, "full_year_effect"), whole_pounds(t.fye));
    assert_eq!(
        figure(&html, list, "risk_adjusted"),
        whole_pounds(t.risk_adjusted)
    );

    // The assurance page: the headline, the splits and each workstream.
    let page = browser.get(&format!("{base}/assurance")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let html = page.html();
    let list = "#plan-assurance";
    for (name, value) in [
        ("annual_target", t.target),
        ("investment", t.investment),
        ("net_target", t.net),
        ("full_year_effect", t.fye),
        ("likely_outturn", t.likely),
        ("risk_adjusted", t.risk_adjusted),
    ] {
        assert_eq!(
            figure(&html, list, name),
            whole_pounds(value),
            "{icb} {name}"
        );
    }
    for (table, key, value) in [
        ("split-saving-type", "recurrent", t.recurrent),
        ("split-saving-type", "non_recurrent", t.non_recurrent),
        (
            "split-saving-type",
            "",
            t.target - t.recurrent - t.non_recurrent,
        ),
        ("split-benefit", "cash_releasing", t.cash),
        ("split-benefit", "cost_avoidance", t.avoidance),
        ("split-setting", "primary_care", t.primary),
        ("split-setting", "secondary_care", t.secondary),
        ("split-setting", "system", t.system),
    ] {
        assert_eq!(
            cell(
                &html,
                &format!("#{table} tr[data-key=\"{key}\"]"),
                "annual_target"
            ),
            whole_pounds(value),
            "{icb} {table} {key}"
        );
    }
    for w in &own {
        let row = format!("#assurance-workstreams tr[data-workstream=\"{}\"]", w.id);
        assert_eq!(cell(&html, &row, "net_target"), whole_pounds(w.net()));
        match w.full_year_effect() {
            Some((e, _)) => assert_eq!(cell(&html, &row, "full_year_effect"), whole_pounds(e)),
            None => assert_eq!(
                texts(&html, &format!("{row} [data-col=full_year_effect]")),
                ["–"]
            ),
        }
        match w.risk_adjusted(s) {
            Some(r) => assert_eq!(cell(&html, &row, "risk_adjusted"), whole_pounds(r)),
            None => assert_eq!(
                texts(&html, &format!("{row} [data-col=risk_adjusted]")),
                ["–"]
            ),
        }
        let rag = texts(&html, &format!("{row} [data-col=rag]")).join(" ");
        let suggested = w.suggested(s).map_or("none yet".to_owned(), str::to_owned);
        assert!(
            rag.to_lowercase().starts_with(&suggested),
            "{row}: {rag}, expected {suggested} first"
        );

        // The workstream's own page computes them in Rust: they agree.
        let ws = browser.get(&format!("{base}/workstreams/{}", w.id)).await;
        assert_eq!(ws.status, 200);
        let html = ws.html();
        let list = "#assurance-figures";
        assert_eq!(figure(&html, list, "net_target"), whole_pounds(w.net()));
        if let Some((e, _)) = w.full_year_effect() {
            assert_eq!(figure(&html, list, "full_year_effect"), whole_pounds(e));
        }
        if let Some(r) = w.risk_adjusted(s) {
            assert_eq!(figure(&html, list, "risk_adjusted"), whole_pounds(r));
        }
        let suggested = texts(&html, &format!("{list} [data-figure=suggested_rag] strong"));
        assert_eq!(
            suggested.first().map(|t| t.to_lowercase()),
            w.suggested(s).map(str::to_owned),
            "workstream {} suggested RAG",
            w.id
        );
        assert_eq!(
            html.select(&sel("#investment-flag")).next().is_some(),
            w.investment > w.target
        );
    }
}

#[sqlx::test]
async fn assurance_figures_agree_with_the_stored_rows_everywhere(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let qe1 = plant(&app.pool).await;
    let mut s = Settings {
        high: 100,
        medium: 75,
        low: 50,
        green: 95,
        amber: 80,
    };
    let all = stored(&app.pool).await;
    assert_eq!(all.len(), 6, "the removed workstream is left out");
    // The cases the plan was built for, worked by hand.
    let a = all.iter().find(|w| w.id == qe1[0]).unwrap();
    assert_eq!(a.full_year_effect(), Some((1_400_000, "run_rate")));
    assert_eq!(a.risk_adjusted(s), Some(350_000 + 712_500));
    let d = all.iter().find(|w| w.id == qe1[3]).unwrap();
    assert_eq!(d.full_year_effect(), None, "not classified as recurrent");
    // £200 reported, and half of the other £2,800.33: £1,400.165 rounds up.
    assert_eq!(d.risk_adjusted(s), Some(20_000 + 140_017));

    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut ed = app.login_as(&editor).await;
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;
    let mut rv = app.login_as(&reviewer).await;
    let analyst = app.user(Role::NationalAnalyst, None).await;
    let mut an = app.login_as(&analyst).await;
    let admin = app.user(Role::Admin, None).await;
    let mut ad = app.login_as(&admin).await;

    for round in 0..2 {
        let req_qe1 = requirement_of(&app.pool, "QE1").await;
        check_icb_pages(&mut ed, &all, "QE1", s, req_qe1).await;
        check_icb_pages(&mut rv, &all, "QOP", s, None).await;

        // The regional roll-up: a row per ICB and the region's total.
        let region = rv.get(&format!("/regions/Y62/{YEAR}")).await;
        assert_eq!(region.status, 200);
        let html = region.html();
        let mut region_sum = Sums::default();
        let mut region_gap = 0;
        for icb in ["QE1", "QOP", "QYG"] {
            let t = sums(all.iter().filter(|w| w.icb == icb), s);
            let row = format!("#icb-assurance tr[data-icb=\"{icb}\"]");
            assert_eq!(cell(&html, &row, "annual_target"), whole_pounds(t.target));
            assert_eq!(cell(&html, &row, "recurrent"), whole_pounds(t.recurrent));
            assert_eq!(cell(&html, &row, "cash_releasing"), whole_pounds(t.cash));
            assert_eq!(cell(&html, &row, "net_target"), whole_pounds(t.net));
            assert_eq!(
                cell(&html, &row, "risk_adjusted"),
                whole_pounds(t.risk_adjusted)
            );
            match requirement_of(&app.pool, icb).await {
                Some(r) => {
                    assert_eq!(
                        cell(&html, &row, "unidentified_gap"),
                        whole_pounds(r - t.target)
                    );
                    region_gap += r - t.target;
                }
                None => assert_eq!(
                    texts(&html, &format!("{row} [data-col=unidentified_gap]")),
                    ["–"]
                ),
            }
            region_sum.target += t.target;
            region_sum.recurrent += t.recurrent;
            region_sum.cash += t.cash;
            region_sum.net += t.net;
            region_sum.risk_adjusted += t.risk_adjusted;
        }
        let totals = "#region-assurance-totals";
        assert_eq!(
            cell(&html, totals, "annual_target"),
            whole_pounds(region_sum.target)
        );
        assert_eq!(
            cell(&html, totals, "recurrent"),
            whole_pounds(region_sum.recurrent)
        );
        assert_eq!(
            cell(&html, totals, "cash_releasing"),
            whole_pounds(region_sum.cash)
        );
        assert_eq!(
            cell(&html, totals, "net_target"),
            whole_pounds(region_sum.net)
        );
        assert_eq!(
            cell(&html, totals, "risk_adjusted"),
            whole_pounds(region_sum.risk_adjusted)
        );
        assert_eq!(
            cell(&html, totals, "unidentified_gap"),
            whole_pounds(region_gap)
        );
        check_opportunity_table(&html, "#region-totals");

        // The national roll-up: England is the sum of its regions.
        let national = an.get(&format!("/national/{YEAR}")).await;
        assert_eq!(national.status, 200);
        let html = national.html();
        let england = sums(all.iter(), s);
        let totals = "#national-assurance-totals";
        assert_eq!(
            cell(&html, totals, "annual_target"),
            whole_pounds(england.target)
        );
        assert_eq!(
            cell(&html, totals, "recurrent"),
            whole_pounds(england.recurrent)
        );
        assert_eq!(
            cell(&html, totals, "cash_releasing"),
            whole_pounds(england.cash)
        );
        assert_eq!(cell(&html, totals, "net_target"), whole_pounds(england.net));
        assert_eq!(
            cell(&html, totals, "full_year_effect"),
            whole_pounds(england.fye)
        );
        assert_eq!(
            cell(&html, totals, "risk_adjusted"),
            whole_pounds(england.risk_adjusted)
        );
        let qwe = sums(all.iter().filter(|w| w.icb == "QWE"), s);
        assert_eq!(
            cell(&html, "#national-assurance-totals", "unidentified_gap"),
            whole_pounds(region_gap + 5_000_000 - qwe.target)
        );
        assert_eq!(
            cell(
                &html,
                "#region-assurance tr[data-assurance-region=\"Y56\"]",
                "risk_adjusted"
            ),
            whole_pounds(qwe.risk_adjusted)
        );
        check_opportunity_table(&html, "#national-totals");

        // The exports, exactly.
        let plans = csv_rows(&an.get(&format!("/exports/plans.csv?year={YEAR}")).await);
        for icb in ["QE1", "QOP", "QWE"] {
            let t = sums(all.iter().filter(|w| w.icb == icb), s);
            let row = plans.iter().find(|r| r["icb_code"] == icb).unwrap();
            let req = requirement_of(&app.pool, icb).await;
            assert_eq!(row["savings_requirement_gbp"], opt_gbp(req));
            assert_eq!(
                row["unidentified_gap_gbp"],
                opt_gbp(req.map(|r| r - t.target))
            );
            for (col, value) in [
                ("recurrent_target_gbp", t.recurrent),
                ("non_recurrent_target_gbp", t.non_recurrent),
                ("cash_releasing_target_gbp", t.cash),
                ("cost_avoidance_target_gbp", t.avoidance),
                ("primary_care_target_gbp", t.primary),
                ("secondary_care_target_gbp", t.secondary),
                ("system_target_gbp", t.system),
                ("investment_gbp", t.investment),
                ("net_target_gbp", t.net),
                ("full_year_effect_gbp", t.fye),
                ("likely_outturn_gbp", t.likely),
                ("risk_adjusted_forecast_gbp", t.risk_adjusted),
            ] {
                assert_eq!(row[col], gbp(value), "plans.csv {icb} {col}");
            }
            assert_eq!(
                row["workstreams_without_forecast"],
                t.without_forecast.to_string()
            );
            assert_eq!(row["rag_differs_from_suggested"], t.rag_differs.to_string());
        }
        let not_started = plans.iter().find(|r| r["icb_code"] == "QYG").unwrap();
        assert_eq!(not_started["net_target_gbp"], "");
        // Removed workstreams are exported too (their reported savings still count); the live
        // ones are those this test planted.
        let workstreams: Vec<_> = csv_rows(
            &an.get(&format!("/exports/workstreams.csv?year={YEAR}"))
                .await,
        )
        .into_iter()
        .filter(|r| r["removed_on"].is_empty())
        .collect();
        assert_eq!(workstreams.len(), all.len());
        for w in &all {
            let row = workstreams
                .iter()
                .find(|r| r["workstream_id"] == w.id.to_string())
                .unwrap();
            assert_eq!(
                row["saving_type"],
                w.saving_type.clone().unwrap_or_default()
            );
            assert_eq!(
                row["benefit_type"],
                w.benefit_type.clone().unwrap_or_default()
            );
            assert_eq!(row["setting"], w.setting.clone().unwrap_or_default());
            assert_eq!(row["investment_gbp"], gbp(w.investment));
            assert_eq!(row["net_target_gbp"], gbp(w.net()));
            assert_eq!(
                row["full_year_effect_gbp"],
                opt_gbp(w.full_year_effect().map(|e| e.0))
            );
            assert_eq!(
                row["full_year_effect_source"],
                w.full_year_effect().map_or("", |e| e.1)
            );
            assert_eq!(
                row["likely_outturn_gbp"],
                opt_gbp(w.forecast.as_ref().map(|f| f.0))
            );
            assert_eq!(
                row["confidence"],
                w.forecast.as_ref().map_or("", |f| f.1.as_str())
            );
            assert_eq!(
                row["risk_adjusted_forecast_gbp"],
                opt_gbp(w.risk_adjusted(s))
            );
            assert_eq!(row["suggested_rag"], w.suggested(s).unwrap_or_default());
            assert_eq!(row["carried_forward_gbp"], gbp(w.carried));
            assert_eq!(row["open_risks"], w.open_risks.to_string());
            assert_eq!(row["kind"], if w.local { "local" } else { "national" });
        }

        if round == 0 {
            // An administrator changes the year's weights and thresholds: every figure follows.
            let mut form = ad
                .form(
                    &format!("/admin/catalogue/{YEAR}"),
                    &format!("/admin/catalogue/{YEAR}/assurance"),
                )
                .await;
            form.set("weight_high", "90")
                .set("weight_medium", "60%")
                .set("weight_low", "30")
                .set("rag_green", "50")
                .set("rag_amber", "40");
            let saved = ad.submit(&form).await;
            assert_eq!(saved.status, 303, "{}", saved.body);
            s = Settings {
                high: 90,
                medium: 60,
                low: 30,
                green: 50,
                amber: 40,
            };
        }
    }
}

async fn requirement_of(pool: &PgPool, icb: &str) -> Option<i64> {
    let found: Option<Option<i64>> = sqlx::query_scalar(
        "select p.savings_requirement_pence from plan p join icb i using (icb_id)
         join programme_year y using (programme_year_id)
         where i.ods_code = $1 and y.starts_on = '2024-04-01'",
    )
    .bind(icb)
    .fetch_optional(pool)
    .await
    .unwrap();
    found.flatten()
}

/// The table by opportunity: its rows and the local priorities line add up to the roll-up's
/// totals row (`totals`), and its own total row says so.
fn check_opportunity_table(html: &Html, totals: &str) {
    for col in ["annual_target", "target_to_date", "actual_to_date"] {
        let rows: i64 = html
            .select(&sel(&format!(
                "#opportunity-figures tbody tr [data-col={col}]"
            )))
            .map(|c| pounds(&crate::common::text_of(&c)))
            .sum();
        let expected = money_at(html, &format!("{totals} [data-col={col}]"));
        // Each row is rounded to whole pounds: allow a pound of rounding per row.
        let rounding = html.select(&sel("#opportunity-figures tbody tr")).count() as i64;
        assert!(
            (rows - expected).abs() <= rounding,
            "{col}: rows add to {rows}, the roll-up's total is {expected}"
        );
        assert_eq!(
            money_at(html, &format!("#opportunities-total [data-col={col}]")),
            expected,
            "{col}: the table's total is the roll-up's"
        );
    }
}
