//! `medopt demo`: a realistic synthetic dataset, for demonstrations and, at national scale,
//! for benchmarks.
//!
//! [`DemoSpec`] says what to make (which years, how many workstreams and measures, a seed);
//! [`generate`] plans it without I/O (the same seed gives the same data); [`load`] writes it
//! in one transaction with a few bulk statements and makes one demo account per role.
//!
//! The loader is an operator command: it runs on the pool as the connection's role (like
//! [`crate::reference::load`]), not in a request's scope. It never overwrites real data: if an
//! ICB already has a plan for a year the demo wants and that plan is not the demo's own
//! (recorded in `demo_dataset`), it refuses and changes nothing. Loading again leaves the
//! demo's own plans as they are, so a second run changes no data; it only resets the demo
//! accounts' passwords. While `demo_dataset` has rows, every page says the data is synthetic.

mod accounts;
pub mod generate;
mod store;
mod text;

use std::collections::HashSet;
use std::fmt;
use std::ops::RangeInclusive;

use chrono::NaiveDate;
use serde_json::json;
use sqlx::PgPool;

use crate::audit::{self, Actor, AuditEvent};
use crate::domain::FinancialYear;

pub use accounts::{DemoAccount, DemoTwoStep};
pub use generate::{Catalogues, DemoIcb, DemoOpportunity, PlanData, generate};

/// What dataset to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSpec {
    /// Programme years with plans. Years not in the database yet are created with a copy of
    /// the latest year's catalogue. Only ICBs that existed in a year get a plan for it.
    pub years: Vec<FinancialYear>,
    /// National opportunities chosen per plan.
    pub national_per_plan: RangeInclusive<usize>,
    /// Local priorities per plan.
    pub local_per_plan: RangeInclusive<usize>,
    /// Outcome measures per workstream (a lower bound of 0 leaves some without).
    pub measures_per_workstream: RangeInclusive<usize>,
    /// Whether a few draft plans have chosen fewer than five national opportunities so far
    /// (with few figures), as real drafts have.
    pub incomplete_drafts: bool,
    /// Whether some ICBs have not yet reported the latest months of the most recent year.
    pub late_reporting: bool,
    /// ODS code of the ICB whose demo accounts are made (the reviewer gets its region); its
    /// plans are agreed and complete. `None`: no accounts.
    pub accounts_icb: Option<String>,
    /// The same seed gives the same data.
    pub seed: u64,
}

/// The seed both specs use unless told otherwise.
const DEFAULT_SEED: u64 = 2023;
/// The first programme year (2023/24) the demo covers.
const FIRST_YEAR: i32 = 2023;

impl DemoSpec {
    /// The demo as of `today`: every programme year from 2023/24 to the current one (each ICB
    /// in the years it existed), 5–9 national opportunities and 1–3 local priorities per plan,
    /// up to two measures per workstream, plans in every state, some late reporting, demo
    /// accounts for NHS Lancashire and South Cumbria ICB (QE1) and the North West.
    pub fn demo(today: NaiveDate) -> Self {
        let current = FinancialYear::containing(today).start_year();
        Self {
            years: years(FIRST_YEAR..=current.max(FIRST_YEAR)),
            national_per_plan: 5..=9,
            local_per_plan: 1..=3,
            measures_per_workstream: 0..=2,
            incomplete_drafts: true,
            late_reporting: true,
            accounts_icb: Some("QE1".into()),
            seed: DEFAULT_SEED,
        }
    }

    /// For benchmarks: every ICB in five programme years (2023/24 to 2027/28), 12 workstreams
    /// each (10 national, 2 local), two measures per workstream, and every month's figures
    /// up to the `today` given to [`load`]. A year that has not begun by then has draft plans
    /// with targets and no figures.
    pub fn national_scale() -> Self {
        Self {
            years: years(FIRST_YEAR..=2027),
            national_per_plan: 10..=10,
            local_per_plan: 2..=2,
            measures_per_workstream: 2..=2,
            incomplete_drafts: false,
            late_reporting: false,
            accounts_icb: Some("QE1".into()),
            seed: DEFAULT_SEED,
        }
    }
}

impl DemoSpec {
    /// Refuses a spec that cannot make sense: no years, or a range with nothing in it.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.years.is_empty(),
            "the demo spec names no programme year"
        );
        for (what, range) in [
            ("national opportunities per plan", &self.national_per_plan),
            ("local priorities per plan", &self.local_per_plan),
            ("measures per workstream", &self.measures_per_workstream),
        ] {
            anyhow::ensure!(!range.is_empty(), "the demo spec's {what} range is empty");
        }
        Ok(())
    }
}

fn years(start_years: RangeInclusive<i32>) -> Vec<FinancialYear> {
    start_years.filter_map(FinancialYear::starting).collect()
}

/// What [`load`] did.
#[derive(Debug, Clone, Default)]
pub struct DemoReport {
    /// The demo dataset was there before this run (its plans were left as they were).
    pub already_loaded: bool,
    /// Programme years created for the demo (each with a copy of the latest catalogue).
    pub years_created: Vec<FinancialYear>,
    /// Different ICBs among the plans created now.
    pub icbs: usize,
    /// Plans created now.
    pub plans: usize,
    /// The demo's own plans from an earlier run, left as they were.
    pub plans_kept: usize,
    pub workstreams: usize,
    /// Workstream-months (phasing and actuals).
    pub months: usize,
    /// Workstream-months with an actual saving.
    pub actuals: usize,
    pub updates: usize,
    pub measures: usize,
    pub measure_values: usize,
    /// The demo accounts with their new passwords (to print once, never to log).
    pub accounts: Vec<DemoAccount>,
}

