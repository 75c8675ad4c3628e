//! Figures restated on today's organisations: after a merger, a year before it shows the
//! successor with the sum of its predecessors' plans; after a split, the old ICB's figures are
//! shown under every successor, with a note, and counted once in any total. "As recorded"
//! (each plan under the ICB that made it) stays the default everywhere.
//!
//! The database maps every ICB to the ICBs that carry on its work today
//! (`icb_successors_on(today)`); the grouping itself is pure ([`crate::domain::restate`]).

use chrono::NaiveDate;
use sqlx::PgConnection;

use crate::domain::{Month, PlanTotals, Restated, restate, restated_total};
use crate::plan_sums;

/// An ICB's plan for the year, as recorded, with its figures.
#[derive(Debug, Clone)]
pub struct Source {
    pub icb_id: i32,
    pub ods_code: String,
    pub name: String,
    pub totals: PlanTotals,
}

/// One of today's organisations (or an ICB that closed with no successor recorded).
#[derive(Debug, Clone)]
pub struct TodayIcb {
    pub icb_id: i32,
    pub ods_code: String,
    pub name: String,
    pub region_id: i16,
    pub region_code: String,
    pub closed_on: Option<NaiveDate>,
}

/// A year's plans and where their work is today.
#[derive(Debug, Clone, Default)]
pub struct RestatedYear {
    pub sources: Vec<Source>,
    /// (ICB, the ICB carrying on its work today).
    pub carried_by: Vec<(i32, i32)>,
    /// Today's ICBs (and closed ICBs with no successor) the year's plans map to, and every
    /// ICB open today, in name order.
    pub today: Vec<TodayIcb>,
}

/// One row restated: today's ICB with its figures and where they come from.
#[derive(Debug, Clone)]
pub struct RestatedRow {
    pub icb: TodayIcb,
    pub restated: Restated,
    /// The sources' codes and names, for the note ("QKK and QMF").
    pub sources: Vec<(String, String)>,
    /// Sources shown under another row too (a split), by name.
    pub shared: Vec<String>,
}

impl RestatedYear {
    /// The plans of the programme year `programme_year_id` the caller may read, to `to_month`,
    /// on the organisations of `today`.
    pub async fn load(
        conn: &mut PgConnection,
        programme_year_id: i16,
        to_month: Month,
        today: NaiveDate,
    ) -> sqlx::Result<Self> {
        let sources = sqlx::query!(
            r#"
            select i.icb_id, i.ods_code, i.name,
                   f.annual_target_pence, f.planned_total_pence, f.target_to_date_pence,
                   f.reported_target_to_date_pence, f.actual_to_date_pence, f.planned_after_pence,
                   f.months_in_year, f.months_to_date, f.workstreams_due, f.workstreams_reported
            from plan_figures($1) f
            join icb i on i.icb_id = f.icb_id
            where f.programme_year_id = $2
            order by i.name
            "#,
            to_month as Month,
            programme_year_id
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| Source {
            totals: PlanTotals::from_sums(plan_sums!(r)),
            icb_id: r.icb_id,
            ods_code: r.ods_code,
            name: r.name,
        })
        .collect();
        let carried_by = sqlx::query!(
            r#"select icb_id as "icb_id!", current_icb_id as "current!" from icb_successors_on($1)"#,
            today
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.icb_id, r.current))
        .collect();
        let today_icbs = sqlx::query_as!(
            TodayIcb,
            r#"
            select i.icb_id, i.ods_code, i.name, i.region_id, r.ods_code as region_code,
                   i.valid_to as closed_on
            from icb i
            join region r on r.region_id = i.region_id
            where i.valid_to is null or i.valid_to >= $1
               or i.icb_id in (select current_icb_id from icb_successors_on($1))
                  and i.icb_id in (select p.icb_id from plan p where p.programme_year_id = $2)
            order by i.name
            "#,
            today,
            programme_year_id
        )
        .fetch_all(conn)
        .await?;
        Ok(RestatedYear {
            sources,
            carried_by,
            today: today_icbs,
        })
    }

    fn source_totals(&self) -> Vec<(i32, PlanTotals)> {
        self.sources.iter().map(|s| (s.icb_id, s.totals)).collect()
    }

    /// Today's ICBs chosen by `keep` (a region's, one ICB), each with its sources' figures,
    /// and their total (every source once).
    pub fn rows(&self, keep: impl Fn(&TodayIcb) -> bool) -> (Vec<RestatedRow>, PlanTotals) {
        let today: Vec<&TodayIcb> = self.today.iter().filter(|i| keep(i)).collect();
        let ids: Vec<i32> = today.iter().map(|i| i.icb_id).collect();
        let sources = self.source_totals();
        let restated = restate(&ids, &sources, &self.carried_by);
        let total = restated_total(&restated, &sources);
        let name_of = |id: i32| self.sources.iter().find(|s| s.icb_id == id);
        let rows = today
            .into_iter()
            .zip(restated)
            .map(|(icb, restated)| RestatedRow {
                sources: restated
                    .sources
                    .iter()
                    .filter_map(|id| name_of(*id))
                    .map(|s| (s.ods_code.clone(), s.name.clone()))
                    .collect(),
                shared: restated
                    .shared
                    .iter()
                    .filter_map(|id| name_of(*id))
                    .map(|s| s.name.clone())
                    .collect(),
                icb: icb.clone(),
                restated,
            })
            .collect();
        (rows, total)
    }

    /// The ICBs that carry on `icb_id`'s work today, other than itself.
    pub fn carried_on_by(&self, icb_id: i32) -> Vec<&TodayIcb> {
        self.carried_by
            .iter()
            .filter(|(source, current)| *source == icb_id && *current != icb_id)
            .filter_map(|(_, current)| self.today.iter().find(|t| t.icb_id == *current))
            .collect()
    }
}
