//! The real binary: `medopt user add`, `medopt user set-password` and `medopt user
//! reset-two-step`, `medopt demo`'s address, and the server started from a directory that is
//! not the repository.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use sqlx::PgPool;

use crate::common::TestApp;

/// The URL of this test's own database, on the server the harness uses.
fn database_url(pool: &PgPool) -> String {
    let base = std::env::var("DATABASE_URL").unwrap();
    let (server, _) = base.rsplit_once('/').unwrap();
    format!(
        "{server}/{}",
        pool.connect_options().get_database().unwrap()
    )
}

fn medopt(pool: &PgPool, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_medopt"))
        .args(args)
        .env("DATABASE_URL", database_url(pool))
        .env("MEDOPT_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[sqlx::test]
async fn operators_add_users_and_set_passwords(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let add = [
        "user",
        "add",
        "--email",
        "Ops.User@test.nhs.uk",
        "--name",
        "Ops User",
        "--role",
        "icb_editor",
        "--org",
        "qe1",
        "--password-stdin",
    ];
    let output = medopt(&pool, &add, "amber lantern meadow 7\n");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut browser = app.browser();
    assert_eq!(
        browser
            .sign_in("ops.user@test.nhs.uk", "amber lantern meadow 7")
            .await
            .location(),
        Some("/icbs/QE1/2026-27"),
        "an ICB editor lands on their ICB's dashboard for the current programme year"
    );
    assert_eq!(browser.get("/icbs/QE1").await.status, 200);

    // The same e-mail twice is refused.
    let output = medopt(&pool, &add, "amber lantern meadow 7\n");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("already exists"));

    let set = [
        "user",
        "set-password",
        "--email",
        "ops.user@test.nhs.uk",
        "--password-stdin",
    ];
    let output = medopt(&pool, &set, "copper window lighthouse 9\n");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        app.browser()
            .sign_in("ops.user@test.nhs.uk", "amber lantern meadow 7")
            .await
            .status,
        422
    );
    assert_eq!(
        app.browser()
            .sign_in("ops.user@test.nhs.uk", "copper window lighthouse 9")
            .await
            .status,
        303
    );
}

#[sqlx::test]
async fn the_command_line_refuses_bad_input_with_a_clear_message(pool: PgPool) {
    let _app = TestApp::new(pool.clone()).await;
    for (args, stdin, message) in [
        (
            vec![
                "user",
                "add",
                "--email",
                "a@test.nhs.uk",
                "--name",
                "A",
                "--role",
                "admin",
                "--password-stdin",
            ],
            "password1234\n",
            "too common",
        ),
        (
            vec![
                "user",
                "add",
                "--email",
                "a@test.nhs.uk",
                "--name",
                "A",
                "--role",
                "icb_editor",
                "--password-stdin",
            ],
            "amber lantern meadow 7\n",
            "needs --org",
        ),
        (
            vec![
                "user",
                "add",
                "--email",
                "a@test.nhs.uk",
                "--name",
                "A",
                "--role",
                "boss",
                "--password-stdin",
            ],
            "amber lantern meadow 7\n",
            "unknown role",
        ),
        (
            vec![
                "user",
                "set-password",
                "--email",
                "nobody@test.nhs.uk",
                "--password-stdin",
            ],
            "amber lantern meadow 7\n",
            "No user has this email",
        ),
    ] {
        let output = medopt(&pool, &args, stdin);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    let users: i64 = sqlx::query_scalar("select count(*) from app_user")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users, 0);
}

/// `medopt` (serving) started from an empty directory, as after `cargo install`: the address it
/// is listening on, read from its JSON log, and the running process.
struct Server {
    process: tokio::process::Child,
    base: String,
}

