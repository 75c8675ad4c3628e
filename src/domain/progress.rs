//! The headline figures of a programme dashboard: how far through the year the reported
//! actuals go, how they compare with the plan to that point, and where the year is heading.
//!
//! Kept pure (figures in, figures out) so every dashboard, export and test computes "to date"
//! the same way. "To date" means April up to the latest month with any actual recorded, not the
//! calendar: reporting lags by a month or more, and comparing against months nobody has
//! reported yet would make every programme look behind.

use chrono::{Months, NaiveDate};

use super::{FinancialYear, Pence};

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

/// The dashboard headline figures for one financial year. See [`progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The annual target as passed in (the sum of the workstreams' annual targets). It can
    /// differ from `planned_total` when the phasing has not been finished.
    pub annual_target: Pence,
    /// The phased plan summed over all twelve months.
    pub planned_total: Pence,
    /// The latest month with any actual recorded.
    pub latest_month: Option<NaiveDate>,
    /// How many months April..=`latest_month` covers; 0 if nothing has been reported.
    pub months_to_date: u32,
    /// The plan summed over April..=`latest_month`.
    pub target_to_date: Pence,
    /// The actuals summed over April..=`latest_month`, a month with no actual counting as 0.
    pub actual_to_date: Pence,
    /// `actual_to_date - target_to_date`: positive is ahead of plan.
    pub variance: Pence,
    /// `actual_to_date` as a whole percentage of `target_to_date`, rounded half away from
    /// zero; `None` when the target to date is zero (including when nothing is reported).
    pub percent_of_target: Option<i64>,
    /// `actual_to_date` plus the plan for the months after `latest_month`: the outturn if
    /// the rest of the year goes to plan.
    pub forecast_outturn: Pence,
    /// `actual_to_date / months_to_date * 12`, rounded to the nearest penny (half away from
    /// zero): the outturn if the year carries on as it has gone. `None` before any report.
    pub run_rate_forecast: Option<Pence>,
    /// How many months are due (see [`progress`]) but come after `latest_month`, or all
    /// due months if nothing has been reported.
    pub months_overdue: u32,
}

/// One point of the cumulative chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CumulativePoint {
    /// The first day of the month.
    pub month: NaiveDate,
    /// The plan summed from April to this month.
    pub planned: Pence,
    /// The actuals summed from April to this month (a missing month counting as 0), up to
    /// and including the latest reported month; `None` after it.
    pub actual: Option<Pence>,
}

/// The headline figures for `year` from its monthly figures.
///
/// `months` may be in any order and have gaps: a missing month has no plan and no actual.
/// Months outside `year` (or not on the first of a month) are ignored. If a month appears more
/// than once its figures are added together, so the rows of several workstreams can be passed
/// in as they are to get the programme's figures.
///
/// A month's actuals are due by the end of the following month, so a month is due once the
/// month after it has ended by `today`: on 23 November 2026, April to September 2026 are due.
pub fn progress(
    year: FinancialYear,
    annual_target: Pence,
    months: &[MonthFigures],
    today: NaiveDate,
) -> Progress {
    let grid = Grid::new(year, months);
    let reported = grid.reported_months();

    let planned_total = grid.planned.iter().sum();
    let target_to_date: Pence = grid.planned[..reported].iter().sum();
    let actual_to_date: Pence = grid.actual[..reported].iter().flatten().sum();
    let planned_after: Pence = grid.planned[reported..].iter().sum();

    let percent_of_target = percent_of(actual_to_date, target_to_date);
    let run_rate_forecast = (reported > 0).then(|| {
        Pence(clamp_i64(divide_rounding_half_away(
            i128::from(actual_to_date.0) * 12,
            reported as i128,
        )))
    });

    Progress {
        annual_target,
        planned_total,
        latest_month: reported.checked_sub(1).map(|i| year.months()[i]),
        months_to_date: reported as u32,
        target_to_date,
        actual_to_date,
        variance: actual_to_date - target_to_date,
        percent_of_target,
        forecast_outturn: actual_to_date + planned_after,
        run_rate_forecast,
        months_overdue: months_overdue(year, reported, today),
    }
}

