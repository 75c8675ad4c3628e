//! The figures every page and export shows, read from their one definition in the database:
//! `workstream_month_figures` (which workstream-months count), `workstream_figures(to_month)`
//! and `plan_figures(to_month)` (the sums "to date"), see the migration
//! `20261201004002_figures_to_a_reporting_month.sql`. The figures derived from the sums are
//! defined once in [`crate::domain::PlanTotals`].
//!
//! "To date" runs to the reporting month (the latest month whose figures are due, from the
//! clock in [`crate::AppState`]) or to an earlier "as at" month a user chooses ([`as_at`]).
//! [`restated`] puts earlier years on today's organisations after mergers and splits.

pub mod as_at;
pub mod check;
pub mod restated;

use chrono::NaiveDate;
use sqlx::PgConnection;

use crate::auth::scope::IcbAccess;
use crate::domain::{Month, MonthFigures, Pence, PlanTotals};

pub use as_at::{Cut, FiguresQuery};

/// Builds a [`crate::domain::Sums`] from a record of `plan_figures` (or `workstream_figures`)
/// columns selected under their own names; a missing value (no plan, a column a query does
/// not select as such) is zero. One mapping for every query that reads the figures.
#[macro_export]
macro_rules! plan_sums {
    ($r:expr) => {
        $crate::domain::Sums {
            annual_target: $r.annual_target_pence.unwrap_or(0),
            planned_total: $r.planned_total_pence.unwrap_or(0),
            target_to_date: $r.target_to_date_pence.unwrap_or(0),
            reported_target_to_date: $r.reported_target_to_date_pence.unwrap_or(0),
            actual_to_date: $r.actual_to_date_pence.unwrap_or(0),
            planned_after: $r.planned_after_pence.unwrap_or(0),
            months_in_year: $r.months_in_year.unwrap_or(0),
            months_to_date: $r.months_to_date.unwrap_or(0),
            workstreams_due: $r.workstreams_due.unwrap_or(0),
            workstreams_reported: $r.workstreams_reported.unwrap_or(0),
        }
    };
}

/// A plan's figures to a month, with what the dashboard shows beside them.
#[derive(Debug, Clone, Default)]
pub struct PlanFigures {
    pub totals: PlanTotals,
    /// The latest month with an actual, up to the cut-off.
    pub latest_month: Option<NaiveDate>,
    /// The plan's reporting month: the cut-off, or the ICB's last month if it closed before;
    /// `None` when no month of the year is due.
    pub reporting_month: Option<NaiveDate>,
    /// Due months in which some workstream has not reported.
    pub months_overdue: i32,
    /// The months of the year the ICB existed in.
    pub months_in_year: i32,
}

/// The figures of the plan `plan_id` of `icb` to `to_month`.
pub async fn plan(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    plan_id: i32,
    to_month: Month,
) -> sqlx::Result<PlanFigures> {
    let r = sqlx::query!(
        r#"
        select f.annual_target_pence, f.planned_total_pence, f.target_to_date_pence,
               f.reported_target_to_date_pence, f.actual_to_date_pence, f.planned_after_pence,
               f.months_in_year, f.months_to_date, f.workstreams_due, f.workstreams_reported,
               f.latest_month, f.reporting_month, f.months_overdue
        from plan_figures($1) f
        where f.plan_id = $2 and f.icb_id = $3
        "#,
        to_month as Month,
        plan_id,
        icb.icb_id()
    )
    .fetch_optional(conn)
    .await?;
    Ok(r.map(|r| PlanFigures {
        totals: PlanTotals::from_sums(plan_sums!(r)),
        latest_month: r.latest_month,
        reporting_month: r.reporting_month,
        months_overdue: r.months_overdue.unwrap_or(0),
        months_in_year: r.months_in_year.unwrap_or(0),
    })
    .unwrap_or_default())
}

/// One workstream's figures to a month.
#[derive(Debug, Clone)]
pub struct WorkstreamFigures {
    pub workstream_id: i32,
    pub removed: bool,
    pub cost_pressure: bool,
    /// Months of the year that count for it (0: nothing counts, e.g. removed unreported).
    pub months_counted: i32,
    pub totals: PlanTotals,
    /// It counts in the plan's reporting month, and whether it reported it.
    pub due: bool,
    pub reported: bool,
    /// Due months it has not reported.
    pub months_not_reported: i32,
}

/// The figures of every workstream of the plan `plan_id` of `icb` (removed ones too) to
/// `to_month`.
pub async fn workstreams(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    plan_id: i32,
    to_month: Month,
) -> sqlx::Result<Vec<WorkstreamFigures>> {
    let rows = sqlx::query!(
        r#"
        select f.workstream_id as "workstream_id!", f.removed as "removed!",
               f.cost_pressure as "cost_pressure!", f.months_counted as "months_counted!",
               f.annual_target_pence, f.planned_total_pence, f.target_to_date_pence,
               f.reported_target_to_date_pence, f.actual_to_date_pence, f.planned_after_pence,
               f.months_in_year, f.months_to_date,
               f.due_in_reporting_month::integer as workstreams_due,
               f.reported_in_reporting_month::integer as workstreams_reported,
               f.months_not_reported as "months_not_reported!"
        from workstream_figures($1) f
        where f.plan_id = $2 and f.icb_id = $3
        order by f.workstream_id
        "#,
        to_month as Month,
        plan_id,
        icb.icb_id()
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let totals = PlanTotals::from_sums(plan_sums!(r));
            WorkstreamFigures {
                workstream_id: r.workstream_id,
                removed: r.removed,
                cost_pressure: r.cost_pressure,
                months_counted: r.months_counted,
                due: totals.workstreams_due > 0,
                reported: totals.workstreams_reported > 0,
                totals,
                months_not_reported: r.months_not_reported,
            }
        })
        .collect())
}

/// The months that count in the plan `plan_id` of `icb`, added up over its workstreams, for
/// the cumulative chart.
pub async fn months(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    plan_id: i32,
) -> sqlx::Result<Vec<MonthFigures>> {
    let rows = sqlx::query!(
        r#"
        select month as "month!", sum(planned_pence)::bigint as "planned!",
               sum(actual_pence)::bigint as actual
        from workstream_month_figures
        where plan_id = $1 and icb_id = $2
        group by month order by month
        "#,
        plan_id,
        icb.icb_id()
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| MonthFigures {
            month: r.month,
            planned: Pence(r.planned),
            actual: r.actual.map(Pence),
        })
        .collect())
}
