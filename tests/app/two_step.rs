//! Two-step verification: enrolment, signing in with a code or a recovery code, codes used
//! once, wrong codes counting towards the lock, who must use it, and resets.

use futures_util::future::join_all;
use medopt::audit::Actor;
use medopt::auth::Role;
use medopt::auth::two_step::totp;
use medopt::config::Config;
use medopt::users::{self, NewUser, OrgRef};
use sqlx::PgPool;

use crate::common::{
    Browser, PASSWORD, TWO_STEP_SECRET, TestApp, TestResponse, TestUser, current_code, sel, texts,
    token_on,
};

/// An account without two-step verification, whatever its role.
async fn bare_user(app: &TestApp, role: Role, org: Option<&str>, email: &str) -> TestUser {
    let org_ref = org.map(|code| OrgRef {
        kind: role.org_kind().unwrap(),
        code: code.to_owned(),
    });
    let mut conn = app.pool.acquire().await.unwrap();
    let new = NewUser {
        email,
        name: "Bare Account",
        role,
        org: org_ref.as_ref(),
        password: PASSWORD.to_owned(),
        must_change_password: false,
    };
    let user_id = users::create(&mut conn, &Actor::default(), new)
        .await
        .unwrap();
    TestUser {
        user_id,
        email: email.to_owned(),
        role,
        two_step_secret: None,
    }
}

/// The secret the enrolment page shows, without its spaces.
fn secret_on(page: &TestResponse) -> String {
    texts(&page.html(), "#two-step-secret")
        .concat()
        .replace(' ', "")
}