impl DemoReport {
    fn count(&mut self, plans: &[PlanData]) {
        let icbs: HashSet<i32> = plans.iter().map(|p| p.icb_id).collect();
        self.icbs = icbs.len();
        self.plans = plans.len();
        for ws in plans.iter().flat_map(|p| &p.workstreams) {
            self.workstreams += 1;
            self.months += ws.months.len();
            self.actuals += ws
                .months
                .iter()
                .filter(|m| m.actual_pence.is_some())
                .count();
            self.updates += ws.updates.len();
            self.measures += ws.measures.len();
            self.measure_values += ws.measures.iter().map(|m| m.values.len()).sum::<usize>();
        }
    }
}

/// The demo would overwrite plans that are not its own; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealPlansExist {
    /// `ODS year`, e.g. `QE1 2024/25`, sorted.
    pub plans: Vec<String>,
}

impl fmt::Display for RealPlansExist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 5;
        let shown = self.plans[..self.plans.len().min(SHOWN)].join(", ");
        let more = self.plans.len().saturating_sub(SHOWN);
        write!(
            f,
            "refusing to load the demo dataset: {} real plan{} already exist{} for ICB-years the \
             demo would create ({shown}{}). The demo never overwrites real data; load it into \
             an empty database instead",
            self.plans.len(),
            if self.plans.len() == 1 { "" } else { "s" },
            if self.plans.len() == 1 { "s" } else { "" },
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )
    }
}

impl std::error::Error for RealPlansExist {}

/// Loads the dataset `spec` describes, as of `today` (months that ended before it have
/// actuals; no timestamp is later), in one transaction, and makes or resets the demo
/// accounts. Fails with [`RealPlansExist`] (changing nothing) if an ICB-year it wants
/// already has a plan that is not the demo's own.
pub async fn load(pool: &PgPool, spec: &DemoSpec, today: NaiveDate) -> anyhow::Result<DemoReport> {
    spec.check()?;
    let mut tx = pool.begin().await?;
    store::begin_load(&mut tx).await?;
    let mut report = DemoReport {
        already_loaded: store::demo_loaded(&mut tx).await?,
        years_created: store::ensure_years(&mut tx, &spec.years).await?,
        ..DemoReport::default()
    };
    let icbs = store::icbs(&mut tx).await?;
    let catalogues = store::catalogues(&mut tx, &spec.years).await?;
    let existing = store::existing_plans(&mut tx, &spec.years).await?;
    let real: Vec<String> = existing
        .iter()
        .filter(|p| !p.demo)
        .map(|p| format!("{} {}", p.ods_code, p.year))
        .collect();
    if !real.is_empty() {
        return Err(RealPlansExist { plans: real }.into());
    }
    let skip: HashSet<(i32, FinancialYear)> = existing.iter().map(|p| (p.icb_id, p.year)).collect();
    report.plans_kept = skip.len();
    let plans = generate(spec, &icbs, &catalogues, &skip, today);
    report.count(&plans);
    store::write(&mut tx, &plans, spec.seed).await?;
    if let Some(icb) = &spec.accounts_icb {
        report.accounts = accounts::ensure(&mut tx, icb).await?;
    }
    let event = AuditEvent::new("demo.loaded").details(json!({
        "seed": spec.seed,
        "plans_created": report.plans,
        "plans_kept": report.plans_kept,
        "years_created": report.years_created.iter().map(ToString::to_string).collect::<Vec<_>>(),
    }));
    audit::record(&mut tx, &Actor::default(), event).await?;
    tx.commit().await?;
    store::analyze(pool).await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_specs_make_sense_and_empty_ranges_are_refused() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        assert!(DemoSpec::demo(today).check().is_ok());
        assert!(DemoSpec::national_scale().check().is_ok());
        let empty = DemoSpec {
            #[expect(clippy::reversed_empty_ranges, reason = "the point of the test")]
            local_per_plan: 3..=1,
            ..DemoSpec::demo(today)
        };
        assert!(empty.check().is_err());
        let no_years = DemoSpec {
            years: Vec::new(),
            ..DemoSpec::demo(today)
        };
        assert!(no_years.check().is_err());
    }

    #[test]
    fn the_demo_runs_from_2023_24_to_the_current_year() {
        let slugs = |y, m, d| {
            let today = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            DemoSpec::demo(today)
                .years
                .iter()
                .map(|y| y.slug())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            slugs(2026, 11, 30),
            ["2023-24", "2024-25", "2025-26", "2026-27"]
        );
        assert_eq!(slugs(2026, 3, 31), ["2023-24", "2024-25", "2025-26"]);
        assert_eq!(slugs(2023, 5, 1), ["2023-24"]);
    }

    #[test]
    fn the_refusal_names_the_first_plans_and_counts_the_rest() {
        let plans: Vec<String> = (1..=7).map(|i| format!("Q0{i} 2024/25")).collect();
        let message = RealPlansExist { plans }.to_string();
        assert!(message.contains("7 real plans already exist"));
        assert!(message.contains("Q05 2024/25 and 2 more"));
        assert!(!message.contains("Q06"));
    }
}
