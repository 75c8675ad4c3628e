//! `/icbs/{icb}/{year}`: the ICB's dashboard for a programme year. The headline figures and
//! every workstream's row come from the one definition of the figures ([`crate::figures`]),
//! "to date" running to the reporting month (or the `?as_at=` month chosen), so the rows add up
//! to the headline and both agree with the roll-ups and the exports. `?view=restated` adds the
//! figures restated on today's organisations (a merged ICB with its predecessors' plans).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Query;
use axum::http::StatusCode;
use chrono::NaiveDate;

use super::context::{IcbYear, PlanHeader};
use super::month_report::due_link;
use super::plan_page::MIN_NATIONAL_OPPORTUNITIES;
use super::request::PlanView;
use super::workstream::page::lifetime_note;
use super::workstreams::{self, Workstream};
use crate::assurance::figures::{self as assurance, AssuranceTotals};
use crate::auth::CurrentUser;
use crate::charts;
use crate::domain::{CumulativePoint, Month, Pence, cumulative, totals_note};
use crate::error::AppResult;
use crate::figures::restated::{RestatedRow, RestatedYear};
use crate::figures::{self, Cut, FiguresQuery, PlanFigures, WorkstreamFigures};
use crate::forms::FieldErrors;
use crate::page::Layout;

/// A workstream's row.
pub struct WorkstreamRow {
    pub ws: Workstream,
    pub figures: WorkstreamFigures,
    pub trend: String,
}

/// A month of the chart's table.
pub struct ChartRow {
    pub label: String,
    pub point: CumulativePoint,
}

/// The figures restated on today's organisations.
pub struct RestatedView {
    /// This ICB's row, when it is one of today's organisations.
    pub row: Option<RestatedRow>,
    /// Today's ICBs carrying on this ICB's work, when it has been succeeded.
    pub carried_on_by: Vec<(String, String)>,
}

/// `/icbs/{icb}/{year}`
#[derive(Template, WebTemplate)]
#[template(path = "plans/dashboard.html")]
pub struct DashboardPage {
    pub layout: Layout,
    pub header: PlanHeader,
    pub errors: FieldErrors,
    pub has_plan: bool,
    pub can_start: bool,
    /// The user may report figures (and so import them from a file).
    pub can_import: bool,
    pub cut: Cut,
    /// "to the end of September 2024".
    pub to_date: String,
    pub figures: PlanFigures,
    pub national_count: usize,
    pub min_required: usize,
    pub rows: Vec<WorkstreamRow>,
    /// Said under the workstream table when its rounded rows do not add up to the total.
    pub rows_note: Option<String>,
    pub lifetime_note: Option<String>,
    pub chart: String,
    pub chart_rows: Vec<ChartRow>,
    pub restated: Option<RestatedView>,
    /// The month to report now: its page and its name.
    pub report: Option<(String, String)>,
    /// The savings assurance headline: requirement, gap and splits (src/assurance/).
    pub assurance: AssuranceTotals,
}

impl DashboardPage {
    /// The latest reported month in words.
    pub fn latest_month(&self) -> String {
        self.figures
            .latest_month
            .map_or_else(|| "None yet".to_owned(), |m| m.format("%B %Y").to_string())
    }

    /// The plan's reporting month in words ("September 2024"), or `None` when no month is due.
    pub fn reporting_month(&self) -> Option<String> {
        self.figures
            .reporting_month
            .map(|m| m.format("%B %Y").to_string())
    }
}

pub async fn show(
    PlanView { mut tx, ctx, user }: PlanView,
    Query(query): Query<FiguresQuery>,
) -> AppResult<(StatusCode, DashboardPage)> {
    let cut = Cut::resolve(&query, ctx.year.year, ctx.clock.today());
    Ok((cut.status(), build(&mut tx, &user, &ctx, cut).await?))
}