/// Audit actions and reasons for `user`, in order.
async fn audit_trail(app: &TestApp, user: &TestUser) -> Vec<(String, Option<String>)> {
    sqlx::query_as(
        "select action, coalesce(details->>'reason', details->>'method')
         from audit_event where actor_user_id = $1 or object_id = $2 order by audit_event_id",
    )
    .bind(user.user_id)
    .bind(user.user_id.to_string())
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

/// Enrols `browser`'s user through the pages; returns the secret and the recovery codes.
async fn enrol(browser: &mut Browser<'_>) -> (String, Vec<String>) {
    let page = browser.get("/account/two-step").await;
    assert_eq!(page.status, 200, "{}", page.body);
    browser.csrf = token_on(&page.html());
    let secret = secret_on(&page);
    let response = browser
        .post("/account/two-step", &[("code", &current_code(&secret))])
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    let codes = texts(&response.html(), "#recovery-codes li");
    (secret, codes)
}

#[sqlx::test]
async fn an_administrator_must_turn_on_two_step_before_doing_anything_else(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = bare_user(&app, Role::Admin, None, "new.admin@test.nhs.uk").await;
    let mut browser = app.browser();
    let response = browser.sign_in(&admin.email, PASSWORD).await;
    assert_eq!(response.status, 303);
    browser.refresh_csrf().await;
    for path in [
        "/admin/users",
        "/icbs/QE1",
        "/national",
        "/account/password",
    ] {
        let response = browser.get(path).await;
        assert_eq!(response.location(), Some("/account/two-step"), "{path}");
    }
    let response = browser
        .post(
            "/admin/users/new",
            &[("name", "X"), ("email", "x@test.nhs.uk")],
        )
        .await;
    assert_eq!(response.location(), Some("/account/two-step"));

    // The enrolment page: a QR code (an image in the page itself) and the same secret as
    // text, unchanged by a reload.
    let page = browser.get("/account/two-step").await;
    let html = page.html();
    let qr = html.select(&sel("img#two-step-qr-code")).next().unwrap();
    assert!(
        qr.value()
            .attr("src")
            .unwrap()
            .starts_with("data:image/svg+xml;base64,")
    );
    assert!(qr.value().attr("alt").unwrap().contains("QR code"));
    assert_eq!(texts(&html, "#two-step-required").len(), 1);
    let secret = secret_on(&page);
    assert_eq!(secret.len(), 32);
    assert_eq!(secret_on(&browser.get("/account/two-step").await), secret);

    let response = browser
        .post("/account/two-step", &[("code", "000000")])
        .await;
    assert_eq!(response.status, 422);
    assert!(response.field_error("code").unwrap().contains("not right"));
    let response = browser
        .post("/account/two-step", &[("code", &current_code(&secret))])
        .await;
    assert_eq!(response.status, 200);
    let codes = texts(&response.html(), "#recovery-codes li");
    assert_eq!(codes.len(), 10);
    let stored: Vec<String> =
        sqlx::query_scalar("select code_hash from recovery_code where user_id = $1")
            .bind(admin.user_id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored.len(), 10);
    assert!(stored.iter().all(|h| h.starts_with("$argon2id$")));
    assert!(!stored.iter().any(|h| codes.iter().any(|c| h.contains(c))));

    assert_eq!(browser.get("/admin/users").await.status, 200);
    let status = browser.get("/account/two-step").await;
    assert_eq!(
        texts(&status.html(), "#recovery-codes-left"),
        ["You have 10 unused recovery codes."]
    );
    assert!(
        audit_trail(&app, &admin)
            .await
            .contains(&("two_step.enrolled".into(), None))
    );
}

#[sqlx::test]
async fn signing_in_takes_the_password_then_a_code_that_works_once(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;
    let mut browser = app.browser();
    let response = browser.sign_in(&reviewer.email, PASSWORD).await;
    assert_eq!(response.location(), Some("/login/two-step"));
    // Not signed in yet.
    let response = browser.get("/regions/Y62").await;
    assert!(response.location().unwrap().starts_with("/login?next="));

    let response = browser.submit_code("123456").await;
    assert_eq!(response.status, 422);
    assert!(
        response
            .field_error("code")
            .unwrap()
            .contains("Enter the current 6-digit code")
    );
    app.forget_used_code(&reviewer).await;
    let code = current_code(TWO_STEP_SECRET);
    let response = browser.submit_code(&code).await;
    assert_eq!(response.status, 303, "{}", response.body);
    assert_eq!(browser.get("/regions/Y62").await.status, 200);

    // The same code again, in another browser with the right password: refused.
    let mut other = app.browser();
    assert_eq!(
        other.sign_in(&reviewer.email, PASSWORD).await.location(),
        Some("/login/two-step")
    );
    let response = other.submit_code(&code).await;
    assert_eq!(response.status, 422);

    let trail = audit_trail(&app, &reviewer).await;
    let two_step: Vec<_> = trail
        .iter()
        .filter(|(action, _)| action.starts_with("two_step.") || action.starts_with("login."))
        .map(|(a, r)| (a.as_str(), r.as_deref()))
        .collect();
    assert_eq!(
        two_step,
        [
            ("two_step.enrolled", None),
            ("login.password_accepted", None),
            ("two_step.failed", Some("wrong_code")),
            ("two_step.succeeded", Some("totp")),
            ("login.succeeded", None),
            ("login.password_accepted", None),
            ("two_step.failed", Some("code_reused")),
        ]
    );
}

#[sqlx::test]
async fn one_code_sent_twice_at_once_signs_in_once(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.user(Role::Admin, None).await;
    let mut browsers = Vec::new();
    for _ in 0..2 {
        let mut browser = app.browser();
        browser.sign_in(&admin.email, PASSWORD).await;
        let page = browser.get("/login/two-step").await;
        browser.csrf = token_on(&page.html());
        browsers.push(browser);
    }
    let code = current_code(TWO_STEP_SECRET);
    let fields = [("code", code.as_str())];
    let responses = join_all(
        browsers
            .iter_mut()
            .map(|b| b.post("/login/two-step", &fields)),
    )
    .await;
    let mut statuses: Vec<u16> = responses.iter().map(|r| r.status.as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, [303, 422]);
}

#[sqlx::test]
async fn a_recovery_code_signs_in_once(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let editor = bare_user(&app, Role::IcbEditor, Some("QE1"), "optional@test.nhs.uk").await;
    let mut browser = app.login_as(&editor).await;
    let (_, codes) = enrol(&mut browser).await;
    let code = codes[3].to_uppercase().replace('-', " ");

    let mut phone_lost = app.browser();
    phone_lost.sign_in(&editor.email, PASSWORD).await;
    let response = phone_lost.submit_code(&code).await;
    assert_eq!(response.status, 303, "{}", response.body);
    assert_eq!(response.location(), Some("/icbs/QE1/2026-27"));

    let mut again = app.browser();
    again.sign_in(&editor.email, PASSWORD).await;
    assert_eq!(again.submit_code(&codes[3]).await.status, 422);
    let status = phone_lost.get("/account/two-step").await;
    assert_eq!(
        texts(&status.html(), "#recovery-codes-left"),
        ["You have 9 unused recovery codes."]
    );
}

#[sqlx::test]
async fn wrong_codes_count_towards_the_lock(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.user(Role::Admin, None).await;
    let mut browser = app.browser();
    browser.sign_in(&admin.email, PASSWORD).await;
    for _ in 0..5 {
        assert_eq!(browser.submit_code("000000").await.status, 422);
    }
    // Locked: the right code is refused now, and so is the password.
    let response = browser
        .enter_code(&admin, &current_code(TWO_STEP_SECRET))
        .await;
    assert_eq!(response.status, 422);
    assert!(
        response
            .field_error("code")
            .unwrap()
            .contains("Your account is locked")
    );
    assert_eq!(
        app.browser().sign_in(&admin.email, PASSWORD).await.status,
        422
    );
    let locked: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action = 'account.locked' and actor_user_id = $1",
    )
    .bind(admin.user_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(locked, 1);
}

#[sqlx::test]
async fn a_pending_sign_in_runs_out(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.user(Role::Admin, None).await;
    let mut browser = app.browser();
    browser.sign_in(&admin.email, PASSWORD).await;
    let page = browser.get("/login/two-step").await;
    browser.csrf = token_on(&page.html());
    sqlx::query(
        "update session set data = jsonb_set(data, '{pending_at}', to_jsonb(extract(epoch from now() - interval '6 minutes')))
         where data ? 'pending_user_id'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let page = browser.get("/login/two-step").await;
    assert_eq!(page.status, 200);
    assert_eq!(texts(&page.html(), "#two-step-expired").len(), 1);
    let response = browser
        .post(
            "/login/two-step",
            &[("code", &current_code(TWO_STEP_SECRET))],
        )
        .await;
    assert_eq!(response.location(), Some("/login/two-step"));
    assert!(
        browser
            .get("/admin/users")
            .await
            .location()
            .unwrap()
            .starts_with("/login")
    );
}

#[sqlx::test]
async fn an_administrator_resets_a_lost_two_step_and_the_user_enrols_again(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.user(Role::Admin, None).await;
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;
    let mut browser = app.login_as(&admin).await;
    let page = browser
        .get(&format!("/admin/users/{}", reviewer.user_id))
        .await;
    assert!(texts(&page.html(), "#two-step-status")[0].starts_with("On."));
    let response = browser
        .post(
            &format!("/admin/users/{}/reset-two-step", reviewer.user_id),
            &[],
        )
        .await;
    assert_eq!(response.status, 303);
    let page = browser
        .get(&format!("/admin/users/{}", reviewer.user_id))
        .await;
    assert_eq!(texts(&page.html(), "#two-step-status"), ["Not set up."]);
    let list = browser.get("/admin/users").await;
    let row = format!(r#"tr[data-user-id="{}"] .user-two-step"#, reviewer.user_id);
    assert_eq!(texts(&list.html(), &row), ["Not set up"]);

    // The reviewer signs in with the password alone, and must enrol again first.
    let mut reviewing = app.browser();
    let response = reviewing.sign_in(&reviewer.email, PASSWORD).await;
    assert_eq!(response.status, 303);
    assert_ne!(response.location(), Some("/login/two-step"));
    assert_eq!(
        reviewing.get("/regions/Y62").await.location(),
        Some("/account/two-step")
    );
    let (secret, _) = enrol(&mut reviewing).await;
    assert_ne!(secret, TWO_STEP_SECRET);
    assert_eq!(reviewing.get("/regions/Y62").await.status, 200);

    let resets: Vec<(Option<uuid::Uuid>, String)> = sqlx::query_as(
        "select actor_user_id, object_id from audit_event where action = 'two_step.reset'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        resets,
        [(Some(admin.user_id), reviewer.user_id.to_string())]
    );
}

#[sqlx::test]
async fn every_role_must_use_two_step_when_the_setting_says_so(pool: PgPool) {
    medopt::reference::load(&pool).await.unwrap();
    let optional = TestApp::without_reference_data(pool.clone());
    let editor = bare_user(
        &optional,
        Role::IcbEditor,
        Some("QE1"),
        "editor@test.nhs.uk",
    )
    .await;
    let mut browser = optional.login_as(&editor).await;
    assert_eq!(browser.get("/icbs/QE1").await.status, 200);

    let required = TestApp::with_config(
        pool,
        Config {
            require_two_step: true,
            ..Config::for_tests()
        },
    );
    let mut browser = required.login_as(&editor).await;
    assert_eq!(
        browser.get("/icbs/QE1").await.location(),
        Some("/account/two-step")
    );
    enrol(&mut browser).await;
    assert_eq!(browser.get("/icbs/QE1").await.status, 200);
    // From now on the code is asked for.
    let response = required.browser().sign_in(&editor.email, PASSWORD).await;
    assert_eq!(response.location(), Some("/login/two-step"));
}

#[sqlx::test]
async fn new_recovery_codes_need_a_current_code(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.user(Role::Admin, None).await;
    let mut browser = app.login_as(&admin).await;
    let response = browser
        .post("/account/two-step/recovery-codes", &[("code", "000000")])
        .await;
    assert_eq!(response.status, 422);
    app.forget_used_code(&admin).await;
    let response = browser
        .post(
            "/account/two-step/recovery-codes",
            &[("code", &current_code(TWO_STEP_SECRET))],
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(texts(&response.html(), "#recovery-codes li").len(), 10);
    let actions: Vec<String> = sqlx::query_scalar(
        "select action from audit_event where object_id = $1 and action like 'two_step.%' order by audit_event_id",
    )
    .bind(admin.user_id.to_string())
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        actions,
        [
            "two_step.enrolled",
            "two_step.succeeded",
            "two_step.recovery_codes_replaced"
        ]
    );
}

#[sqlx::test]
async fn a_password_reset_leaves_two_step_on(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.user(Role::Admin, None).await;
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;
    let mut browser = app.login_as(&admin).await;
    let response = browser
        .post(
            &format!("/admin/users/{}/reset-password", reviewer.user_id),
            &[],
        )
        .await;
    let one_time = texts(&response.html(), "#one-time-password").pop().unwrap();
    let mut reviewing = app.browser();
    let response = reviewing.sign_in(&reviewer.email, &one_time).await;
    assert_eq!(response.location(), Some("/login/two-step"));
    let response = reviewing
        .enter_code(&reviewer, &current_code(TWO_STEP_SECRET))
        .await;
    assert_eq!(response.location(), Some("/account/password"));
}

#[test]
fn the_test_secret_makes_codes_like_an_app() {
    assert_eq!(totp::code_at(TWO_STEP_SECRET, 59).unwrap().len(), 6);
}
