//! The figures of issue 11, each rule checked through the real router on PostgreSQL against an
//! independent computation from the stored rows ([`model`]): on the dashboard, the regional and
//! national roll-ups and the exports.
//!
//! - [`lifetimes`]: actuals outside an ICB's lifetime, backdated and mid-year mergers, splits,
//!   figures restated on today's organisations, `successor_icb_code`;
//! - [`money`]: phasing that adds up, cost pressures, the submit checks, months in the year;
//! - [`to_date`]: the reporting month, "not reported", "as at", removed workstreams, forecasts
//!   and rounding.

mod lifetimes;
pub(crate) mod model;
mod money;
mod to_date;

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::common::{Browser, Csv, TestResponse, pounds, sel, text_of};
use model::{Expected, pounds as whole};

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// The headline figures of a dashboard (`#headline`) or a restated block (`#restated`), by
/// `data-figure`.
pub fn figures(page: &TestResponse, list: &str) -> BTreeMap<String, String> {
    page.html()
        .select(&sel(&format!("{list} [data-figure]")))
        .map(|row| {
            let key = row.value().attr("data-figure").unwrap().to_owned();
            let value = row
                .select(&sel("dd"))
                .next()
                .map(|dd| text_of(&dd))
                .unwrap();
            (key, value)
        })
        .collect()
}

/// The cells of the row matching `row_css`, by `data-col`.
pub fn row(page: &TestResponse, row_css: &str) -> BTreeMap<String, String> {
    let html = page.html();
    let tr = html
        .select(&sel(row_css))
        .next()
        .unwrap_or_else(|| panic!("no row {row_css}"));
    tr.select(&sel("[data-col]"))
        .map(|td| {
            (
                td.value().attr("data-col").unwrap().to_owned(),
                text_of(&td),
            )
        })
        .collect()
}

/// The amount at the start of a cell (`£1,234 (behind plan)`), in whole pounds.
pub fn money(text: &str) -> i64 {
    pounds(text.split(' ').next().unwrap())
}

fn percent(p: Option<i64>) -> String {
    p.map_or_else(|| "–".to_owned(), |p| format!("{p}%"))
}

/// Checks a dashboard's headline against `e`.
pub fn check_dashboard(page: &TestResponse, e: &Expected, what: &str) {
    assert_eq!(page.status, 200, "{what}: {}", page.body);
    let f = figures(page, "#headline");
    let m = |key: &str| money(&f[key]);
    assert_eq!(m("annual_target"), whole(e.annual), "{what} annual target");
    assert_eq!(
        m("target_to_date"),
        whole(e.target_to_date),
        "{what} target to date"
    );
    assert_eq!(
        m("actual_to_date"),
        whole(e.actual),
        "{what} actual to date"
    );
    assert_eq!(
        m("not_reported_target"),
        whole(e.not_reported()),
        "{what} not reported"
    );
    assert_eq!(m("variance"), whole(e.variance()), "{what} variance");
    assert_eq!(
        m("forecast_outturn"),
        whole(e.forecast()),
        "{what} forecast"
    );
    assert_eq!(
        m("forecast_vs_annual_target"),
        whole(e.forecast() - e.annual),
        "{what} forecast against the annual target"
    );
    match e.run_rate {
        Some(r) => assert_eq!(m("run_rate_forecast"), whole(r), "{what} run rate"),
        None => assert!(
            f["run_rate_forecast"].starts_with("Not available"),
            "{what}"
        ),
    }
    let p = |key: &str| f[key].split(' ').next().unwrap().to_owned();
    match e.percent() {
        Some(x) => assert_eq!(p("percent_of_target"), format!("{x}%"), "{what} %"),
        None => assert!(f["percent_of_target"].starts_with("No target"), "{what}"),
    }
    match e.percent_of_annual() {
        Some(x) => assert_eq!(p("percent_of_annual_target"), format!("{x}%"), "{what}"),
        None => assert!(
            f["percent_of_annual_target"].starts_with("No annual"),
            "{what}"
        ),
    }
    assert!(
        f["months_overdue"].starts_with(&format!("{} ", e.months_overdue)),
        "{what} months overdue: {}",
        f["months_overdue"]
    );
    if !f["workstreams_reported"].starts_with("No month") {
        assert!(
            f["workstreams_reported"].starts_with(&format!(
                "{} of {} workstreams reported for",
                e.reported, e.due
            )),
            "{what}: {}",
            f["workstreams_reported"]
        );
    }
}

