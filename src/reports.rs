//! Printable board reports: one page to take to an ICB's board or a region's assurance
//! meeting, that prints cleanly on A4 (the print rules are in `static/css/app.css`).
//!
//! - `/icbs/{icb}/{year}/report`: the ICB's headline figures, cumulative savings chart,
//!   workstreams with their RAG status and latest narrative, risks and outcome measures;
//! - `/regions/{region}/{year}/report`: the region's totals, the % of target chart, its ICBs'
//!   figures, the national opportunities, risks and measures.
//!
//! The figures are those of the dashboard and the regional roll-up, built by their own code
//! ([`crate::plans::dashboard`], [`crate::rollups::region`]), so a report always agrees with
//! the pages it summarises. There is no risk log yet: the risks are the workstreams rated red
//! or amber, with their latest narrative.

mod icb;
mod region;

use crate::routes::{Access, Routes};

/// The report routes.
pub fn routes() -> Routes {
    Routes::new()
        .get("/icbs/{icb}/{year}/report", Access::IcbRead, icb::show)
        .get(
            "/regions/{region}/{year}/report",
            Access::RegionRead,
            region::show,
        )
}

/// `4 November 2024`: the date a report is "as at".
fn long_date(date: chrono::NaiveDate) -> String {
    date.format("%-d %B %Y").to_string()
}
