//! Keyboard-only use: [`Keyboard`] moves through a page with Tab and Shift+Tab, types into
//! the focused field, and activates with Enter and Space — nothing else. At every focus stop
//! it checks that a sighted keyboard user can see where they are (WCAG 2.4.7 Focus Visible,
//! 2.4.11 Focus Not Obscured):
//!
//! - the focused element matches `:focus-visible` (the browser agrees focus should show);
//! - it is inside the viewport;
//! - it *looks different* focused than unfocused. Comparing with the unfocused look is the
//!   robust test: a rule like "outline is not none" passes NHS.UK links, whose outline is
//!   transparent and whose focus style is a yellow background with a dark underline shadow,
//!   and passes buttons, which have a box-shadow whether focused or not. So each stop records
//!   the computed outline, box-shadow, background, colour, border and text decoration of the
//!   element, of its `::before`/`::after`, and of its labels and theirs (a NHS.UK checkbox is
//!   an invisible input whose focus ring is drawn by its label's `::before`); when focus has
//!   moved on, the same styles are read again and must differ. An element's own styles are
//!   skipped if it is invisible (opacity 0).
//!
//! The look of the last stop before Enter is compared by stepping off it and back (Shift+Tab,
//! Tab), which is also just keyboard use.

use std::time::Duration;

use serde_json::{Value, json};
use thirtyfour::prelude::*;

use crate::browser::Browser;

/// Most Tab presses [`Keyboard::tab_to`] makes before giving up.
const MAX_TABS: usize = 400;

/// Somewhere to Tab to, described as a person would see it.
#[derive(Debug, Clone, Copy)]
pub enum Stop<'a> {
    /// A link with this text.
    Link(&'a str),
    /// A button with this text.
    Button(&'a str),
    /// A field (text box, checkbox, radio, …) with this label. As with
    /// [`Browser::fill`], a label that starts with the text and a space also matches.
    Field(&'a str),
    /// A field with this label (second) inside the fieldset whose legend is the first.
    FieldIn(&'a str, &'a str),
}

/// What has the focus.
#[derive(Debug, Clone)]
struct Focused {
    /// `a`, `button`, `input`, `textarea`, `select`, `body`, …
    tag: String,
    /// The `type` of an input or button.
    kind: String,
    /// The link's or button's text, or the field's label.
    name: String,
    /// The legend of the fieldset it is in.
    group: String,
}

impl Focused {
    fn from_json(value: &Value) -> Self {
        let s = |key: &str| value[key].as_str().unwrap_or_default().to_owned();
        Focused {
            tag: s("tag"),
            kind: s("type"),
            name: s("name"),
            group: s("group"),
        }
    }

    fn is(&self, stop: Stop<'_>) -> bool {
        let named =
            |wanted: &str| self.name == wanted || self.name.starts_with(&format!("{wanted} "));
        match stop {
            Stop::Link(text) => self.tag == "a" && named(text),
            Stop::Button(text) => {
                (self.tag == "button" || (self.tag == "input" && self.kind == "submit"))
                    && named(text)
            }
            Stop::Field(label) => self.is_field() && named(label),
            Stop::FieldIn(group, label) => self.is_field() && named(label) && self.group == group,
        }
    }

    fn is_field(&self) -> bool {
        matches!(self.tag.as_str(), "textarea" | "select")
            || (self.tag == "input" && !matches!(self.kind.as_str(), "submit" | "button"))
    }
}

impl std::fmt::Display for Focused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{}", self.tag)?;
        if !self.kind.is_empty() {
            write!(f, " type={}", self.kind)?;
        }
        write!(f, "> \"{}\"", self.name)?;
        if !self.group.is_empty() {
            write!(f, " in \"{}\"", self.group)?;
        }
        Ok(())
    }
}

/// The keyboard of one browser.
pub struct Keyboard {
    browser: Browser,
}

