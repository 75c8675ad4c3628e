//! `/national/{year}`: NHS England's view of a programme year: every region's figures with
//! the national total, and every national opportunity with its take-up. For national roles.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use super::figures::{self, Coverage, OpportunityFigures, RegionFigures};
use super::region::RestatedTable;
use super::summary::{Counts, summary};
use crate::AppState;
use crate::assurance::rollup::{self as assurance, NationalSection};
use crate::auth::CurrentUser;
use crate::auth::scope::{self, NationalAccess, Tx};
use crate::charts::{self, PercentBar, ReferenceLine};
use crate::domain::{PlanTotals, totals_note};
use crate::error::{AppError, AppResult};
use crate::figures::restated::RestatedYear;
use crate::figures::{Cut, FiguresQuery};
use crate::forms::FieldErrors;
use crate::page::{Layout, YearLink, year_links};
use crate::plans::MIN_NATIONAL_OPPORTUNITIES;
use crate::plans::context::{PlanYear, all_years, landing_year};
use crate::prescribing::{self, rollup::RollupTables};

/// One region's row (or the nation's).
pub struct RegionRow {
    pub f: RegionFigures,
    /// The region's roll-up for the year.
    pub href: Option<String>,
}

impl RegionRow {
    /// The region's name, or "England".
    pub fn name(&self) -> &str {
        self.f
            .region
            .as_ref()
            .map_or("England", |(_, name)| name.as_str())
    }
}

/// `/national/{year}`
#[derive(Template, WebTemplate)]
#[template(path = "rollups/national.html")]
pub struct NationalRollupPage {
    pub layout: Layout,
    pub errors: FieldErrors,
    /// The page's own address, for the figures form.
    pub action: String,
    pub cut: Cut,
    /// "to the end of September 2024".
    pub to_date: String,
    /// Said under the region table when its rounded rows do not add up to England's total.
    pub rows_note: Option<String>,
    /// With `?view=restated`: each region's figures on today's ICBs, and England's.
    pub restated: Option<Vec<RestatedRegion>>,
    pub year_label: String,
    pub year_slug: String,
    pub years: Vec<YearLink>,
    pub regions: Vec<RegionRow>,
    pub total: Option<RegionRow>,
    pub opportunities: Vec<OpportunityFigures>,
    pub chart: String,
    pub min_required: usize,
    /// The sentences above the tables.
    pub summary: Vec<String>,
    /// The chosen opportunities' measures from the national prescribing data, by region.
    pub prescribing: RollupTables,
    /// Savings assurance per region with England's total, and the local priorities line of
    /// the table by opportunity (src/assurance/rollup.rs).
    pub assurance: NationalSection,
}

/// A region restated on today's organisations (or England: `code` is `None`).
pub struct RestatedRegion {
    pub code: Option<String>,
    pub name: String,
    /// Today's ICBs in it.
    pub icbs: usize,
    pub totals: PlanTotals,
}

/// `/national`: the current programme year (or the latest there is), so a bookmark stays current.
pub async fn latest(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<FiguresQuery>,
) -> AppResult<(StatusCode, NationalRollupPage)> {
    let national = NationalAccess::check(&state, &user, "/national").await?;
    let mut tx = scope::begin(&state, &user.scope()).await?;
    let year = landing_year(&mut tx, state.clock().today())
        .await?
        .ok_or(AppError::NotFound)?;
    let year = PlanYear::find(&mut tx, year)
        .await?
        .ok_or(AppError::NotFound)?;
    build(tx, &state, &user, &national, year, &query).await
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
    Query(query): Query<FiguresQuery>,
) -> AppResult<(StatusCode, NationalRollupPage)> {
    let national = NationalAccess::check(&state, &user, "/national").await?;
    let mut tx = scope::begin(&state, &user.scope()).await?;
    let year = PlanYear::from_slug(&mut tx, &slug).await?;
    build(tx, &state, &user, &national, year, &query).await
}

