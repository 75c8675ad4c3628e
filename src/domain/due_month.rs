//! Which month an ICB should be reporting now, for the dashboard's "report a month" link.
//!
//! A month's figures are due by the end of the following month, so on any day the month that
//! has just ended is the one whose figures are due (in December, November's). Once that month
//! is reported the next useful page is the month under way, so figures can be entered as soon
//! as they are known. Pure: today and the latest reported month come in.

use chrono::NaiveDate;

use super::{FinancialYear, Month};

/// The month of `year` to report on `today`, given the latest month with any actual
/// (`latest_reported`): the latest month whose figures are due (the last month that has
/// ended, or March once the year is over; April while April is under way), or, when that
/// one is reported, the month after it if that has started and is in the year. `None`
/// before the year starts.
pub fn month_due(
    year: FinancialYear,
    today: NaiveDate,
    latest_reported: Option<Month>,
) -> Option<Month> {
    let months = year.reporting_months();
    let this_month = Month::containing(today);
    let started = |m: Month| m <= this_month;
    if !started(months[0]) {
        return None;
    }
    let due = months
        .iter()
        .copied()
        .rev()
        .find(|m| *m < this_month)
        .unwrap_or(months[0]);
    let next = due.next();
    if latest_reported.is_some_and(|latest| latest >= due) && year.has_month(next) && started(next)
    {
        return Some(next);
    }
    Some(due)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn month(y: i32, m: u32) -> Month {
        Month::new(y, m).unwrap()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn year() -> FinancialYear {
        FinancialYear::starting(2024).unwrap()
    }

    #[test]
    fn the_month_just_ended_is_due() {
        assert_eq!(
            month_due(year(), day(2024, 12, 5), None),
            Some(month(2024, 11))
        );
        assert_eq!(
            month_due(year(), day(2024, 12, 5), Some(month(2024, 9))),
            Some(month(2024, 11)),
            "a late ICB is still asked for the month that is due"
        );
    }

    #[test]
    fn once_it_is_reported_the_month_under_way_is_next() {
        assert_eq!(
            month_due(year(), day(2024, 12, 5), Some(month(2024, 11))),
            Some(month(2024, 12))
        );
    }

    #[test]
    fn the_first_month_of_the_year_is_offered_while_it_runs() {
        assert_eq!(
            month_due(year(), day(2024, 4, 10), None),
            Some(month(2024, 4))
        );
        assert_eq!(
            month_due(year(), day(2024, 4, 10), Some(month(2024, 4))),
            Some(month(2024, 4)),
            "May has not started"
        );
        assert_eq!(
            month_due(year(), day(2024, 5, 1), Some(month(2024, 4))),
            Some(month(2024, 5))
        );
    }

    #[test]
    fn after_the_year_march_is_the_last_month_due() {
        assert_eq!(
            month_due(year(), day(2026, 12, 1), None),
            Some(month(2025, 3))
        );
        assert_eq!(
            month_due(year(), day(2026, 12, 1), Some(month(2025, 3))),
            Some(month(2025, 3)),
            "there is no month after March in the year"
        );
    }

    #[test]
    fn nothing_before_the_year_starts() {
        assert_eq!(month_due(year(), day(2024, 3, 31), None), None);
    }
}
