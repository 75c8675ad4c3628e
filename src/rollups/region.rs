//! `/regions/{region}/{year}`: a region's ICBs for a programme year, for its regional team
//! (and national roles): who has agreed plans, who is waiting for review, who chose what, and
//! who is off track.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};

use super::figures::{self, AwaitingReview, Coverage, IcbFigures, OpportunityFigures, RagCounts};
use super::short_icb_name;
use super::sorting::{Column, Heading, Sort, SortQuery, headings, missing_last};
use super::summary::{Counts, summary};
use crate::AppState;
use crate::assurance::rollup::{self as assurance, RegionSection};
use crate::auth::CurrentUser;
use crate::auth::scope::{self, NationalAccess, RegionAccess};
use crate::charts::{self, PercentBar, ReferenceLine};
use crate::domain::{FinancialYear, Pence, PlanTotals, totals_note};
use crate::error::AppResult;
use crate::figures::restated::{RestatedRow, RestatedYear, TodayIcb};
use crate::figures::{Cut, FiguresQuery};
use crate::forms::FieldErrors;
use crate::icbs::PlanStatus;
use crate::page::{Layout, YearLink, year_links};
use crate::plans::MIN_NATIONAL_OPPORTUNITIES;
use crate::plans::context::{PlanYear, all_years};
use crate::plans::workstreams::Rag;
use crate::prescribing::{self, rollup::RollupTables};

/// The ICB table's sortable columns: the figures people compare first (to date, % of target,
/// forecast) next to the ICB's name, so they are in view on a laptop without scrolling.
const COLUMNS: [Column; 13] = [
    Column {
        key: "icb",
        label: "ICB",
        numeric: false,
    },
    Column {
        key: "target_to_date",
        label: "Target to date",
        numeric: true,
    },
    Column {
        key: "actual_to_date",
        label: "Actual to date",
        numeric: true,
    },
    Column {
        key: "percent",
        label: "% of target to date",
        numeric: true,
    },
    Column {
        key: "forecast",
        label: "Forecast outturn",
        numeric: true,
    },
    Column {
        key: "percent_annual",
        label: "% of annual target",
        numeric: true,
    },
    Column {
        key: "run_rate",
        label: "Run-rate forecast",
        numeric: true,
    },
    Column {
        key: "status",
        label: "Plan status",
        numeric: false,
    },
    Column {
        key: "chosen",
        label: "National chosen",
        numeric: true,
    },
    Column {
        key: "target",
        label: "Annual target",
        numeric: true,
    },
    Column {
        key: "red",
        label: "RAG (red, amber, green)",
        numeric: true,
    },
    Column {
        key: "reported",
        label: "Workstreams reported",
        numeric: true,
    },
    Column {
        key: "latest",
        label: "Latest month reported",
        numeric: true,
    },
];

/// One ICB's row.
pub struct IcbRow {
    pub f: IcbFigures,
    pub short_name: String,
    /// Its dashboard for the year (with the page's choice of month).
    pub href: String,
    pub percent: Option<i64>,
    pub forecast: Pence,
    /// Has a plan with fewer national opportunities than the minimum.
    pub under_minimum: bool,
}

impl IcbRow {
    fn new(f: IcbFigures, year: FinancialYear, query: &str) -> Self {
        let planned = f.status.is_some();
        IcbRow {
            short_name: short_icb_name(&f.name).to_owned(),
            href: format!("/icbs/{}/{}{query}", f.ods_code, year.slug()),
            percent: f.totals.percent_of_target(),
            forecast: f.totals.forecast_outturn(),
            under_minimum: planned && f.national_chosen < MIN_NATIONAL_OPPORTUNITIES as i64,
            f,
        }
    }

    /// "Mar 2025", or "None yet".
    pub fn latest_month(&self) -> String {
        self.f
            .latest_month
            .map_or_else(|| "None yet".to_owned(), |m| m.format("%b %Y").to_string())
    }

