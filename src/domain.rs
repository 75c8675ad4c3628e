//! Pure domain types: financial years, money, phasing and dashboard progress. No I/O here, so
//! everything is unit-tested hard.

pub mod assurance;
mod due_month;
mod financial_year;
mod lifetime;
mod money;
mod month;
mod ods_code;
pub mod phasing;
pub mod progress;
mod rollup;

pub use due_month::month_due;
pub use financial_year::{FinancialYear, ParseFinancialYearError};
pub use lifetime::Lifetime;
pub use money::{ParseMoneyError, Pence};
pub use month::Month;
pub use ods_code::OdsCode;
pub use phasing::even_split;
pub use progress::{
    CumulativePoint, MonthFigures, cumulative, is_due, percent_of, reporting_month, run_rate,
};
pub use rollup::{
    PlanTotals, Restated, Sums, restate, restated_total, rounding_gap, rounding_note, totals_note,
    whole_pounds,
};
