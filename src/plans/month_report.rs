//! `/icbs/{icb}/{year}/months/{YYYY-MM}`: one month's figures on one page — every
//! workstream's planned and actual saving and every outcome measure's value — saved together.
//!
//! The spreadsheet habit this replaces: a month is entered in one sitting, not workstream by
//! workstream. The rules are the workstream page's, applied to the whole form at once:
//! - the save runs with the plan's row locked ([`super::request::PlanEdit`]), so it takes turns
//!   with every other change to the plan;
//! - each workstream's and measure's version travels in the form; if any is stale the whole
//!   save is refused (409), showing what changed, and nothing is written; otherwise only the
//!   records whose figures change are written, each claiming its next version and audited on
//!   its workstream's history like a save on its page;
//! - actuals and values are progress, so they can be recorded whatever the plan's status while
//!   the year is open, but not for a month that has not started. Planned savings are shown
//!   read-only: phasing is plan content, edited on the workstream page.

mod page;
mod save;

pub use page::show;
pub use save::save;

use super::context::IcbYear;
use crate::domain::{Month, month_due};

/// The month the ICB should report now ([`month_due`]), as its page's address and its name
/// (`June 2024`), given the plan's latest month with any actual; `None` before the year.
pub fn due_link(ctx: &IcbYear, latest_reported: Option<Month>) -> Option<(String, String)> {
    month_due(ctx.year.year, ctx.clock.today(), latest_reported)
        .map(|m| (page::month_path(ctx, m), m.label()))
}
