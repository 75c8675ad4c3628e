//! ICB programme plans: the dashboard, the plan (national opportunities chosen and local
//! priorities, with its review) and workstreams (targets, phasing, monthly actuals, RAG
//! updates and outcome measures).
//!
//! Every handler starts from [`context::IcbYear::load`], which proves the caller's scope for
//! the ICB (404 otherwise) and finds the programme year; every query then runs in the
//! request's scoped transaction and names the ICB, so row-level security backs up the check.
//!
//! What may change when:
//! - the plan's content (choices, local priorities, targets and phasing) can be changed by the
//!   ICB's editors while the year is open and the plan is not with the reviewer; changing an
//!   agreed plan puts it back to draft, and the page says so;
//! - progress (monthly actuals, measure values, RAG updates) can be recorded whenever the year
//!   is open, whatever the plan's status.

mod changes;
pub mod context;
mod dashboard;
mod import;
mod measures;
mod plan_page;
mod review;
mod workstream_page;
pub mod workstreams;

pub use plan_page::MIN_NATIONAL_OPPORTUNITIES;

use crate::routes::{Access, Routes};

/// The plan routes.
pub fn routes() -> Routes {
    Routes::new()
        .get("/icbs/{icb}/{year}", Access::IcbRead, dashboard::show)
        .get("/icbs/{icb}/{year}/plan", Access::IcbRead, plan_page::show)
        .post(
            "/icbs/{icb}/{year}/plan/opportunities",
            Access::IcbWrite,
            plan_page::choose_opportunities,
        )
        .post(
            "/icbs/{icb}/{year}/plan/priorities",
            Access::IcbWrite,
            plan_page::add_priority,
        )
        .post(
            "/icbs/{icb}/{year}/plan/submit",
            Access::IcbWrite,
            review::submit,
        )
        .post(
            "/icbs/{icb}/{year}/plan/review",
            Access::IcbReview,
            review::review,
        )
        .get(
            "/icbs/{icb}/{year}/workstreams/{workstream}",
            Access::IcbRead,
            workstream_page::show,
        )
        .post(
            "/icbs/{icb}/{year}/workstreams/{workstream}/details",
            Access::IcbWrite,
            workstream_page::save_details,
        )
        .post(
            "/icbs/{icb}/{year}/workstreams/{workstream}/target",
            Access::IcbWrite,
            workstream_page::save_target,
        )
        .post(
            "/icbs/{icb}/{year}/workstreams/{workstream}/actuals",
            Access::IcbWrite,
            workstream_page::save_actuals,
        )
        .post(
            "/icbs/{icb}/{year}/workstreams/{workstream}/updates",
            Access::IcbWrite,
            workstream_page::add_update,
        )
        .get(
            "/icbs/{icb}/{year}/workstreams/{workstream}/remove",
            Access::IcbWrite,
            workstream_page::confirm_remove,
        )
        .post(
            "/icbs/{icb}/{year}/workstreams/{workstream}/remove",
            Access::IcbWrite,
            workstream_page::remove,
        )
        .post(
            "/icbs/{icb}/{year}/workstreams/{workstream}/measures",
            Access::IcbWrite,
            measures::add,
        )
        .post(
            "/icbs/{icb}/{year}/workstreams/{workstream}/measures/{measure}",
            Access::IcbWrite,
            measures::save_values,
        )
        .get("/icbs/{icb}/{year}/import", Access::IcbWrite, import::show)
        .get(
            "/icbs/{icb}/{year}/import/template.csv",
            Access::IcbWrite,
            import::template,
        )
        .post(
            "/icbs/{icb}/{year}/import",
            Access::IcbWrite,
            import::upload,
        )
        .post(
            "/icbs/{icb}/{year}/import/apply",
            Access::IcbWrite,
            import::apply,
        )
}
