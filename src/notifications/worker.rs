//! The background worker: on each pass it writes the scheduled messages due
//! ([`super::schedule`]) and sends every message that is due, with retries.
//!
//! Sending claims a batch of due rows with `for update skip locked` in a transaction that
//! stays open while they are sent and their outcome is recorded: another instance's pass skips
//! the rows this one holds, so nothing is sent twice; if this process dies mid-batch, the rows
//! go back to waiting (a message the server had already accepted may then go twice, the usual
//! at-least-once trade). A refused message is tried again after an exponentially growing wait
//! ([`retry_delay`]) up to [`MAX_ATTEMPTS`] times, or given up at once if the server refused it
//! for good; the administrators' outbox page shows which and why.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::mailer::{Mailer, SendError};
use super::message::Message;
use super::schedule;
use crate::AppState;

/// Attempts before a message is given up on (about three days of retries).
pub const MAX_ATTEMPTS: i32 = 20;
/// Messages claimed at a time.
const BATCH: i64 = 20;
/// How often the worker looks for messages to send.
const SEND_EVERY: Duration = Duration::from_secs(15);
/// How often it writes the scheduled messages (reminders, digests).
const SCHEDULE_EVERY: Duration = Duration::from_secs(600);

/// The wait before attempt `attempts + 1`: a minute, doubling each time, at most six hours.
pub fn retry_delay(attempts: i32) -> chrono::Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 16) as u32;
    chrono::Duration::minutes(1i64 << doublings).min(chrono::Duration::hours(6))
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Scheduled messages written.
    pub scheduled: u64,
    pub sent: u32,
    /// Not sent this time; tried again later.
    pub retrying: u32,
    /// Given up on.
    pub failed: u32,
}

/// The worker. Without a mail server configured it does nothing.
pub struct Worker {
    state: AppState,
    mailer: Option<Mailer>,
}

impl Worker {
    /// The worker for the state's configuration (its `MEDOPT_SMTP_URL` and `MEDOPT_MAIL_FROM`);
    /// an error if they are set but cannot be used.
    pub fn new(state: AppState) -> anyhow::Result<Self> {
        let mailer = Mailer::from_config(state.config())?;
        Ok(Self { state, mailer })
    }

    /// Whether e-mail is sent at all.
    pub fn sends_email(&self) -> bool {
        self.mailer.is_some()
    }

    /// One pass: writes the scheduled messages due today (by the state's clock), then sends
    /// every message due at `now` (or at the database's present, if later: tests pass a later
    /// time to let retries fall due). Does nothing without a mail server.
    pub async fn run_once(&self, now: DateTime<Utc>) -> anyhow::Result<Pass> {
        if self.mailer.is_none() {
            return Ok(Pass::default());
        }
        let scheduled = schedule::run(&self.state).await?;
        let mut pass = self.send_due(now).await?;
        pass.scheduled = scheduled;
        Ok(pass)
    }

    /// Runs for as long as the server does: sends every [`SEND_EVERY`], schedules every
    /// [`SCHEDULE_EVERY`]. Says once, at start, whether e-mail is on.
    pub async fn run(self) {
        if self.mailer.is_none() {
            tracing::info!(
                "e-mail notifications are off: MEDOPT_SMTP_URL is not set, so no e-mail is sent (messages wait in the outbox)"
            );
            return;
        }
        tracing::info!("e-mail notifications are on: the outbox is sent every 15 seconds");
        let mut tick = tokio::time::interval(SEND_EVERY);
        let mut last_schedule: Option<tokio::time::Instant> = None;
        loop {
            tick.tick().await;
            if last_schedule.is_none_or(|at| at.elapsed() >= SCHEDULE_EVERY) {
                match schedule::run(&self.state).await {
                    Ok(written) if written > 0 => {
                        tracing::info!(written, "scheduled e-mails written to the outbox");
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "could not write scheduled e-mails"),
                }
                last_schedule = Some(tokio::time::Instant::now());
            }
            if let Err(error) = self.send_due(Utc::now()).await {
                tracing::warn!(%error, "could not send the outbox");
            }
        }
    }