impl Browser {
    /// This browser's keyboard, for journeys that use nothing else.
    pub fn keyboard(&self) -> Keyboard {
        Keyboard {
            browser: self.clone(),
        }
    }
}

impl Keyboard {
    /// Presses Tab until `stop` has the focus, checking every stop on the way shows its focus.
    /// Fails, listing the stops passed, if `stop` is not reached.
    pub async fn tab_to(&self, stop: Stop<'_>) {
        let mut passed = Vec::new();
        for _ in 0..MAX_TABS {
            let focused = self.tab().await;
            if focused.is(stop) {
                // Step off and back, so its unfocused look is compared with its focused one.
                self.shift_tab().await;
                let back = self.tab().await;
                assert!(
                    back.is(stop),
                    "{}",
                    self.browser
                        .failure(format!("Shift+Tab then Tab from {stop:?} landed on {back}"))
                        .await
                );
                return;
            }
            passed.push(focused.to_string());
        }
        panic!(
            "{}",
            self.browser
                .failure(format!(
                    "{MAX_TABS} presses of Tab did not reach {stop:?}. Focus went to:\n  - {}",
                    passed.join("\n  - ")
                ))
                .await
        );
    }

    /// Presses Tab once; returns what then has the focus (after checking it shows).
    async fn tab(&self) -> Focused {
        self.send(self.browser.driver().action_chain().send_keys(Key::Tab))
            .await;
        self.check_focus(false).await
    }

    /// Presses Shift+Tab once; returns what then has the focus (after checking it shows).
    /// Focus may leave the page (Shift+Tab from its first link goes to the browser's own
    /// controls).
    async fn shift_tab(&self) -> Focused {
        let chain = self
            .browser
            .driver()
            .action_chain()
            .key_down(Key::Shift)
            .send_keys(Key::Tab)
            .key_up(Key::Shift);
        self.send(chain).await;
        self.check_focus(true).await
    }

    /// Types `text` into the focused field.
    pub async fn type_text(&self, text: &str) {
        let focused = self.focused().await;
        assert!(
            focused.is_field(),
            "{}",
            self.browser
                .failure(format!(
                    "typing \"{text}\" with focus on {focused}, not a field"
                ))
                .await
        );
        self.send(self.browser.driver().action_chain().send_keys(text))
            .await;
    }

    /// Presses Space (ticks the focused checkbox or chooses the focused radio).
    pub async fn press_space(&self) {
        self.send(self.browser.driver().action_chain().send_keys(Key::Space))
            .await;
    }

    /// Presses Enter on the focused link or button and waits for the page it leads to (which
    /// is then checked like every page).
    pub async fn press_enter(&self) {
        let focused = self.focused().await;
        self.browser.mark_page().await;
        self.send(self.browser.driver().action_chain().send_keys(Key::Enter))
            .await;
        self.browser
            .arrive(&format!("pressing Enter on {focused}"))
            .await;
    }

