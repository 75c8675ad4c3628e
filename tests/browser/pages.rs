//! The pages outside the plan journeys, each through the same checks: the public pages, the
//! page-not-found page, the accessibility statement, the administrators' pages, the regional
//! and national views, and forms sent with mistakes (the error summary must lead to each
//! field it names).

use medopt::auth::Role;
use sqlx::PgPool;

use crate::harness::{PASSWORD, browser_test};

#[sqlx::test]
async fn public_pages_and_page_not_found(pool: PgPool) {
    browser_test("public_pages_and_page_not_found", pool, |site| async move {
        let b = site.open_browser("visitor").await;

        b.visit("/").await;
        assert_eq!(b.heading().await, "Medicines optimisation planning");
        b.click_link("Regions and ICBs").await;
        assert_eq!(b.heading().await, "Regions and integrated care boards");
        b.click_link("Opportunity catalogue").await;
        b.visit("/catalogue/2023-24").await;
        b.click_link("Accessibility statement").await;
        assert_eq!(
            b.heading().await,
            "Accessibility statement for Medicines optimisation planning"
        );
        b.click_link("Sign in").await;
        assert_eq!(b.heading().await, "Sign in");

        b.visit("/no-such-page").await;
        assert_eq!(b.heading().await, "Page not found");
    })
    .await;
}

#[sqlx::test]
async fn an_empty_sign_in_form_shows_errors_that_lead_to_their_fields(pool: PgPool) {
    browser_test(
        "an_empty_sign_in_form_shows_errors_that_lead_to_their_fields",
        pool,
        |site| async move {
            let b = site.open_browser("visitor").await;
            b.visit("/login").await;
            b.press_button("Sign in").await;
            // The NHS.UK frontend's script ran (app.js imports it from its hashed address):
            // it marks the page and moves the focus to the error summary.
            let started = b
                .script(
                    "return [document.body.classList.contains('nhsuk-frontend-supported'),
                             document.activeElement.classList.contains('nhsuk-error-summary')];",
                    Vec::new(),
                )
                .await;
            assert_eq!(started, serde_json::json!([true, true]));
            b.follow_every_error(&["email", "password"]).await;

            b.fill("Email address", "nobody@test.nhs.uk").await;
            b.fill("Password", "not the password").await;
            b.press_button("Sign in").await;
            assert_eq!(b.heading().await, "Sign in");
            assert!(!b.error_summary().await.is_empty());
        },
    )
    .await;
}

