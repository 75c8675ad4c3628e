//! Issue 14's defects, each through the real router: where sign-in sends people, attempts
//! sent together, the client address behind a proxy, text PostgreSQL cannot store, caching of
//! signed-in pages, the `Origin`'s scheme, and connections held while passwords hash.

use std::net::SocketAddr;

use axum::body::Body;
use axum::http::Request;
use futures_util::future::join_all;
use medopt::auth::Role;
use medopt::auth::lockout::MAX_FAILED_LOGINS;
use medopt::config::{Config, TrustedProxies};
use sqlx::PgPool;

use crate::common::{Browser, PASSWORD, TestApp, sel, token_on};

const WRONG: &str = "not the right password";

// ----- Open redirect after sign-in --------------------------------------------------------

#[sqlx::test]
async fn sign_in_follows_only_same_site_paths_whatever_characters_they_hide(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let analyst = app.user(Role::NationalAnalyst, None).await;

    // The sign-in page passes on only a safe address.
    let page = app.get("/login?next=/%09/evil.example").await;
    assert_eq!(page.status, 200);
    let next: Vec<_> = page
        .html()
        .select(&sel(r#"input[name="next"]"#))
        .filter_map(|input| input.value().attr("value").map(str::to_owned))
        .collect();
    assert_eq!(next, ["/"]);

    // A browser drops tabs and line breaks from an address, so `/\t/evil.example` is
    // `//evil.example`; a NUL, CR, LF or VT cannot go into a header at all.
    for next in [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r/evil.example",
        "/\0/evil.example",
        "/\x0b/evil.example",
        "/ /evil.example",
        "/\\evil.example",
        "/icbs/QE1\\..\\..\\evil",
        "https://evil.example/",
        "/caf\u{e9}",
    ] {
        let response = app
            .browser()
            .sign_in_next(&analyst.email, PASSWORD, next)
            .await;
        assert_eq!(response.status, 303, "{next:?}: {}", response.body);
        // The analyst's landing page: the national roll-up of the current year.
        let landing = response.location().unwrap_or_default();
        assert!(landing.starts_with("/national/"), "{next:?}: {landing}");
    }
    let response = app
        .browser()
        .sign_in_next(&analyst.email, PASSWORD, "/organisations?x=1")
        .await;
    assert_eq!(response.location(), Some("/organisations?x=1"));
}

// ----- Attempts sent together -------------------------------------------------------------

/// `n` browsers, each with a session and the sign-in form's token, ready to post together.
async fn ready_browsers(app: &TestApp, n: usize) -> Vec<Browser<'_>> {
    let mut browsers = Vec::with_capacity(n);
    for _ in 0..n {
        let mut browser = app.browser();
        let page = browser.get("/login").await;
        browser.csrf = token_on(&page.html());
        browsers.push(browser);
    }
    browsers
}

/// How many passwords sign-in checked against the account, by the audit log: a wrong one,
/// or the right one.
async fn passwords_checked(app: &TestApp, user_id: uuid::Uuid) -> (i64, i64) {
    sqlx::query_as(
        "select count(*) filter (where action = 'login.failed' and details->>'reason' = 'wrong_password'),
                count(*) filter (where action = 'login.succeeded')
         from audit_event where actor_user_id = $1",
    )
    .bind(user_id)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[sqlx::test]
async fn thirty_wrong_passwords_sent_together_check_no_more_than_the_limit(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let user = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut browsers = ready_browsers(&app, 30).await;
    let fields = [("email", user.email.as_str()), ("password", WRONG)];
    let responses = join_all(browsers.iter_mut().map(|b| b.post("/login", &fields))).await;
    assert!(responses.iter().all(|r| r.status == 422));
    let (wrong, right) = passwords_checked(&app, user.user_id).await;
    println!("30 wrong passwords sent together: {wrong} checked");
    assert_eq!((wrong, right), (i64::from(MAX_FAILED_LOGINS), 0));
    let refused_unchecked: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where actor_user_id = $1 and details->>'reason' = 'locked'",
    )
    .bind(user.user_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(refused_unchecked, 30 - i64::from(MAX_FAILED_LOGINS));
    // And the account is locked: the right password is refused now.
    assert_eq!(
        app.browser().sign_in(&user.email, PASSWORD).await.status,
        422
    );
}

#[sqlx::test]
async fn nine_wrong_and_one_right_password_sent_together_check_no_more_than_the_limit(
    pool: PgPool,
) {
    let app = TestApp::new(pool).await;
    let user = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut browsers = ready_browsers(&app, 10).await;
    // The right one last, as an attacker's tenth guess.
    let forms: Vec<[(&str, &str); 2]> = std::iter::repeat_n(WRONG, 9)
        .chain([PASSWORD])
        .map(|password| [("email", user.email.as_str()), ("password", password)])
        .collect();
    let responses = join_all(
        browsers
            .iter_mut()
            .zip(&forms)
            .map(|(b, fields)| b.post("/login", fields)),
    )
    .await;
    let (wrong, right) = passwords_checked(&app, user.user_id).await;
    println!(
        "9 wrong and 1 right password sent together: {wrong} wrong and {right} right checked; \
         the right one answered {}",
        responses[9].status
    );
    assert!(
        wrong + right <= i64::from(MAX_FAILED_LOGINS),
        "{wrong} wrong and {right} right passwords were checked"
    );
}

// ----- The client's address behind a proxy ------------------------------------------------

fn peer(address: &str) -> Option<SocketAddr> {
    Some(SocketAddr::new(address.parse().unwrap(), 40000))
}

#[sqlx::test]
async fn behind_a_trusted_proxy_one_attacker_does_not_use_up_everyones_attempts(pool: PgPool) {
    medopt::reference::load(&pool).await.unwrap();
    let config = Config {
        login_attempts_per_minute: 3,
        trusted_proxies: TrustedProxies::parse("10.0.0.0/8").unwrap(),
        ..Config::for_tests()
    };
    let app = TestApp::with_config(pool, config);
    let colleague = app.user(Role::IcbEditor, Some("QE1")).await;
    let through_proxy = |client: &str| {
        let mut browser = app.browser();
        browser.peer = peer("10.0.0.1");
        browser.forwarded_for = Some(client.to_owned());
        browser
    };
    for n in 0..3 {
        let email = format!("guess{n}@test.nhs.uk");
        let response = through_proxy("203.0.113.9").sign_in(&email, WRONG).await;
        assert_eq!(response.status, 422);
    }
    let response = through_proxy("203.0.113.9")
        .sign_in("guess4@test.nhs.uk", WRONG)
        .await;
    assert_eq!(
        response.status, 429,
        "the attacker's own address is limited"
    );
    // A colleague behind the same proxy still signs in.
    let response = through_proxy("198.51.100.7")
        .sign_in(&colleague.email, PASSWORD)
        .await;
    assert_eq!(response.status, 303, "{}", response.body);
}

#[sqlx::test]
async fn forwarded_addresses_from_anyone_else_are_ignored(pool: PgPool) {
    medopt::reference::load(&pool).await.unwrap();
    let config = Config {
        login_attempts_per_minute: 3,
        ..Config::for_tests()
    };
    let app = TestApp::with_config(pool, config);
    // No trusted proxies: a made-up X-Forwarded-For does not buy fresh attempts.
    for n in 0..4 {
        let mut browser = app.browser();
        browser.peer = peer("203.0.113.9");
        browser.forwarded_for = Some(format!("198.51.100.{n}"));
        let response = browser
            .sign_in(&format!("guess{n}@test.nhs.uk"), WRONG)
            .await;
        assert_eq!(
            response.status,
            if n < 3 { 422 } else { 429 },
            "attempt {n}"
        );
    }
}

#[sqlx::test]
async fn one_account_is_limited_however_many_addresses_try_it(pool: PgPool) {
    medopt::reference::load(&pool).await.unwrap();
    let config = Config {
        login_attempts_per_minute: 3,
        ..Config::for_tests()
    };
    let app = TestApp::with_config(pool, config);
    for n in 0..4 {
        let mut browser = app.browser();
        browser.peer = peer(&format!("203.0.113.{n}"));
        let response = browser.sign_in("target@test.nhs.uk", WRONG).await;
        assert_eq!(
            response.status,
            if n < 3 { 422 } else { 429 },
            "attempt {n}"
        );
    }
}

// ----- Text PostgreSQL cannot store ---------------------------------------------------------

#[sqlx::test]
async fn a_nul_in_a_path_or_filter_is_not_found_never_a_server_error(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.user(Role::Admin, None).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    for user in [&admin, &editor] {
        let mut browser = app.login_as(user).await;
        // An ICB or region code that cannot be one is simply not found, like any other.
        for path in [
            "/icbs/%00",
            "/icbs/QE%001",
            "/icbs/%00/2024-25",
            "/icbs/%00/2024-25/plan",
            "/regions/Y6%002",
            "/regions/%00/2024-25",
            "/exports/plans.csv?icb=%00",
            "/exports/plans.csv?region=Y6%002",
        ] {
            let response = browser.get(path).await;
            assert_eq!(response.status, 404, "{path} as {:?}", user.role);
        }
        for path in [
            "/exports/plans.csv?year=%00",
            "/exports/plans.csv?opportunity=%00",
            "/catalogue/%00",
            "/national/%00",
            "/admin/users/%00",
            "/admin/catalogue/%00",
            "/admin/audit?actor=%00&action=%00&organisation=%00",
        ] {
            let response = browser.get(path).await;
            let status = response.status.as_u16();
            assert!(
                matches!(status, 200 | 403 | 404 | 422),
                "{path} as {:?}: {status}",
                user.role
            );
        }
    }
    let mut browser = app.login_as(&admin).await;
    let response = browser
        .get("/admin/audit?actor=a%00b&organisation=Q%00E1")
        .await;
    assert!(
        response
            .field_error("actor")
            .is_some_and(|m| m.contains("must not contain invisible control characters")),
        "{}",
        response.body
    );
    assert!(response.field_error("organisation").is_some());
}

#[sqlx::test]
async fn a_nul_in_a_sign_in_or_account_form_is_refused_by_the_field(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let user = app.user(Role::IcbEditor, Some("QE1")).await;
    let response = app.browser().sign_in("a\0b@test.nhs.uk", WRONG).await;
    assert_eq!(response.status, 422);
    assert!(
        response
            .field_error("email")
            .is_some_and(|m| m.contains("Email address must not contain")),
        "{}",
        response.body
    );
    assert_eq!(
        app.browser()
            .sign_in(&user.email, "pass\0word")
            .await
            .status,
        422
    );
    let mut browser = app.login_as(&user).await;
    let response = browser
        .post(
            "/account/password",
            &[
                ("current_password", "\0"),
                ("new_password", "amber\0lantern meadow 7"),
                ("confirm_password", "x\0"),
            ],
        )
        .await;
    assert_eq!(response.status, 422);
    let response = browser
        .post("/account/two-step", &[("code", "12\u{0}456")])
        .await;
    assert_eq!(response.status, 422);
    assert!(response.field_error("code").is_some());
}

#[sqlx::test]
async fn a_nul_in_an_administration_form_is_refused_by_the_field(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.user(Role::Admin, None).await;
    let target = app.user(Role::IcbViewer, Some("QE1")).await;
    let mut browser = app.login_as(&admin).await;
    let before: i64 = sqlx::query_scalar("select count(*) from app_user")
        .fetch_one(&app.pool)
        .await
        .unwrap();

    let response = browser
        .post(
            "/admin/users/new",
            &[
                ("name", "Asha\0 Patel"),
                ("email", "asha\0@test.nhs.uk"),
                ("role", "icb_editor"),
                ("organisation", "QE\u{0}1"),
            ],
        )
        .await;
    assert_eq!(response.status, 422, "{}", response.body);
    for field in ["name", "email", "organisation"] {
        assert!(
            response
                .field_error(field)
                .is_some_and(|m| m.contains("must not contain invisible control characters")),
            "{field}: {:?}",
            response.field_error(field)
        );
    }
    let response = browser
        .post(
            &format!("/admin/users/{}", target.user_id),
            &[
                ("name", "Viewer\0"),
                ("email", "viewer@test.nhs.uk"),
                ("role", "icb_viewer"),
                ("organisation", "QE1"),
            ],
        )
        .await;
    assert_eq!(response.status, 422);
    assert!(response.field_error("name").is_some());

    let response = browser
        .post(
            "/admin/catalogue/2024-25/opportunities/12",
            &[("title", "Title\0"), ("group_name", "\0")],
        )
        .await;
    assert_eq!(response.status, 422, "{}", response.body);
    assert!(response.field_error("title").is_some());

    let response = browser
        .post(
            "/admin/catalogue/years",
            &[("year", "2030/31\0"), ("copy_from", "\0")],
        )
        .await;
    assert_eq!(response.status, 422);

    let response = browser
        .post(
            "/admin/organisations/icbs",
            &[
                ("ods_code", "Q\0X"),
                ("name", "NHS Test\0 ICB"),
                ("region", "Y6\u{0}2"),
                ("valid_from", "2026-04-01\0"),
            ],
        )
        .await;
    assert_eq!(response.status, 422, "{}", response.body);
    for field in ["ods_code", "name", "region", "valid_from"] {
        assert!(response.field_error(field).is_some(), "{field}");
    }
    let response = browser
        .post(
            "/admin/organisations/successions",
            &[
                ("predecessors", "Q\0E1"),
                ("successor", "\0"),
                ("effective_from", "2026-04-01"),
            ],
        )
        .await;
    assert_eq!(response.status, 422, "{}", response.body);
    assert!(response.field_error("predecessors").is_some());
    assert!(response.field_error("successor").is_some());

    let after: i64 = sqlx::query_scalar("select count(*) from app_user")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(before, after, "nothing was created");
}

// ----- Signed-in pages and shared computers ------------------------------------------------

#[sqlx::test]
async fn every_page_a_signed_in_user_gets_is_kept_out_of_caches(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let admin = app.user(Role::Admin, None).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    for user in [&admin, &editor] {
        let mut browser = app.login_as(user).await;
        for route in medopt::http::route_table().into_iter().filter(|r| {
            r.method == "GET" && !r.path.starts_with("/healthz") && !r.path.starts_with("/readyz")
        }) {
            let path = route
                .path
                .replace("{icb}", "QE1")
                .replace("{region}", "Y62")
                .replace("{year}", "2024-25")
                .replace("{number}", "12")
                .replace("{dataset}", "plans.csv")
                .replace("{user_id}", &user.user_id.to_string())
                .replace("{workstream}", "1")
                .replace("{measure}", "1");
            let response = browser.get(&path).await;
            assert_eq!(
                response.header("cache-control"),
                Some("no-store"),
                "{path} as {:?} ({})",
                user.role,
                response.status
            );
        }
    }
}

// ----- The Origin's scheme ------------------------------------------------------------------

/// Posts the sign-in form as a browser on `origin` would to `host`, with a session and its
/// form token: the status.
async fn sign_in_from(app: &TestApp, origin: &str, email: &str) -> u16 {
    let mut browser = app.browser();
    let page = browser.get("/login").await;
    let token = token_on(&page.html()).unwrap();
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("csrf_token", token.as_str()),
            ("email", email),
            ("password", PASSWORD),
        ])
        .finish();
    let request = Request::post("/login")
        .header("host", "medopt.example")
        .header("origin", origin)
        .header("cookie", browser.cookie.clone().unwrap())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    app.request(request).await.status.as_u16()
}

