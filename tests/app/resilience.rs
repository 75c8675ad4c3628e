//! A database that goes away: pages answer a styled 503 with `Retry-After` quickly, the
//! probes and static files keep answering, and the first request after the database comes
//! back succeeds.
//!
//! The app's pool reaches the test database through a TCP relay this test controls, so the
//! database can be cut off the way outages happen: the server stops (connections refused,
//! open ones dropped) or the network swallows packets (connections accepted, never
//! answered). The times are printed (`--nocapture`), not asserted: `cargo test` has no timed
//! assertions.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use medopt::auth::Role;
use medopt::config::Config;
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::common::{Browser, TestApp, TestResponse};

/// What the relay does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    /// Passes bytes both ways to the database.
    Up,
    /// Like a stopped server: open connections are dropped and new ones refused.
    Refused,
    /// Like a network that swallows packets: connections are accepted and never answered.
    Silent,
}

/// A TCP relay to the database that can be cut off and restored.
struct Relay {
    address: SocketAddr,
    upstream: SocketAddr,
    line: watch::Sender<Line>,
    listener: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl Relay {
    async fn start(upstream: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (line, _) = watch::channel(Line::Up);
        let relay = Relay {
            address,
            upstream,
            line,
            listener: Arc::new(Mutex::new(None)),
        };
        relay.listen(listener);
        relay
    }

    fn listen(&self, listener: TcpListener) {
        let line = self.line.clone();
        let upstream = self.upstream;
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let mut watching = line.subscribe();
                tokio::spawn(async move {
                    let now = *watching.borrow_and_update();
                    match now {
                        Line::Up => {}
                        Line::Silent => {
                            // Hold the connection open and say nothing until the line changes.
                            let _held = client;
                            let _ = watching.changed().await;
                            return;
                        }
                        Line::Refused => return,
                    }
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (mut client, mut server) = (client, server);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        // Any change of line cuts the connections made while it was up.
                        _ = watching.changed() => {}
                    }
                });
            }
        });
        *self.listener.lock().unwrap() = Some(task);
    }

    /// Cuts the database off.
    async fn cut(&self, how: Line) {
        self.line.send_replace(how);
        if how == Line::Refused {
            // Stop listening: connecting is refused, as to a stopped server.
            let listening = self.listener.lock().unwrap().take();
            if let Some(task) = listening {
                task.abort();
                let _ = task.await;
            }
        }
    }

    /// Puts the database back.
    async fn restore(&self) {
        if self.listener.lock().unwrap().is_none() {
            let listener = TcpListener::bind(self.address).await.unwrap();
            self.listen(listener);
        }
        self.line.send_replace(Line::Up);
    }
}

/// The test database's address, and options for reaching it through `relay`.
fn through(pool: &PgPool, relay: Option<&Relay>) -> (SocketAddr, PgConnectOptions) {
    let options = (*pool.connect_options()).clone();
    let upstream: SocketAddr = format!("{}:{}", options.get_host(), options.get_port())
        .parse()
        .expect("the test database listens on an IP address");
    let options = match relay {
        Some(relay) => options
            .host(&relay.address.ip().to_string())
            .port(relay.address.port()),
        None => options,
    };
    (upstream, options)
}

/// GET `path` and how long the answer took.
async fn timed_get(browser: &mut Browser<'_>, path: &str) -> (TestResponse, Duration) {
    let started = Instant::now();
    let response = browser.get(path).await;
    (response, started.elapsed())
}

async fn check_outage(app: &TestApp, relay: &Relay, browser: &mut Browser<'_>, how: Line) {
    relay.cut(how).await;
    for path in ["/icbs/QE1", "/", "/login", "/organisations"] {
        let (response, took) = timed_get(browser, path).await;
        println!(
            "database {how:?}: GET {path} answered {} in {took:?}",
            response.status
        );
        assert_eq!(response.status, 503, "{path}: {}", response.body);
        assert_eq!(response.header("retry-after"), Some("30"), "{path}");
        assert_eq!(response.h1(), "Sorry, the service is unavailable", "{path}");
    }
    // A form: the token check needs the session, which is in the database.
    let response = browser.post("/logout", &[]).await;
    assert_eq!(response.status, 503);
    // A visitor with no session, asking for a signed-in page: sent to sign in (no database
    // needed); the sign-in page itself needs it.
    assert_eq!(app.get("/icbs/QE1").await.status, 303);
    // The process and its files are fine.
    assert_eq!(browser.get("/healthz").await.status, 200);
    let (ready, took) = timed_get(browser, "/readyz").await;
    println!(
        "database {how:?}: GET /readyz answered {} in {took:?}",
        ready.status
    );
    assert_eq!(ready.status, 503);
    assert_eq!(browser.get("/static/js/app.js").await.status, 200);

    relay.restore().await;
    let (response, took) = timed_get(browser, "/icbs/QE1").await;
    println!(
        "database back after {how:?}: first GET /icbs/QE1 answered {} in {took:?}",
        response.status
    );
    assert_eq!(response.status, 200, "{}", response.body);
}

#[sqlx::test]
async fn while_the_database_is_unreachable_pages_say_so_and_recover_when_it_returns(pool: PgPool) {
    medopt::reference::load(&pool).await.unwrap();
    let (upstream, _) = through(&pool, None);
    let relay = Relay::start(upstream).await;
    let (_, options) = through(&pool, Some(&relay));
    let config = Config::for_tests();
    let app_pool = medopt::db::pool_options(&config).connect_lazy_with(options);
    let app = TestApp::with_config(app_pool, config);
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut browser = app.login_as(&editor).await;
    assert_eq!(browser.get("/icbs/QE1").await.status, 200);

    check_outage(&app, &relay, &mut browser, Line::Refused).await;
    check_outage(&app, &relay, &mut browser, Line::Silent).await;
    // Still signed in: the outage lost nothing.
    assert_eq!(browser.get("/account/password").await.status, 200);
}
