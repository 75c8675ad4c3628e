//! The prescribing panel of a national opportunity for one ICB: each of the opportunity's
//! measures as a monthly line against England's deciles and the region's median (an SVG chart
//! with its table), the ICB's current percentile, the change since the plan's baseline month,
//! and, for cost measures, the potential saving at England's 10th percentile rate.
//!
//! [`for_opportunity`] builds it; `templates/prescribing/macros.html` draws it
//! (`{% call rx::panel(prescribing, 2) %}{% endcall %}`), so any page that already knows the
//! ICB and the year can show it: the workstream page of a national opportunity, and the ICB's
//! prescribing page ([`super::pages`]).

use chrono::{Datelike, Months, NaiveDate};
use sqlx::PgConnection;

use super::figures::{self, DataStatus, MonthValue, RegionMedian, Spread, StoredMeasure};
use super::library::Unit;
use crate::charts::{DecileLabels, DecilePoint, decile_chart};
use crate::domain::{FinancialYear, Pence};
use crate::error::AppResult;

/// Why the English Prescribing Dataset cannot show an opportunity of the 2023/24 catalogue.
const NOT_SHOWN: &[(i16, &str)] = &[
    (
        4,
        "Secondary care medicines bought under NHS England's commercial framework agreements are \
         not in the English Prescribing Dataset, which covers prescriptions dispensed in the community.",
    ),
    (
        5,
        "Aseptically compounded medicines are made and used in hospitals, and the English \
         Prescribing Dataset covers prescriptions dispensed in the community.",
    ),
    (
        6,
        "Biologic medicines are mostly supplied by hospitals, and hospital use is not in the \
         English Prescribing Dataset.",
    ),
    (
        10,
        "Finding patients with hypertension needs diagnosis and treatment data (such as \
         CVDPREVENT or the Quality and Outcomes Framework), not prescribing data alone.",
    ),
    (
        16,
        "Intravenous antibiotics are given in hospitals, and the English Prescribing Dataset \
         covers prescriptions dispensed in the community.",
    ),
];

/// Why prescribing data cannot show opportunity `number`.
pub fn not_shown_reason(number: i16) -> &'static str {
    NOT_SHOWN.iter().find(|(n, _)| *n == number).map_or(
        "medopt's measure library has no measure from the English Prescribing Dataset for \
             this opportunity.",
        |(_, reason)| reason,
    )
}

/// The month a plan's measures are compared with unless told otherwise: the last month before
/// the programme year (March).
pub fn default_baseline(year: FinancialYear) -> NaiveDate {
    year.starts_on()
        .checked_sub_months(Months::new(1))
        .unwrap_or_else(|| year.starts_on())
}

/// The panel of one opportunity for one ICB.
#[derive(Debug, Clone)]
pub struct PrescribingPanel {
    pub opportunity_number: i16,
    pub status: DataStatus,
    /// Set when the prescribing data cannot show this opportunity: why.
    pub not_shown: Option<String>,
    pub baseline: NaiveDate,
    pub measures: Vec<MeasurePanel>,
}

impl PrescribingPanel {
    /// "June 2024" (or "none").
    pub fn latest_label(&self) -> String {
        self.status.latest_label()
    }

    /// "March 2024".
    pub fn baseline_label(&self) -> String {
        self.baseline.format("%B %Y").to_string()
    }

    /// Any EPD month is loaded.
    pub fn has_data(&self) -> bool {
        self.status.latest_month.is_some()
    }
}

/// One measure of the panel.
#[derive(Debug, Clone)]
pub struct MeasurePanel {
    /// Unique on the page: `prescribing-{slug}`.
    pub id: String,
    pub slug: String,
    pub title: String,
    pub source_url: String,
    /// The unit in words ("%", "£ per 1,000 patients").
    pub unit: String,
    pub lower_is_better: bool,
    pub chart: String,
    pub rows: Vec<PanelRow>,
    pub latest: Option<Latest>,
    pub change: Option<Change>,
    pub saving: Option<Saving>,
}

