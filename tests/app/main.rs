//! Black-box tests: requests go through the real router (`medopt::app`) to a real PostgreSQL
//! database, one fresh database per test (`#[sqlx::test]`). With no `DATABASE_URL`, the
//! harness starts a private test cluster first, so plain `cargo test` works anywhere.

#![expect(
    clippy::unwrap_used,
    reason = "in test helpers a panic is the failure report"
)]

mod common;
mod seed;
mod smtp;

mod access_matrix;
mod accessibility;
mod admin;
mod assurance;
mod assurance_figures;
mod assurance_import;
mod audit;
mod auth;
mod carry_forward;
mod catalogue;
mod cli;
mod concurrency;
mod csrf;
mod demo;
mod exports;
mod figures;
mod fuzz;
mod health;
mod home;
mod http_hygiene;
mod imports;
mod months;
mod navigation;
mod notifications;
mod organisations;
mod plans;
mod prescribing;
mod prescribing_pages;
mod reference_data;
mod reports;
mod resilience;
mod review_page;
mod rls;
mod rollups;
mod security;
mod two_step;
