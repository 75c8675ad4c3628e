//! Regional and national roll-ups of the ICBs' plans for a programme year.
//!
//! - `/regions/{region}/{year}`: every ICB of the region that existed in the year with its
//!   plan's figures (sortable), the region's totals, the plans awaiting agreement, the ICB ×
//!   opportunity matrix and a chart of each ICB's % of target to date against the region's.
//! - `/national/{year}`: the same by region, plus a table by national opportunity.
//!
//! Figures are SQL aggregates ([`figures`]); a region's total is the sum of its ICB rows and
//! the nation's the sum of its regions, so every total can be checked against the rows above
//! it. Only the presentation (sorting a handful of rows, laying out the matrix) is done here.

mod figures;
mod national;
pub mod region;
pub mod sorting;
mod summary;

pub use figures::{Coverage, OpportunityFigures};

use crate::routes::{Access, Routes};

/// The roll-up routes.
pub fn routes() -> Routes {
    Routes::new()
        .get("/regions/{region}/{year}", Access::RegionRead, region::show)
        .get("/national", Access::National, national::latest)
        .get("/national/{year}", Access::National, national::show)
}

/// An ICB's name as charts and narrow columns show it: without "NHS " and
/// " Integrated Care Board" (`NHS Cheshire and Merseyside Integrated Care Board` is
/// `Cheshire and Merseyside`).
pub fn short_icb_name(name: &str) -> &str {
    let name = name.strip_prefix("NHS ").unwrap_or(name);
    name.strip_suffix(" Integrated Care Board")
        .or_else(|| name.strip_suffix(" ICB"))
        .unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::short_icb_name;

    #[test]
    fn short_names() {
        assert_eq!(
            short_icb_name("NHS Cheshire and Merseyside Integrated Care Board"),
            "Cheshire and Merseyside"
        );
        assert_eq!(short_icb_name("North West London ICB"), "North West London");
        assert_eq!(short_icb_name("Somewhere"), "Somewhere");
    }
}