#[sqlx::test]
async fn a_form_from_the_same_host_over_another_scheme_is_refused(pool: PgPool) {
    medopt::reference::load(&pool).await.unwrap();
    // Served over HTTPS (`MEDOPT_SECURE_COOKIES=true`): a page on http://medopt.example,
    // which anyone on the network can serve, may not post.
    let https = TestApp::with_config(
        pool.clone(),
        Config {
            secure_cookies: true,
            ..Config::for_tests()
        },
    );
    let user = https.user(Role::IcbEditor, Some("QE1")).await;
    assert_eq!(
        sign_in_from(&https, "http://medopt.example", &user.email).await,
        403
    );
    assert_eq!(
        sign_in_from(&https, "https://medopt.example", &user.email).await,
        303
    );
    // Served over HTTP: the other way round.
    let http = TestApp::without_reference_data(pool);
    assert_eq!(
        sign_in_from(&http, "https://medopt.example", &user.email).await,
        403
    );
    assert_eq!(
        sign_in_from(&http, "http://medopt.example", &user.email).await,
        303
    );
}

// ----- No connection held while a password hashes ------------------------------------------

#[sqlx::test]
async fn sign_ins_waiting_to_hash_a_password_hold_no_database_connection(pool: PgPool) {
    medopt::reference::load(&pool).await.unwrap();
    // An app with two connections, and four sign-ins that will wait for the hashing permits
    // this test holds.
    let config = Config {
        db_pool_size: 2,
        ..Config::for_tests()
    };
    let small =
        medopt::db::pool_options(&config).connect_lazy_with((*pool.connect_options()).clone());
    let app = TestApp::with_config(small, config);
    let users = [
        app.user(Role::IcbEditor, Some("QE1")).await,
        app.user(Role::IcbEditor, Some("QE1")).await,
        app.user(Role::IcbViewer, Some("QE1")).await,
        app.user(Role::NationalAnalyst, None).await,
    ];
    let mut browsers = ready_browsers(&app, users.len()).await;
    let permits = medopt::auth::password::hashing_permits();
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let held = permits
        .acquire_many(u32::try_from(cores).unwrap())
        .await
        .unwrap();
    let forms: Vec<[(&str, &str); 2]> = users
        .iter()
        .map(|u| [("email", u.email.as_str()), ("password", WRONG)])
        .collect();
    let sign_ins = join_all(
        browsers
            .iter_mut()
            .zip(&forms)
            .map(|(b, fields)| b.post("/login", fields)),
    );
    let page = async {
        // Let the sign-ins reach the hashing permits before asking for a page.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let response = app.get("/organisations").await;
        drop(held);
        response
    };
    let (responses, page) = tokio::join!(sign_ins, page);
    assert_eq!(
        page.status, 200,
        "a public page while four sign-ins wait to hash: {}",
        page.body
    );
    assert!(responses.iter().all(|r| r.status == 422));
}

