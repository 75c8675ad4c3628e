//! Savings assurance (issue 12): what ICB finance leads and regional chief pharmacists judge a
//! savings plan by beyond its target and actuals — whether each saving recurs and releases
//! cash, where it falls, what it costs to deliver, its full-year effect, the lead's forecast
//! and confidence (risk-adjusted with the year's weights), the RAG its figures suggest, its
//! risks, and the ICB's savings requirement with the gap still to find.
//!
//! - [`store`]: the stored fields and the queries that read and write them;
//! - [`figures`]: a plan's figures and splits, and the sums the roll-ups show, from the SQL
//!   views `workstream_assurance` and `plan_assurance` (the one definition of the derived
//!   figures for the dashboard, roll-ups and exports; [`crate::domain::assurance`] holds the
//!   same arithmetic for the workstream page);
//! - [`workstream`]: the workstream page's sections (its forms are in
//!   `src/plans/workstream/`: classification, full-year effect, forecast, risks);
//! - [`plan_page`] and [`requirement`]: `/icbs/{icb}/{year}/assurance` and its form;
//! - [`next_year`]: "Start 2027/28 from 2026/27", previewed then confirmed;
//! - [`rollup`]: the roll-ups' sections and the "local priorities" line;
//! - [`settings`]: a programme year's weights and thresholds, on the catalogue year page;
//! - [`demo`]: the demo dataset's assurance fields.

pub mod demo;
pub mod figures;
pub mod next_year;
pub mod plan_page;
pub mod requirement;
pub mod rollup;
pub mod settings;
pub mod store;
pub mod workstream;

use crate::routes::{Access, Routes};

/// The savings assurance routes (the workstream forms are declared with the plan's routes).
pub fn routes() -> Routes {
    Routes::new()
        .get(
            "/icbs/{icb}/{year}/assurance",
            Access::IcbRead,
            plan_page::show,
        )
        .post(
            "/icbs/{icb}/{year}/assurance/requirement",
            Access::IcbWrite,
            requirement::save_requirement,
        )
        .get(
            "/icbs/{icb}/{year}/next-year",
            Access::IcbWrite,
            next_year::show,
        )
        .post(
            "/icbs/{icb}/{year}/next-year",
            Access::IcbWrite,
            next_year::carry_forward,
        )
        .post(
            "/admin/catalogue/{year}/assurance",
            Access::Admin,
            settings::save_settings,
        )
}
