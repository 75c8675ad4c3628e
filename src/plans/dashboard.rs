//! `/icbs/{icb}/{year}`: the ICB's dashboard for a programme year. Headline figures come from
//! one SQL aggregate of the plan's monthly rows, passed to the pure [`crate::domain::progress`];
//! every workstream's row is measured over the same months, so the rows add up to the headline.

use askama::Template;
use askama_web::WebTemplate;
use chrono::NaiveDate;

use super::context::{IcbYear, PlanHeader};
use super::plan_page::MIN_NATIONAL_OPPORTUNITIES;
use super::request::PlanView;
use super::workstreams::{self, Workstream};
use crate::assurance::figures::{self as assurance, AssuranceTotals};
use crate::auth::CurrentUser;
use crate::charts;
use crate::domain::{CumulativePoint, MonthFigures, Pence, Progress, cumulative, progress};
use crate::error::AppResult;
use crate::page::Layout;

/// A workstream's row.
pub struct WorkstreamRow {
    pub ws: Workstream,
    pub target_to_date: Pence,
    pub actual_to_date: Pence,
    pub trend: String,
}

/// A month of the chart's table.
pub struct ChartRow {
    pub label: String,
    pub point: CumulativePoint,
}

/// `/icbs/{icb}/{year}`
#[derive(Template, WebTemplate)]
#[template(path = "plans/dashboard.html")]
pub struct DashboardPage {
    pub layout: Layout,
    pub header: PlanHeader,
    pub has_plan: bool,
    pub can_start: bool,
    /// The user may report figures (and so import them from a file).
    pub can_import: bool,
    pub figures: Progress,
    pub national_count: usize,
    pub min_required: usize,
    pub rows: Vec<WorkstreamRow>,
    pub chart: String,
    pub chart_rows: Vec<ChartRow>,
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
}

pub async fn show(PlanView { mut tx, ctx, user }: PlanView) -> AppResult<DashboardPage> {
    build(&mut tx, &user, &ctx).await
}

async fn build(
    tx: &mut sqlx::PgConnection,
    user: &CurrentUser,
    ctx: &IcbYear,
) -> AppResult<DashboardPage> {
    let fy = ctx.year.year;
    let today = ctx.clock.today();
    let (workstreams, months, by_workstream) = match &ctx.plan {
        Some(plan) => {
            let list = workstreams::list(tx, &ctx.icb, plan.plan_id).await?;
            let months = sqlx::query!(
                r#"
                select m.month, sum(m.planned_pence)::bigint as "planned!", sum(m.actual_pence)::bigint as actual
                from workstream_month m
                join workstream w on w.workstream_id = m.workstream_id and w.icb_id = m.icb_id
                where w.icb_id = $1 and w.plan_id = $2 and w.removed_at is null
                group by m.month order by m.month
                "#,
                ctx.icb.icb_id(),
                plan.plan_id
            )
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|r| MonthFigures {
                month: r.month,
                planned: Pence(r.planned),
                actual: r.actual.map(Pence),
            })
            .collect::<Vec<_>>();
            let rows = sqlx::query!(
                r#"
                select m.workstream_id, m.month, m.planned_pence, m.actual_pence
                from workstream_month m
                join workstream w on w.workstream_id = m.workstream_id and w.icb_id = m.icb_id
                where w.icb_id = $1 and w.plan_id = $2 and w.removed_at is null
                order by m.workstream_id, m.month
                "#,
                ctx.icb.icb_id(),
                plan.plan_id
            )
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|r| {
                (
                    r.workstream_id,
                    MonthFigures {
                        month: r.month,
                        planned: Pence(r.planned_pence),
                        actual: r.actual_pence.map(Pence),
                    },
                )
            })
            .collect::<Vec<_>>();
            (list, months, rows)
        }
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    let assurance = match &ctx.plan {
        Some(plan) => assurance::plan(tx, &ctx.icb, plan.plan_id).await?,
        None => AssuranceTotals::default(),
    };
    let annual_target: Pence = workstreams.iter().map(Workstream::annual_target).sum();
    let figures = progress(fy, annual_target, &months, today);
    let to_date = |m: NaiveDate| figures.latest_month.is_some_and(|latest| m <= latest);
    let rows = workstreams
        .iter()
        .map(|ws| {
            let own: Vec<&MonthFigures> = by_workstream
                .iter()
                .filter(|(id, _)| *id == ws.workstream_id)
                .map(|(_, f)| f)
                .collect();
            let year_months = fy.months();
            let trend: Vec<Option<Pence>> = year_months
                .iter()
                .map(|m| own.iter().find(|f| f.month == *m).and_then(|f| f.actual))
                .collect();
            WorkstreamRow {
                target_to_date: own
                    .iter()
                    .filter(|f| to_date(f.month))
                    .map(|f| f.planned)
                    .sum(),
                actual_to_date: own
                    .iter()
                    .filter(|f| to_date(f.month))
                    .filter_map(|f| f.actual)
                    .sum(),
                trend: charts::sparkline(
                    &trend,
                    &trend_label(&ws.display_title(), &year_months, &trend),
                ),
                ws: ws.clone(),
            }
        })
        .collect();
    let points = cumulative(fy, &months);
    let chart = charts::cumulative_chart(
        &points,
        &format!("Cumulative savings against plan, {fy}"),
        &format!(
            "Line chart of cumulative actual savings against the cumulative phased plan by month for {fy}. Actual to date {} against a target to date of {}. The same figures are in the table below.",
            figures.actual_to_date, figures.target_to_date
        ),
        "savings-chart",
    );
    let chart_rows = points
        .into_iter()
        .map(|point| ChartRow {
            label: point.month.format("%b %Y").to_string(),
            point,
        })
        .collect();
    Ok(DashboardPage {
        layout: user.layout(),
        header: ctx.header(""),
        has_plan: ctx.plan.is_some(),
        can_start: ctx.plan.is_none() && ctx.progress_locked().is_none(),
        can_import: ctx.plan.is_some() && ctx.progress_locked().is_none(),
        national_count: workstreams.iter().filter(|w| !w.is_local()).count(),
        min_required: MIN_NATIONAL_OPPORTUNITIES,
        figures,
        rows,
        chart,
        chart_rows,
        assurance,
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
