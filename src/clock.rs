//! Today's date, in one place: figures that depend on it (months overdue, which months can
//! have actuals yet) read it here. NHS reporting runs on UK dates; the difference from UTC
//! is at most an hour, which does not matter at a monthly grain.

use chrono::{Datelike, NaiveDate, Utc};

/// Today (UTC).
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// The first day of the current month.
pub fn this_month() -> NaiveDate {
    let today = today();
    today.with_day(1).unwrap_or(today)
}