/// The dashboard's figures for `ctx` (the board report shows them too).
pub async fn build(
    tx: &mut sqlx::PgConnection,
    user: &CurrentUser,
    ctx: &IcbYear,
    cut: Cut,
) -> AppResult<DashboardPage> {
    let fy = ctx.year.year;
    let (figures, rows, months) = match &ctx.plan {
        Some(plan) => {
            let figures = figures::plan(tx, &ctx.icb, plan.plan_id, cut.month).await?;
            let list = workstreams::list_with_removed(tx, &ctx.icb, plan.plan_id).await?;
            let by_ws = figures::workstreams(tx, &ctx.icb, plan.plan_id, cut.month).await?;
            let actuals = actuals_by_month(tx, ctx, plan.plan_id).await?;
            let rows = rows(list, by_ws, &actuals, fy.months());
            let months = figures::months(tx, &ctx.icb, plan.plan_id).await?;
            (figures, rows, months)
        }
        None => (PlanFigures::default(), Vec::new(), Vec::new()),
    };
    let assurance = match &ctx.plan {
        Some(plan) => assurance::plan(tx, &ctx.icb, plan.plan_id).await?,
        None => AssuranceTotals::default(),
    };
    let restated = if cut.restated {
        Some(restated(tx, ctx, &cut).await?)
    } else {
        None
    };
    let points = cumulative(fy, &months, cut.through(fy));
    let totals = figures.totals;
    let chart = charts::cumulative_chart(
        &points,
        &format!("Cumulative savings against plan, {fy}"),
        &format!(
            "Line chart of cumulative actual savings against the cumulative phased plan by month for {fy}. Actual to date {} against a target to date of {}. The same figures are in the table below.",
            totals.actual_to_date, totals.target_to_date
        ),
        "savings-chart",
    );
    // The month due is worked out from the latest month with any actual, reported early or not.
    let latest = months
        .iter()
        .filter(|m| m.actual.is_some())
        .map(|m| Month::containing(m.month))
        .max();
    let report = ctx.plan.as_ref().and_then(|_| due_link(ctx, latest));
    Ok(DashboardPage {
        layout: user.layout(),
        header: ctx.header(""),
        errors: cut.errors.clone(),
        has_plan: ctx.plan.is_some(),
        can_start: ctx.plan.is_none() && ctx.progress_locked().is_none(),
        can_import: ctx.plan.is_some() && ctx.progress_locked().is_none(),
        to_date: cut.describe(fy),
        national_count: rows
            .iter()
            .filter(|r| !r.ws.is_local() && !r.figures.removed)
            .count(),
        min_required: MIN_NATIONAL_OPPORTUNITIES,
        rows_note: totals_note(rows.iter().map(|r| &r.figures.totals), &totals),
        lifetime_note: lifetime_note(ctx),
        chart,
        chart_rows: points
            .into_iter()
            .map(|point| ChartRow {
                label: point.month.format("%b %Y").to_string(),
                point,
            })
            .collect(),
        rows,
        figures,
        cut,
        restated,
        report,
        assurance,
    })
}

/// The rows of the workstream table: every live workstream, and every removed one whose
/// reported savings still count.
fn rows(
    list: Vec<Workstream>,
    by_ws: Vec<WorkstreamFigures>,
    actuals: &[(i32, NaiveDate, Option<Pence>)],
    year_months: [NaiveDate; 12],
) -> Vec<WorkstreamRow> {
    list.into_iter()
        .filter_map(|ws| {
            let figures = by_ws
                .iter()
                .find(|f| f.workstream_id == ws.workstream_id)?
                .clone();
            if figures.removed && figures.months_counted == 0 {
                return None;
            }
            let trend: Vec<Option<Pence>> = year_months
                .iter()
                .map(|m| {
                    actuals
                        .iter()
                        .find(|(id, month, _)| *id == ws.workstream_id && month == m)
                        .and_then(|(_, _, a)| *a)
                })
                .collect();
            let trend = charts::sparkline(
                &trend,
                &trend_label(&ws.display_title(), &year_months, &trend),
            );
            Some(WorkstreamRow { ws, figures, trend })
        })
        .collect()
}

/// Each counted month's actual by workstream, for the trend lines.
async fn actuals_by_month(
    tx: &mut sqlx::PgConnection,
    ctx: &IcbYear,
    plan_id: i32,
) -> sqlx::Result<Vec<(i32, NaiveDate, Option<Pence>)>> {
    Ok(sqlx::query!(
        r#"
        select workstream_id as "workstream_id!", month as "month!", actual_pence
        from workstream_month_figures
        where plan_id = $1 and icb_id = $2
        order by workstream_id, month
        "#,
        plan_id,
        ctx.icb.icb_id()
    )
    .fetch_all(tx)
    .await?
    .into_iter()
    .map(|r| (r.workstream_id, r.month, r.actual_pence.map(Pence)))
    .collect())
}

/// The ICB's figures restated on today's organisations.
async fn restated(
    tx: &mut sqlx::PgConnection,
    ctx: &IcbYear,
    cut: &Cut,
) -> sqlx::Result<RestatedView> {
    let year =
        RestatedYear::load(tx, ctx.year.programme_year_id, cut.month, ctx.clock.today()).await?;
    let id = ctx.icb.icb_id();
    let (rows, _) = year.rows(|t| t.icb_id == id);
    let carried_on_by = year
        .carried_on_by(id)
        .into_iter()
        .map(|t| (t.ods_code.clone(), t.name.clone()))
        .collect();
    Ok(RestatedView {
        row: rows.into_iter().next(),
        carried_on_by,
    })
}

/// A trend line's text alternative: the figures it draws, so a screen reader user hears what a
/// sighted user sees (each reported month's saving), not only what the line is about.
fn trend_label(title: &str, months: &[NaiveDate], trend: &[Option<Pence>]) -> String {
    let reported: Vec<String> = months
        .iter()
        .zip(trend)
        .filter_map(|(month, saving)| saving.map(|p| format!("{} {p}", month.format("%B %Y"))))
        .collect();
    if reported.is_empty() {
        format!("Monthly actual savings of {title}: none reported yet")
    } else {
        format!("Monthly actual savings of {title}: {}", reported.join(", "))
    }
}