/// Checks a roll-up row (an ICB's, a region's, a total) against `e`.
pub fn check_row(cells: &BTreeMap<String, String>, e: &Expected, what: &str) {
    let m = |key: &str| money(&cells[key]);
    assert_eq!(m("annual_target"), whole(e.annual), "{what} annual target");
    assert_eq!(
        m("target_to_date"),
        whole(e.target_to_date),
        "{what} target to date"
    );
    assert_eq!(
        m("actual_to_date"),
        whole(e.actual),
        "{what} actual to date"
    );
    assert_eq!(m("forecast"), whole(e.forecast()), "{what} forecast");
    assert_eq!(cells["percent"], percent(e.percent()), "{what} %");
    if let Some(annual) = cells.get("percent_annual") {
        assert_eq!(
            *annual,
            percent(e.percent_of_annual()),
            "{what} % of annual"
        );
    }
    if let Some(rate) = cells.get("run_rate") {
        match e.run_rate {
            Some(r) => assert_eq!(money(rate), whole(r), "{what} run rate"),
            None => assert_eq!(rate, "–", "{what} run rate"),
        }
    }
    if let Some(reported) = cells.get("reported") {
        assert!(
            reported.starts_with(&format!("{} of {}", e.reported, e.due))
                || (e.due == 0 && reported.starts_with('–')),
            "{what} reported: {reported}"
        );
    }
}

/// `1234.56` as pence.
pub fn csv_pence(text: &str) -> i64 {
    let negative = text.starts_with('-');
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let value: i64 = digits
        .parse()
        .unwrap_or_else(|_| panic!("not money: {text}"));
    if negative { -value } else { value }
}

/// Checks a `plans.csv` row against `e`, to the penny.
pub fn check_plans_csv(row: &BTreeMap<&str, &str>, e: &Expected, what: &str) {
    let p = |key: &str| csv_pence(row[key]);
    assert_eq!(p("annual_target_gbp"), e.annual, "{what} annual target");
    assert_eq!(
        p("planned_total_gbp"),
        e.planned_total,
        "{what} planned total"
    );
    assert_eq!(
        p("target_to_date_gbp"),
        e.target_to_date,
        "{what} target to date"
    );
    assert_eq!(p("actual_to_date_gbp"), e.actual, "{what} actual");
    assert_eq!(p("variance_to_date_gbp"), e.variance(), "{what} variance");
    assert_eq!(p("forecast_outturn_gbp"), e.forecast(), "{what} forecast");
    assert_eq!(
        p("reported_target_to_date_gbp"),
        e.reported_target,
        "{what}"
    );
    assert_eq!(
        p("not_reported_target_to_date_gbp"),
        e.not_reported(),
        "{what}"
    );
    assert_eq!(
        p("forecast_vs_annual_target_gbp"),
        e.forecast() - e.annual,
        "{what}"
    );
    let int = |v: Option<i64>| v.map_or_else(String::new, |v| v.to_string());
    assert_eq!(
        row["percent_of_target_to_date"],
        int(e.percent()),
        "{what} %"
    );
    assert_eq!(
        row["pct_of_annual_target"],
        int(e.percent_of_annual()),
        "{what} %"
    );
    assert_eq!(
        row["run_rate_forecast_gbp"],
        e.run_rate.map_or_else(String::new, |r| format!(
            "{}{}.{:02}",
            if r < 0 { "-" } else { "" },
            r.abs() / 100,
            r.abs() % 100
        )),
        "{what} run rate"
    );
    assert_eq!(row["workstreams_due"], e.due.to_string(), "{what}");
    assert_eq!(
        row["workstreams_reported"],
        e.reported.to_string(),
        "{what}"
    );
    assert_eq!(
        row["months_overdue"],
        e.months_overdue.to_string(),
        "{what}"
    );
}

/// Downloads `path` (a CSV) as `browser`.
pub async fn csv(browser: &mut Browser<'_>, path: &str) -> Csv {
    Csv::parse(&browser.get(path).await)
}

/// The sum of a money column over the rows `keep` chooses, in pence.
pub fn csv_sum(csv: &Csv, column: &str, keep: impl Fn(&BTreeMap<&str, &str>) -> bool) -> i64 {
    csv.records()
        .iter()
        .filter(|r| keep(r))
        .map(|r| {
            let v = r[column];
            if v.is_empty() { 0 } else { csv_pence(v) }
        })
        .sum()
}
