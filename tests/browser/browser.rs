//! [`Browser`]: one Chromium window, driven the way a person uses the site. Links and buttons
//! are found by their visible text and fields by their label (never by id or by posting a form
//! directly), then clicked or typed into. Every helper that leads to a new page waits for it
//! and runs [`Browser::check_page`] on it, so no page a journey passes through escapes the
//! accessibility checks.
//!
//! A helper that cannot do what it is asked (no such link, two fields with that label, a
//! failed check) panics with what it was looking for, what it found instead and the page it
//! was on; the harness then saves a screenshot and the HTML.

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;
use thirtyfour::cdp::domains::browser::DownloadBehavior;
use thirtyfour::prelude::*;

use crate::checks;
use crate::harness::{PASSWORD, TestUser};

/// The code an authenticator app with `secret` shows `steps_ahead` steps of 30 seconds from
/// now (an app whose clock is a little ahead; the service accepts one step either side).
pub fn current_code(secret: &str, steps_ahead: u64) -> String {
    let now = medopt::auth::two_step::totp::now_unix();
    medopt::auth::two_step::totp::code_at(secret, now + 30 * steps_ahead)
        .expect("a code from the secret")
}

/// The flags every test browser starts with: headless, and nothing that reaches out to the
/// internet or depends on the machine's GPU or shared memory.
const CHROMIUM_FLAGS: [&str; 10] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1024",
];

/// How long a page may take to arrive after a click.
const PAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// One browser window (with its own profile: its own cookies and downloads). Cheap to clone.
#[derive(Clone)]
pub struct Browser {
    inner: Arc<Inner>,
}

struct Inner {
    label: String,
    driver: WebDriver,
    base_url: String,
    downloads: TempDir,
    /// Chromium's `--user-data-dir`, removed when the browser is dropped.
    _profile: TempDir,
}

/// A file the browser downloaded.
#[derive(Debug, Clone)]
pub struct Download {
    /// The name the browser saved it under (from `Content-Disposition`).
    pub file_name: String,
    /// Its contents.
    pub bytes: Vec<u8>,
}

impl Download {
    /// The contents as text (UTF-8, without a byte-order mark).
    pub fn text(&self) -> String {
        let text = String::from_utf8_lossy(&self.bytes);
        text.strip_prefix('\u{feff}').unwrap_or(&text).to_owned()
    }
}

impl Browser {
    /// Starts a browser session through the WebDriver at `webdriver_url`.
    pub(crate) async fn open(
        label: &str,
        webdriver_url: &str,
        chromium: &Path,
        base_url: &str,
    ) -> Browser {
        let profile = tempfile::tempdir().expect("a profile directory");
        let downloads = tempfile::tempdir().expect("a downloads directory");
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(&chromium.to_string_lossy())
            .expect("binary capability");
        for flag in CHROMIUM_FLAGS {
            caps.add_arg(flag).expect("chromium flag");
        }
        caps.add_arg(&format!("--user-data-dir={}", profile.path().display()))
            .expect("chromium flag");
        let driver = WebDriver::new(webdriver_url, caps)
            .await
            .unwrap_or_else(|e| panic!("could not open a Chromium session ({label}): {e}"));
        driver
            .set_script_timeout(Duration::from_secs(60))
            .await
            .expect("script timeout");
        driver
            .cdp()
            .browser()
            .set_download_behavior(
                DownloadBehavior::Allow,
                Some(downloads.path().to_string_lossy().into_owned()),
            )
            .await
            .expect("downloads allowed");
        Browser {
            inner: Arc::new(Inner {
                label: label.to_owned(),
                driver,
                base_url: base_url.to_owned(),
                downloads,
                _profile: profile,
            }),
        }
    }

    /// The underlying WebDriver session, for checks that need it directly.
    pub fn driver(&self) -> &WebDriver {
        &self.inner.driver
    }

    /// The name this browser has in failure reports ("editor", "reviewer", …).
    pub fn label(&self) -> &str {
        &self.inner.label
    }

    // ----- Going places ---------------------------------------------------------------------

