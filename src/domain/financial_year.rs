//! NHS financial years run from 1 April to 31 March and are written `2023/24`.
//! In URLs they are written `2023-24` because a slash would split the path.

use std::fmt;

use chrono::{Datelike, NaiveDate};

/// A financial year, identified by the calendar year in which it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FinancialYear(i32);

/// Why a financial year could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a financial year is written like 2024/25 (or 2024-25 in web addresses)")]
pub struct ParseFinancialYearError;

impl FinancialYear {
    /// The year starting on 1 April of `start_year`. Years outside 2000–2099 are refused
    /// because the two-digit suffix would be ambiguous.
    pub fn starting(start_year: i32) -> Option<Self> {
        (2000..=2098)
            .contains(&start_year)
            .then_some(Self(start_year))
    }

    /// The financial year that contains `date`.
    pub fn containing(date: NaiveDate) -> Self {
        if date.month() >= 4 {
            Self(date.year())
        } else {
            Self(date.year() - 1)
        }
    }

    /// The year whose first day is `date`, if `date` is a 1 April.
    pub fn from_start_date(date: NaiveDate) -> Option<Self> {
        (date.month() == 4 && date.day() == 1)
            .then(|| Self::starting(date.year()))
            .flatten()
    }

    /// Parses `2024/25` or `2024-25`.
    pub fn parse(text: &str) -> Result<Self, ParseFinancialYearError> {
        let (start, end) = text.split_once(['/', '-']).ok_or(ParseFinancialYearError)?;
        if start.len() != 4 || end.len() != 2 {
            return Err(ParseFinancialYearError);
        }
        let start: i32 = start.parse().map_err(|_| ParseFinancialYearError)?;
        let end: i32 = end.parse().map_err(|_| ParseFinancialYearError)?;
        let year = Self::starting(start).ok_or(ParseFinancialYearError)?;
        if (start + 1) % 100 != end {
            return Err(ParseFinancialYearError);
        }
        Ok(year)
    }

    /// The calendar year in which it starts.
    pub fn start_year(self) -> i32 {
        self.0
    }

    /// 1 April.
    pub fn starts_on(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.0, 4, 1).expect("1 April exists in every year")
    }

    /// 31 March of the following year.
    pub fn ends_on(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.0 + 1, 3, 31).expect("31 March exists in every year")
    }

    /// The form used in web addresses: `2024-25`.
    pub fn slug(self) -> String {
        format!("{}-{:02}", self.0, (self.0 + 1) % 100)
    }

    /// The year before.
    pub fn previous(self) -> Option<Self> {
        Self::starting(self.0 - 1)
    }

    /// The twelve reporting months, April to March, each as its first day. Monthly plans and
    /// actuals are keyed by these dates.
    pub fn months(self) -> [NaiveDate; 12] {
        std::array::from_fn(|i| {
            let (year, month) = if i < 9 {
                (self.0, i as u32 + 4)
            } else {
                (self.0 + 1, i as u32 - 8)
            };
            NaiveDate::from_ymd_opt(year, month, 1).expect("the first of every month exists")
        })
    }

    /// Whether `month` is one of [`months`](Self::months): a first-of-month date inside the
    /// year. Any other day is refused, so a stray mid-month date cannot pass for a month.
    pub fn contains_month(self, month: NaiveDate) -> bool {
        self.month_index(month).is_some()
    }

    /// Where `month` falls in [`months`](Self::months): 0 for April to 11 for March, or
    /// `None` if it is not a first-of-month date inside the year.
    pub fn month_index(self, month: NaiveDate) -> Option<usize> {
        if month.day() != 1 || Self::containing(month) != self {
            return None;
        }
        Some(((month.month() + 8) % 12) as usize)
    }
}

/// The form people write: `2024/25`.
impl fmt::Display for FinancialYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{:02}", self.0, (self.0 + 1) % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn parses_both_spellings() {
        assert_eq!(FinancialYear::parse("2024/25"), Ok(FinancialYear(2024)));
        assert_eq!(FinancialYear::parse("2024-25"), Ok(FinancialYear(2024)));
        assert_eq!(
            FinancialYear::parse("2099-00"),
            Err(ParseFinancialYearError)
        );
        assert_eq!(FinancialYear::parse("2098-99"), Ok(FinancialYear(2098)));
    }

    #[test]
    fn rejects_inconsistent_or_malformed_years() {
        for bad in [
            "2024-26",
            "2024",
            "24-25",
            "2024/2025",
            "abcd-ef",
            "",
            "2024--25",
            "1999-00",
        ] {
            assert!(
                FinancialYear::parse(bad).is_err(),
                "{bad:?} should not parse"
            );
        }
    }

    #[test]
    fn formats_label_and_slug() {
        let y = FinancialYear::starting(2023).unwrap();
        assert_eq!(y.to_string(), "2023/24");
        assert_eq!(y.slug(), "2023-24");
        assert_eq!(FinancialYear::parse(&y.slug()), Ok(y));
    }

    #[test]
    fn runs_april_to_march() {
        let y = FinancialYear::starting(2025).unwrap();
        assert_eq!(y.starts_on(), date(2025, 4, 1));
        assert_eq!(y.ends_on(), date(2026, 3, 31));
        assert_eq!(FinancialYear::containing(date(2026, 3, 31)), y);
        assert_eq!(FinancialYear::containing(date(2025, 4, 1)), y);
        assert_eq!(
            FinancialYear::containing(date(2025, 3, 31)),
            FinancialYear(2024)
        );
        assert_eq!(FinancialYear::from_start_date(date(2025, 4, 1)), Some(y));
        assert_eq!(FinancialYear::from_start_date(date(2025, 4, 2)), None);
    }

    #[test]
    fn lists_months_april_to_march() {
        let y = FinancialYear::starting(2025).unwrap();
        let months = y.months();
        assert_eq!(months[0], date(2025, 4, 1));
        assert_eq!(months[8], date(2025, 12, 1));
        assert_eq!(months[9], date(2026, 1, 1));
        assert_eq!(months[11], date(2026, 3, 1));
        for (i, month) in months.into_iter().enumerate() {
            assert!(y.contains_month(month));
            assert_eq!(y.month_index(month), Some(i));
            assert_eq!(FinancialYear::containing(month), y);
        }
        assert!(months.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn contains_only_first_of_month_dates_inside_the_year() {
        let y = FinancialYear::starting(2025).unwrap();
        assert!(!y.contains_month(date(2025, 4, 2)));
        assert!(!y.contains_month(date(2026, 3, 31)));
        assert!(!y.contains_month(date(2025, 3, 1)));
        assert!(!y.contains_month(date(2026, 4, 1)));
        assert!(!y.contains_month(date(2024, 6, 1)));
        assert_eq!(y.month_index(date(2025, 3, 1)), None);
    }

    #[test]
    fn every_year_round_trips() {
        for start in 2000..=2098 {
            let y = FinancialYear::starting(start).unwrap();
            assert_eq!(FinancialYear::parse(&y.to_string()), Ok(y));
            assert_eq!(FinancialYear::containing(y.ends_on()), y);
            assert_eq!(y.months()[0], y.starts_on());
            assert_eq!(y.months()[11].month(), 3);
        }
    }
}