impl MeasurePanel {
    /// "Lower is better" or "Higher is better".
    pub fn direction(&self) -> &'static str {
        if self.lower_is_better {
            "Lower is better"
        } else {
            "Higher is better"
        }
    }
}

/// A month of the table.
#[derive(Debug, Clone)]
pub struct PanelRow {
    pub month: String,
    pub value: String,
    pub percentile: String,
    pub p10: String,
    pub p50: String,
    pub p90: String,
    pub region_median: String,
}

/// The ICB's latest figure.
#[derive(Debug, Clone)]
pub struct Latest {
    pub month: String,
    pub value: String,
    /// Among England's ICBs (0 lowest, 100 highest), rounded.
    pub percentile: Option<i64>,
}

impl Latest {
    /// "62nd percentile".
    pub fn percentile_text(&self) -> String {
        self.percentile.map_or_else(
            || "Not available".into(),
            |p| format!("{} percentile", ordinal(p)),
        )
    }
}

/// How the measure moved since the baseline month.
#[derive(Debug, Clone)]
pub struct Change {
    /// "-1.2 percentage points".
    pub text: String,
    pub verdict: Verdict,
}

/// Better or worse, given the measure's direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Better,
    Worse,
    Same,
}

impl Verdict {
    /// Whether `latest` is better than `baseline` for a measure where lower is better (or not).
    pub fn of(baseline: f64, latest: f64, lower_is_better: bool) -> Verdict {
        let scale = baseline.abs().max(latest.abs()).max(f64::MIN_POSITIVE);
        if ((latest - baseline) / scale).abs() < 1e-9 {
            Verdict::Same
        } else if (latest < baseline) == lower_is_better {
            Verdict::Better
        } else {
            Verdict::Worse
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Verdict::Better => "Better",
            Verdict::Worse => "Worse",
            Verdict::Same => "No change",
        }
    }

    /// The NHS.UK tag colour.
    pub fn tag_class(self) -> &'static str {
        match self {
            Verdict::Better => "nhsuk-tag--green",
            Verdict::Worse => "nhsuk-tag--red",
            Verdict::Same => "nhsuk-tag--grey",
        }
    }
}

/// What the ICB would have saved in a year at England's 10th percentile rate.
#[derive(Debug, Clone)]
pub struct Saving {
    pub amount: Pence,
    /// The months it is worked out from (annualised when fewer than 12).
    pub months: usize,
    /// "April 2024 to March 2025".
    pub period: String,
}

