//! `/icbs/{icb}/{year}/workstreams/{workstream}`: one workstream's details, annual target and
//! its monthly phasing, monthly actual savings, RAG updates, outcome measures, savings
//! assurance (classification and investment, full-year effect, forecast, risk log) and history.
//!
//! One file per job: [`page`] builds the page every form re-renders; each form has its own
//! file with its typed form struct and handler. Every save runs with the plan's row locked
//! ([`super::request::WorkstreamEdit`]) and claims the workstream's (or measure's) version in
//! the statement that checks it, so a save based on a stale page is refused with both values
//! shown and changes nothing, and of two identical saves exactly one applies.

pub mod actuals;
pub mod classification;
pub mod details;
pub mod forecast;
pub mod full_year_effect;
mod history;
pub mod measures;
pub mod page;
pub mod remove;
pub mod risks;
mod save;
pub mod target;
pub mod updates;
