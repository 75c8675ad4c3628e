//! Savings assurance in the browser (issue 12): an ICB editor records a workstream's saving
//! type, benefit, setting and investment, its full-year effect, a forecast, a risk and a RAG
//! that differs from the suggested one (with its reason), then the plan's savings
//! requirement, and starts next year's plan from this one after its preview; the region's
//! reviewer reads it all; an administrator's settings are checked by the field. Every page is
//! checked for accessibility on the way.

use medopt::auth::Role;
use sqlx::PgPool;

use crate::harness::browser_test;
use crate::plan_journey::FIVE_OPPORTUNITIES;

const REASON: &str = "The switches started in May; savings show from June.";

#[sqlx::test]
async fn an_editor_records_savings_assurance_and_a_reviewer_reads_it(pool: PgPool) {
    browser_test(
        "an_editor_records_savings_assurance_and_a_reviewer_reads_it",
        pool,
        |site| async move {
            let editor = site.user(Role::IcbEditor, Some("QE1")).await;
            let reviewer = site.user(Role::RegionReviewer, Some("Y62")).await;
            let b = site.open_browser("editor").await;
            b.sign_in_as(&editor).await;
            b.click_link("2024/25").await;
            b.press_button("Start the 2024/25 plan").await;
            for opportunity in FIVE_OPPORTUNITIES {
                b.tick(opportunity).await;
            }
            b.press_button("Save chosen opportunities").await;
            b.click_link(FIVE_OPPORTUNITIES[0]).await;
            b.fill("Annual savings target", "12,000").await;
            b.press_button("Save target and split evenly").await;
            b.fill_in("Actual savings by month", "April 2024", "500")
                .await;
            b.fill_in("Actual savings by month", "May 2024", "500").await;
            b.press_button("Save actual savings").await;

            // The saving type, benefit and setting are needed; each error leads to its field.
            b.fill("Investment in the year", "lots").await;
            b.press_button("Save saving type and investment").await;
            b.follow_every_error(&["saving_type", "benefit_type", "setting", "investment"])
                .await;
            b.choose("Recurrent").await;
            b.choose("Cash-releasing").await;
            b.choose("Primary care").await;
            b.fill("Investment in the year", "2,000").await;
            b.press_button("Save saving type and investment").await;
            assert!(b.error_summary().await.is_empty());
            assert_eq!(
                b.text("#assurance-figures [data-figure=net_target] dd").await,
                "£10,000"
            );

            // The full-year effect: from the actuals, then the lead's own.
            assert!(
                b.text("#assurance-figures [data-figure=full_year_effect] dd")
                    .await
                    .starts_with("£6,000")
            );
            b.fill("Full-year effect", "9,000").await;
            b.press_button("Save full-year effect").await;
            let effect = b
                .text("#assurance-figures [data-figure=full_year_effect] dd")
                .await;
            assert!(
                effect.starts_with("£9,000") && effect.ends_with("Set by the lead"),
                "{effect}"
            );

            // A forecast as at May.
            b.select_option("Forecast as at", "May 2024").await;
            b.fill("Likely outturn for the year", "11,000").await;
            b.choose("Medium").await;
            b.press_button("Save forecast").await;
            let adjusted = b
                .text("#assurance-figures [data-figure=risk_adjusted] dd")
                .await;
            assert!(
                adjusted.starts_with("£8,500")
                    && adjusted.ends_with(
                        "The £1,000 reported so far in full, and 75% of the rest of the likely outturn"
                    ),
                "{adjusted}"
            );

            // A risk.
            b.press_button("Add risk").await;
            b.follow_every_error(&["risk_description"]).await;
            b.fill("Risk", "Stock shortage of the preferred DOAC").await;
            b.fill("Mitigation", "A second supplier is agreed").await;
            b.fill("Owner", "Lead pharmacist").await;
            b.choose("Open").await;
            b.press_button("Add risk").await;
            assert_eq!(
                b.texts(".app-risk h3").await,
                ["Stock shortage of the preferred DOAC"]
            );

            // £1,000 of £2,000 to date: red is suggested, so green needs a reason.
            b.choose("Green").await;
            b.fill("Update", "The switches are under way.").await;
            b.press_button("Add update").await;
            b.follow_every_error(&["rag_reason"]).await;
            b.fill(
                "Reason, if the status differs from the one the figures suggest",
                REASON,
            )
            .await;
            b.press_button("Add update").await;
            assert_eq!(b.text("#rag-status").await, "RAG: Green");

            // The plan's savings requirement and the gap.
            b.click_link("2024/25 dashboard").await;
            b.click_link("Savings assurance").await;
            assert_eq!(b.heading().await, "2024/25 savings assurance");
            b.fill("Savings requirement for medicines", "-1").await;
            b.press_button("Save savings requirement").await;
            b.follow_every_error(&["savings_requirement"]).await;
            b.fill("Savings requirement for medicines", "50,000").await;
            b.press_button("Save savings requirement").await;
            assert_eq!(
                b.text("#plan-assurance [data-figure=unidentified_gap] dd").await,
                "£38,000 Still to find"
            );

            // Next year from this one: a preview first.
            b.click_link("Start 2025/26 from 2024/25").await;
            assert_eq!(b.heading().await, "Start 2025/26 from 2024/25");
            b.press_button("Start 2025/26 from 2024/25").await;
            assert_eq!(b.heading().await, "2025/26 savings assurance");
            assert!(
                b.text("#plan-assurance [data-figure=carried_forward] dd")
                    .await
                    .starts_with("£9,000")
            );

            // The region's reviewer reads it all.
            let r = site.open_browser("reviewer").await;
            r.sign_in_as(&reviewer).await;
            r.visit("/icbs/QE1/2024-25/assurance").await;
            assert_eq!(r.heading().await, "2024/25 savings assurance");
            assert_eq!(
                r.text("#assurance-workstreams [data-col=reason]").await,
                format!("Reason: {REASON}")
            );
            r.click_link(FIVE_OPPORTUNITIES[0]).await;
            assert_eq!(
                r.texts(".app-risk h3").await,
                ["Stock shortage of the preferred DOAC"]
            );
            assert!(
                r.text("#rag-reason").await.ends_with(REASON),
                "the reviewer sees the lead's reason"
            );
            r.visit("/regions/Y62/2024-25").await;
            assert!(r.has("#icb-assurance").await);
            assert!(r.has("#local-priorities-line").await);
        },
    )
    .await;
}

#[sqlx::test]
async fn an_administrators_assurance_settings_are_checked_by_the_field(pool: PgPool) {
    browser_test(
        "an_administrators_assurance_settings_are_checked_by_the_field",
        pool,
        |site| async move {
            let admin = site.user(Role::Admin, None).await;
            let b = site.open_browser("admin").await;
            b.sign_in_as(&admin).await;
            b.click_link("Manage the opportunity catalogue").await;
            b.click_link("2024/25").await;
            b.fill("Medium confidence", "110").await;
            b.fill("Amber at or above (red below)", "99").await;
            b.press_button("Save settings").await;
            b.follow_every_error(&["weight_medium", "rag_amber"]).await;
            b.fill("Medium confidence", "70").await;
            b.fill("Amber at or above (red below)", "85").await;
            b.press_button("Save settings").await;
            assert_eq!(
                b.text("#notice").await,
                "The savings assurance settings have been saved."
            );
        },
    )
    .await;
}
