//! Pure domain types: financial years, money, phasing and dashboard progress. No I/O here, so
//! everything is unit-tested hard.

pub mod assurance;
mod financial_year;
mod money;
mod month;
mod ods_code;
pub mod phasing;
mod progress;
mod rollup;

pub use financial_year::{FinancialYear, ParseFinancialYearError};
pub use money::{ParseMoneyError, Pence};
pub use month::Month;
pub use ods_code::OdsCode;
pub use phasing::even_split;
pub use progress::{CumulativePoint, MonthFigures, Progress, cumulative, percent_of, progress};
pub use rollup::{PlanTotals, months_overdue};