/// Twelve points, April to March, of the plan and the actuals summed from April. Takes
/// `months` on the same terms as [`progress`].
pub fn cumulative(year: FinancialYear, months: &[MonthFigures]) -> Vec<CumulativePoint> {
    let grid = Grid::new(year, months);
    let reported = grid.reported_months();
    let mut planned = Pence(0);
    let mut actual = Pence(0);
    year.months()
        .into_iter()
        .enumerate()
        .map(|(i, month)| {
            planned += grid.planned[i];
            actual += grid.actual[i].unwrap_or_default();
            CumulativePoint {
                month,
                planned,
                actual: (i < reported).then_some(actual),
            }
        })
        .collect()
}

/// The monthly figures laid out April (0) to March (11).
struct Grid {
    planned: [Pence; 12],
    actual: [Option<Pence>; 12],
}

impl Grid {
    fn new(year: FinancialYear, months: &[MonthFigures]) -> Self {
        let mut grid = Grid {
            planned: [Pence(0); 12],
            actual: [None; 12],
        };
        for figures in months {
            let Some(i) = year.month_index(figures.month) else {
                continue;
            };
            grid.planned[i] += figures.planned;
            if let Some(actual) = figures.actual {
                grid.actual[i] = Some(grid.actual[i].unwrap_or_default() + actual);
            }
        }
        grid
    }

    /// How many months April..=latest reported month covers.
    fn reported_months(&self) -> usize {
        self.actual
            .iter()
            .rposition(Option::is_some)
            .map_or(0, |i| i + 1)
    }
}

/// `part` as a whole percentage of `whole`, rounded half away from zero; `None` when `whole`
/// is zero. The one rounding rule for every "% of target" the service shows.
pub fn percent_of(part: Pence, whole: Pence) -> Option<i64> {
    (whole.0 != 0).then(|| {
        clamp_i64(divide_rounding_half_away(
            i128::from(part.0) * 100,
            i128::from(whole.0),
        ))
    })
}

/// How many of `year`'s months are due by `today` (see [`progress`]) but not covered by the
/// `reported` months from April.
pub fn months_overdue(year: FinancialYear, reported: usize, today: NaiveDate) -> u32 {
    let due = year
        .months()
        .iter()
        .filter(|month| is_due(**month, today))
        .count();
    due.saturating_sub(reported) as u32
}

