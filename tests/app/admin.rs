//! Administration: users, the catalogue and the audit log, each change audited.

use medopt::auth::Role;
use sqlx::PgPool;

use crate::common::{PASSWORD, TestApp, sel, text_of, texts};

async fn audit_actions(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("select action from audit_event order by audit_event_id")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn an_administrator_adds_a_user_who_must_change_the_one_time_password(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.user(Role::Admin, None).await;
    let mut browser = app.login_as(&admin).await;
    let response = browser
        .post(
            "/admin/users/new",
            &[
                ("name", "Asha Patel"),
                ("email", "Asha.Patel@test.nhs.uk"),
                ("role", "icb_editor"),
                ("organisation", "QE1"),
            ],
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    let html = response.html();
    let one_time = texts(&html, "#one-time-password").pop().unwrap();

    let mut asha = app.browser();
    assert_eq!(
        asha.sign_in("asha.patel@test.nhs.uk", &one_time)
            .await
            .location(),
        Some("/account/password")
    );
    assert_eq!(
        asha.get("/icbs/QE1").await.location(),
        Some("/account/password")
    );

    let listed = browser.get("/admin/users").await.html();
    let row = listed
        .select(&sel("#users tbody tr"))
        .find(|r| text_of(r).contains("Asha Patel"))
        .unwrap();
    assert!(text_of(&row).contains("asha.patel@test.nhs.uk"));
    assert!(text_of(&row).contains("QE1"));
    assert!(
        audit_actions(&app.pool)
            .await
            .contains(&"user.created".to_string())
    );
}

#[sqlx::test]
async fn bad_user_details_are_shown_by_their_fields_and_nothing_is_saved(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.user(Role::Admin, None).await;
    let mut browser = app.login_as(&admin).await;
    let users_before: i64 = sqlx::query_scalar("select count(*) from app_user")
        .fetch_one(&app.pool)
        .await
        .unwrap();

    let response = browser
        .post(
            "/admin/users/new",
            &[
                ("name", ""),
                ("email", "not-an-email"),
                ("role", "icb_editor"),
                ("organisation", ""),
            ],
        )
        .await;
    assert_eq!(response.status, 422);
    assert_eq!(
        response.field_error("name").as_deref(),
        Some("Error: Enter the person's full name")
    );
    assert!(
        response
            .field_error("email")
            .unwrap()
            .contains("correct format")
    );
    assert_eq!(
        response
            .html()
            .select(&sel(".nhsuk-error-summary li"))
            .count(),
        3
    );
    // What was typed is kept.
    let html = response.html();
    assert_eq!(
        html.select(&sel("#email"))
            .next()
            .unwrap()
            .value()
            .attr("value"),
        Some("not-an-email")
    );

    let response = browser
        .post(
            "/admin/users/new",
            &[
                ("name", "Dup"),
                ("email", &admin.email),
                ("role", "admin"),
                ("organisation", ""),
            ],
        )
        .await;
    assert_eq!(response.status, 422);
    assert!(
        response
            .field_error("email")
            .unwrap()
            .contains("already exists")
    );

    let response = browser
        .post(
            "/admin/users/new",
            &[
                ("name", "Closed"),
                ("email", "c@test.nhs.uk"),
                ("role", "icb_viewer"),
                ("organisation", "QMJ"),
            ],
        )
        .await;
    assert_eq!(response.status, 422, "QMJ closed on 31 March 2026");
    assert!(
        response.field_error("organisation").is_some() || response.body.contains("exists today")
    );

    let users_after: i64 = sqlx::query_scalar("select count(*) from app_user")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(users_before, users_after);
}

#[sqlx::test]
async fn changing_role_deactivating_resetting_and_unlocking(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.user(Role::Admin, None).await;
    let user = app.user(Role::IcbViewer, Some("QE1")).await;
    let mut browser = app.login_as(&admin).await;
    let path = format!("/admin/users/{}", user.user_id);

    // A new role and organisation take effect on the user's next request.
    let mut theirs = app.login_as(&user).await;
    assert_eq!(theirs.get("/regions/Y62").await.status, 404);
    let response = browser
        .post(
            &path,
            &[
                ("name", "Test Person"),
                ("email", &user.email),
                ("role", "region_reviewer"),
                ("organisation", "Y62"),
            ],
        )
        .await;
    assert_eq!(response.status, 303, "{}", response.body);
    // A regional reviewer must use two-step verification: that is the next page they see.
    assert_eq!(
        theirs.get("/regions/Y62").await.location(),
        Some("/account/two-step")
    );

    // Deactivation ends their session at once.
    assert_eq!(
        browser
            .post(&format!("{path}/deactivate"), &[])
            .await
            .status,
        303
    );
    assert_eq!(theirs.get("/regions/Y62").await.status, 303);
    assert_eq!(
        app.browser().sign_in(&user.email, PASSWORD).await.status,
        422
    );
    assert_eq!(
        browser
            .post(&format!("{path}/reactivate"), &[])
            .await
            .status,
        303
    );

    // Locked after five wrong passwords; the administrator unlocks.
    for _ in 0..5 {
        app.browser()
            .sign_in(&user.email, "wrong wrong wrong")
            .await;
    }
    assert_eq!(
        app.browser().sign_in(&user.email, PASSWORD).await.status,
        422
    );
    assert_eq!(
        browser.post(&format!("{path}/unlock"), &[]).await.status,
        303
    );
    assert_eq!(
        app.browser().sign_in(&user.email, PASSWORD).await.status,
        303
    );

    // A reset gives a one-time password and retires the old one.
    let response = browser.post(&format!("{path}/reset-password"), &[]).await;
    let one_time = texts(&response.html(), "#one-time-password").pop().unwrap();
    assert_eq!(
        app.browser().sign_in(&user.email, PASSWORD).await.status,
        422
    );
    assert_eq!(
        app.browser()
            .sign_in(&user.email, &one_time)
            .await
            .location(),
        Some("/account/password")
    );

    let actions = audit_actions(&app.pool).await;
    for expected in [
        "user.updated",
        "user.deactivated",
        "user.reactivated",
        "account.locked",
        "user.unlocked",
        "user.password_reset",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} not audited: {actions:?}"
        );
    }
}