async fn build(
    mut tx: Tx,
    state: &AppState,
    user: &CurrentUser,
    national: &NationalAccess,
    year: PlanYear,
    query: &FiguresQuery,
) -> AppResult<(StatusCode, NationalRollupPage)> {
    let min = MIN_NATIONAL_OPPORTUNITIES as i64;
    let today = state.clock().today();
    let cut = Cut::resolve(query, year.year, today);
    let (by_region, _) = figures::by_region(&mut tx, national, &year, cut.month, min).await?;
    let restated = if cut.restated {
        let loaded = RestatedYear::load(&mut tx, year.programme_year_id, cut.month, today).await?;
        Some(restated_regions(&loaded, &by_region))
    } else {
        None
    };
    let mut regions: Vec<RegionRow> = by_region
        .into_iter()
        .map(|f| RegionRow {
            href: f.region.as_ref().map(|(code, _)| {
                format!(
                    "/regions/{code}/{}{}",
                    year.year.slug(),
                    cut.query_after("?")
                )
            }),
            f,
        })
        .collect();
    let opportunities =
        figures::opportunities(&mut tx, Coverage::National(national), &year, cut.month).await?;
    let mut assurance = assurance::national_section(&mut tx, national, &year, cut.month).await?;
    assurance.opportunities_total = opportunities
        .iter()
        .map(|o| o.totals)
        .sum::<crate::domain::PlanTotals>()
        + assurance.local.totals;
    let years = all_years(&mut tx).await?;
    let prescribing =
        prescribing::rollup::national(&mut tx, year.year, year.programme_year_id).await?;
    tx.commit().await?;
    // England's total comes last.
    let total = regions.pop_if(|r| r.f.region.is_none());
    let chart = chart(&regions, total.as_ref(), &year);
    let rows_note = total
        .as_ref()
        .and_then(|t| totals_note(regions.iter().map(|r| &r.f.totals), &t.f.totals));
    let status = cut.status();
    let summary = total.as_ref().map_or_else(Vec::new, |t| {
        let counts = Counts {
            icbs: t.f.icbs,
            agreed: t.f.agreed,
            waiting: t.f.submitted,
            not_started: t.f.not_started,
            under_minimum: t.f.under_five,
            min_required: MIN_NATIONAL_OPPORTUNITIES,
        };
        summary(&counts, "their region's review")
    });
    let page = NationalRollupPage {
        prescribing,
        assurance,
        summary,
        layout: user.layout(),
        errors: cut.errors.clone(),
        action: format!("/national/{}", year.year.slug()),
        to_date: cut.describe(year.year),
        rows_note,
        restated,
        cut,
        year_label: year.year.to_string(),
        year_slug: year.year.slug(),
        years: year_links(&years, year.year, |y| format!("/national/{}", y.slug())),
        regions,
        total,
        opportunities,
        chart,
        min_required: MIN_NATIONAL_OPPORTUNITIES,
    };
    Ok((status, page))
}

/// Every region's figures on today's ICBs (each plan counted once in a region, and once in
/// England's total even when split between regions), England last.
fn restated_regions(year: &RestatedYear, regions: &[RegionFigures]) -> Vec<RestatedRegion> {
    let mut out: Vec<RestatedRegion> = Vec::new();
    for r in regions {
        let Some((code, name)) = &r.region else {
            continue;
        };
        let table = RestatedTable::of(year, String::new(), |t| t.region_code == *code);
        out.push(RestatedRegion {
            code: Some(code.clone()),
            name: name.clone(),
            icbs: table.rows.len(),
            totals: table.total,
        });
    }
    let england = RestatedTable::of(year, String::new(), |_| true);
    out.push(RestatedRegion {
        code: None,
        name: "England".into(),
        icbs: england.rows.len(),
        totals: england.total,
    });
    out
}

fn chart(regions: &[RegionRow], total: Option<&RegionRow>, year: &PlanYear) -> String {
    let bars: Vec<PercentBar> = regions
        .iter()
        .map(|r| PercentBar {
            label: r.name().to_owned(),
            percent: r.f.totals.percent_of_target(),
        })
        .collect();
    let lines: Vec<ReferenceLine> = total
        .and_then(|t| t.f.totals.percent_of_target())
        .map(|percent| ReferenceLine {
            label: "England".into(),
            percent,
        })
        .into_iter()
        .collect();
    charts::percent_bars(
        &bars,
        &lines,
        &format!("Percentage of target to date by region, {}", year.year),
        "Bar chart of each region's actual savings to date as a percentage of its target to date, with lines at 100% (the plan) and at England's overall percentage. The same figures are in the table of regions above.",
        "region-percent-chart",
    )
}
