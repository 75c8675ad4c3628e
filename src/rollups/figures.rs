//! The SQL behind the roll-ups. Every figure is an aggregate computed by PostgreSQL from the
//! `plan_figures` view (one definition of a plan's headline figures, shared with the exports),
//! so pages stay fast whatever the number of monthly rows beneath them.
//!
//! Queries take the caller's proof of scope ([`RegionAccess`] or [`NationalAccess`]) and run in
//! the request's scoped transaction, so row-level security filters them again.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

use crate::auth::scope::{NationalAccess, RegionAccess};
use crate::domain::{Pence, PlanTotals};
use crate::icbs::PlanStatus;
use crate::plans::context::PlanYear;
use crate::plans::workstreams::Rag;

/// Workstreams by RAG status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RagCounts {
    pub red: i64,
    pub amber: i64,
    pub green: i64,
    pub not_set: i64,
}

impl std::iter::Sum for RagCounts {
    fn sum<I: Iterator<Item = RagCounts>>(iter: I) -> RagCounts {
        iter.fold(RagCounts::default(), |acc, r| RagCounts {
            red: acc.red + r.red,
            amber: acc.amber + r.amber,
            green: acc.green + r.green,
            not_set: acc.not_set + r.not_set,
        })
    }
}

/// One ICB's row of a region's roll-up for a year.
#[derive(Debug, Clone)]
pub struct IcbFigures {
    pub ods_code: String,
    pub name: String,
    /// Its last day, if it closed (during or after the year).
    pub closed_on: Option<NaiveDate>,
    /// `None` when the ICB has no plan for the year.
    pub status: Option<PlanStatus>,
    pub national_chosen: i64,
    pub local_priorities: i64,
    pub totals: PlanTotals,
    pub rag: RagCounts,
    pub latest_month: Option<NaiveDate>,
}

/// Every ICB of the region that existed at some point in the year, with its plan's figures.
pub async fn region_icbs(
    conn: &mut PgConnection,
    region: &RegionAccess,
    year: &PlanYear,
) -> sqlx::Result<Vec<IcbFigures>> {
    let rows = sqlx::query!(
        r#"
        select i.ods_code, i.name, i.valid_to,
               f.status as "status?: PlanStatus",
               f.national_chosen as "national_chosen?", f.local_priorities as "local_priorities?",
               f.annual_target_pence as "annual_target?", f.planned_total_pence as "planned_total?",
               f.target_to_date_pence as "target_to_date?", f.actual_to_date_pence as "actual_to_date?",
               f.rag_red as "rag_red?", f.rag_amber as "rag_amber?", f.rag_green as "rag_green?",
               f.rag_not_set as "rag_not_set?", f.latest_month
        from icb i
        left join plan_figures f on f.icb_id = i.icb_id and f.programme_year_id = $2
        where i.region_id = $1
          and i.valid_from <= $4 and (i.valid_to is null or i.valid_to >= $3)
        order by i.name
        "#,
        region.region_id(),
        year.programme_year_id,
        year.year.starts_on(),
        year.year.ends_on()
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| IcbFigures {
            ods_code: r.ods_code,
            name: r.name,
            closed_on: r.valid_to,
            status: r.status,
            national_chosen: r.national_chosen.map_or(0, i64::from),
            local_priorities: r.local_priorities.map_or(0, i64::from),
            totals: totals(
                r.annual_target,
                r.planned_total,
                r.target_to_date,
                r.actual_to_date,
            ),
            rag: rag(
                r.rag_red.map(i64::from),
                r.rag_amber.map(i64::from),
                r.rag_green.map(i64::from),
                r.rag_not_set.map(i64::from),
            ),
            latest_month: r.latest_month,
        })
        .collect())
}

/// A plan's (or a sum's) totals from the pence columns; a missing sum (no plan) is zero.
fn totals(
    annual: impl Into<Option<i64>>,
    planned: impl Into<Option<i64>>,
    to_date: impl Into<Option<i64>>,
    actual: impl Into<Option<i64>>,
) -> PlanTotals {
    let pence = |v: Option<i64>| Pence(v.unwrap_or(0));
    PlanTotals {
        annual_target: pence(annual.into()),
        planned_total: pence(planned.into()),
        target_to_date: pence(to_date.into()),
        actual_to_date: pence(actual.into()),
    }
}