#[sqlx::test]
async fn administrators_cannot_lock_themselves_out(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.user(Role::Admin, None).await;
    let mut browser = app.login_as(&admin).await;
    let path = format!("/admin/users/{}", admin.user_id);
    assert_eq!(
        browser
            .post(&format!("{path}/deactivate"), &[])
            .await
            .status,
        422
    );
    let response = browser
        .post(
            &path,
            &[
                ("name", "Me"),
                ("email", &admin.email),
                ("role", "national_analyst"),
                ("organisation", ""),
            ],
        )
        .await;
    assert_eq!(response.status, 422);
    assert_eq!(browser.get("/admin/users").await.status, 200);
}

#[sqlx::test]
async fn a_new_year_copies_a_catalogue_and_titles_can_be_confirmed(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.user(Role::Admin, None).await;
    let mut browser = app.login_as(&admin).await;
    let response = browser
        .post(
            "/admin/catalogue/years",
            &[("year", "2027/28"), ("copy_from", "2026/27")],
        )
        .await;
    assert_eq!(response.location(), Some("/admin/catalogue/2027-28"));
    let response = browser
        .post(
            "/admin/catalogue/years",
            &[("year", "2027/28"), ("copy_from", "2026/27")],
        )
        .await;
    assert_eq!(response.status, 422);
    assert!(
        response
            .field_error("year")
            .unwrap()
            .contains("already exists")
    );

    let response = browser
        .post(
            "/admin/catalogue/2027-28/opportunities/12",
            &[
                ("title", "Confirmed twelve"),
                ("title_confirmed", "yes"),
                ("group_name", "Specific clinical areas"),
                ("efficiency_focus", "yes"),
            ],
        )
        .await;
    assert_eq!(response.status, 303, "{}", response.body);

    // A blank title is refused by the field, confirmed or not (there is always a working title).
    let response = browser
        .post(
            "/admin/catalogue/2027-28/opportunities/13",
            &[("title", " "), ("group_name", "Specific clinical areas")],
        )
        .await;
    assert_eq!(response.status, 422);
    assert!(response.field_error("title").is_some());
    let response = browser
        .post(
            "/admin/catalogue/2027-28/opportunities/13",
            &[
                ("title", ""),
                ("title_confirmed", "yes"),
                ("group_name", "Specific clinical areas"),
            ],
        )
        .await;
    assert_eq!(response.status, 422);
    assert!(response.field_error("title").is_some());

    let public = app.get("/catalogue/2027-28").await.html();
    let row = public
        .select(&sel(r#"tr[data-number="12"] td:nth-child(2)"#))
        .next()
        .map(|td| text_of(&td))
        .unwrap();
    assert_eq!(row, "Confirmed twelve Efficiency focus");
    assert_eq!(public.select(&sel("tr.opportunity")).count(), 16);
    // 2024/25 is unchanged, and a reload of the reference data keeps the edit.
    medopt::reference::load(&app.pool).await.unwrap();
    let row = app.get("/catalogue/2027-28").await.html();
    assert!(
        row.select(&sel(r#"tr[data-number="12"] .title-unconfirmed"#))
            .next()
            .is_none()
    );
    let old = app.get("/catalogue/2024-25").await.html();
    assert!(
        old.select(&sel(r#"tr[data-number="13"] .title-unconfirmed"#))
            .next()
            .is_some()
    );

    // Closing a year stops ICBs starting plans in it.
    assert_eq!(
        browser
            .post("/admin/catalogue/2027-28/status", &[("open", "false")])
            .await
            .status,
        303
    );
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut theirs = app.login_as(&editor).await;
    let response = theirs.post("/icbs/QE1/plans", &[("year", "2027-28")]).await;
    assert_eq!(response.status, 422);
    assert_eq!(
        theirs
            .post("/icbs/QE1/plans", &[("year", "2024-25")])
            .await
            .status,
        303
    );

    let actions = audit_actions(&app.pool).await;
    for expected in [
        "catalogue.year_created",
        "catalogue.opportunity_updated",
        "catalogue.year_closed",
        "plan.created",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} not audited"
        );
    }
}

#[sqlx::test]
async fn the_audit_log_filters_and_pages_newest_first(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.user(Role::Admin, None).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    for _ in 0..3 {
        app.browser()
            .sign_in(&editor.email, "wrong wrong wrong")
            .await;
    }
    sqlx::query("insert into audit_event (action, organisation_code) select 'test.bulk', 'QWE' from generate_series(1, 120)")
        .execute(&app.pool)
        .await
        .unwrap();
    let mut browser = app.login_as(&admin).await;

    let first = browser.get("/admin/audit").await.html();
    let ids = |html: &scraper::Html| -> Vec<i64> {
        html.select(&sel("#events tbody tr"))
            .map(|r| r.value().attr("data-event-id").unwrap().parse().unwrap())
            .collect()
    };
    let page1 = ids(&first);
    assert_eq!(page1.len(), 50);
    assert!(page1.windows(2).all(|w| w[0] > w[1]), "newest first");
    let older = first
        .select(&sel("#older-events"))
        .next()
        .unwrap()
        .value()
        .attr("href")
        .unwrap()
        .to_owned();
    let page2 = ids(&browser.get(&older).await.html());
    assert_eq!(page2.len(), 50);
    assert!(
        page2[0] < *page1.last().unwrap(),
        "no overlap between pages"
    );

    let failed = browser
        .get(&format!(
            "/admin/audit?action=login.failed&actor={}",
            editor.email
        ))
        .await
        .html();
    assert_eq!(texts(&failed, "#events .event-action"), ["login.failed"; 3]);
    let by_org = browser.get("/admin/audit?organisation=qe1").await.html();
    assert!(!ids(&by_org).is_empty());
    assert!(
        texts(&by_org, "#events .event-action")
            .iter()
            .all(|a| a != "test.bulk")
    );
    let bad_date = browser.get("/admin/audit?from=yesterday").await;
    assert_eq!(
        bad_date.field_error("from").as_deref(),
        Some("Error: Enter a date like 2026-11-23")
    );
}
