//! Headline figures: one plan's (or workstream's) sums as the database makes them
//! (`plan_figures`, `workstream_figures`), the figures derived from them, and the total of many
//! (a region, the nation, an opportunity).
//!
//! Every derived figure is defined here once, from the sums, so a dashboard, a roll-up and an
//! export cannot disagree:
//! - variance and % of target to date compare the actuals with the target **of the months
//!   reported**: a workstream that has not reported a due month is "not reported" (its target
//!   for that month is shown apart), never "£0 delivered";
//! - the forecast outturn is the actual to date plus the phased target of the months not yet
//!   due: a due month nobody reported adds nothing, and a finished year's forecast is its
//!   actual outturn;
//! - totals are sums of the rows beneath them and percentages are of the sums (never an
//!   average of percentages); the run-rate forecast of a total is the sum of its plans'.

use std::iter::Sum;
use std::ops::Add;

use super::{Pence, progress};

/// The headline figures of one plan (or workstream), or the sum of several.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanTotals {
    /// The annual target of the months that count (the ICB existed; the workstream is live,
    /// or was removed but reported the month).
    pub annual_target: Pence,
    /// The phased target over the months that count.
    pub planned_total: Pence,
    /// The phased target from April to the reporting (or "as at") month.
    pub target_to_date: Pence,
    /// The part of `target_to_date` whose months have an actual reported.
    pub reported_target_to_date: Pence,
    /// The actuals reported from April to the reporting month.
    pub actual_to_date: Pence,
    /// The phased target of the months after the reporting month.
    pub planned_after: Pence,
    /// The run-rate forecast ([`progress::run_rate`]); summed over plans.
    pub run_rate_forecast: Option<Pence>,
    /// Workstreams that count in the reporting month.
    pub workstreams_due: i64,
    /// Those of them with an actual reported for it.
    pub workstreams_reported: i64,
}

/// The sums a plan's (or a workstream's) figures are made from, as the database returns them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sums {
    pub annual_target: i64,
    pub planned_total: i64,
    pub target_to_date: i64,
    pub reported_target_to_date: i64,
    pub actual_to_date: i64,
    pub planned_after: i64,
    /// Months of the year in which the ICB existed, and those up to the reporting month: for
    /// the run-rate forecast.
    pub months_in_year: i32,
    pub months_to_date: i32,
    pub workstreams_due: i32,
    pub workstreams_reported: i32,
}

impl PlanTotals {
    /// One plan's (or workstream's) figures from its sums.
    pub fn from_sums(s: Sums) -> Self {
        let months = |n: i32| u32::try_from(n).unwrap_or(0);
        PlanTotals {
            annual_target: Pence(s.annual_target),
            planned_total: Pence(s.planned_total),
            target_to_date: Pence(s.target_to_date),
            reported_target_to_date: Pence(s.reported_target_to_date),
            actual_to_date: Pence(s.actual_to_date),
            planned_after: Pence(s.planned_after),
            run_rate_forecast: progress::run_rate(
                Pence(s.actual_to_date),
                months(s.months_to_date),
                months(s.months_in_year),
            ),
            workstreams_due: i64::from(s.workstreams_due),
            workstreams_reported: i64::from(s.workstreams_reported),
        }
    }

    /// `actual_to_date` minus the target of the months reported: positive is ahead of plan.
    pub fn variance(&self) -> Pence {
        self.actual_to_date - self.reported_target_to_date
    }

    /// The target of due months that have no actual yet.
    pub fn not_reported_target(&self) -> Pence {
        self.target_to_date - self.reported_target_to_date
    }

    /// The actual to date as a whole percentage of the target of the months reported (`None`
    /// when that is zero).
    pub fn percent_of_target(&self) -> Option<i64> {
        progress::percent_of(self.actual_to_date, self.reported_target_to_date)
    }

    /// The actual to date as a whole percentage of the annual target.
    pub fn percent_of_annual_target(&self) -> Option<i64> {
        progress::percent_of(self.actual_to_date, self.annual_target)
    }

    /// The actual to date plus the phased target of the months not yet due.
    pub fn forecast_outturn(&self) -> Pence {
        self.actual_to_date + self.planned_after
    }

    /// The forecast outturn less the annual target: negative is short of it.
    pub fn forecast_vs_annual_target(&self) -> Pence {
        self.forecast_outturn() - self.annual_target
    }

    /// Workstreams due in the reporting month that have not reported it.
    pub fn workstreams_not_reported(&self) -> i64 {
        self.workstreams_due - self.workstreams_reported
    }
}

impl Add for PlanTotals {
    type Output = PlanTotals;

    fn add(self, other: PlanTotals) -> PlanTotals {
        PlanTotals {
            annual_target: self.annual_target + other.annual_target,
            planned_total: self.planned_total + other.planned_total,
            target_to_date: self.target_to_date + other.target_to_date,
            reported_target_to_date: self.reported_target_to_date + other.reported_target_to_date,
            actual_to_date: self.actual_to_date + other.actual_to_date,
            planned_after: self.planned_after + other.planned_after,
            run_rate_forecast: match (self.run_rate_forecast, other.run_rate_forecast) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            },
            workstreams_due: self.workstreams_due + other.workstreams_due,
            workstreams_reported: self.workstreams_reported + other.workstreams_reported,
        }
    }
}

