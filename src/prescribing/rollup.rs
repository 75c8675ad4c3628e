//! Prescribing measures in the roll-ups: for every national opportunity the ICBs chose, a
//! table of its measures' latest values, percentiles among England's ICBs and whether each
//! got better or worse since the baseline month (the March before the programme year).
//!
//! - A region's table has a row per ICB that chose the opportunity.
//! - The national table has a row per region: the ICBs of the region that chose it, taken
//!   together (their numerators and denominators summed), placed among England's ICBs.
//!
//! Which ICB chose what is tenant data: it is read through the caller's scoped transaction,
//! so row-level security decides what the table can show.

use chrono::NaiveDate;
use sqlx::PgConnection;

use super::figures::{self, DataStatus, IcbMonthValue, StoredMeasure, percent_rank};
use super::library::Measure;
use super::panel::{Verdict, default_baseline, not_shown_reason, ordinal};
use crate::domain::FinancialYear;
use crate::error::AppResult;

/// The prescribing section of a roll-up.
#[derive(Debug, Clone, Default)]
pub struct RollupTables {
    pub status: DataStatus,
    /// The month whose values are shown ("March 2025"); empty with no data.
    pub month_label: String,
    /// "March 2024".
    pub baseline_label: String,
    pub opportunities: Vec<RollupOpportunity>,
    /// Chosen opportunities that prescribing data cannot show, with why.
    pub not_shown: Vec<(i16, String, &'static str)>,
}

impl RollupTables {
    /// Any EPD month is loaded.
    pub fn has_data(&self) -> bool {
        self.status.latest_month.is_some()
    }

