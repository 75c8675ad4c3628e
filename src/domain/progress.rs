//! When figures are due, and the rules that turn sums into the figures people read: the
//! reporting month, percentages, the run-rate forecast and the cumulative chart.
//!
//! "To date" means one thing everywhere: April up to the **reporting month**, the latest month
//! whose figures are due (a month's figures are due by the end of the following month), or an
//! earlier "as at" month a user chooses. It does not move when someone reports early, so one
//! return for the current month cannot change anyone's target to date. The sums themselves are
//! made by the database (`plan_figures`, `workstream_figures`); this module is pure.

use chrono::{Months, NaiveDate};

use super::{FinancialYear, Month, Pence};

/// The reporting month on `today`: the latest month whose figures are due, that is whose
/// following month has ended. On 23 November 2026 it is September 2026 (October's figures are
/// due by the end of November).
pub fn reporting_month(today: NaiveDate) -> Month {
    Month::containing(today).previous().previous()
}

/// Whether `month`'s figures are due on `today` (the month after it has ended).
pub fn is_due(month: Month, today: NaiveDate) -> bool {
    month <= reporting_month(today)
}

/// One month of a programme as stored: the planned (phased) saving and the actual saving, if
/// one has been reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthFigures {
    /// The first day of the month.
    pub month: NaiveDate,
    /// The phased plan for the month.
    pub planned: Pence,
    /// The reported actual, or `None` if nothing has been reported.
    pub actual: Option<Pence>,
}

/// One point of the cumulative chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CumulativePoint {
    /// The first day of the month.
    pub month: NaiveDate,
    /// The plan summed from April to this month.
    pub planned: Pence,
    /// The actuals summed from April to this month (a month not reported adding nothing), up to
    /// and including `through`; `None` after it.
    pub actual: Option<Pence>,
}

/// Twelve points, April to March, of the plan and the actuals summed from April, the actuals
/// drawn up to `through` (the reporting or "as at" month; `None`: no month is due yet).
///
/// `months` may be in any order and have gaps (a missing month has no plan and no actual);
/// rows for the same month are added together, and months outside `year` are ignored.
pub fn cumulative(
    year: FinancialYear,
    months: &[MonthFigures],
    through: Option<Month>,
) -> Vec<CumulativePoint> {
    let mut planned_by = [Pence(0); 12];
    let mut actual_by = [Pence(0); 12];
    for figures in months {
        if let Some(i) = year.month_index(figures.month) {
            planned_by[i] += figures.planned;
            actual_by[i] += figures.actual.unwrap_or_default();
        }
    }
    let mut planned = Pence(0);
    let mut actual = Pence(0);
    year.months()
        .into_iter()
        .enumerate()
        .map(|(i, month)| {
            planned += planned_by[i];
            actual += actual_by[i];
            CumulativePoint {
                month,
                planned,
                actual: through
                    .is_some_and(|t| month <= t.first_day())
                    .then_some(actual),
            }
        })
        .collect()
}

/// `part` as a whole percentage of `whole`, rounded half away from zero; `None` when `whole`
/// is zero. The one rounding rule for every percentage the service shows.
pub fn percent_of(part: Pence, whole: Pence) -> Option<i64> {
    (whole.0 != 0).then(|| {
        clamp_i64(divide_rounding_half_away(
            i128::from(part.0) * 100,
            i128::from(whole.0),
        ))
    })
}

/// The run-rate forecast: the actual to date spread over the months to date and carried on for
/// every month the ICB has in the year (`actual / months_to_date × months_in_year`, rounded to
/// the penny, halves away from zero). When the year is over it is the actual outturn. `None`
/// before any month is due.
pub fn run_rate(actual_to_date: Pence, months_to_date: u32, months_in_year: u32) -> Option<Pence> {
    (months_to_date > 0).then(|| {
        Pence(clamp_i64(divide_rounding_half_away(
            i128::from(actual_to_date.0) * i128::from(months_in_year),
            i128::from(months_to_date),
        )))
    })
}

/// The last month of `year` (March).
pub fn last_month(year: FinancialYear) -> Month {
    Month::containing(year.ends_on())
}

/// The first month of `year` (April).
pub fn first_month(year: FinancialYear) -> Month {
    Month::containing(year.starts_on())
}

/// `month` plus `n` months.
pub fn months_after(month: Month, n: u32) -> Month {
    Month::containing(month.first_day() + Months::new(n))
}

/// `numerator / denominator` rounded to the nearest integer, halves away from zero.
/// `denominator` must not be zero.
fn divide_rounding_half_away(numerator: i128, denominator: i128) -> i128 {
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    if remainder.abs() * 2 >= denominator.abs() {
        quotient + numerator.signum() * denominator.signum()
    } else {
        quotient
    }
}

