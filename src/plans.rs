//! ICB programme plans: the dashboard, the plan (national opportunities chosen and local
//! priorities), its review page (cover note, checks, what changed since agreed, history) and
//! workstreams (targets, phasing, monthly actuals, RAG updates and outcome measures); the
//! month page (a month's figures for every workstream on one form), plan against actual by
//! month, and the CSV import of a month's figures.
//!
//! How a request flows:
//! - the route's declared access is checked before the handler ([`crate::routes::enforce`]):
//!   the ICB in the path is in the caller's scope (404 otherwise) and their role includes the
//!   action (403 otherwise);
//! - the handler's first argument ([`request`]) opens the scoped transaction and loads the
//!   ICB, year and plan; for a change it locks the plan's row and carries the write proof
//!   ([`crate::auth::scope::IcbEditor`]) that every write query takes;
//! - the form is a typed serde struct ([`crate::forms::Form`]); a change is conditional on the
//!   version the form was opened on, refused as stale (409, both values shown) otherwise;
//! - status changes go through [`workflow`], which audits each one.
//!
//! What may change when:
//! - the plan's content (choices, local priorities, targets and phasing) can be changed by the
//!   ICB's editors while the year is open and the plan is not with the reviewer; changing an
//!   agreed plan puts it back to draft (audited as `plan.reopened`), and the page says so;
//! - progress (monthly actuals, measure values, RAG updates) can be recorded whenever the year
//!   is open, whatever the plan's status.

pub mod breadcrumbs;
pub mod changes;
mod checks;
mod choices;
pub mod context;
pub mod dashboard;
mod grid;
mod import;
pub mod landing;
pub mod measures;
pub mod month_report;
pub mod plan_page;
mod priorities;
pub mod request;
pub mod review;
pub mod workflow;
pub mod workstream;
pub mod workstreams;

pub use plan_page::MIN_NATIONAL_OPPORTUNITIES;

use crate::routes::{Access, Routes};
use workstream::{
    actuals, classification, details, forecast, full_year_effect, measures as measure_forms, page,
    remove, risks, target, updates,
};

/// The plan routes.
pub fn routes() -> Routes {
    Routes::new()
        .get("/icbs/{icb}/{year}", Access::IcbRead, dashboard::show)
        .get("/icbs/{icb}/{year}/plan", Access::IcbRead, plan_page::show)
        .post(
            "/icbs/{icb}/{year}/plan/opportunities",
            Access::IcbWrite,
            choices::choose_opportunities,
        )
        .post(
            "/icbs/{icb}/{year}/plan/priorities",
            Access::IcbWrite,
            priorities::add_priority,
        )
        .post(
            "/icbs/{icb}/{year}/plan/submit",
            Access::IcbWrite,
            review::submit,
        )
        .get("/icbs/{icb}/{year}/review", Access::IcbRead, review::show)
        .post(
            "/icbs/{icb}/{year}/plan/review",
            Access::IcbReview,
            review::review,
        )
        .get("/icbs/{icb}/{year}/grid", Access::IcbRead, grid::show)
        .get(
            "/icbs/{icb}/{year}/months/{month}",
            Access::IcbRead,
            month_report::show,
        )
        .post(
            "/icbs/{icb}/{year}/months/{month}",
            Access::IcbWrite,
            month_report::save,
        )
        .get(
            "/icbs/{icb}/{year}/workstreams/{workstream}",
            Access::IcbRead,
            page::show,
        )
        .post(
            "/icbs/{icb}/{year}/workstreams/{workstream}/details",
            Access::IcbWrite,
            details::save_details,
        )
        .post(
            "/icbs/{icb}/{year}/workstreams/{workstream}/target",
            Access::IcbWrite,
            target::save_target,
        )
        .post(
            "/icbs/{icb}/{year}/workstreams/{workstream}/actuals",
            Access::IcbWrite,
            actuals::save_actuals,
        )
        .post(
            "/icbs/{icb}/{year}/workstreams/{workstream}/updates",
            Access::IcbWrite,
            updates::add_update,
        )
        .get(
            "/icbs/{icb}/{year}/workstreams/{workstream}/remove",
            Access::IcbWrite,
            remove::confirm_remove,
        )
        .post(
            "/icbs/{icb}/{year}/workstreams/{workstream}/remove",
            Access::IcbWrite,
            remove::remove,
        )
        .post(
            "/icbs/{icb}/{year}/workstreams/{workstream}/measures",
            Access::IcbWrite,
            measure_forms::add_measure,
        )
        .post(
            "/icbs/{icb}/{year}/workstreams/{workstream}/measures/{measure}",
            Access::IcbWrite,
            measure_forms::save_values,
        )
        .post(
            "/icbs/{icb}/{year}/workstreams/{workstream}/classification",
            Access::IcbWrite,
            classification::save_classification,
        )
        .post(
            "/icbs/{icb}/{year}/workstreams/{workstream}/full-year-effect",
            Access::IcbWrite,
            full_year_effect::save_full_year_effect,
        )
        .post(
            "/icbs/{icb}/{year}/workstreams/{workstream}/forecast",
            Access::IcbWrite,
            forecast::save_forecast,
        )
        .post(
            "/icbs/{icb}/{year}/workstreams/{workstream}/risks",
            Access::IcbWrite,
            risks::add_risk,
        )
        .post(
            "/icbs/{icb}/{year}/workstreams/{workstream}/risks/{risk}",
            Access::IcbWrite,
            risks::update_risk,
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