/// RAG counts from the count columns; a missing count (no plan) is zero.
fn rag(
    red: impl Into<Option<i64>>,
    amber: impl Into<Option<i64>>,
    green: impl Into<Option<i64>>,
    not_set: impl Into<Option<i64>>,
) -> RagCounts {
    let count = |v: Option<i64>| v.unwrap_or(0);
    RagCounts {
        red: count(red.into()),
        amber: count(amber.into()),
        green: count(green.into()),
        not_set: count(not_set.into()),
    }
}

/// A plan waiting for the region's agreement.
#[derive(Debug, Clone)]
pub struct AwaitingReview {
    pub ods_code: String,
    pub name: String,
    pub submitted_at: Option<DateTime<Utc>>,
}

/// The region's plans for the year that are submitted and not yet agreed or returned, the
/// longest waiting first.
pub async fn review_queue(
    conn: &mut PgConnection,
    region: &RegionAccess,
    year: &PlanYear,
) -> sqlx::Result<Vec<AwaitingReview>> {
    sqlx::query_as!(
        AwaitingReview,
        r#"
        select i.ods_code, i.name, p.submitted_at
        from plan p
        join icb i on i.icb_id = p.icb_id
        where i.region_id = $1 and p.programme_year_id = $2 and p.status = 'submitted'
        order by p.submitted_at nulls first, i.name
        "#,
        region.region_id(),
        year.programme_year_id
    )
    .fetch_all(conn)
    .await
}

/// A chosen national opportunity in the region's matrix.
#[derive(Debug, Clone)]
pub struct MatrixCell {
    pub ods_code: String,
    pub number: i16,
    pub rag: Option<Rag>,
}

/// Which ICB of the region chose which national opportunity in the year, with its RAG.
pub async fn region_choices(
    conn: &mut PgConnection,
    region: &RegionAccess,
    year: &PlanYear,
) -> sqlx::Result<Vec<MatrixCell>> {
    sqlx::query_as!(
        MatrixCell,
        r#"
        select i.ods_code, o.number, w.rag as "rag: Rag"
        from workstream w
        join plan p on p.plan_id = w.plan_id and p.icb_id = w.icb_id
        join icb i on i.icb_id = w.icb_id
        join opportunity o on o.opportunity_id = w.opportunity_id
        where i.region_id = $1 and p.programme_year_id = $2 and w.removed_at is null
        "#,
        region.region_id(),
        year.programme_year_id
    )
    .fetch_all(conn)
    .await
}

/// One national opportunity of the year, summed over the ICBs that chose it.
#[derive(Debug, Clone)]
pub struct OpportunityFigures {
    pub number: i16,
    /// NHS England's title, or a working title while it is unconfirmed.
    pub title: String,
    pub efficiency_focus: bool,
    pub icbs_choosing: i64,
    pub totals: PlanTotals,
    pub rag: RagCounts,
}

impl OpportunityFigures {
    /// `4. Title`
    pub fn display_title(&self) -> String {
        format!("{}. {}", self.number, self.title)
    }
}

/// Whose ICBs a roll-up covers: the nation, or one region.
#[derive(Debug, Clone, Copy)]
pub enum Coverage<'a> {
    National(&'a NationalAccess),
    Region(&'a RegionAccess),
}

impl Coverage<'_> {
    fn region_id(self) -> Option<i16> {
        match self {
            Coverage::National(_) => None,
            Coverage::Region(region) => Some(region.region_id()),
        }
    }
}