fn clamp_i64(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::phasing::even_split;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn month(y: i32, m: u32) -> Month {
        Month::new(y, m).unwrap()
    }

    fn year() -> FinancialYear {
        FinancialYear::starting(2026).unwrap()
    }

    /// £12,000 phased evenly; Apr £900, May £1,100, Jun not reported, Jul £1,200.
    fn example() -> Vec<MonthFigures> {
        let plan = even_split(Pence(1_200_000));
        let actuals = [Some(90_000), Some(110_000), None, Some(120_000)];
        year()
            .months()
            .into_iter()
            .zip(plan)
            .enumerate()
            .map(|(i, (month, planned))| MonthFigures {
                month,
                planned,
                actual: actuals.get(i).copied().flatten().map(Pence),
            })
            .collect()
    }

    #[test]
    fn the_reporting_month_is_the_latest_whose_figures_are_due() {
        assert_eq!(reporting_month(date(2026, 11, 23)), month(2026, 9));
        assert_eq!(reporting_month(date(2026, 11, 1)), month(2026, 9));
        assert_eq!(reporting_month(date(2026, 10, 31)), month(2026, 8));
        assert_eq!(reporting_month(date(2026, 1, 15)), month(2025, 11));
        assert!(is_due(month(2026, 9), date(2026, 11, 1)));
        assert!(!is_due(month(2026, 10), date(2026, 11, 30)));
        assert!(is_due(month(2026, 10), date(2026, 12, 1)));
    }

    #[test]
    fn percentages_round_half_away_from_zero() {
        let percent = |part, whole| percent_of(Pence(part), Pence(whole));
        assert_eq!(percent(2, 3), Some(67));
        assert_eq!(percent(1, 3), Some(33));
        assert_eq!(percent(1, 200), Some(1));
        assert_eq!(percent(-1, 200), Some(-1));
        assert_eq!(percent(1, -200), Some(-1));
        assert_eq!(percent(1, 201), Some(0));
        assert_eq!(percent(250, 100), Some(250));
        assert_eq!(percent(250, 0), None);
        assert_eq!(percent(i64::MAX, 1), Some(i64::MAX));
    }

    #[test]
    fn run_rate_spreads_the_months_to_date_over_the_icbs_year() {
        assert_eq!(run_rate(Pence(100), 7, 12), Some(Pence(171)));
        assert_eq!(run_rate(Pence(1), 8, 12), Some(Pence(2)));
        assert_eq!(run_rate(Pence(-1), 8, 12), Some(Pence(-2)));
        assert_eq!(run_rate(Pence(500), 1, 12), Some(Pence(6_000)));
        // An ICB that existed for six months of the year.
        assert_eq!(run_rate(Pence(300), 3, 6), Some(Pence(600)));
        // A finished year: the actual outturn.
        assert_eq!(run_rate(Pence(12_345), 12, 12), Some(Pence(12_345)));
        assert_eq!(run_rate(Pence(12_345), 0, 12), None);
    }

    #[test]
    fn cumulative_draws_actuals_to_the_reporting_month() {
        let points = cumulative(year(), &example(), Some(month(2026, 8)));
        assert_eq!(points.len(), 12);
        assert_eq!(points[0].month, date(2026, 4, 1));
        assert_eq!(points[11].month, date(2027, 3, 1));
        let planned: Vec<_> = points.iter().map(|p| p.planned.0).collect();
        assert_eq!(planned[..3], [100_000, 200_000, 300_000]);
        assert_eq!(planned[11], 1_200_000);
        let actual: Vec<_> = points.iter().map(|p| p.actual.map(|a| a.0)).collect();
        assert_eq!(
            actual[..6],
            [
                Some(90_000),
                Some(200_000),
                Some(200_000),
                Some(320_000),
                Some(320_000),
                None
            ]
        );
        assert!(
            cumulative(year(), &example(), None)
                .iter()
                .all(|p| p.actual.is_none())
        );
    }

    #[test]
    fn cumulative_of_nothing_is_twelve_zero_points() {
        let points = cumulative(year(), &[], Some(month(2027, 3)));
        assert_eq!(points.len(), 12);
        assert!(
            points
                .iter()
                .all(|p| p.planned == Pence(0) && p.actual == Some(Pence(0)))
        );
    }

    proptest! {
        #[test]
        fn cumulative_ends_at_the_sums(
            rows in proptest::collection::vec((0u32..14, -1_000_000i64..1_000_000, proptest::option::of(-1_000_000i64..1_000_000)), 0..30),
            through in 0u32..12,
        ) {
            let months: Vec<MonthFigures> = rows
                .iter()
                .map(|(i, p, a)| MonthFigures {
                    month: date(2026, 4, 1).checked_add_months(Months::new(*i)).unwrap(),
                    planned: Pence(*p),
                    actual: a.map(Pence),
                })
                .collect();
            let through = months_after(first_month(year()), through);
            let points = cumulative(year(), &months, Some(through));
            let in_year = |m: &&MonthFigures| year().contains_month(m.month);
            let planned: Pence = months.iter().filter(in_year).map(|m| m.planned).sum();
            prop_assert_eq!(points[11].planned, planned);
            let actual: Pence = months
                .iter()
                .filter(in_year)
                .filter(|m| m.month <= through.first_day())
                .filter_map(|m| m.actual)
                .sum();
            let last = points.iter().rev().find_map(|p| p.actual);
            prop_assert_eq!(last, Some(actual));
        }

        #[test]
        fn a_finished_years_run_rate_is_its_outturn(actual in -1_000_000_000i64..1_000_000_000, months in 1u32..=12) {
            prop_assert_eq!(run_rate(Pence(actual), months, months), Some(Pence(actual)));
        }
    }
}