#[sqlx::test]
async fn administrators_pages(pool: PgPool) {
    browser_test("administrators_pages", pool, |site| async move {
        let admin = site.user(Role::Admin, None).await;
        let b = site.open_browser("admin").await;
        b.sign_in_as(&admin).await;

        b.click_link("Manage users").await;
        assert_eq!(b.heading().await, "Users");
        b.click_link("Add a user").await;
        b.press_button("Add user").await;
        b.follow_every_error(&["name", "email", "role"]).await;
        b.fill("Full name", "Asha Patel").await;
        b.fill("Email address", "asha.patel@test.nhs.uk").await;
        b.choose("ICB editor").await;
        b.select_option(
            "Organisation",
            "NHS Lancashire and South Cumbria Integrated Care Board (QE1)",
        )
        .await;
        b.press_button("Add user").await;
        assert_eq!(b.heading().await, "User added");
        b.click_link("Back to Asha Patel").await;
        assert_eq!(b.heading().await, "Asha Patel");

        // An administrator cannot deactivate their own account: the error leads to the button.
        b.click_link("Home").await;
        b.click_link("Manage users").await;
        b.click_link(&admin.name).await;
        b.press_button("Deactivate account").await;
        b.follow_every_error(&["deactivate"]).await;

        b.click_link("Home").await;
        b.click_link("Manage the opportunity catalogue").await;
        assert_eq!(b.heading().await, "Opportunity catalogue");
        b.fill("Programme year, for example 2026/27", "next year")
            .await;
        b.press_button("Create year").await;
        b.follow_every_error(&["year"]).await;
        b.click_link("2024/25").await;
        b.click_link("13").await;
        assert_eq!(b.heading().await, "Opportunity 13");
        b.fill("Title", "").await;
        b.tick("NHS England has confirmed this title").await;
        b.press_button("Save").await;
        b.follow_every_error(&["title"]).await;

        b.click_link("Home").await;
        b.click_link("Audit log").await;
        b.press_button("Filter").await;
        assert_eq!(b.heading().await, "Audit log");
        b.fill("From (YYYY-MM-DD)", "last Tuesday").await;
        b.press_button("Filter").await;
        b.follow_every_error(&["from"]).await;

        b.click_link("Home").await;
        b.click_link("Manage organisations").await;
        assert_eq!(b.heading().await, "Organisations");
        b.press_button("Add ICB").await;
        b.follow_every_error(&["ods_code", "name", "region", "valid_from"])
            .await;
        b.fill("ODS code", "QZZ").await;
        b.fill("Name", "NHS South London Integrated Care Board")
            .await;
        b.select_option("Region", "London").await;
        b.fill("First day of the ICB", "2026-04-01").await;
        b.press_button("Add ICB").await;
        assert_eq!(b.text("#notice p").await, "The ICB has been added.");
        b.press_button("Record the change").await;
        b.follow_every_error(&["predecessors", "successor", "effective_from"])
            .await;
        b.tick("NHS South East London Integrated Care Board (QKK)")
            .await;
        b.select_option(
            "ICB that took over",
            "NHS South London Integrated Care Board (QZZ)",
        )
        .await;
        b.fill("Date the change took effect", "2026-04-01").await;
        b.press_button("Record the change").await;
        assert_eq!(b.text("#notice p").await, "The change has been recorded.");

        b.click_link("Home").await;
        b.click_link("Download data as CSV").await;
        assert!(
            b.has("#dataset-audit-log").await,
            "administrators export the audit log"
        );

        b.click_link(&admin.name).await;
        assert_eq!(b.heading().await, "Change your password");
        b.press_button("Change password").await;
        b.follow_every_error(&["current_password", "new_password"])
            .await;
        b.fill("Current password", PASSWORD).await;
        b.fill("New password", "a much longer pass phrase 77").await;
        b.fill("Confirm new password", "a much longer pass phrase 78")
            .await;
        b.press_button("Change password").await;
        b.follow_every_error(&["confirm_password"]).await;
    })
    .await;
}

#[sqlx::test]
async fn regional_and_national_views(pool: PgPool) {
    browser_test("regional_and_national_views", pool, |site| async move {
        let analyst = site.user(Role::NationalAnalyst, None).await;
        let b = site.open_browser("analyst").await;
        b.sign_in_as(&analyst).await;

        b.click_link("Regions and ICBs").await;
        b.click_link("North West").await;
        assert_eq!(b.heading().await, "North West");
        b.click_link("NHS Lancashire and South Cumbria Integrated Care Board")
            .await;
        b.click_link("2024/25").await;
        assert_eq!(b.heading().await, "2024/25 dashboard");
        b.click_link("Plan").await;
        assert_eq!(b.heading().await, "2024/25 plan");

        // The roll-ups with no plans yet, a sorted column and the exports with a bad filter.
        b.click_link("Home").await;
        b.click_link("National roll-up").await;
        assert_eq!(b.heading().await, "National roll-up, 2026/27");
        b.click_link("2023/24").await;
        b.click_link("North West").await;
        assert_eq!(b.heading().await, "Regional roll-up, 2023/24");
        b.click_link("% of target to date").await;
        assert_eq!(
            b.attribute("#icb-figures th[aria-sort]", "aria-sort")
                .await
                .as_deref(),
            Some("descending")
        );
        b.click_link("Download this region's data as CSV").await;
        assert_eq!(b.heading().await, "Download data as CSV");
        b.fill("National opportunity number", "four").await;
        b.press_button("Apply filters").await;
        b.follow_every_error(&["opportunity"]).await;

        // What the role does not include is refused with the design system's error page.
        b.visit("/admin/users").await;
        assert_eq!(b.heading().await, "You do not have permission to do this");
    })
    .await;
}
