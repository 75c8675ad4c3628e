//! The rest of a workstream's life, as an ICB editor lives it: an outcome measure and its
//! monthly values, a save refused because a colleague saved first, removing a workstream
//! that has progress (it asks first), and un-ticking an opportunity that has progress.

use medopt::auth::Role;
use sqlx::PgPool;

use crate::harness::browser_test;

const FIRST: &str = "1. Addressing problematic polypharmacy";
const SECOND: &str = "2. Addressing low priority prescribing";
const MEASURE: &str = "Patients on 10 or more medicines";

#[sqlx::test]
async fn an_editor_tracks_a_measure_meets_a_colleagues_change_and_removes_workstreams(
    pool: PgPool,
) {
    browser_test(
        "an_editor_tracks_a_measure_meets_a_colleagues_change_and_removes_workstreams",
        pool,
        |site| async move {
            let editor = site.user(Role::IcbEditor, Some("QE1")).await;
            let colleague = site.user(Role::IcbEditor, Some("QE1")).await;
            let b = site.open_browser("editor").await;
            let c = site.open_browser("colleague").await;

            b.sign_in_as(&editor).await;
            b.click_link("2024/25").await;
            b.press_button("Start the 2024/25 plan").await;
            b.tick(FIRST).await;
            b.tick(SECOND).await;
            b.press_button("Save chosen opportunities").await;
            b.click_link(FIRST).await;

            // An outcome measure, then its first month.
            b.fill("Measure", MEASURE).await;
            b.fill("Unit", "%").await;
            b.choose("Lower is better").await;
            b.fill("Baseline value", "12.5").await;
            b.fill("Baseline month (for example 2024-03)", "2024-03")
                .await;
            b.fill("Target value", "10").await;
            b.fill("Target month (for example 2025-03)", "2025-03")
                .await;
            b.press_button("Add measure").await;
            assert_eq!(b.texts(".app-measure h3").await, [MEASURE]);
            b.fill_in("Monthly values (%)", "April 2024", "12.1").await;
            b.press_button(&format!("Save values of {MEASURE}")).await;
            assert!(b.error_summary().await.is_empty());

            // The colleague opens the same workstream; the editor saves a target first.
            c.sign_in_as(&colleague).await;
            c.click_link("2024/25").await;
            c.click_link("Plan").await;
            c.click_link(FIRST).await;
            b.fill("Annual savings target", "5,000").await;
            b.press_button("Save target and split evenly").await;
            c.fill("Annual savings target", "6,000").await;
            c.press_button("Save target and split evenly").await;
            assert_eq!(
                c.text("#conflict h2").await,
                "Important: Someone else saved a change first"
            );
            assert!(c.has("#conflict-table").await);

            // Removing a workstream with progress asks first.
            b.click_link("Remove this workstream from the plan").await;
            assert_eq!(b.heading().await, format!("Remove {FIRST} from the plan?"));
            b.press_button("Yes, remove it").await;
            assert_eq!(b.heading().await, "2024/25 plan");

            // So does un-ticking an opportunity with progress.
            b.click_link(SECOND).await;
            b.fill_in("Actual savings by month", "April 2024", "100")
                .await;
            b.press_button("Save actual savings").await;
            b.click_link("2024/25 plan").await;
            b.untick(SECOND).await;
            b.press_button("Save chosen opportunities").await;
            assert_eq!(
                b.heading().await,
                "Remove workstreams with recorded progress?"
            );
            assert_eq!(b.texts("#removing li").await, [SECOND]);
            b.press_button("Yes, remove them").await;
            assert_eq!(b.heading().await, "2024/25 plan");
            assert!(
                b.text("#chosen-count")
                    .await
                    .starts_with("0 chosen (at least 5 needed)")
            );
        },
    )
    .await;
}