impl Sum for PlanTotals {
    fn sum<I: Iterator<Item = PlanTotals>>(iter: I) -> PlanTotals {
        iter.fold(PlanTotals::default(), Add::add)
    }
}

impl<'a> Sum<&'a PlanTotals> for PlanTotals {
    fn sum<I: Iterator<Item = &'a PlanTotals>>(iter: I) -> PlanTotals {
        iter.copied().sum()
    }
}

/// How far the whole pounds of `rows`, each rounded as shown, add up away from their total
/// rounded as shown: `0` when a reader adding up the column gets the total. A total is always
/// the rounded sum, never the sum of rounded rows, so a column of several rows can be a pound
/// or two out; the pages say so in a note when it is.
pub fn rounding_gap(rows: impl IntoIterator<Item = Pence>, total: Pence) -> i64 {
    let rows: i64 = rows.into_iter().map(whole_pounds).sum();
    rows - whole_pounds(total)
}

/// Whole pounds as [`Pence`]'s display rounds them (half away from zero).
pub fn whole_pounds(p: Pence) -> i64 {
    let pounds = i64::try_from((p.0.unsigned_abs() + 50) / 100).unwrap_or(i64::MAX);
    if p.0 < 0 { -pounds } else { pounds }
}

/// The note shown under a table whose rounded rows do not add up to its rounded total.
pub fn rounding_note(gaps: &[(&str, i64)]) -> Option<String> {
    let parts: Vec<String> = gaps
        .iter()
        .filter(|(_, gap)| *gap != 0)
        .map(|(column, gap)| {
            let side = if *gap > 0 { "more" } else { "less" };
            format!("{column} add up to £{} {side} than the total", gap.abs())
        })
        .collect();
    (!parts.is_empty()).then(|| {
        format!(
            "Figures are rounded to the nearest pound and totals are rounded from the exact sums, so the rows may not add up exactly: {}.",
            parts.join("; ")
        )
    })
}

/// The note for a table of `rows` whose total is `total`, when its rounded annual targets,
/// targets to date, actuals to date or forecasts do not add up to the rounded total.
pub fn totals_note<'a>(
    rows: impl Iterator<Item = &'a PlanTotals> + Clone,
    total: &PlanTotals,
) -> Option<String> {
    let gap = |f: fn(&PlanTotals) -> Pence| rounding_gap(rows.clone().map(f), f(total));
    rounding_note(&[
        ("The annual targets", gap(|t| t.annual_target)),
        ("The targets to date", gap(|t| t.target_to_date)),
        ("The actuals to date", gap(|t| t.actual_to_date)),
        ("The forecasts", gap(PlanTotals::forecast_outturn)),
    ])
}

/// Figures restated on today's organisations: each source (an ICB's plan, by id) is counted
/// under every ICB that carries on its work today (`carried_by`: source → today's ICB).
#[derive(Debug, Clone, PartialEq)]
pub struct Restated {
    /// Today's ICB.
    pub icb_id: i32,
    /// The sum of its sources' figures.
    pub totals: PlanTotals,
    /// Its sources (itself included, if it has a plan).
    pub sources: Vec<i32>,
    /// Sources also counted under another of today's ICBs (a split).
    pub shared: Vec<i32>,
}

/// Groups `sources` under today's ICBs `rows` (in the order given); a source split between
/// several of today's ICBs is counted under each of them and marked as shared. Sources whose
/// today's ICB is not among `rows` are left out (they belong to another region's page).
pub fn restate(
    rows: &[i32],
    sources: &[(i32, PlanTotals)],
    carried_by: &[(i32, i32)],
) -> Vec<Restated> {
    let successors = |source: i32| carried_by.iter().filter(move |(s, _)| *s == source);
    rows.iter()
        .map(|&icb_id| {
            let mine: Vec<&(i32, PlanTotals)> = sources
                .iter()
                .filter(|(source, _)| successors(*source).any(|(_, current)| *current == icb_id))
                .collect();
            Restated {
                icb_id,
                totals: mine.iter().map(|(_, t)| *t).sum(),
                sources: mine.iter().map(|(s, _)| *s).collect(),
                shared: mine
                    .iter()
                    .filter(|(s, _)| successors(*s).count() > 1)
                    .map(|(s, _)| *s)
                    .collect(),
            }
        })
        .collect()
}