/// `1` → `1st`, `62` → `62nd`, `13` → `13th`.
pub fn ordinal(n: i64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// The panel of national opportunity `opportunity_number` for the ICB `icb_id` in `year`, with
/// the baseline month [`default_baseline`].
pub async fn for_opportunity(
    conn: &mut PgConnection,
    icb_id: i32,
    opportunity_number: i16,
    year: FinancialYear,
) -> AppResult<PrescribingPanel> {
    with_baseline(
        conn,
        icb_id,
        opportunity_number,
        year,
        default_baseline(year),
    )
    .await
}

/// The panel with another baseline month (the first of a month).
pub async fn with_baseline(
    conn: &mut PgConnection,
    icb_id: i32,
    opportunity_number: i16,
    year: FinancialYear,
    baseline: NaiveDate,
) -> AppResult<PrescribingPanel> {
    let status = figures::status(conn).await?;
    let measures = figures::measures(conn, Some(opportunity_number)).await?;
    let mut panel = PrescribingPanel {
        opportunity_number,
        not_shown: measures
            .is_empty()
            .then(|| not_shown_reason(opportunity_number).to_owned()),
        status,
        baseline,
        measures: Vec::new(),
    };
    let Some(latest) = panel.status.latest_month else {
        return Ok(panel);
    };
    if measures.is_empty() {
        return Ok(panel);
    }
    let months = months_shown(year, baseline, latest);
    let (Some(&from), Some(&to)) = (months.first(), months.last()) else {
        return Ok(panel);
    };
    let region_id = sqlx::query_scalar!("select region_id from icb where icb_id = $1", icb_id)
        .fetch_one(&mut *conn)
        .await?;
    let ids: Vec<i16> = measures.iter().map(|m| m.id).collect();
    let own = figures::icb_values(conn, icb_id, &ids, from, to).await?;
    let spread = figures::england_deciles(conn, &ids, from, to).await?;
    let medians = figures::region_medians(conn, region_id, &ids, from, to).await?;
    panel.measures = measures
        .iter()
        .map(|m| {
            let data = Series {
                own: own.iter().filter(|v| v.measure_id == m.id).collect(),
                spread: spread.iter().filter(|s| s.measure_id == m.id).collect(),
                medians: medians.iter().filter(|r| r.measure_id == m.id).collect(),
            };
            measure_panel(m, &data, &months, baseline)
        })
        .collect();
    Ok(panel)
}

/// The months on the chart: the twelve before the programme year and the year itself (from
/// the baseline if that is earlier), up to the latest month loaded, at most 36.
pub fn months_shown(year: FinancialYear, baseline: NaiveDate, latest: NaiveDate) -> Vec<NaiveDate> {
    let year_before = year
        .starts_on()
        .checked_sub_months(Months::new(12))
        .unwrap_or_else(|| year.starts_on());
    let first = year_before.min(baseline).with_day(1).unwrap_or(year_before);
    let last_of_year = year
        .starts_on()
        .checked_add_months(Months::new(11))
        .unwrap_or_else(|| year.starts_on());
    let last = last_of_year.min(latest);
    let mut months = Vec::new();
    let mut month = first;
    while month <= last && months.len() < 36 {
        months.push(month);
        month = match month.checked_add_months(Months::new(1)) {
            Some(next) => next,
            None => break,
        };
    }
    months
}

/// One measure's rows from the three queries.
struct Series<'a> {
    own: Vec<&'a MonthValue>,
    spread: Vec<&'a Spread>,
    medians: Vec<&'a RegionMedian>,
}