    /// "3 of 7 for Oct 2024", or "–" with no plan or no month due.
    pub fn reported(&self) -> String {
        match (self.f.status, self.f.reporting_month) {
            (Some(_), Some(month)) => format!(
                "{} of {} for {}",
                self.f.totals.workstreams_reported,
                self.f.totals.workstreams_due,
                month.format("%b %Y")
            ),
            _ => "–".to_owned(),
        }
    }
}

/// A plan waiting for agreement.
pub struct QueueRow {
    pub item: AwaitingReview,
    pub short_name: String,
    pub href: String,
    pub days_waiting: Option<i64>,
}

impl QueueRow {
    /// "4 November 2024".
    pub fn submitted_on(&self) -> String {
        self.item.submitted_at.map_or_else(
            || "Not recorded".to_owned(),
            |t| t.format("%-d %B %Y").to_string(),
        )
    }
}

/// A national opportunity as a matrix column.
pub struct MatrixColumn {
    pub number: i16,
    pub title: String,
    /// The region's ICBs that chose it (from the opportunity figures).
    pub choosing: i64,
}

/// One cell: what the ICB did with the opportunity.
pub struct MatrixCell {
    /// CSS class for the colour.
    pub class: &'static str,
    /// What the cell shows: `R`, `A`, `G`, `✓` (chosen, no RAG yet) or `–`.
    pub short: &'static str,
    /// What it means, for screen readers and the tooltip.
    pub long: &'static str,
    pub chosen: bool,
}

impl MatrixCell {
    fn of(chosen: Option<Option<Rag>>) -> Self {
        let (class, short, long) = match chosen {
            None => ("app-matrix__cell--none", "–", "Not chosen"),
            Some(None) => ("app-matrix__cell--chosen", "✓", "Chosen, no RAG status yet"),
            Some(Some(Rag::Red)) => ("app-matrix__cell--red", "R", "Chosen, red"),
            Some(Some(Rag::Amber)) => ("app-matrix__cell--amber", "A", "Chosen, amber"),
            Some(Some(Rag::Green)) => ("app-matrix__cell--green", "G", "Chosen, green"),
        };
        Self {
            class,
            short,
            long,
            chosen: chosen.is_some(),
        }
    }

    /// Every kind of cell, for the legend.
    pub fn legend() -> Vec<MatrixCell> {
        [
            Some(Some(Rag::Green)),
            Some(Some(Rag::Amber)),
            Some(Some(Rag::Red)),
            Some(None),
            None,
        ]
        .into_iter()
        .map(Self::of)
        .collect()
    }
}

/// One ICB's row of the matrix (its name is not a link again: the ICB table has that).
pub struct MatrixRow {
    pub short_name: String,
    pub cells: Vec<MatrixCell>,
    pub chosen: usize,
}

/// `/regions/{region}/{year}`
#[derive(Template, WebTemplate)]
#[template(path = "rollups/region.html")]
pub struct RegionRollupPage {
    pub layout: Layout,
    pub errors: FieldErrors,
    pub region_code: String,
    pub region_name: String,
    pub year_label: String,
    pub year_slug: String,
    pub years: Vec<YearLink>,
    /// The page's own address, for the figures form.
    pub action: String,
    pub cut: Cut,
    /// "to the end of September 2024".
    pub to_date: String,
    pub headings: Vec<Heading>,
    pub rows: Vec<IcbRow>,
    pub totals: PlanTotals,
    pub totals_rag: RagCounts,
    /// Said under the ICB table when its rounded rows do not add up to the total.
    pub rows_note: Option<String>,
    /// The sentences above the tables.
    pub summary: Vec<String>,
    /// The counts the sentences are made of.
    pub counts: Counts,
    pub min_required: usize,
    pub queue: Vec<QueueRow>,
    pub columns: Vec<MatrixColumn>,
    pub matrix: Vec<MatrixRow>,
    pub legend: Vec<MatrixCell>,
    pub opportunities: Vec<OpportunityFigures>,
    pub chart: String,
    pub national_percent: Option<i64>,
    /// With `?view=restated`: today's ICBs of the region with their predecessors' figures.
    pub restated: Option<RestatedTable>,
    /// The chosen opportunities' measures from the national prescribing data.
    pub prescribing: RollupTables,
    /// Savings assurance per ICB with the region's total, and the local priorities line of
    /// the table by opportunity (src/assurance/rollup.rs).
    pub assurance: RegionSection,
}

