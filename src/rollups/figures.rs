//! The SQL behind the roll-ups. Every figure is read from the one definition of a plan's
//! figures (`plan_figures(to_month)` and `workstream_figures(to_month)`, shared with the ICB
//! dashboard and the exports), "to date" running to the same month for every ICB: the
//! reporting month, or the "as at" month chosen. Totals are added up from the ICB rows in Rust
//! (a handful of rows), so a region's total is the sum of its rows and England's the sum of
//! its regions, and each plan's run-rate forecast is its own.
//!
//! Queries take the caller's proof of scope ([`RegionAccess`] or [`NationalAccess`]) and run in
//! the request's scoped transaction, so row-level security filters them again.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

use crate::auth::scope::{NationalAccess, RegionAccess};
use crate::domain::{Month, PlanTotals};
use crate::icbs::PlanStatus;
use crate::plan_sums;
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

/// One ICB's row of a roll-up for a year.
#[derive(Debug, Clone)]
pub struct IcbFigures {
    pub ods_code: String,
    pub name: String,
    pub region_code: String,
    pub region_name: String,
    /// Its last day, if it closed (during or after the year).
    pub closed_on: Option<NaiveDate>,
    /// The ICBs that succeeded it, if it closed (`QZZ`, or `QZY;QZZ` after a split).
    pub successors: Option<String>,
    /// `None` when the ICB has no plan for the year.
    pub status: Option<PlanStatus>,
    pub national_chosen: i64,
    pub local_priorities: i64,
    pub totals: PlanTotals,
    pub rag: RagCounts,
    pub latest_month: Option<NaiveDate>,
    /// The plan's reporting month (its last month, if the ICB closed before the cut-off).
    pub reporting_month: Option<NaiveDate>,
    /// Due months in which a workstream has not reported.
    pub months_overdue: i64,
}

impl Coverage<'_> {
    pub(crate) fn region_id(self) -> Option<i16> {
        match self {
            Coverage::National(_) => None,
            Coverage::Region(region) => Some(region.region_id()),
        }
    }
}

/// Every ICB `coverage` names that existed at some point in the year (or has a plan for it),
/// with its plan's figures to `to_month`, by region and name.
pub async fn icbs(
    conn: &mut PgConnection,
    coverage: Coverage<'_>,
    year: &PlanYear,
    to_month: Month,
) -> sqlx::Result<Vec<IcbFigures>> {
    let rows = sqlx::query!(
        r#"
        select i.ods_code, i.name, i.valid_to, r.ods_code as region_code, r.name as region_name,
               (select string_agg(n.ods_code, ';' order by n.ods_code)
                from icb_succession s join icb n on n.icb_id = s.successor_icb_id
                where s.predecessor_icb_id = i.icb_id) as successors,
               f.status as "status?: PlanStatus",
               f.national_chosen, f.local_priorities,
               f.annual_target_pence, f.planned_total_pence, f.target_to_date_pence,
               f.reported_target_to_date_pence, f.actual_to_date_pence, f.planned_after_pence,
               f.months_in_year, f.months_to_date, f.workstreams_due, f.workstreams_reported,
               f.rag_red, f.rag_amber, f.rag_green, f.rag_not_set,
               f.latest_month, f.reporting_month, f.months_overdue
        from icb i
        join region r on r.region_id = i.region_id
        left join plan_figures($5) f on f.icb_id = i.icb_id and f.programme_year_id = $2
        where ($1::smallint is null or i.region_id = $1)
          and ((i.valid_from <= $4 and (i.valid_to is null or i.valid_to >= $3))
               or f.plan_id is not null)
        order by r.name, i.name
        "#,
        coverage.region_id(),
        year.programme_year_id,
        year.year.starts_on(),
        year.year.ends_on(),
        to_month as Month
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let planned = r.status.is_some();
            IcbFigures {
                totals: if planned {
                    PlanTotals::from_sums(plan_sums!(r))
                } else {
                    PlanTotals::default()
                },
                ods_code: r.ods_code,
                name: r.name,
                region_code: r.region_code,
                region_name: r.region_name,
                closed_on: r.valid_to,
                successors: r.successors,
                status: r.status,
                national_chosen: r.national_chosen.map_or(0, i64::from),
                local_priorities: r.local_priorities.map_or(0, i64::from),
                rag: rag(
                    r.rag_red.map(i64::from),
                    r.rag_amber.map(i64::from),
                    r.rag_green.map(i64::from),
                    r.rag_not_set.map(i64::from),
                ),
                latest_month: r.latest_month,
                reporting_month: r.reporting_month,
                months_overdue: r.months_overdue.map_or(0, i64::from),
            }
        })
        .collect())
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

