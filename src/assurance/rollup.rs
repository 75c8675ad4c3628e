//! The roll-ups' assurance sections: each ICB's (or region's) requirement, gap and splits with
//! the totals, and the "local priorities" line that makes the table by national opportunity
//! add up to the roll-up's total.

use sqlx::PgConnection;

use super::figures::{self, AssuranceTotals, IcbAssurance, RegionAssurance};
use crate::auth::scope::{NationalAccess, RegionAccess};
use crate::domain::{Month, PlanTotals};
use crate::plan_sums;
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

/// The local priorities of the year's plans over the ICBs `coverage` names, to `to_month`,
/// summed from the same per-workstream figures as the rows of national opportunities
/// (`workstream_figures`, see [`crate::figures`]), so the opportunities and this line add up to
/// the roll-up's totals.
pub async fn local_priorities(
    conn: &mut PgConnection,
    coverage: Coverage<'_>,
    year: &PlanYear,
    to_month: Month,
) -> sqlx::Result<LocalLine> {
    let r = sqlx::query!(
        r#"
        select count(distinct f.icb_id) filter (where not f.removed) as "icbs!",
               count(*) filter (where not f.removed) as "workstreams!",
               sum(f.annual_target_pence)::bigint as annual_target_pence,
               sum(f.planned_total_pence)::bigint as planned_total_pence,
               sum(f.target_to_date_pence)::bigint as target_to_date_pence,
               sum(f.reported_target_to_date_pence)::bigint as reported_target_to_date_pence,
               sum(f.actual_to_date_pence)::bigint as actual_to_date_pence,
               sum(f.planned_after_pence)::bigint as planned_after_pence,
               null::integer as months_in_year, null::integer as months_to_date,
               (count(*) filter (where f.due_in_reporting_month))::integer as workstreams_due,
               (count(*) filter (where f.reported_in_reporting_month))::integer as workstreams_reported,
               count(*) filter (where not f.removed and w.rag = 'red') as "red!"
        from workstream_figures($3) f
        join workstream w on w.workstream_id = f.workstream_id and w.icb_id = f.icb_id
        join icb i on i.icb_id = f.icb_id
        where f.programme_year_id = $1 and f.opportunity_id is null
          and ($2::smallint is null or i.region_id = $2)
        "#,
        year.programme_year_id,
        coverage.region_id(),
        to_month as Month
    )
    .fetch_one(conn)
    .await?;
    Ok(LocalLine {
        icbs: r.icbs,
        workstreams: r.workstreams,
        totals: PlanTotals::from_sums(plan_sums!(r)),
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
    to_month: Month,
) -> sqlx::Result<RegionSection> {
    let icbs = figures::region_icbs(&mut *conn, region, year).await?;
    let local = local_priorities(&mut *conn, Coverage::Region(region), year, to_month).await?;
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
    to_month: Month,
) -> sqlx::Result<NationalSection> {
    let regions = figures::by_region(&mut *conn, national, year).await?;
    let local = local_priorities(&mut *conn, Coverage::National(national), year, to_month).await?;
    // England's figures are the sum of its regions'.
    let total = regions.iter().map(|r| r.totals).sum();
    Ok(NationalSection {
        regions,
        total,
        local,
        opportunities_total: PlanTotals::default(),
    })
}