/// A roll-up's ICBs restated on today's organisations, with their total (each plan once).
pub struct RestatedTable {
    pub caption: String,
    pub rows: Vec<RestatedRow>,
    pub total: PlanTotals,
    /// Said when the rows do not add up to the total (a split ICB shown twice, rounding).
    pub note: Option<String>,
}

impl RestatedTable {
    /// Today's ICBs that `keep` chooses, restated.
    pub fn of(year: &RestatedYear, caption: String, keep: impl Fn(&TodayIcb) -> bool) -> Self {
        let (rows, total) = year.rows(keep);
        let split = rows.iter().any(|r| !r.shared.is_empty());
        let rounding = totals_note(rows.iter().map(|r| &r.restated.totals), &total);
        let note = match (split, rounding) {
            (true, _) => Some(
                "An ICB that was split is shown in full under every ICB it was split into (marked), so the rows add up to more than the total, which counts it once."
                    .to_owned(),
            ),
            (false, rounding) => rounding,
        };
        RestatedTable {
            caption,
            rows,
            total,
            note,
        }
    }
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    region: RegionAccess,
    Path((_, slug)): Path<(String, String)>,
    Query(query): Query<SortQuery>,
    Query(figures_query): Query<FiguresQuery>,
) -> AppResult<(StatusCode, RegionRollupPage)> {
    let mut tx = scope::begin(&state, &user.scope()).await?;
    let year = PlanYear::from_slug(&mut tx, &slug).await?;
    let today = state.clock().today();
    let cut = Cut::resolve(&figures_query, year.year, today);
    let loaded = Loaded::load(&mut tx, &user, &region, &year, &cut, today).await?;
    tx.commit().await?;
    let sort = Sort::from_query(&query, &COLUMNS, "icb");
    Ok((cut.status(), page(&user, &region, &year, cut, sort, loaded)))
}

/// Everything the page reads from the database.
struct Loaded {
    icbs: Vec<IcbFigures>,
    queue: Vec<AwaitingReview>,
    choices: Vec<figures::MatrixCell>,
    opportunities: Vec<OpportunityFigures>,
    national_percent: Option<i64>,
    restated: Option<RestatedTable>,
    years: Vec<FinancialYear>,
    prescribing: RollupTables,
    assurance: RegionSection,
}

impl Loaded {
    async fn load(
        tx: &mut sqlx::PgConnection,
        user: &CurrentUser,
        region: &RegionAccess,
        year: &PlanYear,
        cut: &Cut,
        today: chrono::NaiveDate,
    ) -> AppResult<Self> {
        let coverage = Coverage::Region(region);
        let min = MIN_NATIONAL_OPPORTUNITIES as i64;
        let national_percent = match NationalAccess::of(user) {
            Some(national) => figures::by_region(tx, &national, year, cut.month, min)
                .await?
                .0
                .into_iter()
                .find(|r| r.region.is_none())
                .and_then(|r| r.totals.percent_of_target()),
            None => None,
        };
        let restated = if cut.restated {
            let loaded = RestatedYear::load(tx, year.programme_year_id, cut.month, today).await?;
            let caption = format!("{}'s ICBs today, {} restated", region.name(), year.year);
            Some(RestatedTable::of(&loaded, caption, |t| {
                t.region_id == region.region_id()
            }))
        } else {
            None
        };
        let opportunities = figures::opportunities(tx, coverage, year, cut.month).await?;
        let mut assurance = assurance::region_section(tx, region, year, cut.month).await?;
        assurance.opportunities_total =
            opportunities.iter().map(|o| o.totals).sum::<PlanTotals>() + assurance.local.totals;
        Ok(Loaded {
            icbs: figures::icbs(tx, coverage, year, cut.month).await?,
            queue: figures::review_queue(tx, region, year).await?,
            choices: figures::region_choices(tx, region, year).await?,
            opportunities,
            national_percent,
            assurance,
            restated,
            years: all_years(tx).await?,
            prescribing: prescribing::rollup::region(
                tx,
                region.region_id(),
                year.year,
                year.programme_year_id,
            )
            .await?,
        })
    }
}