/// Every national opportunity of the year with how many ICBs chose it and their summed
/// targets and actuals, over the ICBs `coverage` names.
///
/// Each workstream's "to date" runs to its own plan's latest reported month, as on the ICB's
/// dashboard, so these sum to the same totals as the ICB rows.
pub async fn opportunities(
    conn: &mut PgConnection,
    coverage: Coverage<'_>,
    year: &PlanYear,
) -> sqlx::Result<Vec<OpportunityFigures>> {
    let rows = sqlx::query!(
        r#"
        with latest as materialized (
            select f.plan_id, f.latest_month from plan_figures f
            join icb i on i.icb_id = f.icb_id
            where f.programme_year_id = $1 and ($3::smallint is null or i.region_id = $3)
        ),
        chosen as (
            select w.workstream_id, w.icb_id, w.opportunity_id, w.annual_target_pence, w.rag,
                   l.latest_month
            from workstream w
            join latest l on l.plan_id = w.plan_id
            where w.removed_at is null and w.opportunity_id is not null
        )
        select o.number, o.title, o.efficiency_focus,
               count(c.workstream_id) as "icbs!",
               coalesce(sum(c.annual_target_pence), 0)::bigint as "annual_target!",
               coalesce(sum(m.planned_total), 0)::bigint as "planned_total!",
               coalesce(sum(m.target_to_date), 0)::bigint as "target_to_date!",
               coalesce(sum(m.actual_to_date), 0)::bigint as "actual_to_date!",
               count(*) filter (where c.rag = 'red') as "red!",
               count(*) filter (where c.rag = 'amber') as "amber!",
               count(*) filter (where c.rag = 'green') as "green!",
               count(*) filter (where c.workstream_id is not null and c.rag is null) as "not_set!"
        from opportunity o
        left join chosen c on c.opportunity_id = o.opportunity_id
        left join lateral (
            select sum(wm.planned_pence) as planned_total,
                   sum(wm.planned_pence) filter (where wm.month <= c.latest_month) as target_to_date,
                   sum(wm.actual_pence) as actual_to_date
            from workstream_month wm
            where wm.workstream_id = c.workstream_id and wm.icb_id = c.icb_id
              and wm.month >= $2 and wm.month < ($2::date + interval '1 year')::date
        ) m on true
        where o.programme_year_id = $1
        group by o.opportunity_id
        order by o.number
        "#,
        year.programme_year_id,
        year.year.starts_on(),
        coverage.region_id()
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| OpportunityFigures {
            number: r.number,
            title: r.title,
            efficiency_focus: r.efficiency_focus,
            icbs_choosing: r.icbs,
            totals: totals(
                r.annual_target,
                r.planned_total,
                r.target_to_date,
                r.actual_to_date,
            ),
            rag: rag(r.red, r.amber, r.green, r.not_set),
        })
        .collect())
}

/// One region's row of the national roll-up, or the nation's (`region` is `None`).
#[derive(Debug, Clone)]
pub struct RegionFigures {
    /// `(ODS code, name)`; `None` on the national total.
    pub region: Option<(String, String)>,
    pub icbs: i64,
    pub agreed: i64,
    pub submitted: i64,
    pub returned: i64,
    pub draft: i64,
    pub not_started: i64,
    pub under_five: i64,
    pub totals: PlanTotals,
    pub rag: RagCounts,
}

/// The year's figures by region, with the national total last (one grouping-sets aggregate).
pub async fn by_region(
    conn: &mut PgConnection,
    _scope: &NationalAccess,
    year: &PlanYear,
    min_national: i64,
) -> sqlx::Result<Vec<RegionFigures>> {
    let rows = sqlx::query!(
        r#"
        select r.ods_code as "ods_code?", r.name as "name?",
               count(i.icb_id) as "icbs!",
               count(*) filter (where f.status = 'agreed') as "agreed!",
               count(*) filter (where f.status = 'submitted') as "submitted!",
               count(*) filter (where f.status = 'returned') as "returned!",
               count(*) filter (where f.status = 'draft') as "draft!",
               count(*) filter (where f.plan_id is null) as "not_started!",
               count(*) filter (where f.plan_id is not null and f.national_chosen < $4) as "under_five!",
               coalesce(sum(f.annual_target_pence), 0)::bigint as "annual_target!",
               coalesce(sum(f.planned_total_pence), 0)::bigint as "planned_total!",
               coalesce(sum(f.target_to_date_pence), 0)::bigint as "target_to_date!",
               coalesce(sum(f.actual_to_date_pence), 0)::bigint as "actual_to_date!",
               coalesce(sum(f.rag_red), 0)::bigint as "red!",
               coalesce(sum(f.rag_amber), 0)::bigint as "amber!",
               coalesce(sum(f.rag_green), 0)::bigint as "green!",
               coalesce(sum(f.rag_not_set), 0)::bigint as "not_set!"
        from region r
        join icb i on i.region_id = r.region_id
             and i.valid_from <= $3 and (i.valid_to is null or i.valid_to >= $2)
        left join plan_figures f on f.icb_id = i.icb_id and f.programme_year_id = $1
        group by grouping sets ((r.region_id, r.ods_code, r.name), ())
        order by grouping(r.region_id), r.name
        "#,
        year.programme_year_id,
        year.year.starts_on(),
        year.year.ends_on(),
        i32::try_from(min_national).unwrap_or(i32::MAX)
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| RegionFigures {
            region: r.ods_code.zip(r.name),
            icbs: r.icbs,
            agreed: r.agreed,
            submitted: r.submitted,
            returned: r.returned,
            draft: r.draft,
            not_started: r.not_started,
            under_five: r.under_five,
            totals: totals(
                r.annual_target,
                r.planned_total,
                r.target_to_date,
                r.actual_to_date,
            ),
            rag: rag(r.red, r.amber, r.green, r.not_set),
        })
        .collect())
}