/// Every national opportunity of the year with how many ICBs chose it and their summed
/// figures to `to_month`, over the ICBs `coverage` names: the sum of the workstreams' own
/// figures, so with the local priorities they add up to the ICBs' totals. A removed
/// workstream's reported savings still count; only live ones count as choosing.
pub async fn opportunities(
    conn: &mut PgConnection,
    coverage: Coverage<'_>,
    year: &PlanYear,
    to_month: Month,
) -> sqlx::Result<Vec<OpportunityFigures>> {
    let rows = sqlx::query!(
        r#"
        with chosen as (
            select f.*, w.rag
            from workstream_figures($3) f
            join workstream w on w.workstream_id = f.workstream_id and w.icb_id = f.icb_id
            join icb i on i.icb_id = f.icb_id
            where f.programme_year_id = $1 and f.opportunity_id is not null
              and ($2::smallint is null or i.region_id = $2)
        )
        select o.number, o.title, o.efficiency_focus,
               count(c.workstream_id) filter (where not c.removed) as "icbs!",
               sum(c.annual_target_pence)::bigint as annual_target_pence,
               sum(c.planned_total_pence)::bigint as planned_total_pence,
               sum(c.target_to_date_pence)::bigint as target_to_date_pence,
               sum(c.reported_target_to_date_pence)::bigint as reported_target_to_date_pence,
               sum(c.actual_to_date_pence)::bigint as actual_to_date_pence,
               sum(c.planned_after_pence)::bigint as planned_after_pence,
               null::integer as months_in_year, null::integer as months_to_date,
               (count(*) filter (where c.due_in_reporting_month))::integer as workstreams_due,
               (count(*) filter (where c.reported_in_reporting_month))::integer as workstreams_reported,
               count(*) filter (where not c.removed and c.rag = 'red') as "red!",
               count(*) filter (where not c.removed and c.rag = 'amber') as "amber!",
               count(*) filter (where not c.removed and c.rag = 'green') as "green!",
               count(*) filter (where not c.removed and c.rag is null) as "not_set!"
        from opportunity o
        left join chosen c on c.opportunity_id = o.opportunity_id
        where o.programme_year_id = $1
        group by o.opportunity_id
        order by o.number
        "#,
        year.programme_year_id,
        coverage.region_id(),
        to_month as Month
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| OpportunityFigures {
            totals: PlanTotals::from_sums(plan_sums!(r)),
            number: r.number,
            title: r.title,
            efficiency_focus: r.efficiency_focus,
            icbs_choosing: r.icbs,
            rag: rag(r.red, r.amber, r.green, r.not_set),
        })
        .collect())
}

/// One region's row of the national roll-up, or the nation's (`region` is `None`): the sum of
/// its ICBs' rows.
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

impl RegionFigures {
    /// The sum of `icbs` under `region`.
    pub fn of(region: Option<(String, String)>, icbs: &[&IcbFigures], min_national: i64) -> Self {
        let count = |f: &dyn Fn(&IcbFigures) -> bool| icbs.iter().filter(|i| f(i)).count() as i64;
        let status = |s: PlanStatus| count(&|i: &IcbFigures| i.status == Some(s));
        RegionFigures {
            region,
            icbs: icbs.len() as i64,
            agreed: status(PlanStatus::Agreed),
            submitted: status(PlanStatus::Submitted),
            returned: status(PlanStatus::Returned),
            draft: status(PlanStatus::Draft),
            not_started: count(&|i: &IcbFigures| i.status.is_none()),
            under_five: count(&|i: &IcbFigures| {
                i.status.is_some() && i.national_chosen < min_national
            }),
            totals: icbs.iter().map(|i| i.totals).sum(),
            rag: icbs.iter().map(|i| i.rag).sum(),
        }
    }
}

/// The year's figures by region, with the national total last.
pub async fn by_region(
    conn: &mut PgConnection,
    scope: &NationalAccess,
    year: &PlanYear,
    to_month: Month,
    min_national: i64,
) -> sqlx::Result<(Vec<RegionFigures>, Vec<IcbFigures>)> {
    let icbs = icbs(conn, Coverage::National(scope), year, to_month).await?;
    let mut regions: Vec<RegionFigures> = Vec::new();
    let mut codes: Vec<(String, String)> = Vec::new();
    for i in &icbs {
        if !codes.iter().any(|(c, _)| *c == i.region_code) {
            codes.push((i.region_code.clone(), i.region_name.clone()));
        }
    }
    for (code, name) in codes {
        let mine: Vec<&IcbFigures> = icbs.iter().filter(|i| i.region_code == code).collect();
        regions.push(RegionFigures::of(Some((code, name)), &mine, min_national));
    }
    let all: Vec<&IcbFigures> = icbs.iter().collect();
    regions.push(RegionFigures::of(None, &all, min_national));
    Ok((regions, icbs))
}