fn measure_panel(
    m: &StoredMeasure,
    data: &Series<'_>,
    months: &[NaiveDate],
    baseline: NaiveDate,
) -> MeasurePanel {
    let measure = &m.measure;
    let unit = measure.unit();
    let own = |month: NaiveDate| data.own.iter().find(|v| v.month == month).copied();
    let spread = |month: NaiveDate| data.spread.iter().find(|s| s.month == month).copied();
    // Months before the first with any figure are left off the chart and the table.
    let first = months
        .iter()
        .position(|&m| own(m).is_some() || spread(m).is_some())
        .unwrap_or(months.len());
    let months = &months[first..];
    let median = |month: NaiveDate| {
        data.medians
            .iter()
            .find(|r| r.month == month)
            .map(|r| r.median)
    };
    let text = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| unit.format(v));

    let points: Vec<DecilePoint> = months
        .iter()
        .map(|&month| DecilePoint {
            label: month.format("%b %y").to_string(),
            value: own(month).and_then(|v| v.value).map(|v| unit.plotted(v)),
            deciles: spread(month).and_then(|s| {
                let d: Vec<f64> = s.deciles.iter().map(|v| unit.plotted(*v)).collect();
                <[f64; 9]>::try_from(d).ok()
            }),
            region_median: median(month).map(|v| unit.plotted(v)),
        })
        .collect();
    let rows = months
        .iter()
        .rev()
        .map(|&month| {
            let s = spread(month);
            PanelRow {
                month: month.format("%B %Y").to_string(),
                value: text(own(month).and_then(|v| v.value)),
                percentile: own(month)
                    .and_then(|v| v.percentile)
                    .map_or_else(|| "–".into(), |p| ordinal(p.round() as i64)),
                p10: text(s.and_then(|s| s.decile(1))),
                p50: text(s.and_then(|s| s.decile(5))),
                p90: text(s.and_then(|s| s.decile(9))),
                region_median: text(median(month)),
            }
        })
        .collect();

    let latest_row = data.own.iter().rev().find(|v| v.value.is_some()).copied();
    let baseline_value = own(baseline).and_then(|v| v.value);
    let change = match (baseline_value, latest_row.and_then(|v| v.value)) {
        (Some(before), Some(now)) if latest_row.is_some_and(|v| v.month > baseline) => {
            Some(Change {
                text: unit.format_change(now - before),
                verdict: Verdict::of(before, now, measure.lower_is_better),
            })
        }
        _ => None,
    };
    let saving = (measure.is_cost() && measure.lower_is_better)
        .then(|| saving(m, &data.own, &data.spread))
        .flatten();
    let id = format!("prescribing-{}", m.measure.slug.replace('_', "-"));
    let axis: fn(f64) -> String = match unit {
        Unit::Percent => |v| format!("{v:.0}%"),
        Unit::PoundsPer1000 => |v| format!("£{}", super::library::grouped(v, 0)),
        Unit::CountPer1000 | Unit::Ratio => |v| super::library::grouped(v, 1),
    };
    let title = format!("{}: this ICB against England", measure.title);
    let description = format!(
        "Line chart of the ICB's monthly value ({}) against England's ICBs: a band from the \
         10th to the 90th percentile with a dashed line at each decile, England's median and the \
         region's median{}. {}. The same figures are in the table below the chart.",
        unit.words(measure.numerator_field),
        if months.contains(&baseline) {
            ", with the baseline month marked"
        } else {
            ""
        },
        if measure.lower_is_better {
            "Lower is better"
        } else {
            "Higher is better"
        }
    );
    let chart = decile_chart(
        &points,
        months.iter().position(|&m| m == baseline),
        DecileLabels {
            title: &title,
            description: &description,
            series: "This ICB",
            axis,
            id_prefix: &format!("{id}-chart"),
        },
    );
    MeasurePanel {
        id,
        slug: measure.slug.clone(),
        title: measure.title.clone(),
        source_url: measure.source_url.clone(),
        unit: unit.words(measure.numerator_field),
        lower_is_better: measure.lower_is_better,
        chart,
        rows,
        latest: latest_row.map(|v| Latest {
            month: v.month.format("%B %Y").to_string(),
            value: text(v.value),
            percentile: v.percentile.map(|p| p.round() as i64),
        }),
        change,
        saving,
    }
}

