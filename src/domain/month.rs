//! A reporting month: always the first day of a calendar month, so a stray mid-month date
//! cannot pass for a month anywhere it travels (forms, paths, figures, the database).
//! Written `2024-06` in form fields and web addresses, `June 2024` to people.

use std::fmt;

use chrono::{Datelike, Months, NaiveDate};

use super::FinancialYear;

/// A calendar month, held as its first day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(NaiveDate);

impl Month {
    /// The month containing `date`.
    pub fn containing(date: NaiveDate) -> Self {
        Self(date.with_day(1).unwrap_or(date))
    }

    /// The month whose first day is `date`; `None` for any other day.
    pub fn from_first_day(date: NaiveDate) -> Option<Self> {
        (date.day() == 1).then_some(Self(date))
    }

    /// `year`-`month`, if that is a month (years 1900–2999: nothing else is meant).
    pub fn new(year: i32, month: u32) -> Option<Self> {
        if !(1900..=2999).contains(&year) {
            return None;
        }
        NaiveDate::from_ymd_opt(year, month, 1).map(Self)
    }

    /// Parses the key form `2024-06` exactly: four-digit year, two-digit month. `2024-6` is
    /// refused, so two spellings of one month cannot both reach a form.
    pub fn parse_key(key: &str) -> Option<Self> {
        let (year, month) = key.split_once('-')?;
        if year.len() != 4
            || month.len() != 2
            || !(year.bytes().chain(month.bytes())).all(|b| b.is_ascii_digit())
        {
            return None;
        }
        Self::new(year.parse().ok()?, month.parse().ok()?)
    }

    /// The first day.
    pub fn first_day(self) -> NaiveDate {
        self.0
    }

    /// `2024-06`: in form field names, web addresses and files.
    pub fn key(self) -> String {
        self.0.format("%Y-%m").to_string()
    }

    /// `June 2024`.
    pub fn label(self) -> String {
        self.0.format("%B %Y").to_string()
    }

    /// The financial year it falls in.
    pub fn financial_year(self) -> FinancialYear {
        FinancialYear::containing(self.0)
    }

    /// The month before.
    pub fn previous(self) -> Self {
        Self(self.0 - Months::new(1))
    }

    /// The month after.
    pub fn next(self) -> Self {
        Self(self.0 + Months::new(1))
    }
}

impl From<Month> for NaiveDate {
    fn from(month: Month) -> Self {
        month.0
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

impl FinancialYear {
    /// The twelve reporting months, April to March, as [`Month`]s.
    pub fn reporting_months(self) -> [Month; 12] {
        self.months().map(Month)
    }

    /// Whether `month` falls in this year.
    pub fn has_month(self, month: Month) -> bool {
        month.financial_year() == self
    }
}

impl sqlx::Type<sqlx::Postgres> for Month {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <NaiveDate as sqlx::Type<sqlx::Postgres>>::type_info()
    }
}

impl sqlx::Encode<'_, sqlx::Postgres> for Month {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <NaiveDate as sqlx::Encode<'_, sqlx::Postgres>>::encode_by_ref(&self.0, buf)
    }
}

impl sqlx::Decode<'_, sqlx::Postgres> for Month {
    fn decode(value: sqlx::postgres::PgValueRef<'_>) -> Result<Self, sqlx::error::BoxDynError> {
        let date = <NaiveDate as sqlx::Decode<'_, sqlx::Postgres>>::decode(value)?;
        Month::from_first_day(date)
            .ok_or_else(|| format!("{date} is not the first day of a month").into())
    }
}

impl sqlx::postgres::PgHasArrayType for Month {
    fn array_type_info() -> sqlx::postgres::PgTypeInfo {
        <NaiveDate as sqlx::postgres::PgHasArrayType>::array_type_info()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_exact() {
        let june = Month::new(2024, 6).unwrap();
        assert_eq!(Month::parse_key("2024-06"), Some(june));
        assert_eq!(june.key(), "2024-06");
        assert_eq!(june.label(), "June 2024");
        for bad in [
            "2024-6",
            "24-06",
            "2024-13",
            "2024-00",
            "x",
            "",
            "2024-06-01",
            "+024-06",
            "0000-01",
        ] {
            assert_eq!(Month::parse_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn months_step_and_know_their_year() {
        let march = Month::new(2025, 3).unwrap();
        assert_eq!(march.next(), Month::new(2025, 4).unwrap());
        assert_eq!(march.previous(), Month::new(2025, 2).unwrap());
        assert_eq!(
            march.financial_year(),
            FinancialYear::starting(2024).unwrap()
        );
        assert_eq!(
            Month::containing(NaiveDate::from_ymd_opt(2024, 6, 17).unwrap()),
            Month::new(2024, 6).unwrap()
        );
        assert_eq!(
            Month::from_first_day(NaiveDate::from_ymd_opt(2024, 6, 17).unwrap()),
            None
        );
    }
}