    /// Sends every message due at `now`, a batch at a time.
    async fn send_due(&self, now: DateTime<Utc>) -> anyhow::Result<Pass> {
        let Some(mailer) = &self.mailer else {
            return Ok(Pass::default());
        };
        let base_url = self.state.config().public_base_url();
        // Never earlier than the database's clock, which stamped the messages just written.
        let db_now = sqlx::query_scalar!(r#"select now() as "now!""#)
            .fetch_one(self.state.db())
            .await?;
        let now = now.max(db_now);
        let mut pass = Pass::default();
        loop {
            let mut tx = self.state.db().begin().await?;
            let batch = claim(&mut tx, now).await?;
            if batch.is_empty() {
                break;
            }
            for row in batch {
                let outcome = deliver(mailer, &base_url, &row).await;
                match record(&mut tx, &row, outcome, now).await? {
                    Recorded::Sent => pass.sent += 1,
                    Recorded::Retrying => pass.retrying += 1,
                    Recorded::Failed => pass.failed += 1,
                }
            }
            tx.commit().await?;
        }
        Ok(pass)
    }
}

/// A message claimed for sending, with its recipient.
struct Claimed {
    outbox_id: i64,
    kind: String,
    payload: serde_json::Value,
    attempts: i32,
    email: String,
    name: String,
    active: bool,
}

/// What became of a message.
enum Recorded {
    Sent,
    Retrying,
    Failed,
}

/// Locks the next batch of messages due at `now`. Rows another instance holds are skipped,
/// not waited for; a row tried in this pass is not due again before `now`, so the caller's
/// loop ends.
async fn claim(tx: &mut PgConnection, now: DateTime<Utc>) -> sqlx::Result<Vec<Claimed>> {
    // Every ICB's messages: the outbox's row-level security is forced, as for all tenant
    // data, so the worker reads with national scope (as the demo loader does).
    sqlx::query!(r#"select set_config('medopt.read_icbs', '*', true) as "set!""#)
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query_as!(
        Claimed,
        r#"
        select o.outbox_id, o.kind, o.payload, o.attempts, u.email, u.name, u.active
        from outbox o
        join app_user u on u.user_id = o.recipient_user_id
        where o.sent_at is null and o.failed_at is null and o.next_attempt_at <= $1
        order by o.next_attempt_at, o.outbox_id
        limit $2
        for update of o skip locked
        "#,
        now,
        BATCH
    )
    .fetch_all(tx)
    .await
}

/// Writes the message and hands it to the mail server.
async fn deliver(mailer: &Mailer, base_url: &str, row: &Claimed) -> Result<(), SendError> {
    if !row.active {
        return Err(SendError::Permanent(
            "not sent: the recipient's account is deactivated".into(),
        ));
    }
    let message = serde_json::from_value::<Message>(row.payload.clone())
        .map_err(|e| SendError::Permanent(format!("the message could not be read: {e}")))?;
    let rendered = message
        .render(base_url)
        .map_err(|e| SendError::Permanent(format!("the message could not be written: {e}")))?;
    mailer.send(&row.email, &row.name, &rendered).await
}

/// Records the attempt: sent; or to try again after [`retry_delay`]; or given up on (a
/// permanent refusal, or the last attempt).
async fn record(
    tx: &mut PgConnection,
    row: &Claimed,
    outcome: Result<(), SendError>,
    now: DateTime<Utc>,
) -> sqlx::Result<Recorded> {
    let attempts = row.attempts + 1;
    let error = match outcome {
        Ok(()) => {
            sqlx::query!(
                "update outbox set sent_at = now(), attempts = $2, last_error = null where outbox_id = $1",
                row.outbox_id,
                attempts
            )
            .execute(tx)
            .await?;
            tracing::info!(outbox_id = row.outbox_id, kind = row.kind, "e-mail sent");
            return Ok(Recorded::Sent);
        }
        Err(error) => error,
    };
    let permanent = matches!(error, SendError::Permanent(_));
    let give_up = permanent || attempts >= MAX_ATTEMPTS;
    sqlx::query!(
        r#"
        update outbox set attempts = $2, last_error = $3, next_attempt_at = $4,
               failed_at = case when $5 then now() end
        where outbox_id = $1
        "#,
        row.outbox_id,
        attempts,
        error.text(),
        now + retry_delay(attempts),
        give_up
    )
    .execute(tx)
    .await?;
    // The error text may quote an address: it stays in the database, out of the logs.
    tracing::warn!(
        outbox_id = row.outbox_id,
        kind = row.kind,
        attempts,
        gave_up = give_up,
        permanent,
        "an e-mail was not sent"
    );
    Ok(if give_up {
        Recorded::Failed
    } else {
        Recorded::Retrying
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_six_hours() {
        let minutes: Vec<i64> = (1..=12).map(|a| retry_delay(a).num_minutes()).collect();
        assert_eq!(minutes, [1, 2, 4, 8, 16, 32, 64, 128, 256, 360, 360, 360]);
        assert_eq!(retry_delay(MAX_ATTEMPTS).num_hours(), 6);
        let total: i64 = (1..MAX_ATTEMPTS).map(|a| retry_delay(a).num_hours()).sum();
        assert!(total >= 48, "retries span at least two days: {total} hours");
    }
}