/// The potential saving of a cost measure: in each of the latest twelve months with figures,
/// what the ICB spent beyond England's 10th percentile rate (numerator − rate × denominator,
/// as OpenPrescribing works it out), summed and annualised; nothing when it is below.
fn saving(m: &StoredMeasure, own: &[&MonthValue], spread: &[&Spread]) -> Option<Saving> {
    let scale = m.measure.scale();
    let months: Vec<(NaiveDate, f64)> = own
        .iter()
        .rev()
        .filter_map(|v| {
            let p10 = spread.iter().find(|s| s.month == v.month)?.decile(1)?;
            let denominator = v.denominator?;
            Some((v.month, v.numerator - p10 / scale * denominator))
        })
        .take(12)
        .collect();
    let (last, first) = (months.first()?.0, months.last()?.0);
    let total: f64 = months.iter().map(|(_, s)| s).sum::<f64>() * 12.0 / months.len() as f64;
    Some(Saving {
        amount: Pence((total.max(0.0) * 100.0).round() as i64),
        months: months.len(),
        period: if first == last {
            first.format("%B %Y").to_string()
        } else {
            format!("{} to {}", first.format("%B %Y"), last.format("%B %Y"))
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals() {
        let cases = [
            (1, "1st"),
            (2, "2nd"),
            (3, "3rd"),
            (4, "4th"),
            (11, "11th"),
            (12, "12th"),
            (13, "13th"),
            (21, "21st"),
            (62, "62nd"),
            (100, "100th"),
            (0, "0th"),
        ];
        for (n, text) in cases {
            assert_eq!(ordinal(n), text);
        }
    }

    #[test]
    fn verdicts_follow_the_direction() {
        assert_eq!(Verdict::of(10.0, 8.0, true), Verdict::Better);
        assert_eq!(Verdict::of(10.0, 8.0, false), Verdict::Worse);
        assert_eq!(Verdict::of(10.0, 12.0, true), Verdict::Worse);
        assert_eq!(Verdict::of(0.1, 0.1, true), Verdict::Same);
        assert_eq!(Verdict::of(0.0, 0.0, true), Verdict::Same);
    }

    #[test]
    fn the_chart_runs_from_a_year_before_to_the_latest_month() {
        let year = FinancialYear::starting(2024).unwrap();
        let day = |y, m| NaiveDate::from_ymd_opt(y, m, 1).unwrap();
        assert_eq!(default_baseline(year), day(2024, 3));
        let months = months_shown(year, default_baseline(year), day(2026, 1));
        assert_eq!(months.first(), Some(&day(2023, 4)));
        assert_eq!(months.last(), Some(&day(2025, 3)));
        assert_eq!(months.len(), 24);
        let months = months_shown(year, default_baseline(year), day(2024, 6));
        assert_eq!(months.last(), Some(&day(2024, 6)));
        let months = months_shown(year, day(2022, 1), day(2026, 1));
        assert_eq!(months.first(), Some(&day(2022, 1)));
        assert_eq!(months.len(), 36, "at most three years");
        assert!(months_shown(year, default_baseline(year), day(2020, 1)).is_empty());
    }

    /// The workstream page's use of the panel, exactly as its template would write it.
    #[derive(askama::Template)]
    #[template(
        source = r#"{% import "prescribing/macros.html" as rx %}<h1>Workstream</h1>
{% if let Some(prescribing) = prescribing %}{% call rx::panel(prescribing, 2) %}{% endcall %}{% endif %}"#,
        ext = "html"
    )]
    struct WorkstreamProbe {
        prescribing: Option<PrescribingPanel>,
    }

    #[test]
    fn the_panel_renders_inside_another_page() {
        use askama::Template as _;
        let status = DataStatus {
            latest_month: NaiveDate::from_ymd_opt(2024, 6, 1),
            synthetic: true,
            ..DataStatus::default()
        };
        let year = FinancialYear::starting(2024).unwrap();
        let panel = PrescribingPanel {
            opportunity_number: 4,
            status,
            not_shown: Some(not_shown_reason(4).into()),
            baseline: default_baseline(year),
            measures: Vec::new(),
        };
        let html = WorkstreamProbe {
            prescribing: Some(panel),
        }
        .render()
        .unwrap();
        let page = scraper::Html::parse_fragment(&html);
        let select = |css: &str| {
            page.select(&scraper::Selector::parse(css).unwrap())
                .map(|e| e.text().collect::<String>())
                .collect::<Vec<_>>()
        };
        assert_eq!(select("h2"), ["Measures from national prescribing data"]);
        assert!(select(".app-prescribing__latest")[0].contains("June 2024"));
        assert!(select(".app-prescribing__not-shown")[0].contains("Secondary care medicines"));
        assert_eq!(
            select("h3.nhsuk-warning-callout__label").len(),
            1,
            "synthetic"
        );
        let none = WorkstreamProbe { prescribing: None }.render().unwrap();
        assert!(
            !none.contains("app-prescribing"),
            "local priorities have no panel"
        );
    }

    #[test]
    fn every_opportunity_without_a_measure_says_why() {
        assert!(not_shown_reason(4).contains("Secondary care"));
        assert!(not_shown_reason(10).contains("hypertension"));
        assert!(not_shown_reason(13).contains("no measure"));
    }
}
