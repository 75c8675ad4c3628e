//! Which figures a page shows: "to date" up to the reporting month, or to an earlier "as at"
//! month (`?as_at=2024-10`), as recorded or restated on today's organisations
//! (`?view=restated`). Pages with figures (an ICB's dashboard, the roll-ups) read both from
//! their address, so a view can be bookmarked and works without JavaScript.

use chrono::NaiveDate;
use serde::Deserialize;

use crate::domain::{FinancialYear, Month, progress};
use crate::forms::FieldErrors;

/// `?as_at=2024-10&view=restated` as typed.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct FiguresQuery {
    #[serde(default)]
    pub as_at: String,
    #[serde(default)]
    pub view: String,
}

/// The figures a page shows, checked against its year and today's date.
#[derive(Debug, Clone)]
pub struct Cut {
    /// The month "to date" runs to: the chosen "as at" month or the reporting month.
    pub month: Month,
    /// The reporting month on today's date.
    pub reporting: Month,
    /// An earlier month chosen with `?as_at=`.
    pub as_at: Option<Month>,
    /// Shown on today's organisations (`?view=restated`) rather than as recorded.
    pub restated: bool,
    /// The months that can be chosen in the year, latest first: (`2024-10`, `October 2024`).
    pub choices: Vec<(String, String)>,
    /// Messages for `as_at` or `view` when what was typed could not be used (the page then
    /// shows the default).
    pub errors: FieldErrors,
}

impl Cut {
    /// The figures `query` asks for on a page about `year`, on `today`.
    pub fn resolve(query: &FiguresQuery, year: FinancialYear, today: NaiveDate) -> Self {
        let reporting = progress::reporting_month(today);
        let mut errors = FieldErrors::default();
        let typed = query.as_at.trim();
        let as_at = if typed.is_empty() {
            None
        } else {
            match Month::parse_key(typed) {
                None => {
                    errors.add("as_at", "Choose a month from the list, like 2024-10");
                    None
                }
                Some(m) if !year.has_month(m) => {
                    errors.add("as_at", format!("Choose a month of {year}"));
                    None
                }
                Some(m) if m > reporting => {
                    errors.add(
                        "as_at",
                        format!(
                            "{}'s figures are not due yet: choose {} or an earlier month",
                            m.label(),
                            reporting.label()
                        ),
                    );
                    None
                }
                Some(m) => Some(m),
            }
        };
        let restated = match query.view.trim() {
            "" | "recorded" => false,
            "restated" => true,
            _ => {
                errors.add(
                    "view",
                    "Choose figures as recorded or restated on today's organisations",
                );
                false
            }
        };
        let choices = year
            .reporting_months()
            .into_iter()
            .filter(|m| *m <= reporting)
            .rev()
            .map(|m| (m.key(), m.label()))
            .collect();
        Cut {
            month: as_at.unwrap_or(reporting),
            reporting,
            as_at,
            restated,
            choices,
            errors,
        }
    }

    /// How a page answers: 422 when what was typed could not be used (the page shows the
    /// default figures with the message by the field), 200 otherwise.
    pub fn status(&self) -> axum::http::StatusCode {
        if self.errors.is_empty() {
            axum::http::StatusCode::OK
        } else {
            axum::http::StatusCode::UNPROCESSABLE_ENTITY
        }
    }

    /// The last month of `year` that "to date" covers, or `None` when none is due yet.
    pub fn through(&self, year: FinancialYear) -> Option<Month> {
        let last = progress::last_month(year);
        let through = self.month.min(last);
        (through >= progress::first_month(year)).then_some(through)
    }

    /// "to the end of September 2024", or "no month is due yet".
    pub fn describe(&self, year: FinancialYear) -> String {
        match self.through(year) {
            Some(m) => format!("to the end of {}", m.label()),
            None => "no month of the year is due yet".to_owned(),
        }
    }

    /// The selected key of the "as at" list (`2024-10`), empty for the reporting month.
    pub fn as_at_key(&self) -> String {
        self.as_at.map(Month::key).unwrap_or_default()
    }

    /// The query to carry the choice on in links (`as_at=2024-10&view=restated`), empty when
    /// the page shows the default.
    pub fn query(&self) -> String {
        let mut pairs = Vec::new();
        if let Some(m) = self.as_at {
            pairs.push(format!("as_at={}", m.key()));
        }
        if self.restated {
            pairs.push("view=restated".to_owned());
        }
        pairs.join("&")
    }

    /// `query` with `sep` (`?` or `&`) in front, or nothing.
    pub fn query_after(&self, sep: &str) -> String {
        let query = self.query();
        if query.is_empty() {
            query
        } else {
            format!("{sep}{query}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(as_at: &str, view: &str, today: NaiveDate) -> Cut {
        let query = FiguresQuery {
            as_at: as_at.into(),
            view: view.into(),
        };
        Cut::resolve(&query, FinancialYear::starting(2024).unwrap(), today)
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_reporting_month_unless_an_earlier_month_is_chosen() {
        let today = date(2024, 12, 10);
        let default = cut("", "", today);
        assert_eq!(default.month, Month::new(2024, 10).unwrap());
        assert_eq!(default.query(), "");
        assert_eq!(default.choices.len(), 7);
        assert_eq!(default.choices[0].1, "October 2024");
        let chosen = cut("2024-06", "restated", today);
        assert_eq!(chosen.month, Month::new(2024, 6).unwrap());
        assert!(chosen.restated);
        assert_eq!(chosen.query(), "as_at=2024-06&view=restated");
        assert!(chosen.errors.is_empty());
    }

    #[test]
    fn months_not_due_or_outside_the_year_are_refused_by_the_field() {
        let today = date(2024, 12, 10);
        for (typed, message) in [
            ("2024-11", "not due yet: choose October 2024"),
            ("2025-04", "Choose a month of 2024/25"),
            ("June", "Choose a month from the list"),
        ] {
            let refused = cut(typed, "", today);
            assert_eq!(refused.month, Month::new(2024, 10).unwrap(), "{typed}");
            let error = refused.errors.get("as_at").unwrap();
            assert!(error.contains(message), "{typed}: {error}");
        }
        assert!(cut("", "sideways", today).errors.get("view").is_some());
    }

    #[test]
    fn a_finished_year_runs_to_march_and_a_future_one_to_nothing() {
        let year = FinancialYear::starting(2024).unwrap();
        let later = cut("", "", date(2026, 1, 1));
        assert_eq!(later.through(year), Some(Month::new(2025, 3).unwrap()));
        let before = cut("", "", date(2024, 5, 1));
        assert_eq!(before.through(year), None);
        assert_eq!(before.describe(year), "no month of the year is due yet");
    }
}