fn page(
    user: &CurrentUser,
    region: &RegionAccess,
    year: &PlanYear,
    cut: Cut,
    sort: Sort,
    loaded: Loaded,
) -> RegionRollupPage {
    let path = format!("/regions/{}/{}", region.ods_code(), year.year.slug());
    let mut rows: Vec<IcbRow> = loaded
        .icbs
        .into_iter()
        .map(|f| IcbRow::new(f, year.year, &cut.query_after("?")))
        .collect();
    let totals: PlanTotals = rows.iter().map(|r| r.f.totals).sum();
    let chart = chart(&rows, totals, loaded.national_percent, region, year);
    let (columns, matrix) = matrix(&rows, &loaded.opportunities, &loaded.choices);
    sort_rows(&mut rows, sort);
    let counts = Counts {
        icbs: rows.len() as i64,
        agreed: rows
            .iter()
            .filter(|r| r.f.status == Some(PlanStatus::Agreed))
            .count() as i64,
        waiting: loaded.queue.len() as i64,
        not_started: rows.iter().filter(|r| r.f.status.is_none()).count() as i64,
        under_minimum: rows.iter().filter(|r| r.under_minimum).count() as i64,
        min_required: MIN_NATIONAL_OPPORTUNITIES,
    };
    RegionRollupPage {
        layout: user.layout(),
        errors: cut.errors.clone(),
        region_code: region.ods_code().to_owned(),
        region_name: region.name().to_owned(),
        year_label: year.year.to_string(),
        year_slug: year.year.slug(),
        years: year_links(&loaded.years, year.year, |y| {
            format!("/regions/{}/{}", region.ods_code(), y.slug())
        }),
        headings: headings(&COLUMNS, sort, &format!("{path}{}", cut.query_after("?"))),
        action: path,
        to_date: cut.describe(year.year),
        summary: summary(&counts, "agreement"),
        counts,
        min_required: MIN_NATIONAL_OPPORTUNITIES,
        queue: loaded
            .queue
            .into_iter()
            .map(|item| QueueRow {
                short_name: short_icb_name(&item.name).to_owned(),
                href: format!("/icbs/{}/{}/review", item.ods_code, year.year.slug()),
                days_waiting: item.submitted_at.map(|t| days_since(t, Utc::now())),
                item,
            })
            .collect(),
        totals_rag: rows.iter().map(|r| r.f.rag).sum(),
        rows_note: totals_note(rows.iter().map(|r| &r.f.totals), &totals),
        rows,
        totals,
        columns,
        matrix,
        legend: MatrixCell::legend(),
        opportunities: loaded.opportunities,
        chart,
        national_percent: loaded.national_percent,
        restated: loaded.restated,
        prescribing: loaded.prescribing,
        assurance: loaded.assurance,
        cut,
    }
}

fn days_since(then: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (now - then).num_days().max(0)
}

