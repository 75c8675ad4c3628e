//! The e-mail pages in Chromium, through the page checks: an editor chooses which e-mails
//! they get from the home page, and an administrator opens the outbox.

use medopt::auth::Role;
use sqlx::PgPool;

use crate::harness::browser_test;

#[sqlx::test]
async fn people_choose_their_emails_and_administrators_see_the_outbox(pool: PgPool) {
    browser_test(
        "people_choose_their_emails_and_administrators_see_the_outbox",
        pool,
        |site| async move {
            let editor = site.user(Role::IcbEditor, Some("QE1")).await;
            let admin = site.user(Role::Admin, None).await;

            let ed = site.open_browser("editor").await;
            ed.sign_in_as(&editor).await;
            ed.visit("/").await;
            ed.click_link("Choose which e-mails you get").await;
            assert_eq!(ed.heading().await, "Your e-mails");
            ed.untick("A month's figures are due within 7 days").await;
            ed.press_button("Save choices").await;
            assert_eq!(
                ed.text("#notice").await,
                "Your choice of e-mails has been saved."
            );
            assert!(!ed.has("#kind-figures_due:checked").await);
            assert!(ed.has("#kind-figures_overdue:checked").await);

            let ad = site.open_browser("admin").await;
            ad.sign_in_as(&admin).await;
            ad.visit("/").await;
            ad.click_link("E-mail outbox").await;
            assert_eq!(ad.heading().await, "E-mail outbox");
            ad.click_link("Failed (0)").await;
            assert_eq!(ad.text("#outbox-empty").await, "No e-mails.");
        },
    )
    .await;
}
