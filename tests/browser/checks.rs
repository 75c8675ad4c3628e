//! The checks run on every page a journey visits, each returning problems as readable text:
//!
//! - **axe-core** (vendored, test-only) with the WCAG 2.0, 2.1 and 2.2 level A and AA tags:
//!   each violation gives its rule, impact, help text and every failing element's selector
//!   and HTML;
//! - **reflow** (WCAG 1.4.10): at 320 CSS pixels wide the page must not scroll sideways
//!   (`scrollWidth <= clientWidth`); the elements that stick out are named;
//! - **page structure** that axe leaves to best practice but our pages promise: a title
//!   that says where you are (the `h1`, then the service) and starts "Error: " when the page
//!   shows errors, exactly one `h1`, headings that do not skip a level, ids that are unique,
//!   and error summary links that lead to a field on the page that can take the focus.

use serde_json::Value;
use thirtyfour::prelude::*;

/// axe-core 4.x, from npm (`scripts/refresh-axe-core.sh`).
const AXE_SOURCE: &str = include_str!("vendor/axe.min.js");

/// The rule tags for WCAG 2.0, 2.1 and 2.2 at levels A and AA (2.2 added no level A rules
/// that axe tests, so it has no `wcag22a` tag).
pub const WCAG_TAGS: [&str; 5] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

/// Narrowest width a page must work at without scrolling sideways (WCAG 1.4.10 Reflow).
pub const REFLOW_WIDTH: u32 = 320;

/// The end of every page title.
pub const TITLE_SUFFIX: &str = " – Medicines optimisation planning – NHS";

/// The whole title of the home page, whose heading is the service's name.
pub const SERVICE_TITLE: &str = "Medicines optimisation planning – NHS";

/// Every problem on the page shown, as text; empty when there are none. axe-core runs at the
/// window's width and again at [`REFLOW_WIDTH`], where layouts change (a table that scrolls
/// inside its wrapper only does so on a narrow screen); a violation found at both widths is
/// reported once.
pub async fn problems_on_page(driver: &WebDriver) -> Vec<String> {
    let mut problems = axe_violations(driver).await;
    narrow(driver).await;
    let reflow = reflow_problems(driver).await;
    let narrow_violations = axe_violations(driver).await;
    restore_width(driver).await;
    for violation in narrow_violations {
        if !problems.contains(&violation) {
            problems.push(format!("(at {REFLOW_WIDTH} CSS px wide) {violation}"));
        }
    }
    problems.extend(reflow);
    problems.extend(structure_problems(driver).await);
    problems
}

/// Emulates a screen [`REFLOW_WIDTH`] CSS pixels wide, as a phone is (through the DevTools
/// protocol, like the browser's device toolbar). `mobile` makes the scrollbars overlay the
/// page as on a phone, so the page really gets all 320 pixels; with desktop scrollbars it
/// would get 305, narrower than WCAG 1.4.10 asks for.
async fn narrow(driver: &WebDriver) {
    driver
        .cdp()
        .emulation()
        .set_device_metrics_override(REFLOW_WIDTH, 640, 1.0, true)
        .await
        .expect("viewport narrowed");
}

async fn restore_width(driver: &WebDriver) {
    driver
        .cdp()
        .emulation()
        .clear_device_metrics_override()
        .await
        .expect("viewport restored");
}

/// Runs axe-core on the page with [`WCAG_TAGS`].
pub async fn axe_violations(driver: &WebDriver) -> Vec<String> {
    let loaded = driver
        .execute("return typeof window.axe === 'object';", vec![])
        .await
        .map(|r| r.json() == &Value::Bool(true))
        .unwrap_or(false);
    if !loaded {
        driver
            .execute(AXE_SOURCE, vec![])
            .await
            .expect("axe-core loads into the page");
    }
    let result = driver
        .execute_async(
            r#"
            const [tags, done] = arguments;
            axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] })
              .then((r) => done({ violations: r.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map((n) => ({
                  target: n.target.map((t) => Array.isArray(t) ? t.join(' >>> ') : t).join(', '),
                  html: n.html,
                  summary: n.failureSummary,
                })),
              })) }))
              .catch((e) => done({ error: String(e) }));
            "#,
            vec![serde_json::json!(WCAG_TAGS)],
        )
        .await
        .expect("axe-core runs")
        .json()
        .clone();
    if let Some(error) = result.get("error") {
        return vec![format!("axe-core could not check the page: {error}")];
    }
    let violations = result["violations"].as_array().cloned().unwrap_or_default();
    violations
        .iter()
        .map(|v| {
            let nodes: Vec<String> = v["nodes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|n| {
                    format!(
                        "     - {}\n       {}\n       {}",
                        text(&n["target"]),
                        text(&n["html"]),
                        text(&n["summary"]).replace('\n', "\n       ")
                    )
                })
                .collect();
            format!(
                "axe {} ({}): {}\n   {}\n{}",
                text(&v["id"]),
                text(&v["impact"]),
                text(&v["help"]),
                text(&v["helpUrl"]),
                nodes.join("\n")
            )
        })
        .collect()
}

