//! `/accessibility`: the accessibility statement, in the GOV.UK model form that public sector
//! websites publish under the Public Sector Bodies (Websites and Mobile Applications) (No. 2)
//! Accessibility Regulations 2018.
//!
//! The statement is text, kept in its template. The dates it gives are here, so whoever
//! re-tests the service or reviews the statement updates them in one place.

use askama::Template;
use askama_web::WebTemplate;

use crate::auth::MaybeUser;
use crate::page::Layout;
use crate::routes::{Access, Routes};

/// When the statement was first prepared.
const PREPARED_ON: &str = "25 November 2026";
/// When the statement was last reviewed.
const REVIEWED_ON: &str = "25 November 2026";
/// When the service was last tested against WCAG 2.2 AA (by the browser test suite).
const TESTED_ON: &str = "25 November 2026";

/// The accessibility statement's route.
pub fn routes() -> Routes {
    Routes::new().get("/accessibility", Access::Public, show_statement)
}

/// `/accessibility`
#[derive(Template, WebTemplate)]
#[template(path = "accessibility.html")]
pub struct AccessibilityPage {
    pub layout: Layout,
    pub prepared_on: &'static str,
    pub reviewed_on: &'static str,
    pub tested_on: &'static str,
}

async fn show_statement(user: MaybeUser) -> AccessibilityPage {
    AccessibilityPage {
        layout: user.layout(),
        prepared_on: PREPARED_ON,
        reviewed_on: REVIEWED_ON,
        tested_on: TESTED_ON,
    }
}
