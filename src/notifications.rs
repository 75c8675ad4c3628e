//! E-mail notifications: when a plan is submitted (to the region's reviewers), returned or
//! agreed (to the ICB's editors, with the reviewer's comment), reminders when a month's
//! figures are due in 7 days and when they are overdue (to the ICB's editors), and a weekly
//! digest of the plans waiting for review (to each region's reviewers).
//!
//! Why it is shaped so:
//! - a message is a row in the `outbox` table, written in the same transaction as the change
//!   that causes it ([`events`], called from [`crate::plans::workflow`]), so a status change and
//!   its e-mail commit or roll back together, and a web request never waits for SMTP;
//! - the background [`Worker`] (spawned by `medopt serve`; [`Worker::run_once`] is one pass,
//!   for tests) schedules reminders and digests ([`schedule`], idempotent: each carries a key
//!   per ICB/month/kind or per region/week, unique per recipient), then claims due rows with
//!   `for update skip locked` (several instances never send one twice) and sends them through
//!   [`mailer`], retrying with exponential backoff, so a mail server that is down loses nothing;
//! - recipients are chosen by role and organisation when the message is written, so nobody
//!   gets news of a plan they may not see, and each person's [`preferences`] are respected;
//! - a message is stored as data ([`message::Message`]) and rendered (plain text and HTML,
//!   askama templates) when sent, with links to the page concerned on `MEDOPT_BASE_URL`.
//!
//! Logs name outbox ids and kinds, never an address, a name or a message's content.

pub mod events;
mod kind;
pub mod mailer;
pub mod message;
pub mod outbox;
mod preferences;
pub mod schedule;
mod worker;

pub use kind::Kind;
pub use worker::{Pass, Worker};

use crate::routes::{Access, Routes};

/// The routes people use: their own choice of e-mails. (The outbox's page is an
/// administration route, in [`crate::admin`].)
pub fn routes() -> Routes {
    Routes::new()
        .get(
            "/account/notifications",
            Access::SignedIn,
            preferences::show,
        )
        .post(
            "/account/notifications",
            Access::SignedIn,
            preferences::save,
        )
}