fn sort_rows(rows: &mut [IcbRow], sort: Sort) {
    let status_rank = |s: Option<PlanStatus>| {
        s.map(|s| match s {
            PlanStatus::Draft => 1,
            PlanStatus::Returned => 2,
            PlanStatus::Submitted => 3,
            PlanStatus::Agreed => 4,
        })
    };
    let planned = |r: &IcbRow| r.f.status.is_some();
    rows.sort_by(|a, b| {
        let by = |f: fn(&IcbRow) -> i64| {
            missing_last(planned(a).then(|| f(a)), planned(b).then(|| f(b)), sort)
        };
        let ordering = match sort.key {
            "status" => missing_last(status_rank(a.f.status), status_rank(b.f.status), sort),
            "chosen" => by(|r| r.f.national_chosen),
            "target" => by(|r| r.f.totals.annual_target.0),
            "target_to_date" => by(|r| r.f.totals.target_to_date.0),
            "actual_to_date" => by(|r| r.f.totals.actual_to_date.0),
            "percent" => missing_last(a.percent, b.percent, sort),
            "percent_annual" => missing_last(
                a.f.totals.percent_of_annual_target(),
                b.f.totals.percent_of_annual_target(),
                sort,
            ),
            "forecast" => by(|r| r.forecast.0),
            "run_rate" => missing_last(
                planned(a).then_some(a.f.totals.run_rate_forecast).flatten(),
                planned(b).then_some(b.f.totals.run_rate_forecast).flatten(),
                sort,
            ),
            "red" => by(|r| r.f.rag.red),
            "reported" => by(|r| r.f.totals.workstreams_reported),
            "latest" => missing_last(a.f.latest_month, b.f.latest_month, sort),
            _ => sort.apply(a.short_name.cmp(&b.short_name)),
        };
        ordering.then_with(|| a.short_name.cmp(&b.short_name))
    });
}

fn chart(
    rows: &[IcbRow],
    totals: PlanTotals,
    national_percent: Option<i64>,
    region: &RegionAccess,
    year: &PlanYear,
) -> String {
    let bars: Vec<PercentBar> = rows
        .iter()
        .map(|r| PercentBar {
            label: r.short_name.clone(),
            percent: r.percent,
        })
        .collect();
    let mut lines = Vec::new();
    if let Some(percent) = totals.percent_of_target() {
        lines.push(ReferenceLine {
            label: "Region".into(),
            percent,
        });
    }
    if let Some(percent) = national_percent {
        lines.push(ReferenceLine {
            label: "England".into(),
            percent,
        });
    }
    charts::percent_bars(
        &bars,
        &lines,
        &format!(
            "Percentage of target to date by ICB, {}, {}",
            region.name(),
            year.year
        ),
        &format!(
            "Bar chart of each ICB's actual savings to date as a percentage of its target to date, with lines at 100% (the plan){}. The same figures are in the table of ICBs above.",
            match totals.percent_of_target() {
                Some(p) => format!(" and at the region's overall {p}%"),
                None => String::new(),
            }
        ),
        "icb-percent-chart",
    )
}

/// The matrix's columns (the year's national opportunities, with how many of the region's
/// ICBs chose each) and its rows (the ICBs in name order).
fn matrix(
    rows: &[IcbRow],
    opportunities: &[OpportunityFigures],
    choices: &[figures::MatrixCell],
) -> (Vec<MatrixColumn>, Vec<MatrixRow>) {
    let choice = |ods: &str, number: i16| {
        choices
            .iter()
            .find(|c| c.ods_code == ods && c.number == number)
            .map(|c| c.rag)
    };
    let mut by_name: Vec<&IcbRow> = rows.iter().collect();
    by_name.sort_by(|a, b| a.short_name.cmp(&b.short_name));
    let matrix: Vec<MatrixRow> = by_name
        .into_iter()
        .map(|r| {
            let cells: Vec<MatrixCell> = opportunities
                .iter()
                .map(|o| MatrixCell::of(choice(&r.f.ods_code, o.number)))
                .collect();
            MatrixRow {
                short_name: r.short_name.clone(),
                chosen: cells.iter().filter(|c| c.chosen).count(),
                cells,
            }
        })
        .collect();
    let columns = opportunities
        .iter()
        .map(|o| MatrixColumn {
            number: o.number,
            title: o.title.clone(),
            choosing: o.icbs_choosing,
        })
        .collect();
    (columns, matrix)
}
