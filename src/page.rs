//! What every page shares: the [`Layout`] data the base template reads, and the error page.

use askama::Template;
use askama_web::WebTemplate;

use crate::domain::FinancialYear;

/// Data the base layout needs on every page (the signed-in user, the form token, whether
/// the data is the synthetic demo dataset).
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// Who is signed in, for the header. `None` on public pages and error pages.
    pub user: Option<UserBadge>,
    /// Token for the sign-out form in the header.
    pub csrf_token: String,
    /// The demo dataset is loaded (`medopt demo`): every page says the figures are synthetic.
    /// Error pages built with `Layout::default()` go without the banner.
    pub demo: bool,
}

impl Layout {
    /// For a page seen by someone who is not signed in.
    pub fn signed_out(demo: bool) -> Self {
        Self {
            demo,
            ..Self::default()
        }
    }
}

/// How the signed-in user appears in the header.
#[derive(Debug, Clone)]
pub struct UserBadge {
    /// Display name.
    pub name: String,
    /// The role, in words.
    pub role_label: String,
}

/// A link in a programme-year switcher.
#[derive(Debug, Clone)]
pub struct YearLink {
    pub label: String,
    pub href: String,
    pub current: bool,
}

/// The year switcher: every programme year (as given, newest first), linking to `href(year)`,
/// the `current` one marked.
pub fn year_links(
    years: &[FinancialYear],
    current: FinancialYear,
    href: impl Fn(FinancialYear) -> String,
) -> Vec<YearLink> {
    years
        .iter()
        .map(|y| YearLink {
            label: y.to_string(),
            href: href(*y),
            current: *y == current,
        })
        .collect()
}

/// The NHS-styled page for 404 and 500 answers.
#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub heading: String,
    pub message: String,
}

impl ErrorPage {
    /// "Page not found", worded as on NHS.UK.
    pub fn not_found() -> Self {
        Self {
            layout: Layout::default(),
            heading: "Page not found".into(),
            message: "If you typed the web address, check it was correct. If you pasted the web \
                      address, check you copied the entire address."
                .into(),
        }
    }

    /// The request could not be read (a form that does not fit, a garbled address).
    pub fn bad_request() -> Self {
        Self {
            layout: Layout::default(),
            heading: "Sorry, that request could not be read".into(),
            message:
                "Go back to the page, check what you entered and try again. Nothing was changed."
                    .into(),
        }
    }

    /// The role does not cover this feature.
    pub fn forbidden() -> Self {
        Self {
            layout: Layout::default(),
            heading: "You do not have permission to do this".into(),
            message: "Your role does not include this. If you think it should, contact your \
                      system administrator."
                .into(),
        }
    }

    /// A form arrived without a valid token (expired session, or sent from another site).
    pub fn form_expired() -> Self {
        Self {
            layout: Layout::default(),
            heading: "Your form could not be sent".into(),
            message: "The page was open too long or your session ended. Go back, reload the \
                      page and try again. Nothing was changed."
                .into(),
        }
    }

    /// Too many downloads at once.
    pub fn busy() -> Self {
        Self {
            layout: Layout::default(),
            heading: "Too many downloads at the moment".into(),
            message: "Other people are downloading data at the same time. Wait a minute and \
                      try again."
                .into(),
        }
    }

    /// A request (a file upload) over the size limit.
    pub fn too_large() -> Self {
        Self {
            layout: Layout::default(),
            heading: "The file is too large".into(),
            message: "Files of up to 1 MB can be imported. Import one month or a few months \
                      at a time. Nothing was changed."
                .into(),
        }
    }

    /// Too many sign-in attempts from one address.
    pub fn too_many_requests() -> Self {
        Self {
            layout: Layout::default(),
            heading: "Too many attempts".into(),
            message: "There have been too many sign-in attempts from your network or for \
                      this account. Wait a minute and try again."
                .into(),
        }
    }

    /// The database cannot be reached (503).
    pub fn unavailable() -> Self {
        Self {
            layout: Layout::default(),
            heading: "Sorry, the service is unavailable".into(),
            message: "The service cannot reach its database at the moment. Try again in a \
                      few minutes."
                .into(),
        }
    }

    /// A request with characters that cannot be stored, outside any form field (400).
    pub fn bad_characters() -> Self {
        Self {
            layout: Layout::default(),
            heading: "Sorry, there is a problem with what you sent".into(),
            message: "It contained invisible control characters, such as a null character, \
                      which the service cannot store. Go back, type the text again and try \
                      again. Nothing was changed."
                .into(),
        }
    }

    /// "Sorry, there is a problem with the service": nothing internal is shown.
    pub fn internal() -> Self {
        Self {
            layout: Layout::default(),
            heading: "Sorry, there is a problem with the service".into(),
            message:
                "Try again later. If the problem continues, contact your system administrator."
                    .into(),
        }
    }
}