/// At [`REFLOW_WIDTH`] (see [`narrow`]), checks nothing scrolls sideways and names what sticks
/// out if something does.
pub async fn reflow_problems(driver: &WebDriver) -> Vec<String> {
    let measured = driver
        .execute_async(
            r#"
            const done = arguments[arguments.length - 1];
            // Two frames: the first lays the page out at the new width, the second paints it.
            requestAnimationFrame(() => requestAnimationFrame(() => {
              const root = document.documentElement;
              const width = root.clientWidth;
              const describe = (el) => {
                const id = el.id ? `#${el.id}` : '';
                const cls = el.classList.length ? `.${[...el.classList].join('.')}` : '';
                return `<${el.tagName.toLowerCase()}${id}${cls}>`;
              };
              // Elements that stick out past the right edge while their parent does not, and
              // that no scrolling container of theirs keeps in (those scroll on their own).
              const offenders = [];
              if (root.scrollWidth > width) {
                for (const el of document.body.querySelectorAll('*')) {
                  const right = el.getBoundingClientRect().right;
                  if (right <= width + 1 || !el.parentElement) continue;
                  if (el.parentElement.getBoundingClientRect().right > width + 1) continue;
                  let contained = false;
                  for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
                    if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(p).overflowX)) { contained = true; break; }
                  }
                  if (!contained) offenders.push(`${describe(el)} reaches ${Math.round(right)}px`);
                }
              }
              done({ width, scrollWidth: root.scrollWidth, offenders: offenders.slice(0, 10) });
            }));
            "#,
            vec![],
        )
        .await
        .expect("page measured at 320px")
        .json()
        .clone();
    let width = measured["width"].as_i64().unwrap_or_default();
    let scroll_width = measured["scrollWidth"].as_i64().unwrap_or_default();
    if scroll_width <= width {
        return Vec::new();
    }
    let offenders: Vec<String> = measured["offenders"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| format!("     - {}", text(o)))
        .collect();
    vec![format!(
        "reflow: at {REFLOW_WIDTH} CSS px wide the page scrolls sideways \
         (content {scroll_width}px wide in a {width}px viewport). Sticking out:\n{}",
        offenders.join("\n")
    )]
}

/// Title, headings, unique ids and error summary links.
pub async fn structure_problems(driver: &WebDriver) -> Vec<String> {
    let found = driver
        .execute(
            r#"
            const [suffix, service] = arguments;
            const norm = (s) => (s || '').replace(/\s+/g, ' ').trim();
            const problems = [];
            const h1s = [...document.querySelectorAll('h1')].map((h) => norm(h.textContent));
            if (h1s.length !== 1) problems.push(`the page has ${h1s.length} <h1> headings: ${JSON.stringify(h1s)}`);

            const title = document.title;
            const errors = document.querySelector('.nhsuk-error-summary') !== null;
            if (title === service && h1s.length === 1 && h1s[0] === service.replace(/ – NHS$/, '')) {
              // The home page: its heading is the service's name, so that is the whole title.
            } else if (!title.endsWith(suffix)) {
              problems.push(`the title "${title}" does not end "${suffix}"`);
            } else {
              const where = title.slice(0, -suffix.length);
              const place = where.replace(/^Error: /, '');
              if (errors && !where.startsWith('Error: ')) problems.push(`the page shows errors but its title "${title}" does not start "Error: "`);
              if (!errors && where.startsWith('Error: ')) problems.push(`the title "${title}" starts "Error: " but the page shows no error summary`);
              if (h1s.length === 1 && !place.startsWith(h1s[0])) problems.push(`the title "${title}" does not start with the page's heading "${h1s[0]}"`);
            }

            // Headings go down one level at a time (the error summary's h2 sits above the h1, as
            // the design system places it, so it is left out).
            let previous = 0;
            for (const h of document.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
              if (h.closest('.nhsuk-error-summary')) continue;
              const level = Number(h.tagName[1]);
              if (level > previous + 1) problems.push(`the heading <${h.tagName.toLowerCase()}> "${norm(h.textContent)}" comes after ${previous ? `an <h${previous}>` : 'no heading'}: a level is skipped`);
              previous = level;
            }

            const seen = new Map();
            for (const el of document.querySelectorAll('[id]')) seen.set(el.id, (seen.get(el.id) || 0) + 1);
            for (const [id, count] of seen) if (count > 1) problems.push(`the id "${id}" is used ${count} times`);

            for (const a of document.querySelectorAll('.nhsuk-error-summary a')) {
              const id = (a.getAttribute('href') || '').replace(/^#/, '');
              // The design system's script focuses exactly this element, so it must take focus.
              const target = id && document.getElementById(id);
              const focusable = target && !target.disabled
                && target.matches('input:not([type=hidden]), select, textarea, button, a[href], [tabindex]');
              if (!focusable) problems.push(`the error summary link "${norm(a.textContent)}" leads to #${id}, which is not a field on the page that can take the focus`);
            }
            return problems;
            "#,
            vec![
                serde_json::json!(TITLE_SUFFIX),
                serde_json::json!(SERVICE_TITLE),
            ],
        )
        .await
        .expect("page structure read")
        .json()
        .clone();
    serde_json::from_value(found).unwrap_or_default()
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