/// The total of restated rows: every source counted once, however many rows show it.
pub fn restated_total(rows: &[Restated], sources: &[(i32, PlanTotals)]) -> PlanTotals {
    sources
        .iter()
        .filter(|(source, _)| rows.iter().any(|r| r.sources.contains(source)))
        .map(|(_, totals)| *totals)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(annual: i64, to_date: i64, reported: i64, actual: i64, after: i64) -> PlanTotals {
        PlanTotals {
            annual_target: Pence(annual),
            planned_total: Pence(annual),
            target_to_date: Pence(to_date),
            reported_target_to_date: Pence(reported),
            actual_to_date: Pence(actual),
            planned_after: Pence(after),
            run_rate_forecast: None,
            workstreams_due: 0,
            workstreams_reported: 0,
        }
    }

    #[test]
    fn derived_figures_compare_with_the_months_reported() {
        // £12,000 a year; £4,000 due to date of which £3,000 reported; £2,800 saved.
        let t = totals(1_200_000, 400_000, 300_000, 280_000, 800_000);
        assert_eq!(t.variance(), Pence(-20_000));
        assert_eq!(t.not_reported_target(), Pence(100_000));
        assert_eq!(t.percent_of_target(), Some(93));
        assert_eq!(t.percent_of_annual_target(), Some(23));
        // The unreported due month adds nothing to the forecast.
        assert_eq!(t.forecast_outturn(), Pence(1_080_000));
        assert_eq!(t.forecast_vs_annual_target(), Pence(-120_000));
        assert_eq!(totals(0, 0, 0, 0, 0).percent_of_target(), None);
    }

    #[test]
    fn a_plans_figures_come_from_its_sums() {
        let t = PlanTotals::from_sums(Sums {
            annual_target: 1_200_000,
            actual_to_date: 350_000,
            months_to_date: 7,
            months_in_year: 12,
            workstreams_due: 7,
            workstreams_reported: 3,
            ..Sums::default()
        });
        assert_eq!(t.run_rate_forecast, Some(Pence(600_000)));
        assert_eq!(t.workstreams_not_reported(), 4);
        let none_due = PlanTotals::from_sums(Sums::default());
        assert_eq!(none_due.run_rate_forecast, None);
    }

    #[test]
    fn totals_add_and_percent_is_of_the_sums() {
        let mut a = totals(100, 50, 50, 100, 50);
        a.run_rate_forecast = Some(Pence(200));
        let b = totals(300, 150, 150, 0, 150);
        let sum: PlanTotals = [a, b].iter().sum();
        assert_eq!(sum.annual_target, Pence(400));
        assert_eq!(sum.reported_target_to_date, Pence(200));
        assert_eq!(sum.actual_to_date, Pence(100));
        assert_eq!(sum.run_rate_forecast, Some(Pence(200)));
        // 50% of the summed target, not the average of 200% and 0%.
        assert_eq!(sum.percent_of_target(), Some(50));
        assert_eq!(
            sum.forecast_outturn(),
            a.forecast_outturn() + b.forecast_outturn()
        );
    }

    #[test]
    fn rounding_gaps_are_between_the_rounded_rows_and_the_rounded_total() {
        // £0.50 three times: each row shows £1, the total £2 (from £1.50).
        let rows = [Pence(50), Pence(50), Pence(50)];
        let total: Pence = rows.iter().copied().sum();
        assert_eq!(rounding_gap(rows, total), 1);
        assert_eq!(rounding_gap([Pence(100), Pence(200)], Pence(300)), 0);
        assert_eq!(rounding_gap([Pence(-50), Pence(-50)], Pence(-100)), -1);
        assert_eq!(rounding_note(&[("Actual to date", 0)]), None);
        let note = rounding_note(&[("Actual to date", 1), ("Target to date", -2)]).unwrap();
        assert!(
            note.contains("Actual to date add up to £1 more than the total"),
            "{note}"
        );
        assert!(note.contains("Target to date add up to £2 less"), "{note}");
    }

    #[test]
    fn restating_sums_predecessors_and_counts_a_split_once_in_the_total() {
        let a = totals(100, 0, 0, 10, 0);
        let b = totals(200, 0, 0, 20, 0);
        let c = totals(400, 0, 0, 40, 0);
        // 1 and 2 merged into 5; 3 split between 6 and 7.
        let carried_by = [(1, 5), (2, 5), (3, 6), (3, 7), (5, 5), (6, 6), (7, 7)];
        let sources = [(1, a), (2, b), (3, c)];
        let rows = restate(&[5, 6, 7], &sources, &carried_by);
        assert_eq!(rows[0].totals, a + b);
        assert_eq!(rows[0].sources, [1, 2]);
        assert!(rows[0].shared.is_empty());
        assert_eq!(rows[1].totals, c);
        assert_eq!(rows[2].totals, c);
        assert_eq!(rows[2].shared, [3]);
        let total = restated_total(&rows, &sources);
        assert_eq!(total, a + b + c, "the split ICB counts once");
        let shown: PlanTotals = rows.iter().map(|r| r.totals).sum();
        assert_eq!(shown.actual_to_date, Pence(110), "the rows show it twice");
        // A region's page shows only its own of today's ICBs.
        let west = restate(&[6], &sources, &carried_by);
        assert_eq!(restated_total(&west, &sources), c);
    }
}
