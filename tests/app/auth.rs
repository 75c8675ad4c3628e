//! Signing in and out, sessions, lockout, password rules, cookie flags.

use medopt::auth::Role;
use medopt::config::Config;
use sqlx::PgPool;

use crate::common::{PASSWORD, TestApp, sel};

const WRONG: &str = "not the right password";

#[sqlx::test]
async fn session_id_changes_at_sign_in(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let user = app.user(Role::NationalAnalyst, None).await;
    let mut browser = app.browser();
    browser.get("/login").await;
    let before = browser
        .cookie
        .clone()
        .expect("the sign-in page starts a session for its form token");
    let response = browser.sign_in(&user.email, PASSWORD).await;
    assert_eq!(response.status, 303);
    let after = browser.cookie.clone().expect("signed-in cookie");
    assert_ne!(before, after);

    // The pre-sign-in cookie does not carry the sign-in.
    let mut stale = app.browser();
    stale.cookie = Some(before);
    assert_eq!(stale.get("/account/password").await.status, 303);
    assert_eq!(browser.get("/account/password").await.status, 200);
}

#[sqlx::test]
async fn sign_out_invalidates_the_old_cookie(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let user = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut browser = app.login_as(&user).await;
    let cookie = browser.cookie.clone();
    let response = browser.post("/logout", &[]).await;
    assert_eq!(response.status, 303);
    assert_eq!(response.location(), Some("/login?signed_out=1"));

    let mut replay = app.browser();
    replay.cookie = cookie;
    let response = replay.get("/icbs/QE1").await;
    assert_eq!(response.status, 303);
    assert!(response.location().unwrap().starts_with("/login"));
    let sessions: i64 = sqlx::query_scalar("select count(*) from session where data ? 'user_id'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(sessions, 0);
}

#[sqlx::test]
async fn sessions_end_after_30_idle_minutes_and_12_hours_in_all(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let user = app.user(Role::IcbViewer, Some("QE1")).await;
    let mut browser = app.login_as(&user).await;
    let idle_minutes: f64 = sqlx::query_scalar(
        "select extract(epoch from max(expires_at) - now())::float8 / 60 from session",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!((29.0..=30.5).contains(&idle_minutes), "{idle_minutes}");

    // Thirty minutes pass without a request.
    sqlx::query("update session set expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(browser.get("/icbs/QE1").await.status, 303);

    // Active all day: the absolute limit still ends the session.
    let mut browser = app.login_as(&user).await;
    assert_eq!(browser.get("/icbs/QE1").await.status, 200);
    sqlx::query(
        "update session set data = jsonb_set(data, '{auth_at}', to_jsonb(extract(epoch from now() - interval '12 hours 1 minute')::bigint))
         where data ? 'user_id'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(browser.get("/icbs/QE1").await.status, 303);
}

#[sqlx::test]
async fn unknown_email_and_wrong_password_get_the_same_answer(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let user = app.user(Role::NationalAnalyst, None).await;
    let wrong = app.browser().sign_in(&user.email, WRONG).await;
    let unknown = app.browser().sign_in("nobody@test.nhs.uk", WRONG).await;
    assert_eq!(wrong.status, 422);
    assert_eq!(unknown.status, 422);
    assert_eq!(wrong.field_error("email"), unknown.field_error("email"));
    assert!(
        wrong
            .field_error("email")
            .unwrap()
            .contains("Enter a correct email address and password")
    );
}

#[sqlx::test]
async fn five_wrong_passwords_lock_the_account_until_the_cool_down(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let user = app.user(Role::IcbEditor, Some("QE1")).await;
    for _ in 0..5 {
        assert_eq!(app.browser().sign_in(&user.email, WRONG).await.status, 422);
    }
    // Locked: even the right password is refused.
    assert_eq!(
        app.browser().sign_in(&user.email, PASSWORD).await.status,
        422
    );
    let locked: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action = 'account.locked' and actor_user_id = $1",
    )
    .bind(user.user_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(locked, 1);

    // Fifteen minutes later the lock lifts by itself.
    sqlx::query(
        "update app_user set locked_until = now() - interval '1 second' where user_id = $1",
    )
    .bind(user.user_id)
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        app.browser().sign_in(&user.email, PASSWORD).await.status,
        303
    );
}

#[sqlx::test]
async fn sign_in_attempts_are_rate_limited_per_address(pool: PgPool) {
    reference_data(&pool).await;
    let config = Config {
        login_attempts_per_minute: 3,
        ..Config::for_tests()
    };
    let app = TestApp::with_config(pool, config);
    for _ in 0..3 {
        assert_eq!(
            app.browser()
                .sign_in("someone@test.nhs.uk", WRONG)
                .await
                .status,
            422
        );
    }
    let response = app.browser().sign_in("someone@test.nhs.uk", WRONG).await;
    assert_eq!(response.status, 429);
    assert_eq!(response.h1(), "Too many attempts");
}

async fn reference_data(pool: &PgPool) {
    medopt::reference::load(pool).await.unwrap();
}

#[sqlx::test]
async fn new_passwords_must_be_long_and_uncommon(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let user = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut browser = app.login_as(&user).await;
    for (new, message) in [
        ("short", "Password must be 12 characters or more"),
        ("Password1234", "Password is too common"),
    ] {
        let response = browser
            .post(
                "/account/password",
                &[
                    ("current_password", PASSWORD),
                    ("new_password", new),
                    ("confirm_password", new),
                ],
            )
            .await;
        assert_eq!(response.status, 422);
        assert!(
            response
                .field_error("new_password")
                .unwrap()
                .contains(message),
            "{new}"
        );
        assert_eq!(
            response.html().select(&sel(".nhsuk-error-summary")).count(),
            1
        );
    }
    let response = browser
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
        app.browser().sign_in(&user.email, PASSWORD).await.status,
        422
    );
    assert_eq!(
        app.browser()
            .sign_in(&user.email, "amber lantern meadow 7")
            .await
            .status,
        303
    );
}

#[sqlx::test]
async fn session_cookie_flags(pool: PgPool) {
    reference_data(&pool).await;
    let app = TestApp::without_reference_data(pool.clone());
    let page = app.get("/login").await;
    let cookie = page.header("set-cookie").unwrap().to_owned();
    assert!(cookie.starts_with("medopt_session="), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(
            cookie.split("; ").any(|f| f == flag),
            "{flag} missing: {cookie}"
        );
    }
    assert!(!cookie.contains("Secure"));

    let https = TestApp::with_config(
        pool,
        Config {
            secure_cookies: true,
            ..Config::for_tests()
        },
    );
    let cookie = https
        .get("/login")
        .await
        .header("set-cookie")
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("__Host-medopt_session="), "{cookie}");
    assert!(cookie.split("; ").any(|f| f == "Secure"), "{cookie}");
    assert!(!cookie.contains("Domain="));
}

#[sqlx::test]
async fn after_sign_in_users_return_to_the_page_they_asked_for_on_this_site_only(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let user = app.user(Role::IcbEditor, Some("QE1")).await;
    let response = app.get("/icbs/QE1").await;
    assert_eq!(response.location(), Some("/login?next=%2Ficbs%2FQE1"));
    let response = app
        .browser()
        .sign_in_next(&user.email, PASSWORD, "/icbs/QE1")
        .await;
    assert_eq!(response.location(), Some("/icbs/QE1"));
    let response = app
        .browser()
        .sign_in_next(&user.email, PASSWORD, "//evil.example/")
        .await;
    // An unsafe address is ignored: the user lands where they would without one.
    assert_eq!(response.location(), Some("/icbs/QE1/2026-27"));
}

#[sqlx::test]
async fn the_first_administrator_must_choose_a_password(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let one_time = medopt::users::ensure_first_admin(&app.pool, "admin@localhost")
        .await
        .unwrap()
        .expect("created");
    assert!(
        medopt::users::ensure_first_admin(&app.pool, "admin@localhost")
            .await
            .unwrap()
            .is_none(),
        "only once"
    );
    let mut browser = app.browser();
    let response = browser.sign_in("admin@localhost", &one_time).await;
    assert_eq!(response.location(), Some("/account/password"));
    // Every other page sends them back to change it.
    assert_eq!(
        browser.get("/admin/users").await.location(),
        Some("/account/password")
    );
    browser.refresh_csrf().await;
    let response = browser
        .post(
            "/account/password",
            &[
                ("current_password", &one_time),
                ("new_password", "amber lantern meadow 7"),
                ("confirm_password", "amber lantern meadow 7"),
            ],
        )
        .await;
    assert_eq!(response.status, 303);
    // Then, an administrator, they must turn on two-step verification.
    assert_eq!(
        browser.get("/admin/users").await.location(),
        Some("/account/two-step")
    );
    let page = browser.get("/account/two-step").await;
    let secret = crate::common::texts(&page.html(), "#two-step-secret")
        .concat()
        .replace(' ', "");
    let code = crate::common::current_code(&secret);
    let response = browser.post("/account/two-step", &[("code", &code)]).await;
    assert_eq!(response.status, 200);
    assert_eq!(browser.get("/admin/users").await.status, 200);
}
