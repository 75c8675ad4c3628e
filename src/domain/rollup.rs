//! Roll-up figures: one plan's totals as the database sums them (`plan_figures`), and the
//! total of many plans (a region, the nation, an opportunity).
//!
//! A roll-up adds the plans' own figures: each plan's "to date" runs to its own latest
//! reported month, exactly as on its dashboard, so an ICB that reports late is compared with
//! its own plan to that month, not with months nobody has reported yet. Totals are therefore
//! sums of the rows beneath them, and percentages are of the summed figures (never an average
//! of percentages).

use std::iter::Sum;
use std::ops::Add;

use chrono::NaiveDate;

use super::{FinancialYear, Pence, progress};

/// The headline figures of one plan, or the sum of several.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanTotals {
    /// The workstreams' annual targets.
    pub annual_target: Pence,
    /// The phased plan over all twelve months.
    pub planned_total: Pence,
    /// The plan from April to the latest reported month.
    pub target_to_date: Pence,
    /// The actuals reported.
    pub actual_to_date: Pence,
}

impl PlanTotals {
    /// `actual_to_date - target_to_date`: positive is ahead of plan.
    pub fn variance(&self) -> Pence {
        self.actual_to_date - self.target_to_date
    }

    /// The actual to date as a whole percentage of the target to date (`None` when that is zero).
    pub fn percent_of_target(&self) -> Option<i64> {
        progress::percent_of(self.actual_to_date, self.target_to_date)
    }

    /// Actual to date plus the plan for the months not yet reported.
    pub fn forecast_outturn(&self) -> Pence {
        self.actual_to_date + (self.planned_total - self.target_to_date)
    }
}

impl Add for PlanTotals {
    type Output = PlanTotals;

    fn add(self, other: PlanTotals) -> PlanTotals {
        PlanTotals {
            annual_target: self.annual_target + other.annual_target,
            planned_total: self.planned_total + other.planned_total,
            target_to_date: self.target_to_date + other.target_to_date,
            actual_to_date: self.actual_to_date + other.actual_to_date,
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

/// How many months a plan whose latest reported month is `latest_month` is behind with its
/// figures on `today` (a month's figures are due by the end of the next).
pub fn months_overdue(
    year: FinancialYear,
    latest_month: Option<NaiveDate>,
    today: NaiveDate,
) -> u32 {
    let reported = latest_month
        .and_then(|m| year.month_index(m))
        .map_or(0, |i| i + 1);
    progress::months_overdue(year, reported, today)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{MonthFigures, progress as dashboard};

    fn totals(annual: i64, planned: i64, to_date: i64, actual: i64) -> PlanTotals {
        PlanTotals {
            annual_target: Pence(annual),
            planned_total: Pence(planned),
            target_to_date: Pence(to_date),
            actual_to_date: Pence(actual),
        }
    }

    #[test]
    fn derived_figures() {
        let t = totals(1_200_000, 1_200_000, 400_000, 350_000);
        assert_eq!(t.variance(), Pence(-50_000));
        assert_eq!(t.percent_of_target(), Some(88)); // 87.5 rounds half away from zero
        assert_eq!(t.forecast_outturn(), Pence(1_150_000));
        assert_eq!(totals(0, 0, 0, 0).percent_of_target(), None);
    }

    #[test]
    fn totals_add_and_percent_is_of_the_sums() {
        let a = totals(100, 100, 50, 100);
        let b = totals(300, 300, 150, 0);
        let sum: PlanTotals = [a, b].iter().sum();
        assert_eq!(sum, totals(400, 400, 200, 100));
        // 50% of the summed target, not the average of 200% and 0%.
        assert_eq!(sum.percent_of_target(), Some(50));
        assert_eq!(
            sum.forecast_outturn(),
            a.forecast_outturn() + b.forecast_outturn()
        );
    }

    #[test]
    fn agrees_with_the_dashboard() {
        let year = FinancialYear::starting(2024).unwrap();
        let today = NaiveDate::from_ymd_opt(2024, 11, 20).unwrap();
        let months: Vec<MonthFigures> = year
            .months()
            .into_iter()
            .enumerate()
            .map(|(i, month)| MonthFigures {
                month,
                planned: Pence(10_000 + i as i64),
                actual: (i < 5 && i != 2).then_some(Pence(9_000 + 7 * i as i64)),
            })
            .collect();
        let p = dashboard(year, Pence(123_456), &months, today);
        let t = PlanTotals {
            annual_target: p.annual_target,
            planned_total: p.planned_total,
            target_to_date: p.target_to_date,
            actual_to_date: p.actual_to_date,
        };
        assert_eq!(t.variance(), p.variance);
        assert_eq!(t.percent_of_target(), p.percent_of_target);
        assert_eq!(t.forecast_outturn(), p.forecast_outturn);
        assert_eq!(
            months_overdue(year, p.latest_month, today),
            p.months_overdue
        );
    }
}
