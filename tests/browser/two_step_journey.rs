//! Journey 6: an ICB editor turns on two-step verification (typing the key the QR code
//! carries into the "app", as someone without a camera would), keeps the recovery codes,
//! signs out, signs in with a code from the app, then — phone lost — with a recovery code.
//! Every page goes through the accessibility checks on the way.

use medopt::auth::Role;
use medopt::auth::two_step::totp;
use sqlx::PgPool;

use crate::browser::current_code;
use crate::harness::{PASSWORD, browser_test};

#[sqlx::test]
async fn a_user_turns_on_two_step_then_signs_in_with_a_code_and_with_a_recovery_code(pool: PgPool) {
    browser_test(
        "a_user_turns_on_two_step_then_signs_in_with_a_code_and_with_a_recovery_code",
        pool,
        |site| async move {
            let editor = site.user(Role::IcbEditor, Some("QE1")).await;
            let b = site.open_browser("editor").await;
            b.sign_in_as(&editor).await;

            b.visit("/account/password").await;
            b.click_link("Set up or manage two-step verification").await;
            assert_eq!(b.heading().await, "Set up two-step verification");
            let qr = b
                .attribute("#two-step-qr-code", "src")
                .await
                .unwrap_or_default();
            assert!(qr.starts_with("data:image/svg+xml;base64,"), "{qr}");
            let secret = b.text("#two-step-secret").await.replace(' ', "");
            assert_eq!(secret.len(), 32);

            b.press_button("Turn on two-step verification").await;
            b.follow_every_error(&["code"]).await;
            b.enter_code(&current_code(&secret, 0)).await;
            assert_eq!(b.heading().await, "Your recovery codes");
            let codes = b.texts("#recovery-codes li").await;
            assert_eq!(codes.len(), 10);
            b.click_link("Continue").await;
            b.sign_out().await;

            // The password, then the app's code. (The enrolment used this step's code; the
            // app shows the next one a moment later, which is accepted as one step ahead.)
            b.sign_in(&editor.email, PASSWORD).await;
            assert_eq!(b.heading().await, "Enter your security code");
            b.enter_code("000000").await;
            b.follow_every_error(&["code"]).await;
            b.enter_code(&current_code(&secret, 1)).await;
            assert_eq!(b.heading().await, "2026/27 dashboard");
            b.sign_out().await;

            // Phone lost: a recovery code, once.
            b.sign_in(&editor.email, PASSWORD).await;
            b.enter_code(&codes[0]).await;
            assert_eq!(b.heading().await, "2026/27 dashboard");
            b.visit("/account/two-step").await;
            assert_eq!(b.heading().await, "Two-step verification");
            assert_eq!(
                b.text("#recovery-codes-left").await,
                "You have 9 unused recovery codes."
            );
            assert_eq!(
                totp::normalise_code(&codes[0]),
                None,
                "a recovery code is not an app's code"
            );
        },
    )
    .await;
}