    /// Opens `path` (e.g. `/login`) as if typed into the address bar, then checks the page.
    pub async fn visit(&self, path: &str) {
        let url = format!("{}{path}", self.inner.base_url);
        self.mark_page().await;
        if let Err(e) = self.driver().goto(&url).await {
            panic!(
                "{}",
                self.failure(format!("could not open {url}: {e}")).await
            );
        }
        self.arrive(&format!("opening {path}")).await;
    }

    /// Follows the link whose text is `text` (see [`Browser::click_link`] for matching).
    pub async fn click_link(&self, text: &str) {
        let link = self.find("link", text, None).await;
        self.mark_page().await;
        self.click(&link, &format!("link \"{text}\"")).await;
        self.arrive(&format!("following the link \"{text}\"")).await;
    }

    /// Follows a link that stays on this page (e.g. an error summary's link to its field).
    pub async fn click_link_on_this_page(&self, text: &str) {
        let link = self.find("link", text, None).await;
        self.click(&link, &format!("link \"{text}\"")).await;
        // Let the page's scripts (the error summary moves the focus) run.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    /// Presses the button whose text is `text` and waits for the page it leads to.
    pub async fn press_button(&self, text: &str) {
        let button = self.find("button", text, None).await;
        self.mark_page().await;
        self.click(&button, &format!("button \"{text}\"")).await;
        self.arrive(&format!("pressing \"{text}\"")).await;
    }

    /// Goes to the sign-in page, types the e-mail address and password and signs in.
    pub async fn sign_in(&self, email: &str, password: &str) {
        self.visit("/login").await;
        self.fill("Email address", email).await;
        self.fill("Password", password).await;
        self.press_button("Sign in").await;
    }

    /// Signs in as `user` (every test account has the same password), with a code from its
    /// two-step secret if it has one.
    pub async fn sign_in_as(&self, user: &TestUser) {
        self.sign_in(&user.email, PASSWORD).await;
        if let Some(secret) = user.two_step_secret {
            assert_eq!(
                self.heading().await,
                "Enter your security code",
                "{}",
                self.failure(format!("{} was not asked for a code", user.email))
                    .await
            );
            self.enter_code(&current_code(secret, 0)).await;
        }
        let heading = self.heading().await;
        assert_ne!(
            heading,
            "Sign in",
            "{}",
            self.failure(format!("{} could not sign in", user.email))
                .await
        );
    }

    /// Types `code` into the security code field (after a password, or at enrolment) and
    /// presses the page's button.
    pub async fn enter_code(&self, code: &str) {
        self.fill("Security code", code).await;
        let button = if self.path().await.starts_with("/account/two-step") {
            "Turn on two-step verification"
        } else {
            "Continue"
        };
        self.press_button(button).await;
    }

    /// Presses "Sign out" in the header.
    pub async fn sign_out(&self) {
        self.press_button("Sign out").await;
    }

    // ----- Filling in forms -----------------------------------------------------------------

    /// Types `value` into the field labelled `label`, replacing what was there.
    ///
    /// Labels match when their text is `label`, or starts with `label` and a space (so
    /// "4. Obtaining … agreements" finds a label that goes on " Efficiency focus").
    pub async fn fill(&self, label: &str, value: &str) {
        let field = self.field(label, None).await;
        self.type_into(&field, label, value).await;
    }

    /// Types `value` into the field labelled `label` inside the group (fieldset) whose legend
    /// is `group`: for pages where a label repeats, e.g. "April 2024" under both
    /// "Actual savings by month" and "Monthly phasing of the target".
    pub async fn fill_in(&self, group: &str, label: &str, value: &str) {
        let field = self.field(label, Some(group)).await;
        self.type_into(&field, label, value).await;
    }

    /// Ticks the checkbox labelled `label` (clicking its label, as people do), if not ticked.
    pub async fn tick(&self, label: &str) {
        self.set_choice(label, "checkbox", true).await;
    }

    /// Un-ticks the checkbox labelled `label`, if ticked.
    pub async fn untick(&self, label: &str) {
        self.set_choice(label, "checkbox", false).await;
    }

    /// Chooses the radio button labelled `label`.
    pub async fn choose(&self, label: &str) {
        self.set_choice(label, "radio", true).await;
    }

    /// Chooses the option whose text is `option` in the drop-down list labelled `label`.
    pub async fn select_option(&self, label: &str, option: &str) {
        let field = self.field(label, None).await;
        let chosen = self
            .script(
                "const [select, wanted] = arguments;
                 const norm = (s) => s.replace(/\\s+/g, ' ').trim();
                 const options = [...select.options];
                 const match = options.find((o) => norm(o.textContent) === wanted);
                 return match ? { found: match } : { seen: options.map((o) => norm(o.textContent)) };",
                vec![field.to_json().expect("element as JSON"), json!(option)],
            )
            .await;
        let Some(element) = chosen.get("found") else {
            panic!(
                "{}",
                self.failure(format!(
                    "no option \"{option}\" in \"{label}\": {}",
                    chosen["seen"]
                ))
                .await
            );
        };
        let element = WebElement::from_json(element.clone(), self.driver().handle().clone())
            .expect("an element");
        self.click(&element, &format!("option \"{option}\"")).await;
    }

    /// Chooses `path` in the file upload field labelled `label`.
    pub async fn attach_file(&self, label: &str, path: &Path) {
        let field = self.field(label, None).await;
        let kind = field.attr("type").await.ok().flatten().unwrap_or_default();
        if kind != "file" {
            panic!(
                "{}",
                self.failure(format!(
                    "the field \"{label}\" is not a file upload ({kind})"
                ))
                .await
            );
        }
        let absolute = std::path::absolute(path).expect("an absolute path");
        if let Err(e) = field.send_keys(absolute.to_string_lossy().as_ref()).await {
            panic!(
                "{}",
                self.failure(format!("could not choose the file for \"{label}\": {e}"))
                    .await
            );
        }
    }

    /// Clicks the link `text` and waits for the file it downloads (the page stays where it
    /// is). Fails if the link opens a page instead.
    pub async fn download(&self, text: &str) -> Download {
        self.download_from("link", text).await
    }

    /// Presses the button `text` of a form that answers with a file, and waits for the file.
    pub async fn download_by_button(&self, text: &str) -> Download {
        self.download_from("button", text).await
    }

    async fn download_from(&self, kind: &str, text: &str) -> Download {
        let link = self.find(kind, text, None).await;
        let dir = self.inner.downloads.path().to_owned();
        let before = files_in(&dir);
        self.mark_page().await;
        self.click(&link, &format!("{kind} \"{text}\"")).await;
        let deadline = Instant::now() + PAGE_TIMEOUT;
        loop {
            let done: Vec<PathBuf> = files_in(&dir)
                .into_iter()
                .filter(|f| !before.contains(f))
                .filter(|f| f.extension().is_none_or(|e| e != "crdownload"))
                .collect();
            if let [file] = done.as_slice() {
                let bytes = std::fs::read(file).expect("the downloaded file");
                std::fs::remove_file(file).expect("downloaded file removed");
                let file_name = file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                return Download { file_name, bytes };
            }
            if self.page_changed().await {
                let heading = self.heading().await;
                panic!(
                    "{}",
                    self.failure(format!(
                        "the {kind} \"{text}\" opened a page (\"{heading}\") instead of downloading a file"
                    ))
                    .await
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "{}",
                    self.failure(format!("no file arrived after clicking \"{text}\""))
                        .await
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // ----- Reading the page -----------------------------------------------------------------

    /// The path and query of the page shown, e.g. `/icbs/QE1/2024-25/plan?notice=saved`.
    pub async fn path(&self) -> String {
        let url = self.driver().current_url().await.expect("current URL");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The page's `<h1>`, as shown.
    pub async fn heading(&self) -> String {
        self.text("h1").await
    }

    /// The text (whitespace collapsed) of the first element matching the CSS selector `css`;
    /// fails if there is none.
    pub async fn text(&self, css: &str) -> String {
        match self.texts(css).await.into_iter().next() {
            Some(text) => text,
            None => panic!("{}", self.failure(format!("nothing matches {css}")).await),
        }
    }

    /// The text (whitespace collapsed) of every element matching `css`, in page order.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let found = self
            .script(
                "return [...document.querySelectorAll(arguments[0])]
                   .map((el) => el.textContent.replace(/\\s+/g, ' ').trim());",
                vec![json!(css)],
            )
            .await;
        serde_json::from_value(found).expect("a list of texts")
    }

    /// The attribute `name` of the first element matching `css` (e.g. a chart's `aria-label`).
    pub async fn attribute(&self, css: &str, name: &str) -> Option<String> {
        let found = self
            .script(
                "const el = document.querySelector(arguments[0]);
                 return el ? el.getAttribute(arguments[1]) : null;",
                vec![json!(css), json!(name)],
            )
            .await;
        found.as_str().map(str::to_owned)
    }

    /// Whether anything on the page matches `css`.
    pub async fn has(&self, css: &str) -> bool {
        self.script(
            "return document.querySelector(arguments[0]) !== null;",
            vec![json!(css)],
        )
        .await
            == json!(true)
    }

    /// The error summary's messages, each with the id of the field it links to (`#email` →
    /// `email`); empty when the page has no error summary.
    pub async fn error_summary(&self) -> Vec<(String, String)> {
        let found = self
            .script(
                "return [...document.querySelectorAll('.nhsuk-error-summary a')].map((a) => [
                   a.textContent.replace(/\\s+/g, ' ').trim(),
                   (a.getAttribute('href') || '').replace(/^#/, '')]);",
                vec![],
            )
            .await;
        serde_json::from_value(found).expect("error summary entries")
    }

    /// Checks the error summary names exactly `fields` (by the id its links lead to, in
    /// order), then follows each link in turn and checks it puts the focus on that field.
    pub async fn follow_every_error(&self, fields: &[&str]) {
        let errors = self.error_summary().await;
        let ids: Vec<&str> = errors.iter().map(|(_, id)| id.as_str()).collect();
        assert_eq!(
            ids,
            fields,
            "{}",
            self.failure(format!("error summary: {errors:?}")).await
        );
        for (message, id) in &errors {
            self.click_link_on_this_page(message).await;
            let focused = self.focused_id().await;
            assert_eq!(
                &focused,
                id,
                "{}",
                self.failure(format!(
                    "the error \"{message}\" put the focus on #{focused}"
                ))
                .await
            );
        }
    }

    /// The id of the element that has the keyboard focus (empty if none has an id).
    pub async fn focused_id(&self) -> String {
        let found = self
            .script(
                "return document.activeElement ? document.activeElement.id : '';",
                vec![],
            )
            .await;
        found.as_str().unwrap_or_default().to_owned()
    }

    // ----- Checks ---------------------------------------------------------------------------

    /// Runs every page check on the page shown (axe-core WCAG A/AA, no sideways scrolling at
    /// 320 px, title, headings, error summary links) and fails listing every problem.
    /// Navigation helpers call it on each new page; call it yourself after anything else that
    /// changes the page.
    pub async fn check_page(&self) {
        let problems = checks::problems_on_page(self.driver()).await;
        if !problems.is_empty() {
            let list: Vec<String> = problems
                .iter()
                .enumerate()
                .map(|(i, p)| format!("{}. {p}", i + 1))
                .collect();
            panic!(
                "{}",
                self.failure(format!(
                    "{} accessibility problem(s) on this page:\n\n{}",
                    problems.len(),
                    list.join("\n\n")
                ))
                .await
            );
        }
    }

    /// A failure message saying which browser, on which page: pass it to `panic!`.
    pub async fn failure(&self, message: impl Display) -> String {
        let url = self
            .driver()
            .current_url()
            .await
            .map_or_else(|e| format!("(unknown page: {e})"), |u| u.to_string());
        format!("[{}] at {url}:\n{message}", self.label())
    }

    // ----- Plumbing -------------------------------------------------------------------------

    /// Runs a script in the page and returns its result.
    pub async fn script(&self, script: &str, args: Vec<Value>) -> Value {
        match self.driver().execute(script, args).await {
            Ok(result) => result.json().clone(),
            Err(e) => panic!("{}", self.failure(format!("a script failed: {e}")).await),
        }
    }

    /// Finds a visible link, button or label by its text (optionally inside the fieldset
    /// whose legend is `group`), failing with what there is instead.
    async fn find(&self, kind: &str, text: &str, group: Option<&str>) -> WebElement {
        let result = self
            .script(FIND_SCRIPT, vec![json!(kind), json!(text), json!(group)])
            .await;
        if let Some(element) = result.get("found") {
            return WebElement::from_json(element.clone(), self.driver().handle().clone())
                .expect("an element");
        }
        let error = result["error"].as_str().unwrap_or("not found");
        let seen: Vec<String> = serde_json::from_value(result["seen"].clone()).unwrap_or_default();
        panic!(
            "{}",
            self.failure(format!(
                "{error}. On the page:\n  - {}",
                seen.join("\n  - ")
            ))
            .await
        );
    }

    /// The form control that the label `label` (in `group`) belongs to.
    async fn field(&self, label: &str, group: Option<&str>) -> WebElement {
        let label_element = self.find("label", label, group).await;
        let control = self
            .driver()
            .execute(
                "return arguments[0].control;",
                vec![label_element.to_json().expect("element as JSON")],
            )
            .await
            .ok()
            .and_then(|r| r.element().ok());
        match control {
            Some(control) => control,
            None => panic!(
                "{}",
                self.failure(format!("the label \"{label}\" belongs to no field"))
                    .await
            ),
        }
    }

    async fn type_into(&self, field: &WebElement, label: &str, value: &str) {
        if !field.is_enabled().await.unwrap_or(false) {
            panic!(
                "{}",
                self.failure(format!("the field \"{label}\" is disabled"))
                    .await
            );
        }
        let typed = async {
            field.clear().await?;
            field.send_keys(value).await
        }
        .await;
        if let Err(e) = typed {
            panic!(
                "{}",
                self.failure(format!("could not type into \"{label}\": {e}"))
                    .await
            );
        }
    }

    async fn set_choice(&self, label: &str, kind: &str, on: bool) {
        let label_element = self.find("label", label, None).await;
        let control = self.field(label, None).await;
        let actual_kind = control
            .attr("type")
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        if actual_kind != kind {
            panic!(
                "{}",
                self.failure(format!("\"{label}\" is a {actual_kind}, not a {kind}"))
                    .await
            );
        }
        if control.is_selected().await.unwrap_or(false) != on {
            self.click(&label_element, &format!("the label \"{label}\""))
                .await;
        }
        if control.is_selected().await.unwrap_or(false) != on {
            panic!(
                "{}",
                self.failure(format!("clicking \"{label}\" did not change it"))
                    .await
            );
        }
    }

    async fn click(&self, element: &WebElement, what: &str) {
        if let Err(e) = element.click().await {
            panic!(
                "{}",
                self.failure(format!("could not click the {what}: {e}"))
                    .await
            );
        }
    }

    /// Marks the page shown, so [`Browser::page_changed`] can tell when another replaces it.
    pub(crate) async fn mark_page(&self) {
        self.script("window.__medoptOldPage = true;", vec![]).await;
    }

    /// Whether a new page has replaced the marked one and finished loading.
    pub(crate) async fn page_changed(&self) -> bool {
        let state = self
            .driver()
            .execute(
                "return window.__medoptOldPage === true ? 'old' : document.readyState;",
                vec![],
            )
            .await;
        // While the next page is being fetched, scripts may fail: not arrived yet.
        matches!(state, Ok(s) if s.json() == &json!("complete"))
    }

    /// Waits for a new page after `action` (e.g. "pressing \"Save\"") and checks it.
    pub(crate) async fn arrive(&self, action: &str) {
        let deadline = Instant::now() + PAGE_TIMEOUT;
        while !self.page_changed().await {
            if Instant::now() > deadline {
                panic!(
                    "{}",
                    self.failure(format!("no new page arrived after {action}"))
                        .await
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.check_page().await;
    }

    /// Saves a screenshot and the HTML into `dir`; returns lines saying where.
    pub(crate) async fn save_evidence(&self, dir: &Path) -> String {
        let url = self
            .driver()
            .current_url()
            .await
            .map_or_else(|e| format!("(unknown: {e})"), |u| u.to_string());
        let mut report = format!("  {} — {url}\n", self.label());
        let screenshot = dir.join(format!("{}.png", self.label()));
        match self.full_page_png().await {
            Ok(png) => match std::fs::write(&screenshot, png) {
                Ok(()) => report.push_str(&format!("    screenshot: {}\n", screenshot.display())),
                Err(e) => report.push_str(&format!("    screenshot not saved: {e}\n")),
            },
            Err(e) => report.push_str(&format!("    screenshot not taken: {e}\n")),
        }
        let html = dir.join(format!("{}.html", self.label()));
        match self.driver().source().await {
            Ok(source) => match std::fs::write(&html, source) {
                Ok(()) => report.push_str(&format!("    page HTML:  {}\n", html.display())),
                Err(e) => report.push_str(&format!("    page HTML not saved: {e}\n")),
            },
            Err(e) => report.push_str(&format!("    page HTML not read: {e}\n")),
        }
        report
    }

    /// The whole page as a PNG (through the DevTools protocol, so below the fold too), or the
    /// visible part if that fails.
    async fn full_page_png(&self) -> WebDriverResult<Vec<u8>> {
        use base64::Engine as _;
        let shot = self
            .driver()
            .cdp()
            .send_raw(
                "Page.captureScreenshot",
                json!({ "format": "png", "captureBeyondViewport": true }),
            )
            .await;
        if let Ok(data) = shot
            && let Some(encoded) = data["data"].as_str()
            && let Ok(png) = base64::engine::general_purpose::STANDARD.decode(encoded)
        {
            return Ok(png);
        }
        self.driver().screenshot_as_png().await
    }

    /// Ends the session (and Chromium with it).
    pub(crate) async fn close(&self) {
        if let Err(e) = self.inner.driver.clone().quit().await {
            eprintln!("could not close the {} browser: {e}", self.label());
        }
    }
}

/// The files in `dir` now.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// Finds one visible link (`a[href]`), button or label by its text, as a person scanning the
/// page would: exact text first, otherwise text that starts with it and a space. Two links
/// with the same text and address count as one (the header and footer both say "Home");
/// anything else ambiguous is an error listing the candidates.
/// Arguments: kind (`link`, `button`, `label`), text, legend of the enclosing fieldset or null.
const FIND_SCRIPT: &str = r#"
const [kind, wanted, group] = arguments;
const norm = (s) => (s || '').replace(/\s+/g, ' ').trim();
const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
let root = document;
if (group) {
  const legends = [...document.querySelectorAll('fieldset > legend')];
  const groups = legends.filter((l) => norm(l.textContent) === group).map((l) => l.parentElement);
  if (groups.length !== 1) {
    return { error: `${groups.length} groups have the legend "${group}"`, seen: legends.map((l) => norm(l.textContent)) };
  }
  root = groups[0];
}
const selectors = { link: 'a[href]', button: 'button, input[type=submit], input[type=button]', label: 'label' };
const name = (el) => norm(el.tagName === 'INPUT' ? el.value : el.textContent);
const candidates = [...root.querySelectorAll(selectors[kind])].filter(shown);
const exact = candidates.filter((el) => name(el) === wanted);
const matches = exact.length ? exact : candidates.filter((el) => name(el).startsWith(wanted + ' '));
if (matches.length === 0) {
  return { error: `no ${kind} "${wanted}"${group ? ` in "${group}"` : ''}`, seen: candidates.map(name) };
}
const distinct = kind === 'link' ? new Set(matches.map((a) => a.getAttribute('href'))).size : matches.length;
if (distinct > 1) {
  return {
    error: `${matches.length} ${kind}s match "${wanted}"`,
    seen: matches.map((el) => kind === 'link' ? `${name(el)} → ${el.getAttribute('href')}` : name(el)),
  };
}
return { found: matches[0] };
"#;
