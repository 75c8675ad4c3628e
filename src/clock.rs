//! Today's date, in one place and carried in [`crate::AppState`]: figures that depend on it
//! (months overdue, which months can have actuals yet, the reporting month) read it from the
//! state, so tests can fix the date and check the figures of any day. NHS reporting runs on UK
//! dates; the difference from UTC is at most an hour, which does not matter at a monthly grain.

use chrono::{NaiveDate, Utc};

use crate::domain::Month;

/// Where "today" comes from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clock {
    fixed: Option<NaiveDate>,
}

impl Clock {
    /// The system clock (UTC).
    pub fn system() -> Self {
        Self { fixed: None }
    }

    /// A clock stopped at `today` (tests, benchmarks, reports "as at" a date).
    pub fn fixed(today: NaiveDate) -> Self {
        Self { fixed: Some(today) }
    }

    /// Today.
    pub fn today(&self) -> NaiveDate {
        self.fixed.unwrap_or_else(|| Utc::now().date_naive())
    }

    /// The current month.
    pub fn this_month(&self) -> Month {
        Month::containing(self.today())
    }
}
