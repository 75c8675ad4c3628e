//! The set-up every browser test shares: find Chromium (or skip loudly), serve the real app on
//! a free port against the test's own database, start `chromedriver`, open browsers, and when
//! a journey fails save what each browser showed.
//!
//! A test is one call of [`browser_test`]; the journey it runs gets a [`Site`] to make users
//! and open browsers with. The journey runs as its own task, so a panic anywhere in it (a
//! failed check, a failed `assert!`) is caught here, the screenshots and HTML are saved, and
//! then the panic carries on as the test's failure.

use std::future::Future;
use std::io::Write as _;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use medopt::audit::Actor;
use medopt::auth::Role;
use medopt::auth::two_step;
use medopt::config::Config;
use medopt::users::{self, NewUser, OrgRef};
use medopt::{AppState, reference};
use sqlx::PgPool;
use tokio::process::{Child, Command};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::browser::Browser;

/// The password of every test account.
pub const PASSWORD: &str = "violet kettle harbour 42";

/// The two-step secret of every test account whose role needs two-step verification.
pub const TWO_STEP_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// What `MEDOPT_BROWSER_TESTS` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Unset or `auto`: run when Chromium is installed, otherwise skip loudly.
    Auto,
    /// `required` (CI): a missing browser is a failure.
    Required,
    /// `skip`: do not run them, even if Chromium is installed.
    Skip,
}

fn mode() -> Mode {
    match std::env::var("MEDOPT_BROWSER_TESTS").as_deref() {
        Err(_) | Ok("" | "auto") => Mode::Auto,
        Ok("required") => Mode::Required,
        Ok("skip") => Mode::Skip,
        Ok(other) => panic!(
            "MEDOPT_BROWSER_TESTS={other:?} is not understood: use `required`, `skip` or `auto`"
        ),
    }
}

/// The programs a browser test needs.
#[derive(Debug, Clone)]
struct Tools {
    chromedriver: PathBuf,
    chromium: PathBuf,
}

/// Finds `chromedriver` and a Chromium-family browser on `PATH`, or says what is missing.
fn find_tools() -> Result<Tools, String> {
    let chromedriver = find_program(&["chromedriver"]);
    let chromium = find_program(&[
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]);
    match (chromedriver, chromium) {
        (Some(chromedriver), Some(chromium)) => Ok(Tools {
            chromedriver,
            chromium,
        }),
        (None, Some(_)) => Err("`chromedriver` is not on PATH".into()),
        (Some(_), None) => Err("no Chromium or Chrome browser is on PATH".into()),
        (None, None) => Err("neither Chromium nor `chromedriver` is on PATH".into()),
    }
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Says, so nobody can miss it, that a browser test did not run and how to make it run. It
/// writes to the process's standard error directly: `eprintln!` would be captured by the test
/// harness and hidden, because a skipped test passes. The first skip explains; the others
/// say one line each.
fn announce_skip(test: &str, why: &str) {
    static EXPLAINED: AtomicBool = AtomicBool::new(false);
    let message = if EXPLAINED.swap(true, Ordering::Relaxed) {
        format!("BROWSER TEST SKIPPED: {test} ({why}; see above)\n")
    } else {
        let rule = "=".repeat(78);
        format!(
            "\n{rule}\n\
             BROWSER TEST SKIPPED: {test}\n\
             \n\
             {why}, so the browser and accessibility tests did NOT run.\n\
             To run them, install Chromium and its WebDriver:\n\
             \n\
             \x20   Debian/Ubuntu:  sudo apt-get install -y chromium chromium-driver\n\
             \x20   macOS:          brew install --cask chromium chromedriver\n\
             \n\
             then run `cargo test` again. CI sets MEDOPT_BROWSER_TESTS=required, which makes a\n\
             missing browser a failure instead of a skip.\n\
             {rule}\n"
        )
    };
    let _ = std::io::stderr().lock().write_all(message.as_bytes());
}

/// Browser tests run at most this many at once: each starts a Chromium, and a small machine
/// running them all together would time out.
static BROWSER_SLOTS: Semaphore = Semaphore::const_new(2);

/// Runs one browser test: `journey` gets a [`Site`] serving the app on `pool` (with the
/// reference data loaded) and opens browsers on it. `name` names the folder failure
/// screenshots go to.
///
/// Without Chromium this prints a loud notice and returns, unless `MEDOPT_BROWSER_TESTS` is
/// `required`; with `skip` it returns at once.
pub async fn browser_test<J, F>(name: &str, pool: PgPool, journey: J)
where
    J: FnOnce(Site) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let tools = match (mode(), find_tools()) {
        (Mode::Skip, _) => {
            let line = format!("browser test {name} skipped: MEDOPT_BROWSER_TESTS=skip\n");
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
            return;
        }
        (Mode::Required, Err(why)) => panic!(
            "{why}: MEDOPT_BROWSER_TESTS=required, so the browser tests must run. \
             Install Chromium and its WebDriver (Debian: apt-get install -y chromium chromium-driver)."
        ),
        (Mode::Auto, Err(why)) => {
            announce_skip(name, &why);
            return;
        }
        (_, Ok(tools)) => tools,
    };
    let _slot = BROWSER_SLOTS
        .acquire()
        .await
        .expect("semaphore is never closed");
    let site = Site::start(name, pool, tools).await;
    let outcome = tokio::spawn(journey(site.clone())).await;
    if outcome.is_err() {
        site.save_failure_evidence().await;
    } else {
        // Evidence of an earlier failure would only mislead now.
        let _ = std::fs::remove_dir_all(failure_dir(name));
    }
    site.close_browsers().await;
    if let Err(error) = outcome {
        if error.is_panic() {
            std::panic::resume_unwind(error.into_panic());
        }
        panic!("the journey of {name} did not finish: {error}");
    }
}

