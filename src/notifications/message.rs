//! What an e-mail says, as data ([`Message`], stored as the outbox row's `payload`), and how it
//! is written: one plain-text and one HTML template for every kind, filled from an [`Email`]
//! that each kind builds here. Rendering happens when the message is sent, so its links use
//! the sending server's base address.
//!
//! A message carries only what its recipients may see: the ICB's name and code, the year, the
//! reviewer's comment for the ICB's own editors, and for a digest the plans of the
//! recipient's own region.

use askama::Template;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::Kind;

/// The plan a message is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRef {
    pub icb_name: String,
    pub ods_code: String,
    /// `2024/25`
    pub year_label: String,
    /// `2024-25`
    pub year_slug: String,
}

impl PlanRef {
    /// `/icbs/QE1/2024-25`
    pub fn path(&self) -> String {
        format!("/icbs/{}/{}", self.ods_code, self.year_slug)
    }
}

/// A plan's review decision (or its submission, with no comment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanEvent {
    pub plan: PlanRef,
    /// The reviewer's comment.
    pub comment: Option<String>,
}

/// A month's figures are due or overdue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reminder {
    pub plan: PlanRef,
    /// `June 2024`
    pub month_label: String,
    /// The last day to report it.
    pub due_on: NaiveDate,
    /// `May 2024`, the latest month with figures, if any.
    pub latest_month: Option<String>,
}

/// A plan waiting for review, in a digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingPlan {
    pub plan: PlanRef,
    pub submitted_on: Option<NaiveDate>,
    /// Days since it was submitted, when the digest was written.
    pub days_waiting: Option<i64>,
}

/// The plans of one region waiting for review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    pub region_name: String,
    pub region_code: String,
    pub plans: Vec<WaitingPlan>,
}

/// One e-mail's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum Message {
    PlanSubmitted(PlanEvent),
    PlanReturned(PlanEvent),
    PlanAgreed(PlanEvent),
    FiguresDue(Reminder),
    FiguresOverdue(Reminder),
    ReviewDigest(Digest),
}

/// A link in an e-mail: its words and the page's path (the base address is added when it is
/// rendered).
#[derive(Debug, Clone)]
pub struct Link {
    pub label: String,
    pub url: String,
}

/// A quoted comment and what it is.
#[derive(Debug, Clone)]
pub struct Quote {
    pub what: String,
    pub text: String,
}

/// What the templates lay out.
#[derive(Debug, Clone)]
pub struct Email {
    pub subject: String,
    pub paragraphs: Vec<String>,
    /// A quoted comment.
    pub quote: Option<Quote>,
    /// A list of items, each leading to its page (a digest's plans).
    pub items: Vec<Link>,
    /// The main thing to do.
    pub action: Link,
    /// Where to change which e-mails one gets.
    pub settings_url: String,
}

/// The plain-text body.
#[derive(Template)]
#[template(path = "notifications/email.txt")]
struct TextBody<'a> {
    email: &'a Email,
}

/// The HTML body.
#[derive(Template)]
#[template(path = "notifications/email.html")]
struct HtmlBody<'a> {
    email: &'a Email,
}

/// An e-mail ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// `4 November 2024`
fn long_date(date: NaiveDate) -> String {
    date.format("%-d %B %Y").to_string()
}

impl Message {
    /// Its kind.
    pub fn kind(&self) -> Kind {
        match self {
            Message::PlanSubmitted(_) => Kind::PlanSubmitted,
            Message::PlanReturned(_) => Kind::PlanReturned,
            Message::PlanAgreed(_) => Kind::PlanAgreed,
            Message::FiguresDue(_) => Kind::FiguresDue,
            Message::FiguresOverdue(_) => Kind::FiguresOverdue,
            Message::ReviewDigest(_) => Kind::ReviewDigest,
        }
    }

    /// The subject line.
    pub fn subject(&self) -> String {
        self.email("").subject
    }

    /// The plain-text and HTML bodies, with links on `base_url` (no trailing `/`).
    pub fn render(&self, base_url: &str) -> Result<Rendered, askama::Error> {
        let email = self.email(base_url);
        Ok(Rendered {
            text: TextBody { email: &email }.render()?,
            html: HtmlBody { email: &email }.render()?,
            subject: email.subject,
        })
    }

