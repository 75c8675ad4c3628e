//! Journey 2: a regional reviewer signs in, finds a submitted plan, returns it with a comment;
//! the ICB editor sees the comment, fixes the plan and submits it again; the reviewer agrees.
//! Editor and reviewer each have their own browser, open side by side.

use medopt::auth::Role;
use sqlx::PgPool;

use crate::browser::Browser;
use crate::harness::browser_test;
use crate::plan_journey::choose_five_and_submit;

const COMMENT: &str = "Add a local priority on antimicrobial prescribing.";

#[sqlx::test]
async fn a_reviewer_returns_a_plan_and_agrees_it_once_fixed(pool: PgPool) {
    browser_test(
        "a_reviewer_returns_a_plan_and_agrees_it_once_fixed",
        pool,
        |site| async move {
            let editor = site.user(Role::IcbEditor, Some("QE1")).await;
            let reviewer = site.user(Role::RegionReviewer, Some("Y62")).await;
            let ed = site.open_browser("editor").await;
            let rv = site.open_browser("reviewer").await;

            ed.sign_in_as(&editor).await;
            choose_five_and_submit(&ed).await;

            rv.sign_in_as(&reviewer).await;
            find_plan_in_review_queue(&rv, "Lancashire and South Cumbria", "2024/25").await;
            assert_eq!(rv.heading().await, "2024/25 plan");
            assert_eq!(rv.text("#plan-status").await, "Submitted for review");

            // A decision is needed, and returning a plan needs a comment: each error leads to
            // its field.
            rv.press_button("Record decision").await;
            rv.follow_every_error(&["decision"]).await;
            rv.choose("Return it to the ICB with comments").await;
            rv.press_button("Record decision").await;
            rv.follow_every_error(&["review_comment"]).await;

            rv.fill("Comments for the ICB", COMMENT).await;
            rv.press_button("Record decision").await;
            assert_eq!(rv.text("#plan-status").await, "Returned with comments");

            // The editor sees the comment, adds the local priority (with a first update) and
            // submits again.
            ed.click_link("Dashboard").await;
            ed.click_link("Plan").await;
            assert_eq!(ed.text("#plan-status").await, "Returned with comments");
            assert_eq!(ed.text("#review-comment p").await, COMMENT);
            ed.fill("Title", "Antimicrobial prescribing").await;
            ed.press_button("Add local priority").await;
            assert_eq!(ed.heading().await, "Antimicrobial prescribing");
            ed.choose("Amber").await;
            ed.fill(
                "Update",
                "Starts in the second quarter, after the prescriber training.",
            )
            .await;
            ed.press_button("Add update").await;
            assert_eq!(ed.text("#rag-status").await, "RAG: Amber");
            ed.click_link("2024/25 plan").await;
            assert_eq!(
                ed.texts("#local-workstreams tbody th a").await,
                ["Antimicrobial prescribing"]
            );
            // The new priority has no target yet: the plan cannot go back until it has one.
            ed.press_button("Submit plan for review").await;
            ed.follow_every_error(&["submit"]).await;
            ed.click_link("Antimicrobial prescribing").await;
            ed.fill("Annual savings target", "8,000").await;
            ed.press_button("Save target and split evenly").await;
            ed.click_link("2024/25 plan").await;
            ed.press_button("Submit plan for review").await;
            assert_eq!(ed.text("#plan-status").await, "Submitted for review");

            // The reviewer finds it again, sees the checks it passed and agrees it.
            rv.click_link("Home").await;
            find_plan_in_review_queue(&rv, "Lancashire and South Cumbria", "2024/25").await;
            assert!(
                rv.texts("#plan-checks li")
                    .await
                    .iter()
                    .all(|c| c.starts_with("Passed")),
                "the reviewer sees the submit checks"
            );
            rv.choose("Agree the plan").await;
            rv.press_button("Record decision").await;
            assert_eq!(rv.text("#plan-status").await, "Agreed");

            ed.click_link("Dashboard").await;
            ed.click_link("Plan").await;
            assert_eq!(ed.text("#plan-status").await, "Agreed");
        },
    )
    .await;
}

/// From the reviewer's home page to the plan of `icb` (its short name, as the roll-up shows
/// it) for `year`, through the region's roll-up and its queue of plans waiting for agreement.
pub async fn find_plan_in_review_queue(rv: &Browser, icb: &str, year: &str) {
    rv.click_link("Your region's ICBs").await;
    rv.click_link(&format!("{year} roll-up")).await;
    assert_eq!(rv.heading().await, format!("Regional roll-up, {year}"));
    let waiting = rv.texts("#review-queue tbody th").await;
    assert!(
        waiting.contains(&format!("Review the plan of {icb}")),
        "{icb} is not waiting for review: {waiting:?}"
    );
    rv.click_link(&format!("Review the plan of {icb}")).await;
}