/// Whether `month`'s actuals are due: the month after it has ended by `today`.
fn is_due(month: NaiveDate, today: NaiveDate) -> bool {
    month
        .checked_add_months(Months::new(2))
        .is_some_and(|deadline_passed| today >= deadline_passed)
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
    fn worked_example() {
        let p = progress(year(), Pence(1_200_000), &example(), date(2026, 11, 23));
        assert_eq!(
            p,
            Progress {
                annual_target: Pence(1_200_000),
                planned_total: Pence(1_200_000),
                latest_month: Some(date(2026, 7, 1)),
                months_to_date: 4,
                target_to_date: Pence(400_000),
                actual_to_date: Pence(320_000),
                variance: Pence(-80_000),
                percent_of_target: Some(80),
                forecast_outturn: Pence(1_120_000),
                run_rate_forecast: Some(Pence(960_000)),
                // April–September are due; August and September are after July.
                months_overdue: 2,
            }
        );
    }

    #[test]
    fn order_gaps_duplicates_and_strays_do_not_matter() {
        let mut months = example();
        months.reverse();
        months.retain(|m| m.month != date(2026, 6, 1));
        // A second workstream's July row adds to the first.
        months.push(MonthFigures {
            month: date(2026, 7, 1),
            planned: Pence(0),
            actual: Some(Pence(80_000)),
        });
        // Outside the year, or not a first-of-month date: ignored.
        for stray in [date(2026, 3, 1), date(2027, 4, 1), date(2026, 8, 15)] {
            months.push(MonthFigures {
                month: stray,
                planned: Pence(1_000_000),
                actual: Some(Pence(1_000_000)),
            });
        }
        let p = progress(year(), Pence(1_200_000), &months, date(2026, 11, 23));
        assert_eq!(p.planned_total, Pence(1_100_000));
        assert_eq!(p.target_to_date, Pence(300_000));
        assert_eq!(p.actual_to_date, Pence(400_000));
        assert_eq!(p.latest_month, Some(date(2026, 7, 1)));
        assert_eq!(p.forecast_outturn, Pence(1_200_000));
    }

    #[test]
    fn nothing_reported() {
        let plan: Vec<_> = example()
            .into_iter()
            .map(|m| MonthFigures { actual: None, ..m })
            .collect();
        let p = progress(year(), Pence(1_200_000), &plan, date(2026, 11, 23));
        assert_eq!(p.latest_month, None);
        assert_eq!(p.months_to_date, 0);
        assert_eq!(p.target_to_date, Pence(0));
        assert_eq!(p.actual_to_date, Pence(0));
        assert_eq!(p.variance, Pence(0));
        assert_eq!(p.percent_of_target, None);
        assert_eq!(p.forecast_outturn, Pence(1_200_000));
        assert_eq!(p.run_rate_forecast, None);
        assert_eq!(p.months_overdue, 6);

        let empty = progress(year(), Pence(0), &[], date(2026, 11, 23));
        assert_eq!(empty.planned_total, Pence(0));
        assert_eq!(empty.forecast_outturn, Pence(0));
    }

    #[test]
    fn months_fall_due_when_the_following_month_ends() {
        let overdue = |today| progress(year(), Pence(0), &[], today).months_overdue;
        assert_eq!(overdue(date(2026, 4, 1)), 0);
        assert_eq!(overdue(date(2026, 5, 31)), 0);
        assert_eq!(overdue(date(2026, 6, 1)), 1);
        assert_eq!(overdue(date(2026, 10, 31)), 5);
        assert_eq!(overdue(date(2026, 11, 1)), 6);
        assert_eq!(overdue(date(2026, 11, 23)), 6);
        assert_eq!(overdue(date(2027, 5, 1)), 12);
        assert_eq!(overdue(date(2030, 1, 1)), 12);
        assert_eq!(overdue(date(2020, 1, 1)), 0);
    }

    #[test]
    fn reporting_ahead_of_the_deadline_is_not_overdue() {
        let p = progress(year(), Pence(0), &example(), date(2026, 8, 10));
        assert_eq!(p.months_overdue, 0);
    }

    #[test]
    fn percentages_round_half_away_from_zero() {
        let percent = |planned, actual| {
            let months = [MonthFigures {
                month: date(2026, 4, 1),
                planned: Pence(planned),
                actual: Some(Pence(actual)),
            }];
            progress(year(), Pence(planned), &months, date(2026, 4, 1)).percent_of_target
        };
        assert_eq!(percent(3, 2), Some(67));
        assert_eq!(percent(3, 1), Some(33));
        assert_eq!(percent(200, 1), Some(1));
        assert_eq!(percent(200, -1), Some(-1));
        assert_eq!(percent(-200, 1), Some(-1));
        assert_eq!(percent(201, 1), Some(0));
        assert_eq!(percent(100, 250), Some(250));
        assert_eq!(percent(0, 250), None);
        assert_eq!(percent(1, i64::MAX), Some(i64::MAX));
    }

    #[test]
    fn run_rate_rounds_to_the_nearest_penny() {
        let run_rate = |actuals: &[i64]| {
            let months: Vec<_> = year()
                .months()
                .into_iter()
                .zip(actuals)
                .map(|(month, a)| MonthFigures {
                    month,
                    planned: Pence(0),
                    actual: Some(Pence(*a)),
                })
                .collect();
            progress(year(), Pence(0), &months, date(2026, 4, 1)).run_rate_forecast
        };
        assert_eq!(run_rate(&[100, 0, 0, 0, 0, 0, 0]), Some(Pence(171)));
        assert_eq!(run_rate(&[1, 0, 0, 0, 0, 0, 0, 0]), Some(Pence(2)));
        assert_eq!(run_rate(&[-1, 0, 0, 0, 0, 0, 0, 0]), Some(Pence(-2)));
        assert_eq!(run_rate(&[500]), Some(Pence(6_000)));
    }

    #[test]
    fn cumulative_stops_actuals_at_the_latest_report() {
        let points = cumulative(year(), &example());
        assert_eq!(points.len(), 12);
        assert_eq!(points[0].month, date(2026, 4, 1));
        assert_eq!(points[11].month, date(2027, 3, 1));
        let planned: Vec<_> = points.iter().map(|p| p.planned.0).collect();
        assert_eq!(planned[..3], [100_000, 200_000, 300_000]);
        assert_eq!(planned[11], 1_200_000);
        let actual: Vec<_> = points.iter().map(|p| p.actual.map(|a| a.0)).collect();
        assert_eq!(
            actual[..5],
            [
                Some(90_000),
                Some(200_000),
                Some(200_000),
                Some(320_000),
                None
            ]
        );
        assert!(actual[4..].iter().all(Option::is_none));
    }

    #[test]
    fn cumulative_of_nothing_is_twelve_zero_points() {
        let points = cumulative(year(), &[]);
        assert_eq!(points.len(), 12);
        assert!(
            points
                .iter()
                .all(|p| p.planned == Pence(0) && p.actual.is_none())
        );
    }

    fn month_figures() -> impl Strategy<Value = Vec<MonthFigures>> {
        let amount = -1_000_000_000_000i64..1_000_000_000_000;
        let row = (0usize..14, amount.clone(), proptest::option::of(amount)).prop_map(
            |(i, planned, actual)| MonthFigures {
                // Indexes 12 and 13 fall outside the year.
                month: date(2026, 4, 1)
                    .checked_add_months(Months::new(i as u32))
                    .unwrap(),
                planned: Pence(planned),
                actual: actual.map(Pence),
            },
        );
        proptest::collection::vec(row, 0..24)
    }

    fn any_day() -> impl Strategy<Value = NaiveDate> {
        (0u64..1_000).prop_map(|d| date(2026, 1, 1) + chrono::Days::new(d))
    }

    proptest! {
        #[test]
        fn variance_is_actual_minus_target(months in month_figures(), today in any_day()) {
            let p = progress(year(), Pence(0), &months, today);
            prop_assert_eq!(p.variance, p.actual_to_date - p.target_to_date);
        }

        #[test]
        fn forecast_is_actual_plus_remaining_plan(months in month_figures(), today in any_day()) {
            let p = progress(year(), Pence(0), &months, today);
            let remaining: Pence = months
                .iter()
                .filter(|m| year().contains_month(m.month))
                .filter(|m| p.latest_month.is_none_or(|latest| m.month > latest))
                .map(|m| m.planned)
                .sum();
            prop_assert_eq!(p.forecast_outturn, p.actual_to_date + remaining);
        }

        #[test]
        fn without_actuals_the_forecast_is_the_plan(months in month_figures(), today in any_day()) {
            let plan: Vec<_> = months.into_iter().map(|m| MonthFigures { actual: None, ..m }).collect();
            let p = progress(year(), Pence(0), &plan, today);
            prop_assert_eq!(p.forecast_outturn, p.planned_total);
            prop_assert_eq!(p.months_to_date, 0);
            prop_assert_eq!(p.run_rate_forecast, None);
        }

        #[test]
        fn cumulative_agrees_with_progress(months in month_figures(), today in any_day()) {
            let p = progress(year(), Pence(0), &months, today);
            let points = cumulative(year(), &months);
            prop_assert_eq!(points.len(), 12);
            prop_assert_eq!(points[11].planned, p.planned_total);
            let reported = points.iter().filter(|c| c.actual.is_some()).count();
            prop_assert_eq!(reported as u32, p.months_to_date);
            if let Some(last) = reported.checked_sub(1) {
                prop_assert_eq!(points[last].actual, Some(p.actual_to_date));
                prop_assert_eq!(points[last].planned, p.target_to_date);
            }
        }

        #[test]
        fn overdue_never_exceeds_twelve(months in month_figures(), today in any_day()) {
            let p = progress(year(), Pence(0), &months, today);
            prop_assert!(p.months_overdue <= 12 - p.months_to_date);
        }
    }
}
