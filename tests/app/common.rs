//! The test harness: a [`TestApp`] wrapping the real router, and response helpers that parse
//! HTML so tests assert on what a user sees.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use medopt::audit::Actor;
use medopt::auth::Role;
use medopt::auth::two_step::{self, totp};
use medopt::clock::Clock;
use medopt::config::Config;
use medopt::users::{self, NewUser, OrgRef};
use medopt::{AppState, reference};
use scraper::{Html, Selector};
use sqlx::PgPool;
use tower::ServiceExt;

/// Before any test runs: with no `DATABASE_URL`, start (or reuse) the private test cluster and
/// point `#[sqlx::test]` at it. It stays running for the next run, like a service would.
///
/// `#[sqlx::test]` reads `DATABASE_URL` from the environment, so it is set here, in a
/// constructor: the one `unsafe` of the test harness (never of the shipped binary), sound
/// because constructors run before `main`, while the process has a single thread.
mod test_database {
    #[ctor::ctor(unsafe)]
    fn start() {
        // SAFETY: constructors run before `main`, while the process has a single thread.
        unsafe { point_sqlx_test_at_the_test_cluster() };
    }

    /// Starts (or reuses) the private test cluster, unless `DATABASE_URL` is set, and sets
    /// `DATABASE_URL` to it.
    ///
    /// # Safety
    /// It sets an environment variable: call it only while the process has a single thread.
    #[expect(
        unsafe_code,
        reason = "test harness only: sets DATABASE_URL before main, while there is one thread"
    )]
    unsafe fn point_sqlx_test_at_the_test_cluster() {
        let url = medopt::devdb::test_database_url()
            .unwrap_or_else(|e| panic!("could not start the test PostgreSQL cluster: {e}"));
        if let Some(url) = url {
            // SAFETY: the caller guarantees that no other thread exists yet.
            unsafe { std::env::set_var("DATABASE_URL", url) };
        }
    }
}

/// The application under test.
pub struct TestApp {
    pub pool: PgPool,
    pub state: AppState,
    router: Router,
}

impl TestApp {
    /// The app on `pool` with the reference data loaded, as at start-up.
    pub async fn new(pool: PgPool) -> Self {
        reference::load(&pool).await.expect("reference data loads");
        Self::without_reference_data(pool)
    }

    /// The app on `pool` as it is.
    pub fn without_reference_data(pool: PgPool) -> Self {
        Self::with_config(pool, Config::for_tests())
    }

    /// The app on `pool` with the reference data loaded and today's date fixed at `today`, so
    /// figures that depend on the date (the reporting month, what is due) can be checked.
    pub async fn at(pool: PgPool, today: chrono::NaiveDate) -> Self {
        reference::load(&pool).await.expect("reference data loads");
        Self::with_state(
            pool.clone(),
            AppState::with_clock(pool, Config::for_tests(), Clock::fixed(today)),
        )
    }

    /// The app on `pool` with a particular configuration (reference data not loaded).
    pub fn with_config(pool: PgPool, config: Config) -> Self {
        Self::with_config_and_clock(pool, config, Clock::system())
    }

    /// The app on `pool` with a configuration and today's date from `clock` (reference data
    /// not loaded).
    pub fn with_config_and_clock(pool: PgPool, config: Config, clock: Clock) -> Self {
        Self::with_state(pool.clone(), AppState::with_clock(pool, config, clock))
    }

    fn with_state(pool: PgPool, state: AppState) -> Self {
        let router = medopt::app(state.clone());
        Self {
            pool,
            state,
            router,
        }
    }

    /// Sends a GET request.
    pub async fn get(&self, path: &str) -> TestResponse {
        let request = Request::get(path)
            .body(Body::empty())
            .expect("valid request");
        self.request(request).await
    }

    /// Sends any request.
    pub async fn request(&self, request: Request<Body>) -> TestResponse {
        send(&self.router, request).await
    }

    /// Sends a request and returns the response unread, to read its body as it streams.
    pub async fn unbuffered(&self, request: Request<Body>) -> axum::response::Response {
        self.router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible")
    }
}

