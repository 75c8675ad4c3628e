//! Journey 2: a regional reviewer signs in (landing on the region's roll-up), finds a
//! submitted plan in the queue, reads its review page (cover note, totals, checks, phasing,
//! history) and returns it with a comment; the ICB editor sees the comment, fixes the plan and
//! submits it again with a cover note; the reviewer sees both submissions and the comment in
//! the history, and agrees. Editor and reviewer each have their own browser, side by side.

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
            // Reviewers land on their region's roll-up of the current year.
            assert!(rv.heading().await.starts_with("Regional roll-up, "));
            find_plan_in_review_queue(&rv, "Lancashire and South Cumbria", "2024/25").await;
            assert_eq!(rv.heading().await, "Review of the 2024/25 plan");
            assert_eq!(rv.text("#plan-status").await, "Submitted for review");
            assert_eq!(
                rv.texts("#breadcrumbs a").await,
                [
                    "Home",
                    "North West",
                    "Lancashire and South Cumbria",
                    "2024/25"
                ]
            );
            assert_eq!(
                rv.text("#cover-note-none").await,
                "The ICB did not write a cover note."
            );
            assert_eq!(rv.text("#plan-totals [data-figure=national] dd").await, "5");
            assert_eq!(
                rv.attribute("#check-opportunities", "data-passed")
                    .await
                    .as_deref(),
                Some("true")
            );
            assert_eq!(
                rv.attribute("#check-targets", "data-passed")
                    .await
                    .as_deref(),
                Some("true"),
                "a plan is only submitted once every workstream has a target"
            );
            assert_eq!(rv.texts("#review-history li").await.len(), 1);

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
            ed.fill(
                "Cover note for the regional team (optional)",
                "Local priority on antimicrobial prescribing added, as asked.",
            )
            .await;
            ed.press_button("Submit plan for review").await;
            assert_eq!(ed.text("#plan-status").await, "Submitted for review");

            // The reviewer finds it again, sees the story so far and agrees it.
            rv.click_link("Home").await;
            find_plan_in_review_queue(&rv, "Lancashire and South Cumbria", "2024/25").await;
            assert_eq!(
                rv.text("#cover-note .app-note__text").await,
                "Local priority on antimicrobial prescribing added, as asked."
            );
            let history = rv.texts("#review-history li").await;
            assert_eq!(history.len(), 3, "{history:?}");
            assert!(history[1].contains(COMMENT), "{history:?}");
            assert!(
                rv.texts("#checks li")
                    .await
                    .iter()
                    .all(|c| c.starts_with("Passed")),
                "the reviewer sees the submit checks"
            );
            rv.choose("Agree the plan").await;
            rv.press_button("Record decision").await;
            assert_eq!(rv.text("#plan-status").await, "Agreed");
            assert_eq!(rv.texts("#review-history li").await.len(), 4);

            ed.click_link("Dashboard").await;
            ed.click_link("Plan").await;
            assert_eq!(ed.text("#plan-status").await, "Agreed");
        },
    )
    .await;
}

/// From the reviewer's roll-up for `year` (where they land), or else from their home page, to
/// the review page of `icb` (its short name, as the roll-up shows it), through the region's
/// queue of plans waiting for agreement.
pub async fn find_plan_in_review_queue(rv: &Browser, icb: &str, year: &str) {
    let rollup = format!("Regional roll-up, {year}");
    if rv.heading().await != rollup {
        if !rv.heading().await.starts_with("Regional roll-up") {
            rv.click_link("Your region's ICBs").await;
            rv.click_link(&format!("{year} roll-up")).await;
        } else {
            // The roll-up of another year: its year switcher.
            rv.click_link(year).await;
        }
    }
    assert_eq!(rv.heading().await, rollup);
    let waiting = rv.texts("#review-queue tbody th").await;
    assert!(
        waiting.contains(&format!("Review the plan of {icb}")),
        "{icb} is not waiting for review: {waiting:?}"
    );
    rv.click_link(&format!("Review the plan of {icb}")).await;
}