// ----- Transport and methods ---------------------------------------------------------------

#[sqlx::test]
async fn over_https_browsers_are_told_to_use_nothing_else(pool: PgPool) {
    medopt::reference::load(&pool).await.unwrap();
    let https = TestApp::with_config(
        pool.clone(),
        Config {
            secure_cookies: true,
            ..Config::for_tests()
        },
    );
    for path in [
        "/",
        "/login",
        "/static/js/app.js",
        "/no-such-page",
        "/healthz",
    ] {
        assert_eq!(
            https.get(path).await.header("strict-transport-security"),
            Some("max-age=31536000; includeSubDomains"),
            "{path}"
        );
    }
    let http = TestApp::without_reference_data(pool);
    assert_eq!(
        http.get("/").await.header("strict-transport-security"),
        None
    );
}

#[sqlx::test]
async fn trace_is_not_answered(pool: PgPool) {
    let app = TestApp::new(pool).await;
    for path in ["/", "/login", "/healthz"] {
        let request = Request::builder()
            .method("TRACE")
            .uri(path)
            .body(Body::empty())
            .unwrap();
        // Refused as a state-changing request without a form token, or not routed at all:
        // never echoed.
        let status = app.request(request).await.status.as_u16();
        assert!(matches!(status, 403 | 405), "{path}: {status}");
    }
}
