//! Pure domain types: financial years, money. No I/O here, so everything is unit-tested hard.

mod financial_year;
mod money;

pub use financial_year::{FinancialYear, ParseFinancialYearError};
pub use money::Pence;