    /// "June 2024" (or "none").
    pub fn latest_label(&self) -> String {
        self.status.latest_label()
    }
}

/// One chosen opportunity's table.
#[derive(Debug, Clone)]
pub struct RollupOpportunity {
    pub number: i16,
    pub title: String,
    /// `prescribing-opportunity-{number}`.
    pub id: String,
    pub measures: Vec<RollupMeasure>,
    pub rows: Vec<RollupRow>,
}

/// A column of a table.
#[derive(Debug, Clone)]
pub struct RollupMeasure {
    pub title: String,
    pub unit: String,
    pub lower_is_better: bool,
    pub source_url: String,
}

/// A row: an ICB, or a region's choosing ICBs.
#[derive(Debug, Clone)]
pub struct RollupRow {
    pub name: String,
    pub code: String,
    pub href: String,
    /// Said after the name to screen readers (the page has other links with the same name):
    /// "prescribing measures" or "regional roll-up".
    pub link_hint: &'static str,
    /// "3 ICBs" on the national table.
    pub note: Option<String>,
    pub cells: Vec<RollupCell>,
}

/// A measure's figures in a row.
#[derive(Debug, Clone)]
pub struct RollupCell {
    pub value: String,
    /// "62nd", among England's ICBs.
    pub percentile: Option<String>,
    pub verdict: Option<Verdict>,
}

/// An ICB's choice of a national opportunity.
struct Choice {
    icb_id: i32,
    ods_code: String,
    name: String,
    region_id: i16,
    region_code: String,
    region_name: String,
    number: i16,
    title: Option<String>,
}

/// The national opportunities chosen in `programme_year_id`, by the ICBs of `region_id` (or
/// every ICB the caller may read).
async fn choices(
    conn: &mut PgConnection,
    programme_year_id: i16,
    region_id: Option<i16>,
) -> sqlx::Result<Vec<Choice>> {
    sqlx::query_as!(
        Choice,
        r#"
        select i.icb_id, i.ods_code, i.name, i.region_id, r.ods_code as region_code,
               r.name as region_name, o.number, o.title
        from workstream w
        join plan p on p.plan_id = w.plan_id and p.icb_id = w.icb_id
        join opportunity o on o.opportunity_id = w.opportunity_id
        join icb i on i.icb_id = w.icb_id
        join region r on r.region_id = i.region_id
        where p.programme_year_id = $1 and w.removed_at is null
          and ($2::smallint is null or i.region_id = $2)
        order by o.number, i.name
        "#,
        programme_year_id,
        region_id
    )
    .fetch_all(conn)
    .await
}

/// The months compared: the baseline (the March before the year) and the latest loaded month
/// of the year (the year's last, once it is over). Values before the baseline are shown
/// without a comparison.
fn months(year: FinancialYear, status: &DataStatus) -> Option<(NaiveDate, NaiveDate)> {
    let latest = status.latest_month?;
    Some((default_baseline(year), year.months()[11].min(latest)))
}

/// The region's table: a row per ICB that chose each opportunity.
pub async fn region(
    conn: &mut PgConnection,
    region_id: i16,
    year: FinancialYear,
    programme_year_id: i16,
) -> AppResult<RollupTables> {
    let choices = choices(conn, programme_year_id, Some(region_id)).await?;
    build(conn, year, choices, Grouping::ByIcb).await
}

/// The national table: a row per region, for its ICBs that chose each opportunity.
pub async fn national(
    conn: &mut PgConnection,
    year: FinancialYear,
    programme_year_id: i16,
) -> AppResult<RollupTables> {
    let choices = choices(conn, programme_year_id, None).await?;
    build(conn, year, choices, Grouping::ByRegion).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grouping {
    ByIcb,
    ByRegion,
}

async fn build(
    conn: &mut PgConnection,
    year: FinancialYear,
    choices: Vec<Choice>,
    grouping: Grouping,
) -> AppResult<RollupTables> {
    let status = figures::status(conn).await?;
    let measures = figures::measures(conn, None).await?;
    let mut numbers: Vec<(i16, String)> = choices
        .iter()
        .map(|c| {
            (
                c.number,
                c.title
                    .clone()
                    .unwrap_or_else(|| "Title to be confirmed".into()),
            )
        })
        .collect();
    numbers.dedup_by_key(|(n, _)| *n);
    let mut tables = RollupTables {
        baseline_label: default_baseline(year).format("%B %Y").to_string(),
        ..RollupTables::default()
    };
    let months = months(year, &status);
    let ids: Vec<i16> = measures.iter().map(|m| m.id).collect();
    let values = match months {
        Some((baseline, latest)) => {
            tables.month_label = latest.format("%B %Y").to_string();
            figures::all_icb_values(conn, &ids, &[baseline, latest]).await?
        }
        None => Vec::new(),
    };
    for (number, title) in numbers {
        let of_opportunity: Vec<&StoredMeasure> = measures
            .iter()
            .filter(|m| m.measure.opportunity_number == number)
            .collect();
        if of_opportunity.is_empty() {
            tables
                .not_shown
                .push((number, title, not_shown_reason(number)));
            continue;
        }
        let chose: Vec<&Choice> = choices.iter().filter(|c| c.number == number).collect();
        let rows = match (grouping, months) {
            (_, None) => Vec::new(),
            (Grouping::ByIcb, Some(m)) => icb_rows(&chose, &of_opportunity, &values, m, year),
            (Grouping::ByRegion, Some(m)) => region_rows(&chose, &of_opportunity, &values, m, year),
        };
        tables.opportunities.push(RollupOpportunity {
            number,
            title,
            id: format!("prescribing-opportunity-{number}"),
            measures: of_opportunity
                .iter()
                .map(|m| RollupMeasure {
                    title: m.measure.title.clone(),
                    unit: m.measure.unit().words(m.measure.numerator_field),
                    lower_is_better: m.measure.lower_is_better,
                    source_url: m.measure.source_url.clone(),
                })
                .collect(),
            rows,
        });
    }
    tables.status = status;
    Ok(tables)
}

fn find(
    values: &[IcbMonthValue],
    icb_id: i32,
    measure_id: i16,
    month: NaiveDate,
) -> Option<&IcbMonthValue> {
    values
        .iter()
        .find(|v| v.icb_id == icb_id && v.measure_id == measure_id && v.month == month)
}

fn icb_rows(
    chose: &[&Choice],
    measures: &[&StoredMeasure],
    values: &[IcbMonthValue],
    (baseline, latest): (NaiveDate, NaiveDate),
    year: FinancialYear,
) -> Vec<RollupRow> {
    chose
        .iter()
        .map(|c| RollupRow {
            name: crate::rollups::short_icb_name(&c.name).to_owned(),
            code: c.ods_code.clone(),
            href: format!("/icbs/{}/{}/prescribing", c.ods_code, year.slug()),
            link_hint: "prescribing measures",
            note: None,
            cells: measures
                .iter()
                .map(|m| {
                    let now = find(values, c.icb_id, m.id, latest).and_then(|v| v.value);
                    let before = find(values, c.icb_id, m.id, baseline).and_then(|v| v.value);
                    cell(
                        &m.measure,
                        now,
                        find(values, c.icb_id, m.id, latest).and_then(|v| v.percentile),
                        before,
                        baseline < latest,
                    )
                })
                .collect(),
        })
        .collect()
}

fn region_rows(
    chose: &[&Choice],
    measures: &[&StoredMeasure],
    values: &[IcbMonthValue],
    (baseline, latest): (NaiveDate, NaiveDate),
    year: FinancialYear,
) -> Vec<RollupRow> {
    let mut regions: Vec<(i16, &str, &str)> = chose
        .iter()
        .map(|c| (c.region_id, c.region_code.as_str(), c.region_name.as_str()))
        .collect();
    regions.sort_by(|a, b| a.2.cmp(b.2));
    regions.dedup();
    regions
        .into_iter()
        .map(|(region_id, code, name)| {
            let icbs: Vec<i32> = chose
                .iter()
                .filter(|c| c.region_id == region_id)
                .map(|c| c.icb_id)
                .collect();
            let cells = measures
                .iter()
                .map(|m| {
                    // The choosing ICBs taken together, placed among England's ICBs.
                    let together = |month| {
                        let (mut numerator, mut denominator, mut any) = (0.0, 0.0, false);
                        for &icb in &icbs {
                            if let Some(v) = find(values, icb, m.id, month)
                                && let Some(d) = v.denominator
                            {
                                numerator += v.numerator;
                                denominator += d;
                                any = true;
                            }
                        }
                        any.then(|| m.measure.value(numerator, denominator))
                            .flatten()
                    };
                    let now = together(latest);
                    let england: Vec<f64> = values
                        .iter()
                        .filter(|v| v.measure_id == m.id && v.month == latest)
                        .filter_map(|v| v.value)
                        .collect();
                    let percentile = now.and_then(|v| percent_rank(v, &england));
                    cell(
                        &m.measure,
                        now,
                        percentile,
                        together(baseline),
                        baseline < latest,
                    )
                })
                .collect();
            RollupRow {
                name: name.to_owned(),
                code: code.to_owned(),
                href: format!("/regions/{code}/{}", year.slug()),
                link_hint: "regional roll-up",
                note: Some(format!(
                    "{} ICB{}",
                    icbs.len(),
                    if icbs.len() == 1 { "" } else { "s" }
                )),
                cells,
            }
        })
        .collect()
}

fn cell(
    measure: &Measure,
    now: Option<f64>,
    percentile: Option<f64>,
    before: Option<f64>,
    comparable: bool,
) -> RollupCell {
    let unit = measure.unit();
    RollupCell {
        value: now.map_or_else(|| "No figures".to_owned(), |v| unit.format(v)),
        percentile: now.and(percentile).map(|p| ordinal(p.round() as i64)),
        verdict: match (before, now) {
            (Some(b), Some(n)) if comparable => Some(Verdict::of(b, n, measure.lower_is_better)),
            _ => None,
        },
    }
}