/// A test account.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub email: String,
    pub name: String,
    /// Its two-step secret, when its role needs two-step verification (then it is on).
    pub two_step_secret: Option<&'static str>,
}

/// The app being tested, as the browsers see it, with its database.
#[derive(Clone)]
pub struct Site {
    inner: Arc<SiteInner>,
}

struct SiteInner {
    test: String,
    base_url: String,
    pool: PgPool,
    tools: Tools,
    webdriver_url: String,
    browsers: Mutex<Vec<Browser>>,
    server: JoinHandle<()>,
    /// Killed when the site is dropped.
    _chromedriver: Child,
}

impl Drop for SiteInner {
    fn drop(&mut self) {
        self.server.abort();
    }
}

static NEXT_USER: AtomicU32 = AtomicU32::new(1);

impl Site {
    async fn start(test: &str, pool: PgPool, tools: Tools) -> Site {
        reference::load(&pool).await.expect("reference data loads");
        let app = medopt::app(AppState::new(pool.clone(), Config::for_tests()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port for the app");
        let address = listener.local_addr().expect("the app's address");
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .expect("the app serves");
        });
        let (chromedriver, webdriver_url) = start_chromedriver(&tools.chromedriver).await;
        Site {
            inner: Arc::new(SiteInner {
                test: test.to_owned(),
                base_url: format!("http://{address}"),
                pool,
                tools,
                webdriver_url,
                browsers: Mutex::new(Vec::new()),
                server,
                _chromedriver: chromedriver,
            }),
        }
    }

    /// The database the app runs on, for setting up what a journey starts from.
    #[allow(
        dead_code,
        reason = "for journeys that need data set up before they start"
    )]
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// `http://127.0.0.1:<port>`: where the app is served.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// Opens a new browser window with its own profile (so its own cookies and downloads),
    /// on a blank page: start with [`Browser::visit`] or [`Browser::sign_in_as`]. `label`
    /// names it in failure reports and screenshot files, e.g. "editor".
    pub async fn open_browser(&self, label: &str) -> Browser {
        let browser = Browser::open(
            label,
            &self.inner.webdriver_url,
            &self.inner.tools.chromium,
            &self.inner.base_url,
        )
        .await;
        self.inner
            .browsers
            .lock()
            .expect("browser list")
            .push(browser.clone());
        browser
    }

    /// Creates an active account with [`PASSWORD`]; `org` is an ICB or region ODS code. If
    /// the role needs two-step verification it is turned on with [`TWO_STEP_SECRET`].
    pub async fn user(&self, role: Role, org: Option<&str>) -> TestUser {
        let n = NEXT_USER.fetch_add(1, Ordering::Relaxed);
        let email = format!(
            "{}.{}.{n}@test.nhs.uk",
            role.as_str(),
            org.unwrap_or("all").to_lowercase()
        );
        let name = format!("Test {} {n}", role.label());
        let org_ref = org.map(|code| OrgRef {
            kind: role.org_kind().expect("role takes an organisation"),
            code: code.to_owned(),
        });
        let mut conn = self.inner.pool.acquire().await.expect("connection");
        let new = NewUser {
            email: &email,
            name: &name,
            role,
            org: org_ref.as_ref(),
            password: PASSWORD.to_owned(),
            must_change_password: false,
        };
        let user_id = users::create(&mut conn, &Actor::default(), new)
            .await
            .expect("user created");
        let two_step_secret = two_step::always_required(role).then_some(TWO_STEP_SECRET);
        if let Some(secret) = two_step_secret {
            two_step::enrol_with_secret(&mut conn, &Actor::default(), user_id, secret)
                .await
                .expect("two-step verification turned on");
        }
        TestUser {
            email,
            name,
            two_step_secret,
        }
    }

    fn browsers(&self) -> Vec<Browser> {
        self.inner.browsers.lock().expect("browser list").clone()
    }

    /// Saves a screenshot and the HTML of every open browser and prints where.
    async fn save_failure_evidence(&self) {
        let dir = failure_dir(&self.inner.test);
        let _ = std::fs::remove_dir_all(&dir);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            eprintln!("could not create {}: {e}", dir.display());
            return;
        }
        let mut report = format!(
            "\nBrowser test {} failed. What each browser showed:\n",
            self.inner.test
        );
        for browser in self.browsers() {
            report.push_str(&browser.save_evidence(&dir).await);
        }
        eprintln!("{report}");
    }

    async fn close_browsers(&self) {
        for browser in self.browsers() {
            browser.close().await;
        }
    }
}

/// `<target>/browser-failures/<test>`: `CARGO_TARGET_DIR` if set, else the package's `target`.
fn failure_dir(test: &str) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|dir| manifest.join(dir))
        .unwrap_or_else(|| manifest.join("target"));
    let safe: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    target.join("browser-failures").join(safe)
}

/// Starts `chromedriver` on a free local port and waits until it answers; returns the process
/// (killed when dropped) and its URL.
async fn start_chromedriver(program: &Path) -> (Child, String) {
    let mut last_error = String::new();
    for _attempt in 0..3 {
        let port = free_port();
        let mut child = Command::new(program)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {}: {e}", program.display()));
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                last_error = format!("chromedriver exited with {status}");
                break;
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return (child, format!("http://127.0.0.1:{port}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if last_error.is_empty() {
            last_error = "chromedriver did not listen within 20 seconds".into();
        }
    }
    panic!("could not start chromedriver: {last_error}");
}

/// A port nothing listens on right now (the OS picks it; chromedriver takes it a moment later).
fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
