//! `/icbs/{icb}/{year}/grid`: plan against actual, the way finance teams lay it out in a
//! spreadsheet — workstreams down, months across, the plan and the actual in each month, and
//! each workstream's (and the plan's) figures to date, variance and percentage of plan.
//!
//! "To date" is the dashboard's: April to the plan's latest month with any actual
//! ([`crate::domain::progress`]), the same months for every row, so the rows add up to the
//! total row and the total row to the dashboard's headline.

use askama::Template;
use askama_web::WebTemplate;

use super::context::{IcbYear, PlanHeader};
use super::month_report::due_link;
use super::request::PlanView;
use super::workstreams::{self, Workstream};
use crate::domain::{Month, Pence, percent_of, reporting_month};
use crate::error::AppResult;
use crate::page::Layout;

/// One month's column.
pub struct GridMonth {
    /// `Apr`
    pub short: String,
    /// `April 2024`
    pub label: String,
    /// The month's page.
    pub href: String,
    /// Inside "to date".
    pub to_date: bool,
}

/// One month of one row.
#[derive(Debug, Clone, Copy, Default)]
pub struct GridCell {
    pub planned: Pence,
    pub actual: Option<Pence>,
}

/// A workstream's row (or the total's).
pub struct GridRow {
    /// `None` for the total.
    pub ws: Option<Workstream>,
    pub cells: Vec<GridCell>,
    pub planned_to_date: Pence,
    pub actual_to_date: Pence,
}

impl GridRow {
    fn new(ws: Option<Workstream>, cells: Vec<GridCell>, to_date: usize) -> Self {
        GridRow {
            planned_to_date: cells[..to_date].iter().map(|c| c.planned).sum(),
            actual_to_date: cells[..to_date].iter().filter_map(|c| c.actual).sum(),
            ws,
            cells,
        }
    }

    /// Actual minus planned, to date: positive is ahead of plan.
    pub fn variance(&self) -> Pence {
        self.actual_to_date - self.planned_to_date
    }

    /// The actual to date as a percentage of the plan to date.
    pub fn percent(&self) -> Option<i64> {
        percent_of(self.actual_to_date, self.planned_to_date)
    }
}

/// `/icbs/{icb}/{year}/grid`
#[derive(Template, WebTemplate)]
#[template(path = "plans/grid.html")]
pub struct GridPage {
    pub layout: Layout,
    pub header: PlanHeader,
    pub months: Vec<GridMonth>,
    pub rows: Vec<GridRow>,
    pub total: GridRow,
    /// The latest month with any actual, in words.
    pub to_date: Option<String>,
    /// The month to report now, for the link above the grid.
    pub report: Option<(String, String)>,
}

pub async fn show(PlanView { mut tx, ctx, user }: PlanView) -> AppResult<GridPage> {
    let plan_id = ctx.require_plan()?.plan_id;
    let workstreams = workstreams::list(&mut tx, &ctx.icb, plan_id).await?;
    let stored = sqlx::query!(
        r#"
        select m.workstream_id, m.month, m.planned_pence, m.actual_pence
        from workstream_month m
        join workstream w on w.workstream_id = m.workstream_id and w.icb_id = m.icb_id
        where w.icb_id = $1 and w.plan_id = $2 and w.removed_at is null
        "#,
        ctx.icb.icb_id(),
        plan_id
    )
    .fetch_all(&mut *tx)
    .await?;
    let year = ctx.year.year;
    let latest = stored
        .iter()
        .filter(|r| r.actual_pence.is_some())
        .map(|r| Month::containing(r.month))
        .max();
    // "To date" means up to the reporting month, as everywhere ([`crate::figures`]).
    let reporting = reporting_month(ctx.clock.today());
    let to_date = year
        .reporting_months()
        .iter()
        .filter(|m| **m <= reporting)
        .count();
    let months = year.reporting_months();
    let rows: Vec<GridRow> = workstreams
        .into_iter()
        .map(|ws| {
            let cells = months
                .iter()
                .map(|m| {
                    stored
                        .iter()
                        .find(|r| r.workstream_id == ws.workstream_id && r.month == m.first_day())
                        .map_or_else(GridCell::default, |r| GridCell {
                            planned: Pence(r.planned_pence),
                            actual: r.actual_pence.map(Pence),
                        })
                })
                .collect();
            GridRow::new(Some(ws), cells, to_date)
        })
        .collect();
    let total_cells = (0..months.len())
        .map(|i| GridCell {
            planned: rows.iter().map(|r| r.cells[i].planned).sum(),
            actual: rows
                .iter()
                .filter_map(|r| r.cells[i].actual)
                .reduce(|a, b| a + b),
        })
        .collect();
    Ok(GridPage {
        layout: user.layout(),
        header: ctx.header("/grid"),
        months: grid_months(&ctx, &months, to_date),
        total: GridRow::new(None, total_cells, to_date),
        rows,
        to_date: latest.map(|m| m.label()),
        report: due_link(&ctx, latest),
    })
}

fn grid_months(ctx: &IcbYear, months: &[Month], to_date: usize) -> Vec<GridMonth> {
    months
        .iter()
        .enumerate()
        .map(|(i, m)| GridMonth {
            short: m.first_day().format("%b").to_string(),
            label: m.label(),
            href: format!("{}/months/{}", ctx.base_path(), m.key()),
            to_date: i < to_date,
        })
        .collect()
}