    /// The content, with links on `base`.
    fn email(&self, base: &str) -> Email {
        let link = |label: &str, path: String| Link {
            label: label.to_owned(),
            url: format!("{base}{path}"),
        };
        let settings_url = format!("{base}/account/notifications");
        let quote = |comment: &Option<String>| {
            comment.as_ref().map(|c| Quote {
                what: "The regional team's comments".to_owned(),
                text: c.clone(),
            })
        };
        match self {
            Message::PlanSubmitted(e) => Email {
                subject: format!(
                    "Plan submitted for review: {}, {}",
                    e.plan.icb_name, e.plan.year_label
                ),
                paragraphs: vec![format!(
                    "{} ({}) has submitted its {} medicines optimisation plan for review by the regional team.",
                    e.plan.icb_name, e.plan.ods_code, e.plan.year_label
                )],
                quote: None,
                items: Vec::new(),
                action: link("Review the plan", format!("{}/plan", e.plan.path())),
                settings_url,
            },
            Message::PlanReturned(e) => Email {
                subject: format!(
                    "Your {} plan has been returned with comments: {}",
                    e.plan.year_label, e.plan.icb_name
                ),
                paragraphs: vec![
                    format!(
                        "The regional team has returned the {} medicines optimisation plan of {} with comments.",
                        e.plan.year_label, e.plan.icb_name
                    ),
                    "Change the plan as they ask, then submit it again.".to_owned(),
                ],
                quote: quote(&e.comment),
                items: Vec::new(),
                action: link("Open the plan", format!("{}/plan", e.plan.path())),
                settings_url,
            },
            Message::PlanAgreed(e) => Email {
                subject: format!(
                    "Your {} plan has been agreed: {}",
                    e.plan.year_label, e.plan.icb_name
                ),
                paragraphs: vec![format!(
                    "The regional team has agreed the {} medicines optimisation plan of {}.",
                    e.plan.year_label, e.plan.icb_name
                )],
                quote: quote(&e.comment),
                items: Vec::new(),
                action: link("Open the plan", format!("{}/plan", e.plan.path())),
                settings_url,
            },
            Message::FiguresDue(r) | Message::FiguresOverdue(r) => {
                let overdue = matches!(self, Message::FiguresOverdue(_));
                let latest = match &r.latest_month {
                    Some(m) => format!("The latest month with figures is {m}."),
                    None => "No month has figures yet.".to_owned(),
                };
                Email {
                    subject: if overdue {
                        format!("{} figures are overdue: {}", r.month_label, r.plan.icb_name)
                    } else {
                        format!(
                            "{} figures are due by {}: {}",
                            r.month_label,
                            long_date(r.due_on),
                            r.plan.icb_name
                        )
                    },
                    paragraphs: vec![
                        if overdue {
                            format!(
                                "The actual savings of {} for {} were due by {} and have not been recorded.",
                                r.plan.icb_name,
                                r.month_label,
                                long_date(r.due_on)
                            )
                        } else {
                            format!(
                                "The actual savings of {} for {} are due by {}.",
                                r.plan.icb_name,
                                r.month_label,
                                long_date(r.due_on)
                            )
                        },
                        latest,
                        "Record them on each workstream, or import them from a CSV file."
                            .to_owned(),
                    ],
                    quote: None,
                    items: vec![link(
                        "Import a month's figures from a CSV file",
                        format!("{}/import", r.plan.path()),
                    )],
                    action: link(
                        &format!("Open the {} dashboard", r.plan.year_label),
                        r.plan.path(),
                    ),
                    settings_url,
                }
            }
            Message::ReviewDigest(d) => Email {
                subject: match d.plans.len() {
                    1 => format!("1 plan is waiting for review: {}", d.region_name),
                    n => format!("{n} plans are waiting for review: {}", d.region_name),
                },
                paragraphs: vec![format!(
                    "These plans of ICBs in {} have been submitted and are waiting for the regional team's review:",
                    d.region_name
                )],
                quote: None,
                items: d
                    .plans
                    .iter()
                    .map(|w| {
                        let waiting = match (w.submitted_on, w.days_waiting) {
                            (Some(on), Some(0)) => format!("submitted {}, today", long_date(on)),
                            (Some(on), Some(1)) => {
                                format!("submitted {}, 1 day ago", long_date(on))
                            }
                            (Some(on), Some(days)) => {
                                format!("submitted {}, {days} days ago", long_date(on))
                            }
                            _ => "submitted".to_owned(),
                        };
                        link(
                            &format!(
                                "{} ({}), {}: {waiting}",
                                w.plan.icb_name, w.plan.ods_code, w.plan.year_label
                            ),
                            format!("{}/plan", w.plan.path()),
                        )
                    })
                    .collect(),
                action: link(
                    "See the region's ICBs",
                    format!("/regions/{}", d.region_code),
                ),
                settings_url,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> PlanRef {
        PlanRef {
            icb_name: "NHS Test <Integrated> Care Board".into(),
            ods_code: "QE1".into(),
            year_label: "2024/25".into(),
            year_slug: "2024-25".into(),
        }
    }

    #[test]
    fn the_payload_round_trips_through_json() {
        let message = Message::PlanReturned(PlanEvent {
            plan: plan(),
            comment: Some("Add a local priority".into()),
        });
        let json = serde_json::to_value(&message).expect("serialises");
        assert_eq!(json["type"], "plan_returned");
        let back: Message = serde_json::from_value(json).expect("deserialises");
        assert_eq!(back, message);
    }

    #[test]
    fn links_use_the_base_address_and_html_is_escaped() {
        let message = Message::PlanReturned(PlanEvent {
            plan: plan(),
            comment: Some("Use <b>less</b> & more".into()),
        });
        let rendered = message
            .render("https://medopt.example.nhs.uk")
            .expect("renders");
        assert!(
            rendered
                .text
                .contains("https://medopt.example.nhs.uk/icbs/QE1/2024-25/plan")
        );
        assert!(rendered.text.contains("Use <b>less</b> & more"));
        assert!(
            rendered
                .html
                .contains("Use &#60;b&#62;less&#60;/b&#62; &#38; more")
                || rendered
                    .html
                    .contains("Use &lt;b&gt;less&lt;/b&gt; &amp; more"),
            "{}",
            rendered.html
        );
        assert!(!rendered.html.contains("<b>less</b>"));
        assert_eq!(
            rendered.subject,
            "Your 2024/25 plan has been returned with comments: NHS Test <Integrated> Care Board"
        );
    }
}