/// Sends any request through `router`.
pub async fn send(router: &Router, request: Request<Body>) -> TestResponse {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    TestResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A response, buffered.
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl TestResponse {
    /// The body parsed as an HTML document.
    pub fn html(&self) -> Html {
        Html::parse_document(&self.body)
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Parses a CSS selector (tests use literal, valid selectors).
pub fn sel(css: &str) -> Selector {
    Selector::parse(css).unwrap_or_else(|e| panic!("bad selector {css}: {e}"))
}

/// The trimmed, whitespace-collapsed text of every element matching `css`.
pub fn texts(html: &Html, css: &str) -> Vec<String> {
    html.select(&sel(css)).map(|e| text_of(&e)).collect()
}

/// The whitespace-collapsed text of one element.
pub fn text_of(element: &scraper::ElementRef<'_>) -> String {
    element
        .text()
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A password that passes the rules, used for every test account.
pub const PASSWORD: &str = "violet kettle harbour 42";

/// The two-step secret of every test account whose role needs two-step verification.
pub const TWO_STEP_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// A test account.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub user_id: uuid::Uuid,
    pub email: String,
    pub role: Role,
    /// Its two-step secret, when its role needs two-step verification (then it is on).
    pub two_step_secret: Option<&'static str>,
}

/// The code an authenticator app with `secret` shows now.
pub fn current_code(secret: &str) -> String {
    totp::code_at(secret, totp::now_unix()).unwrap()
}

impl TestApp {
    /// Creates an active account with [`PASSWORD`]; `org` is an ICB or region ODS code. If
    /// the role needs two-step verification it is turned on with [`TWO_STEP_SECRET`].
    pub async fn user(&self, role: Role, org: Option<&str>) -> TestUser {
        let n = NEXT_USER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let email = format!(
            "{}.{}.{n}@test.nhs.uk",
            role.as_str(),
            org.unwrap_or("all").to_lowercase()
        );
        let org_ref = org.map(|code| OrgRef {
            kind: role.org_kind().expect("role takes an organisation"),
            code: code.to_owned(),
        });
        let mut conn = self.pool.acquire().await.expect("connection");
        let new = NewUser {
            email: &email,
            name: &format!("Test {} {n}", role.label()),
            role,
            org: org_ref.as_ref(),
            password: PASSWORD.to_owned(),
            must_change_password: false,
        };
        let user_id = users::create(&mut conn, &Actor::default(), new)
            .await
            .expect("user created");
        let two_step_secret =
            two_step::required(role, self.state.config()).then_some(TWO_STEP_SECRET);
        if let Some(secret) = two_step_secret {
            two_step::enrol_with_secret(&mut conn, &Actor::default(), user_id, secret)
                .await
                .expect("two-step verification turned on");
        }
        TestUser {
            user_id,
            email,
            role,
            two_step_secret,
        }
    }

    /// A browser with no cookies.
    pub fn browser(&self) -> Browser<'_> {
        Browser {
            app: self,
            cookie: None,
            csrf: None,
            peer: None,
            forwarded_for: None,
        }
    }

    /// A browser signed in as `user` (with its two-step code, if it has two-step
    /// verification), holding the form token.
    pub async fn login_as(&self, user: &TestUser) -> Browser<'_> {
        let mut browser = self.browser();
        let mut response = browser.sign_in(&user.email, PASSWORD).await;
        if let Some(secret) = user.two_step_secret {
            assert_eq!(
                response.location(),
                Some("/login/two-step"),
                "sign-in of {} did not ask for a code: {}",
                user.email,
                response.body
            );
            response = browser.enter_code(user, &current_code(secret)).await;
        }
        assert_eq!(
            response.status, 303,
            "sign-in of {} failed: {}",
            user.email, response.body
        );
        browser.refresh_csrf().await;
        browser
    }

    /// Lets `user`'s current two-step code be used again: a test signs the same user in
    /// more often than once per 30 seconds, which would otherwise be a replay.
    pub async fn forget_used_code(&self, user: &TestUser) {
        sqlx::query("update user_two_step set last_used_step = null where user_id = $1")
            .bind(user.user_id)
            .execute(&self.pool)
            .await
            .unwrap();
    }
}

static NEXT_USER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);

/// A cookie-keeping client of the app, like one browser tab.
pub struct Browser<'a> {
    app: &'a TestApp,
    /// `name=value` of the session cookie.
    pub cookie: Option<String>,
    /// The form token last seen on a page.
    pub csrf: Option<String>,
    /// The address the request comes from (the peer of the connection), if any.
    pub peer: Option<std::net::SocketAddr>,
    /// An `X-Forwarded-For` header to send, as a proxy would.
    pub forwarded_for: Option<String>,
}

