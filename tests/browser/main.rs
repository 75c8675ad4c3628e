//! Browser tests: headless Chromium, driven through WebDriver (thirtyfour and the system
//! `chromedriver`), uses the real server on a real database, as people do — by clicking,
//! typing and pressing keys. Every page a journey reaches is audited with axe-core for
//! WCAG 2.0/2.1/2.2 A and AA, checked for sideways scrolling at 320 CSS pixels wide, and
//! checked for a title that says where you are, one `h1` and headings in order.
//!
//! Without Chromium the tests print a loud notice and pass (so `cargo test` works anywhere);
//! `MEDOPT_BROWSER_TESTS=required` (set by `.ci/run`) turns that into a failure. A failing
//! test saves a screenshot and the HTML of every open browser under
//! `target/browser-failures/<test>/` and prints the paths.
//!
//! Read a journey first (`plan_journey.rs`); the helpers it calls are in `browser.rs`, the
//! set-up in `harness.rs`, the checks in `checks.rs`.

mod analyst_journey;
mod browser;
mod checks;
mod harness;
mod keyboard;

mod harness_self_test;
mod import_journey;
mod pages;
mod plan_journey;
mod prescribing_journey;
mod review_journey;
mod workstream_journey;

/// Before any test runs: with no `DATABASE_URL`, start (or reuse) the private test cluster and
/// point `#[sqlx::test]` at it (as in `tests/app/common.rs`).
#[ctor::ctor(unsafe)]
fn test_database() {
    let url = medopt::devdb::test_database_url()
        .unwrap_or_else(|e| panic!("could not start the test PostgreSQL cluster: {e}"));
    if let Some(url) = url {
        // SAFETY: constructors run before `main`, while the process has a single thread.
        unsafe { std::env::set_var("DATABASE_URL", url) };
    }
}
