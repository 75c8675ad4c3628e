//! Journey 1: an ICB editor signs in, chooses five national opportunities, sets a target and
//! its phasing, enters two months of actual savings, adds an update, gives every other
//! workstream a target (a plan needs one on each) and submits the plan —
//! with the mouse. Journey 5: the same with the keyboard alone (Tab, Shift+Tab, Enter, Space
//! and typing), the focus visible at every stop.

use medopt::auth::Role;
use sqlx::PgPool;

use crate::browser::Browser;
use crate::harness::{PASSWORD, browser_test};
use crate::keyboard::Stop::{Button, Field, FieldIn, Link};

/// The five national opportunities both journeys choose, as their checkboxes are labelled.
pub const FIVE_OPPORTUNITIES: [&str; 5] = [
    "1. Addressing problematic polypharmacy",
    "2. Addressing low priority prescribing",
    "3. Improving uptake of the most clinically and cost-effective medicines",
    "6. Using best value biologic medicines in line with NHS England commissioning recommendations",
    "9. Identifying patients with atrial fibrillation and using best value direct-acting oral anticoagulants",
];

#[sqlx::test]
async fn an_icb_editor_plans_the_year_and_submits_the_plan(pool: PgPool) {
    browser_test(
        "an_icb_editor_plans_the_year_and_submits_the_plan",
        pool,
        |site| async move {
            let editor = site.user(Role::IcbEditor, Some("QE1")).await;
            let b = site.open_browser("editor").await;

            b.sign_in_as(&editor).await;
            // Signing in lands on the current year; the journey plans a year that is over.
            assert_eq!(b.heading().await, "2026/27 dashboard");
            b.click_link("2024/25").await;
            assert_eq!(b.heading().await, "2024/25 dashboard");
            b.press_button("Start the 2024/25 plan").await;
            assert_eq!(b.heading().await, "2024/25 plan");
            assert_eq!(b.text("#plan-status").await, "Draft");

            for opportunity in FIVE_OPPORTUNITIES {
                b.tick(opportunity).await;
            }
            // A sixth, then second thoughts.
            b.tick("16. Switching intravenous antibiotics to oral")
                .await;
            b.untick("16. Switching intravenous antibiotics to oral")
                .await;
            b.press_button("Save chosen opportunities").await;
            assert!(
                b.text("#chosen-count")
                    .await
                    .starts_with("5 chosen (at least 5 needed)")
            );

            // A target, split evenly, then moved between months.
            b.click_link("1. Addressing problematic polypharmacy").await;
            assert_eq!(b.heading().await, "1. Addressing problematic polypharmacy");
            b.fill("Annual savings target", "12,000").await;
            b.press_button("Save target and split evenly").await;
            assert_eq!(b.text("#phasing-total").await, "Phasing total: £12,000");
            b.fill_in("Monthly phasing of the target", "April 2024", "500")
                .await;
            b.fill_in("Monthly phasing of the target", "March 2025", "1,500")
                .await;
            b.press_button("Save target and phasing").await;
            assert!(b.error_summary().await.is_empty());
            assert_eq!(b.text("#phasing-total").await, "Phasing total: £12,000");

            // Two months of actual savings.
            b.fill_in("Actual savings by month", "April 2024", "450")
                .await;
            b.fill_in("Actual savings by month", "May 2024", "1,250.50")
                .await;
            b.press_button("Save actual savings").await;
            assert_eq!(summary_value(&b, "Actual to date").await, "£1,701");

            // An update with its RAG status.
            b.choose("Green").await;
            b.fill(
                "Update",
                "Practice pharmacists have started structured medication reviews.",
            )
            .await;
            b.press_button("Add update").await;
            assert_eq!(
                b.text("#update-log .app-update-log__text").await,
                "Practice pharmacists have started structured medication reviews."
            );
            assert_eq!(b.text("#rag-status").await, "RAG: Green");

            // Every workstream needs a target before the plan can be submitted.
            for opportunity in &FIVE_OPPORTUNITIES[1..] {
                b.click_link("2024/25 plan").await;
                b.click_link(opportunity).await;
                b.fill("Annual savings target", "6,000").await;
                b.press_button("Save target and split evenly").await;
            }

            b.click_link("2024/25 plan").await;
            b.press_button("Submit plan for review").await;
            assert_eq!(b.text("#plan-status").await, "Submitted for review");
            assert_eq!(b.path().await, "/icbs/QE1/2024-25/plan?notice=submitted");
            assert!(
                b.has("#plan-locked").await,
                "the plan says it is locked for review"
            );

            // The dashboard now shows the year's figures, chart and trend lines.
            b.click_link("Dashboard").await;
            assert_eq!(b.heading().await, "2024/25 dashboard");
            assert_eq!(b.texts("#workstreams tbody th a").await.len(), 5);
            // The trend line tells screen reader users the figures it draws.
            assert_eq!(
                b.attribute("#workstreams tbody tr:first-child svg", "aria-label")
                    .await
                    .as_deref(),
                Some(
                    "Monthly actual savings of 1. Addressing problematic polypharmacy: \
                 April 2024 £450, May 2024 £1,251"
                )
            );

            b.sign_out().await;
            assert_eq!(b.heading().await, "Sign in");
        },
    )
    .await;
}