impl Browser<'_> {
    /// GET `path`.
    pub async fn get(&mut self, path: &str) -> TestResponse {
        let request = self.request(Request::get(path), Body::empty());
        self.send(request).await
    }

    /// POST a form, adding the form token.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let token = self.csrf.clone().unwrap_or_default();
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// POST exactly these fields (no token added).
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let builder =
            Request::post(path).header("content-type", "application/x-www-form-urlencoded");
        let request = self.request(builder, Body::from(body));
        self.send(request).await
    }

    /// POST a `multipart/form-data` form (a file upload): the form token first, then `fields`,
    /// then the file as the field `file`.
    pub async fn post_file(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file_name: &str,
        content: &[u8],
    ) -> TestResponse {
        const BOUNDARY: &str = "medopt-test-boundary-7f3a";
        let token = self.csrf.clone().unwrap_or_default();
        let mut body = Vec::new();
        for (name, value) in std::iter::once(&("csrf_token", token.as_str())).chain(fields) {
            body.extend(
                format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        body.extend(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        let builder = Request::post(path).header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        );
        let request = self.request(builder, Body::from(body));
        self.send(request).await
    }

    /// Opens the sign-in page and signs in.
    pub async fn sign_in(&mut self, email: &str, password: &str) -> TestResponse {
        self.sign_in_next(email, password, "/").await
    }

    /// Signs in, asking to go to `next` afterwards.
    pub async fn sign_in_next(&mut self, email: &str, password: &str, next: &str) -> TestResponse {
        let page = self.get("/login").await;
        self.csrf = token_on(&page.html());
        self.post(
            "/login",
            &[("email", email), ("password", password), ("next", next)],
        )
        .await
    }

    /// Answers the two-step code page (after a right password) with `code`, first letting
    /// `user`'s codes be used again (see [`TestApp::forget_used_code`]).
    pub async fn enter_code(&mut self, user: &TestUser, code: &str) -> TestResponse {
        self.app.forget_used_code(user).await;
        self.submit_code(code).await
    }

    /// Answers the two-step code page with `code`, as it is.
    pub async fn submit_code(&mut self, code: &str) -> TestResponse {
        let page = self.get("/login/two-step").await;
        self.csrf = token_on(&page.html());
        self.post("/login/two-step", &[("code", code)]).await
    }

    /// Reads the form token from a page that has a form.
    /// (A user who must turn on two-step verification first gets it from that page.)
    pub async fn refresh_csrf(&mut self) {
        let mut page = self.get("/account/password").await;
        if page.location() == Some("/account/two-step") {
            page = self.get("/account/two-step").await;
        }
        self.csrf = token_on(&page.html());
        assert!(
            self.csrf.is_some(),
            "no form token on /account/password: {}",
            page.status
        );
    }

    fn request(&self, builder: axum::http::request::Builder, body: Body) -> Request<Body> {
        let builder = match &self.cookie {
            Some(cookie) => builder.header("cookie", cookie),
            None => builder,
        };
        let builder = match &self.forwarded_for {
            Some(addresses) => builder.header("x-forwarded-for", addresses),
            None => builder,
        };
        let mut request = builder.body(body).expect("valid request");
        if let Some(peer) = self.peer {
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
        }
        request
    }

    async fn send(&mut self, request: Request<Body>) -> TestResponse {
        let response = self.app.request(request).await;
        for set_cookie in response.headers.get_all("set-cookie") {
            let text = set_cookie.to_str().unwrap_or_default();
            let pair = text.split(';').next().unwrap_or_default().trim().to_owned();
            let removed = text.contains("Max-Age=0") || pair.ends_with('=');
            self.cookie = if removed { None } else { Some(pair) };
        }
        response
    }
}

/// The `csrf_token` of the first form on a page.
pub fn token_on(html: &Html) -> Option<String> {
    html.select(&sel(r#"input[name="csrf_token"]"#))
        .next()
        .and_then(|input| input.value().attr("value"))
        .map(str::to_owned)
}

impl TestResponse {
    /// The `Location` of a redirect.
    pub fn location(&self) -> Option<&str> {
        self.header("location")
    }

    /// The error message shown by the field `id` (NHS.UK pattern: `#id-error`).
    pub fn field_error(&self, id: &str) -> Option<String> {
        let html = self.html();
        html.select(&sel(&format!("#{id}-error")))
            .next()
            .map(|e| text_of(&e))
    }

    /// The page's `<h1>`.
    pub fn h1(&self) -> String {
        texts(&self.html(), "h1").join(" | ")
    }
}

/// A form as a browser would submit it: its fields with their current values (hidden and text
/// inputs, ticked checkboxes and radios, textareas), ready to be changed and posted.
#[derive(Debug, Clone)]
pub struct FormState {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

impl FormState {
    /// The form on `html` whose action is `action`.
    pub fn of(html: &Html, action: &str) -> Self {
        let form = html
            .select(&sel(&format!(r#"form[action="{action}"]"#)))
            .next()
            .unwrap_or_else(|| panic!("no form posting to {action}"));
        let mut fields = Vec::new();
        for input in form.select(&sel("input[name], textarea[name]")) {
            let el = input.value();
            let name = el.attr("name").unwrap_or_default().to_owned();
            if el.attr("disabled").is_some() {
                continue;
            }
            match (el.name(), el.attr("type").unwrap_or("text")) {
                ("textarea", _) => fields.push((name, input.text().collect())),
                (_, "checkbox" | "radio") => {
                    if el.attr("checked").is_some() {
                        fields.push((name, el.attr("value").unwrap_or("on").to_owned()));
                    }
                }
                _ => fields.push((name, el.attr("value").unwrap_or_default().to_owned())),
            }
        }
        Self {
            action: action.to_owned(),
            fields,
        }
    }

    /// Sets `name` to one value (as typing into a field or choosing a radio does).
    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        self.fields.retain(|(n, _)| n != name);
        self.fields.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Ticks the checkbox `name` with `value`.
    pub fn tick(&mut self, name: &str, value: &str) -> &mut Self {
        if !self.fields.iter().any(|(n, v)| n == name && v == value) {
            self.fields.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    /// Un-ticks the checkbox `name` with `value`.
    pub fn untick(&mut self, name: &str, value: &str) -> &mut Self {
        self.fields.retain(|(n, v)| !(n == name && v == value));
        self
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Browser<'_> {
    /// Posts `form` as it is (its own form token included).
    pub async fn submit(&mut self, form: &FormState) -> TestResponse {
        let fields: Vec<(&str, &str)> = form
            .fields
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        self.post_raw(&form.action, &fields).await
    }

    /// Posts every form at once (like several tabs, or a double click, on one session) and
    /// returns the answers in order. The session cookie is not updated from the answers.
    pub async fn submit_all(&self, forms: &[FormState]) -> Vec<TestResponse> {
        let requests = forms.iter().map(|form| {
            let body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form.fields.iter())
                .finish();
            let builder = Request::post(&form.action)
                .header("content-type", "application/x-www-form-urlencoded");
            self.app.request(self.request(builder, Body::from(body)))
        });
        futures_util::future::join_all(requests).await
    }

    /// Opens `page` and returns its form posting to `action`.
    pub async fn form(&mut self, page: &str, action: &str) -> FormState {
        let response = self.get(page).await;
        assert_eq!(response.status, 200, "GET {page}: {}", response.body);
        FormState::of(&response.html(), action)
    }
}

/// Whole pounds as the pages show them (`£1,234`, `-£5`), parsed back.
pub fn pounds(text: &str) -> i64 {
    let negative = text.starts_with('-');
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let value: i64 = digits
        .parse()
        .unwrap_or_else(|_| panic!("not money: {text}"));
    if negative { -value } else { value }
}

/// A downloaded CSV: its header and rows, by column name.
pub struct Csv {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Csv {
    /// The body of a CSV download (checked to be one: status, type, byte-order mark, CRLF).
    pub fn parse(response: &TestResponse) -> Csv {
        assert_eq!(response.status, 200, "{}", response.body);
        assert_eq!(
            response.header("content-type"),
            Some("text/csv; charset=utf-8")
        );
        let body = response
            .body
            .strip_prefix('\u{feff}')
            .expect("starts with a byte-order mark for Excel");
        assert!(body.is_empty() || body.ends_with("\r\n"), "CRLF line ends");
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let header = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        let rows = reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect();
        Csv { header, rows }
    }

    /// The index of the column `name`.
    pub fn column(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }

    /// The value of `name` in every row.
    pub fn values(&self, name: &str) -> Vec<&str> {
        let i = self.column(name);
        self.rows.iter().map(|r| r[i].as_str()).collect()
    }

    /// The first row whose `key` column is `value`, as column → value.
    pub fn row_where(&self, key: &str, value: &str) -> std::collections::BTreeMap<&str, &str> {
        let i = self.column(key);
        let row = self
            .rows
            .iter()
            .find(|r| r[i] == value)
            .unwrap_or_else(|| panic!("no row with {key}={value}"));
        self.header
            .iter()
            .map(String::as_str)
            .zip(row.iter().map(String::as_str))
            .collect()
    }

    /// Every row as column → value.
    pub fn records(&self) -> Vec<std::collections::BTreeMap<&str, &str>> {
        self.rows
            .iter()
            .map(|row| {
                self.header
                    .iter()
                    .map(String::as_str)
                    .zip(row.iter().map(String::as_str))
                    .collect()
            })
            .collect()
    }
}
