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

mod assurance_journey;
mod harness_self_test;
mod import_journey;
mod month_journey;
mod notification_pages;
mod pages;
mod plan_journey;
mod prescribing_journey;
mod report_journey;
mod review_journey;
mod two_step_journey;
mod workstream_journey;

/// Before any test runs: with no `DATABASE_URL`, start (or reuse) the private test cluster and
/// point `#[sqlx::test]` at it (as in `tests/app/common.rs`, which says why this is `unsafe`).
mod test_database {
    #[ctor::ctor(unsafe)]
    fn start() {
        // SAFETY: constructors run before `main`, while the process has a single thread.
        unsafe { point_sqlx_test_at_the_test_cluster() };
    }

    /// Starts (or reuses) the private test cluster, unless `DATABASE_URL` is set, and sets
    /// `DATABASE_URL` to it.
    ///
    /// # Safety
    /// It sets an environment variable: call it only while the process has a single thread.
    #[expect(
        unsafe_code,
        reason = "test harness only: sets DATABASE_URL before main, while there is one thread"
    )]
    unsafe fn point_sqlx_test_at_the_test_cluster() {
        let url = medopt::devdb::test_database_url()
            .unwrap_or_else(|e| panic!("could not start the test PostgreSQL cluster: {e}"));
        if let Some(url) = url {
            // SAFETY: the caller guarantees that no other thread exists yet.
            unsafe { std::env::set_var("DATABASE_URL", url) };
        }
    }
}
