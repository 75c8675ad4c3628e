//! Audit rows for sign-in success and failure, sign-out and password changes, with the
//! request id that joins them to the logs.

use medopt::auth::Role;
use serde_json::Value;
use sqlx::PgPool;

use crate::common::{PASSWORD, TestApp};

/// (action, actor, organisation, reason)
type Summary<'a> = (
    &'a str,
    Option<uuid::Uuid>,
    Option<&'a str>,
    Option<&'a str>,
);

type Row = (
    String,
    Option<uuid::Uuid>,
    Option<String>,
    Option<String>,
    Value,
);

async fn events(pool: &PgPool) -> Vec<Row> {
    sqlx::query_as("select action, actor_user_id, organisation_code, request_id, details from audit_event order by audit_event_id")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn sign_in_events_are_audited_with_their_request_ids(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let user = app.user(Role::IcbEditor, Some("QE1")).await;
    app.browser()
        .sign_in(&user.email, "wrong wrong wrong")
        .await;
    app.browser()
        .sign_in("nobody@test.nhs.uk", "wrong wrong wrong")
        .await;
    let mut browser = app.login_as(&user).await;
    browser.post("/logout", &[]).await;

    let rows: Vec<Row> = events(&app.pool)
        .await
        .into_iter()
        .filter(|r| r.0 != "user.created")
        .collect();
    let summary: Vec<Summary<'_>> = rows
        .iter()
        .map(|(action, actor, org, _, details)| {
            (
                action.as_str(),
                *actor,
                org.as_deref(),
                details["reason"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "login.failed",
                Some(user.user_id),
                Some("QE1"),
                Some("wrong_password")
            ),
            ("login.failed", None, None, Some("unknown_account")),
            ("login.succeeded", Some(user.user_id), Some("QE1"), None),
            ("logout", Some(user.user_id), Some("QE1"), None),
        ]
    );
    assert!(
        rows.iter()
            .all(|r| r.3.as_ref().is_some_and(|id| id.len() == 36)),
        "request ids recorded"
    );
    // The unknown address someone typed is not kept.
    assert!(!rows.iter().any(|r| r.4.to_string().contains("nobody")));
}

#[sqlx::test]
async fn a_new_password_ends_the_users_other_sessions(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let user = app.user(Role::IcbViewer, Some("QE1")).await;
    let mut laptop = app.login_as(&user).await;
    let mut phone = app.login_as(&user).await;
    let response = laptop
        .post(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "amber lantern meadow 7"),
                ("confirm_password", "amber lantern meadow 7"),
            ],
        )
        .await;
    assert_eq!(response.status, 303);
    assert_eq!(
        laptop.get("/icbs/QE1").await.status,
        200,
        "the session that changed it goes on"
    );
    assert_eq!(
        phone.get("/icbs/QE1").await.status,
        303,
        "other sessions end"
    );
    assert!(
        events(&app.pool)
            .await
            .iter()
            .any(|r| r.0 == "password.changed" && r.1 == Some(user.user_id))
    );
}