#[sqlx::test]
async fn an_icb_editor_does_the_same_with_the_keyboard_alone(pool: PgPool) {
    browser_test(
        "an_icb_editor_does_the_same_with_the_keyboard_alone",
        pool,
        |site| async move {
            let editor = site.user(Role::IcbEditor, Some("QE1")).await;
            let b = site.open_browser("keyboard").await;
            let keys = b.keyboard();

            // Opening the sign-in page is typing its address; from here on only keys.
            b.visit("/login").await;
            keys.tab_to(Link("Skip to main content")).await;
            keys.press_enter_on_this_page().await;
            keys.tab_to(Field("Email address")).await;
            assert!(
                keys.focus_is_within("main").await,
                "the skip link leads into the page's main content"
            );
            keys.type_text(&editor.email).await;
            keys.tab_to(Field("Password")).await;
            keys.type_text(PASSWORD).await;
            keys.tab_to(Button("Sign in")).await;
            keys.press_enter().await;
            assert_eq!(b.heading().await, "2026/27 dashboard");
            keys.tab_to(Link("2024/25")).await;
            keys.press_enter().await;
            assert_eq!(b.heading().await, "2024/25 dashboard");

            keys.tab_to(Button("Start the 2024/25 plan")).await;
            keys.press_enter().await;
            for opportunity in FIVE_OPPORTUNITIES {
                keys.tab_to(Field(opportunity)).await;
                keys.press_space().await;
            }
            keys.tab_to(Button("Save chosen opportunities")).await;
            keys.press_enter().await;
            assert!(
                b.text("#chosen-count")
                    .await
                    .starts_with("5 chosen (at least 5 needed)")
            );

            keys.tab_to(Link("1. Addressing problematic polypharmacy"))
                .await;
            keys.press_enter().await;
            keys.tab_to(Field("Annual savings target")).await;
            keys.type_text("12,000").await;
            keys.tab_to(Button("Save target and split evenly")).await;
            keys.press_enter().await;
            assert_eq!(b.text("#phasing-total").await, "Phasing total: £12,000");

            keys.tab_to(FieldIn("Actual savings by month", "April 2024"))
                .await;
            keys.type_text("450").await;
            keys.tab_to(FieldIn("Actual savings by month", "May 2024"))
                .await;
            keys.type_text("1,250.50").await;
            keys.tab_to(Button("Save actual savings")).await;
            keys.press_enter().await;
            assert_eq!(summary_value(&b, "Actual to date").await, "£1,701");

            // Tab reaches the first radio of the group; Space chooses it.
            keys.tab_to(FieldIn("RAG status", "Red")).await;
            keys.press_space().await;
            keys.tab_to(Field("Update")).await;
            keys.type_text("Uptake is behind plan; recovery actions agreed with the practices.")
                .await;
            // The figures suggest amber (85% of the target to date): red needs a reason.
            keys.tab_to(Field(
                "Reason, if the status differs from the one the figures suggest",
            ))
            .await;
            keys.type_text("Two practices have paused their switches until the new year.")
                .await;
            keys.tab_to(Button("Add update")).await;
            keys.press_enter().await;
            assert_eq!(b.text("#rag-status").await, "RAG: Red");

            for opportunity in &FIVE_OPPORTUNITIES[1..] {
                keys.tab_to(Link("2024/25 plan")).await;
                keys.press_enter().await;
                keys.tab_to(Link(opportunity)).await;
                keys.press_enter().await;
                keys.tab_to(Field("Annual savings target")).await;
                keys.type_text("6,000").await;
                keys.tab_to(Button("Save target and split evenly")).await;
                keys.press_enter().await;
            }

            keys.tab_to(Link("2024/25 plan")).await;
            keys.press_enter().await;
            keys.tab_to(Button("Submit plan for review")).await;
            keys.press_enter().await;
            assert_eq!(b.text("#plan-status").await, "Submitted for review");
        },
    )
    .await;
}

