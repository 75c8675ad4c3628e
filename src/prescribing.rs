//! Measures from the national prescribing data: NHSBSA's English Prescribing Dataset (EPD),
//! monthly, with NHS England's GP practice list sizes.
//!
//! - [`library`]: the measure library (`reference/measures.csv`): which BNF codes and fields
//!   make each measure's numerator and denominator, and which opportunity it shows.
//! - [`epd`], [`source`], [`import`], [`store`], [`list_sizes`]: `medopt prescribing import`
//!   and `list-sizes` stream a file in, check and aggregate it per practice and measure on the
//!   way (memory bounded by practices × measures, not rows) and replace the month in one
//!   transaction with `COPY`.
//! - [`fetch`]: `medopt prescribing fetch` downloads a month from the NHSBSA open data portal.
//! - [`synth`], [`demo`]: synthetic EPD files for demonstrations, tests and the benchmark;
//!   `medopt demo` loads a year of them.
//! - [`figures`], [`panel`], [`rollup`], [`pages`]: what users see. [`panel::for_opportunity`]
//!   builds the panel of one opportunity for one ICB, for any page that already knows both
//!   (drawn by `templates/prescribing/macros.html`); the roll-ups add [`rollup`]'s tables.
//!
//! The EPD is open data: every signed-in role may see England's spread. An ICB's own figures
//! appear on pages that are already scoped to it.

pub mod command;
pub mod demo;
pub mod epd;
pub mod fetch;
pub mod figures;
pub mod import;
pub mod library;
pub mod list_sizes;
pub mod pages;
pub mod panel;
pub mod rollup;
pub mod source;
pub mod store;
pub mod synth;

pub use command::PrescribingCommand;
pub use pages::routes;
pub use panel::{PrescribingPanel, for_opportunity};