    /// Presses Enter on something that stays on this page, such as the skip link.
    pub async fn press_enter_on_this_page(&self) {
        self.send(self.browser.driver().action_chain().send_keys(Key::Enter))
            .await;
        // Let the page's script (the skip link moves focus) run.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    /// Whether the focus is inside the element matching `css` (e.g. `main`).
    pub async fn focus_is_within(&self, css: &str) -> bool {
        self.browser
            .script(
                "const el = document.querySelector(arguments[0]);
                 return !!el && el.contains(document.activeElement);",
                vec![json!(css)],
            )
            .await
            == json!(true)
    }

    async fn send(&self, chain: thirtyfour::action_chain::ActionChain) {
        if let Err(e) = chain.perform().await {
            panic!(
                "{}",
                self.browser
                    .failure(format!("the key press failed: {e}"))
                    .await
            );
        }
    }

    async fn focused(&self) -> Focused {
        let state = self.browser.script(FOCUS_SCRIPT, vec![json!(false)]).await;
        Focused::from_json(&state["current"])
    }

    /// Checks the focus stop just reached, and completes the check of the one before it.
    /// Unless `may_leave_page`, something on the page must have the focus.
    async fn check_focus(&self, may_leave_page: bool) -> Focused {
        let state = self.browser.script(FOCUS_SCRIPT, vec![json!(true)]).await;
        let focused = Focused::from_json(&state["current"]);
        let mut problems = Vec::new();
        if focused.tag == "body" || focused.tag.is_empty() {
            if !may_leave_page {
                problems.push("nothing on the page has the focus".to_owned());
            }
        } else {
            if state["focusVisible"] != json!(true) {
                problems.push(format!(
                    "{focused} has the focus but does not match :focus-visible"
                ));
            }
            if state["inView"] != json!(true) {
                problems.push(format!("{focused} has the focus but is outside the window"));
            }
        }
        let previous = &state["previous"];
        if previous.is_object() && previous["changed"] == json!(false) {
            problems.push(format!(
                "\"{}\" looks the same with and without the focus: {}",
                previous["name"].as_str().unwrap_or_default(),
                previous["look"]
            ));
        }
        if !problems.is_empty() {
            panic!(
                "{}",
                self.browser
                    .failure(format!(
                        "focus not visible:\n  - {}",
                        problems.join("\n  - ")
                    ))
                    .await
            );
        }
        focused
    }
}

/// Describes the focused element. With `arguments[0]` true it also records the element's
/// focused look and compares the previously focused element's look now with its recorded one
/// (see the module comment).
const FOCUS_SCRIPT: &str = r#"
const track = arguments[0];
const norm = (s) => (s || '').replace(/\s+/g, ' ').trim();
const el = document.activeElement || document.body;
const nameOf = (el) => {
  if (el.matches('input[type=submit], input[type=button]')) return norm(el.value);
  if (el.matches('input, textarea, select')) {
    if (el.labels && el.labels.length) return norm(el.labels[0].textContent);
    return norm(el.getAttribute('aria-label'));
  }
  if (el.getAttribute('aria-labelledby')) {
    return el.getAttribute('aria-labelledby').split(/\s+/)
      .map((id) => norm((document.getElementById(id) || {}).textContent)).join(' ');
  }
  return norm(el.getAttribute('aria-label') || el.textContent);
};
const describe = (el) => {
  const fieldset = el.closest('fieldset');
  const legend = fieldset && fieldset.querySelector(':scope > legend');
  return { tag: el.tagName.toLowerCase(), type: el.getAttribute('type') || '', name: nameOf(el), group: legend ? norm(legend.textContent) : '' };
};
const PROPS = ['outline-style', 'outline-width', 'outline-color', 'box-shadow', 'background-color', 'color',
  'border-top-color', 'border-bottom-color', 'border-top-width', 'border-bottom-width',
  'text-decoration-line', 'text-decoration-thickness'];
const look = (el) => {
  const parts = [];
  const read = (node, pseudo) => {
    const s = getComputedStyle(node, pseudo);
    parts.push(PROPS.map((p) => s.getPropertyValue(p)).join('|'));
  };
  if (getComputedStyle(el).opacity !== '0') read(el, null);
  read(el, '::before'); read(el, '::after');
  for (const label of el.labels || []) { read(label, null); read(label, '::before'); read(label, '::after'); }
  return parts.join(' / ');
};
const result = { current: describe(el) };
if (track) {
  const rect = el.getBoundingClientRect();
  result.focusVisible = el.matches(':focus-visible');
  result.inView = rect.bottom > 0 && rect.right > 0 && rect.top < window.innerHeight && rect.left < window.innerWidth;
  const memory = window.__medoptFocus;
  if (memory && memory.el !== el && memory.el.isConnected) {
    const now = look(memory.el);
    result.previous = { name: memory.name, changed: now !== memory.look, look: now };
  }
  window.__medoptFocus = el === document.body ? null : { el, name: nameOf(el), look: look(el) };
}
return result;
"#;