#[sqlx::test]
async fn mistakes_are_reported_by_the_field_they_are_in(pool: PgPool) {
    browser_test(
        "mistakes_are_reported_by_the_field_they_are_in",
        pool,
        |site| async move {
            let editor = site.user(Role::IcbEditor, Some("QE1")).await;
            let b = site.open_browser("editor").await;
            b.sign_in_as(&editor).await;
            b.click_link("2024/25").await;
            b.press_button("Start the 2024/25 plan").await;

            // Submitting with too few opportunities: the message leads to the submit button.
            b.press_button("Submit plan for review").await;
            b.follow_every_error(&["submit"]).await;

            b.tick(FIVE_OPPORTUNITIES[0]).await;
            b.press_button("Save chosen opportunities").await;
            b.click_link(FIVE_OPPORTUNITIES[0]).await;

            b.fill("Annual savings target", "twelve thousand").await;
            b.press_button("Save target and split evenly").await;
            b.follow_every_error(&["annual_target"]).await;

            b.fill_in("Actual savings by month", "April 2024", "lots")
                .await;
            b.fill_in("Actual savings by month", "June 2024", "£1,2,3")
                .await;
            b.press_button("Save actual savings").await;
            b.follow_every_error(&["actual_2024-04", "actual_2024-06"])
                .await;

            b.press_button("Add update").await;
            b.follow_every_error(&["rag", "narrative"]).await;
        },
    )
    .await;
}

/// Chooses the five opportunities and submits the plan: the editor's part before a review.
pub async fn choose_five_and_submit(b: &Browser) {
    b.click_link("2024/25").await;
    b.press_button("Start the 2024/25 plan").await;
    for opportunity in FIVE_OPPORTUNITIES {
        b.tick(opportunity).await;
    }
    b.press_button("Save chosen opportunities").await;
    for opportunity in FIVE_OPPORTUNITIES {
        b.click_link(opportunity).await;
        b.fill("Annual savings target", "6,000").await;
        b.press_button("Save target and split evenly").await;
        b.click_link("2024/25 plan").await;
    }
    b.press_button("Submit plan for review").await;
    assert_eq!(b.text("#plan-status").await, "Submitted for review");
}

/// The value beside `key` in the page's summary list of figures.
async fn summary_value(b: &Browser, key: &str) -> String {
    let keys = b.texts("#figures .nhsuk-summary-list__key").await;
    let values = b.texts("#figures .nhsuk-summary-list__value").await;
    keys.iter()
        .position(|k| k == key)
        .and_then(|i| values.get(i).cloned())
        .unwrap_or_else(|| panic!("no \"{key}\" among {keys:?}"))
}
