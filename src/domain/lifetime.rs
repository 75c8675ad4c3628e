//! An ICB's lifetime: it exists from `valid_from` to `valid_to` inclusive. After a merger or a
//! split the predecessors' last day is the day before the successors' first, and the months
//! each one answers for follow: an ICB answers for a month from the month of its first day to
//! the month of its last day. Administrators record changes on the first day of a month (see
//! `/admin/organisations`), so no month ever has two ICBs answering for the same work.

use chrono::NaiveDate;

use super::{FinancialYear, Month};

/// When an ICB existed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

impl Lifetime {
    /// Whether the ICB answers for `month` (it existed on some day of it, counting from the
    /// month it started to the month it closed).
    pub fn has_month(&self, month: Month) -> bool {
        month >= Month::containing(self.valid_from)
            && self.valid_to.is_none_or(|to| month.first_day() <= to)
    }

    /// The months of `year` the ICB answers for, April first.
    pub fn months_in(&self, year: FinancialYear) -> Vec<Month> {
        year.reporting_months()
            .into_iter()
            .filter(|m| self.has_month(*m))
            .collect()
    }

    /// Why the ICB cannot have figures for `month`, in words for the field, if it cannot:
    /// "NHS Example ICB did not exist in May 2024: it started on 1 October 2024".
    pub fn refusal(&self, name: &str, month: Month) -> Option<String> {
        if self.has_month(month) {
            return None;
        }
        let day = |d: NaiveDate| d.format("%-d %B %Y").to_string();
        Some(match self.valid_to {
            Some(to) if month.first_day() > to => format!(
                "{name} did not exist in {}: it closed on {}",
                month.label(),
                day(to)
            ),
            _ => format!(
                "{name} did not exist in {}: it started on {}",
                month.label(),
                day(self.valid_from)
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn an_icb_answers_for_the_months_it_existed_in() {
        let year = FinancialYear::starting(2024).unwrap();
        let closed = Lifetime {
            valid_from: date(2022, 7, 1),
            valid_to: Some(date(2024, 9, 30)),
        };
        let months = closed.months_in(year);
        assert_eq!(months.len(), 6);
        assert_eq!(months[5], Month::new(2024, 9).unwrap());
        let successor = Lifetime {
            valid_from: date(2024, 10, 1),
            valid_to: None,
        };
        assert_eq!(successor.months_in(year).len(), 6);
        assert_eq!(successor.months_in(year)[0], Month::new(2024, 10).unwrap());
        // No month answered for twice.
        for m in year.reporting_months() {
            assert!(closed.has_month(m) != successor.has_month(m), "{m}");
        }
        assert_eq!(
            closed.refusal("A", Month::new(2024, 10).unwrap()).unwrap(),
            "A did not exist in October 2024: it closed on 30 September 2024"
        );
        assert_eq!(
            successor
                .refusal("Z", Month::new(2024, 9).unwrap())
                .unwrap(),
            "Z did not exist in September 2024: it started on 1 October 2024"
        );
        assert_eq!(successor.refusal("Z", Month::new(2024, 10).unwrap()), None);
    }
}
