//! `/national/{year}`: NHS England's view of a programme year: every region's figures with
//! the national total, and every national opportunity with its take-up. For national roles.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};

use super::figures::{self, Coverage, OpportunityFigures, RegionFigures};
use crate::AppState;
use crate::assurance::rollup::{self as assurance, NationalSection};
use crate::auth::CurrentUser;
use crate::auth::scope::{self, NationalAccess, Tx};
use crate::charts::{self, PercentBar, ReferenceLine};
use crate::error::{AppError, AppResult};
use crate::page::{Layout, YearLink, year_links};
use crate::plans::MIN_NATIONAL_OPPORTUNITIES;
use crate::plans::context::{PlanYear, all_years, landing_year};

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
    pub year_label: String,
    pub year_slug: String,
    pub years: Vec<YearLink>,
    pub regions: Vec<RegionRow>,
    pub total: Option<RegionRow>,
    pub opportunities: Vec<OpportunityFigures>,
    pub chart: String,
    pub min_required: usize,
    /// Savings assurance per region with England's total, and the local priorities line of
    /// the table by opportunity (src/assurance/rollup.rs).
    pub assurance: NationalSection,
}

/// `/national`: the current programme year (or the latest there is), so a bookmark stays current.
pub async fn latest(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<NationalRollupPage> {
    let national = NationalAccess::check(&state, &user, "/national").await?;
    let mut tx = scope::begin(&state, &user.scope()).await?;
    let year = landing_year(&mut tx, state.clock().today())
        .await?
        .ok_or(AppError::NotFound)?;
    let year = PlanYear::find(&mut tx, year)
        .await?
        .ok_or(AppError::NotFound)?;
    build(tx, &user, &national, year).await
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
) -> AppResult<NationalRollupPage> {
    let national = NationalAccess::check(&state, &user, "/national").await?;
    let mut tx = scope::begin(&state, &user.scope()).await?;
    let year = PlanYear::from_slug(&mut tx, &slug).await?;
    build(tx, &user, &national, year).await
}

async fn build(
    mut tx: Tx,
    user: &CurrentUser,
    national: &NationalAccess,
    year: PlanYear,
) -> AppResult<NationalRollupPage> {
    let min = MIN_NATIONAL_OPPORTUNITIES as i64;
    let mut regions: Vec<RegionRow> = figures::by_region(&mut tx, national, &year, min)
        .await?
        .into_iter()
        .map(|f| RegionRow {
            href: f
                .region
                .as_ref()
                .map(|(code, _)| format!("/regions/{code}/{}", year.year.slug())),
            f,
        })
        .collect();
    let opportunities =
        figures::opportunities(&mut tx, Coverage::National(national), &year).await?;
    let mut assurance = assurance::national_section(&mut tx, national, &year).await?;
    assurance.opportunities_total = opportunities
        .iter()
        .map(|o| o.totals)
        .sum::<crate::domain::PlanTotals>()
        + assurance.local.totals;
    let years = all_years(&mut tx).await?;
    tx.commit().await?;
    // The grouping-sets total comes last.
    let total = regions.pop_if(|r| r.f.region.is_none());
    let chart = chart(&regions, total.as_ref(), &year);
    Ok(NationalRollupPage {
        layout: user.layout(),
        year_label: year.year.to_string(),
        year_slug: year.year.slug(),
        years: year_links(&years, year.year, |y| format!("/national/{}", y.slug())),
        regions,
        total,
        opportunities,
        chart,
        min_required: MIN_NATIONAL_OPPORTUNITIES,
        assurance,
    })
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