impl Server {
    async fn start(pool: &PgPool, directory: &std::path::Path) -> Server {
        use tokio::io::{AsyncBufReadExt, BufReader};
        let mut process = tokio::process::Command::new(env!("CARGO_BIN_EXE_medopt"))
            .current_dir(directory)
            .env("DATABASE_URL", database_url(pool))
            .env("MEDOPT_BIND", "127.0.0.1:0")
            .env("MEDOPT_LOG", "info")
            .env("MEDOPT_LOG_FORMAT", "json")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut log = BufReader::new(process.stderr.take().unwrap()).lines();
        let mut seen = Vec::new();
        let address = loop {
            let Some(line) = log.next_line().await.unwrap() else {
                panic!("medopt stopped before listening:\n{}", seen.join("\n"));
            };
            let event: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if let Some(address) = event["address"].as_str() {
                break address.to_owned();
            }
            seen.push(line);
        };
        // Keep reading the log, so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = log.next_line().await {} });
        Server {
            process,
            base: format!("http://{address}"),
        }
    }

    /// Stops it as an operator would (SIGTERM), and waits for a clean exit.
    async fn stop(mut self) {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;
        let pid = i32::try_from(self.process.id().unwrap()).unwrap();
        kill(Pid::from_raw(pid), Signal::SIGTERM).unwrap();
        let status = self.process.wait().await.unwrap();
        assert!(status.success(), "medopt exited with {status}");
    }
}

#[sqlx::test]
async fn the_server_serves_styled_pages_when_started_from_any_directory(pool: PgPool) {
    let elsewhere = tempfile::tempdir().unwrap();
    let server = Server::start(&pool, elsewhere.path()).await;
    let client = reqwest::Client::new();

    let page = client
        .get(format!("{}/login", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = scraper::Html::parse_document(&page.text().await.unwrap());
    let stylesheets: Vec<String> = html
        .select(&crate::common::sel(r#"link[rel="stylesheet"]"#))
        .filter_map(|l| l.value().attr("href").map(str::to_owned))
        .collect();
    assert_eq!(stylesheets.len(), 2, "{stylesheets:?}");
    for href in &stylesheets {
        let css = client
            .get(format!("{}{href}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(css.status(), 200, "{href}");
        let content_type = css.headers()["content-type"].to_str().unwrap().to_owned();
        assert_eq!(content_type.split(';').next(), Some("text/css"), "{href}");
        assert!(!css.bytes().await.unwrap().is_empty(), "{href}");
    }
    server.stop().await;
}

#[sqlx::test]
async fn demo_names_the_address_the_server_will_use(pool: PgPool) {
    let output = Command::new(env!("CARGO_BIN_EXE_medopt"))
        .arg("demo")
        .env("DATABASE_URL", database_url(&pool))
        .env("MEDOPT_BIND", "127.0.0.1:4321")
        .env("MEDOPT_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("Sign in at http://127.0.0.1:4321/login"),
        "{stdout}"
    );
    assert!(!stdout.contains(":3000"), "{stdout}");

    // --bind wins over the environment; every interface is reached on this machine at loopback.
    let output = Command::new(env!("CARGO_BIN_EXE_medopt"))
        .args(["demo", "--bind", "0.0.0.0:8088"])
        .env("DATABASE_URL", database_url(&pool))
        .env("MEDOPT_BIND", "127.0.0.1:4321")
        .env("MEDOPT_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(
        stdout.contains("Sign in at http://127.0.0.1:8088/login"),
        "{stdout}"
    );
}

#[sqlx::test]
async fn operators_reset_a_users_two_step_verification(pool: PgPool) {
    let app = TestApp::new(pool.clone()).await;
    let admin = app.user(medopt::auth::Role::Admin, None).await;
    let args = [
        "user",
        "reset-two-step",
        "--email",
        &admin.email.to_uppercase(),
    ];
    let output = medopt(&pool, &args, "");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("two-step verification reset"), "{stdout}");
    // The administrator signs in with the password alone and must set it up again.
    let mut browser = app.browser();
    let response = browser.sign_in(&admin.email, crate::common::PASSWORD).await;
    assert_eq!(response.location(), Some("/"));
    assert_eq!(
        browser.get("/admin/users").await.location(),
        Some("/account/two-step")
    );
    let events: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action = 'two_step.reset' and object_id = $1 and actor_user_id is null",
    )
    .bind(admin.user_id.to_string())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(events, 1);

    let output = medopt(
        &pool,
        &["user", "reset-two-step", "--email", "nobody@test.nhs.uk"],
        "",
    );
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no user has the email address"));
}
