//! The roll-ups' assurance sections: each ICB's (or region's) requirement, gap and splits with
//! the totals, and the "local priorities" line that makes the table by national opportunity
//! add up to the roll-up's total.

use sqlx::PgConnection;

use super::figures::{self, AssuranceTotals, IcbAssurance, RegionAssurance};
use crate::auth::scope::{NationalAccess, RegionAccess};
use crate::domain::{Pence, PlanTotals};
use crate::plans::context::PlanYear;
use crate::rollups::Coverage;

/// The local priorities of the plans a roll-up covers, summed like an opportunity's row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LocalLine {
    /// ICBs with at least one local priority.
    pub icbs: i64,
    pub workstreams: i64,
    pub totals: PlanTotals,
    pub red: i64,
}

/// The local priorities of the year's plans over the ICBs `coverage` names. As in the rows of
/// national opportunities, each workstream's "to date" runs to its own plan's latest reported
/// month (`plan_figures`), so the opportunities and this line add up to the roll-up's totals.
pub async fn local_priorities(
    conn: &mut PgConnection,
    coverage: Coverage<'_>,
    year: &PlanYear,
) -> sqlx::Result<LocalLine> {
    let region_id = match coverage {
        Coverage::National(_) => None,
        Coverage::Region(region) => Some(region.region_id()),
    };
    let r = sqlx::query!(
        r#"
        with latest as materialized (
            select f.plan_id, f.latest_month from plan_figures f
            join icb i on i.icb_id = f.icb_id
            where f.programme_year_id = $1 and ($3::smallint is null or i.region_id = $3)
        )
        select count(distinct w.icb_id) as "icbs!", count(w.workstream_id) as "workstreams!",
               coalesce(sum(w.annual_target_pence), 0)::bigint as "annual_target!",
               coalesce(sum(m.planned_total), 0)::bigint as "planned_total!",
               coalesce(sum(m.target_to_date), 0)::bigint as "target_to_date!",
               coalesce(sum(m.actual_to_date), 0)::bigint as "actual_to_date!",
               count(*) filter (where w.rag = 'red') as "red!"
        from workstream w
        join latest l on l.plan_id = w.plan_id
        left join lateral (
            select sum(wm.planned_pence) as planned_total,
                   sum(wm.planned_pence) filter (where wm.month <= l.latest_month) as target_to_date,
                   sum(wm.actual_pence) as actual_to_date
            from workstream_month wm
            where wm.workstream_id = w.workstream_id and wm.icb_id = w.icb_id
              and wm.month >= $2 and wm.month < ($2::date + interval '1 year')::date
        ) m on true
        where w.removed_at is null and w.opportunity_id is null
        "#,
        year.programme_year_id,
        year.year.starts_on(),
        region_id
    )
    .fetch_one(conn)
    .await?;
    Ok(LocalLine {
        icbs: r.icbs,
        workstreams: r.workstreams,
        totals: PlanTotals {
            annual_target: Pence(r.annual_target),
            planned_total: Pence(r.planned_total),
            target_to_date: Pence(r.target_to_date),
            actual_to_date: Pence(r.actual_to_date),
        },
        red: r.red,
    })
}

/// A region roll-up's assurance section: a row per ICB and the region's total.
#[derive(Debug, Clone)]
pub struct RegionSection {
    pub rows: Vec<IcbAssuranceRow>,
    pub total: AssuranceTotals,
    pub local: LocalLine,
    /// The table by opportunity's rows and the local line, summed (set by the roll-up).
    pub opportunities_total: PlanTotals,
}

/// An ICB's row, with its dashboard's address.
#[derive(Debug, Clone)]
pub struct IcbAssuranceRow {
    pub icb: IcbAssurance,
    pub short_name: String,
    pub href: String,
}

/// The region's section for the year.
pub async fn region_section(
    conn: &mut PgConnection,
    region: &RegionAccess,
    year: &PlanYear,
) -> sqlx::Result<RegionSection> {
    let icbs = figures::region_icbs(&mut *conn, region, year).await?;
    let local = local_priorities(&mut *conn, Coverage::Region(region), year).await?;
    let total = icbs.iter().map(|i| i.totals).sum();
    let rows = icbs
        .into_iter()
        .map(|icb| IcbAssuranceRow {
            short_name: crate::rollups::short_icb_name(&icb.name).to_owned(),
            href: format!("/icbs/{}/{}/assurance", icb.ods_code, year.year.slug()),
            icb,
        })
        .collect();
    Ok(RegionSection {
        rows,
        total,
        local,
        opportunities_total: PlanTotals::default(),
    })
}

/// The national roll-up's section: a row per region, then England.
#[derive(Debug, Clone)]
pub struct NationalSection {
    pub regions: Vec<RegionAssurance>,
    pub total: AssuranceTotals,
    pub local: LocalLine,
    /// The table by opportunity's rows and the local line, summed (set by the roll-up).
    pub opportunities_total: PlanTotals,
}

impl RegionAssurance {
    /// The region's name.
    pub fn name(&self) -> &str {
        self.region.as_ref().map_or("England", |(_, n)| n.as_str())
    }
}

/// The nation's section for the year.
pub async fn national_section(
    conn: &mut PgConnection,
    national: &NationalAccess,
    year: &PlanYear,
) -> sqlx::Result<NationalSection> {
    let regions = figures::by_region(&mut *conn, national, year).await?;
    let local = local_priorities(&mut *conn, Coverage::National(national), year).await?;
    // England's figures are the sum of its regions'.
    let total = regions.iter().map(|r| r.totals).sum();
    Ok(NationalSection {
        regions,
        total,
        local,
        opportunities_total: PlanTotals::default(),
    })
}
