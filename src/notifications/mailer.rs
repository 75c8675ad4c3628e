//! The connection to the mail server: lettre's SMTP transport on tokio, configured by
//! `MEDOPT_SMTP_URL` (lettre's connection URL: `smtp://host:port` plain, `smtp://…?tls=required`
//! STARTTLS, `smtps://` implicit TLS, optional `user:password@`) and `MEDOPT_MAIL_FROM`.
//! Each message is sent on a connection of its own, so a server that restarted between two
//! messages is simply connected to again.

use std::time::Duration;

use anyhow::Context;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::message::Rendered;
use crate::config::Config;

/// How long one conversation with the mail server may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(15);

/// Longest error text kept with an outbox row.
const ERROR_CHARS: usize = 500;

/// Sends e-mail.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The server (or the address) refused it for good: do not try again.
    Permanent(String),
    /// Try again later (the server is down, busy, or the connection failed).
    Transient(String),
}

impl SendError {
    /// The error, as kept with the row.
    pub fn text(&self) -> &str {
        match self {
            SendError::Permanent(text) | SendError::Transient(text) => text,
        }
    }
}

fn short(text: impl ToString) -> String {
    text.to_string().chars().take(ERROR_CHARS).collect()
}

impl Mailer {
    /// The mailer the configuration asks for: `None` when `MEDOPT_SMTP_URL` is unset; an error
    /// when it or `MEDOPT_MAIL_FROM` cannot be used (said at start, not at the first e-mail).
    pub fn from_config(config: &Config) -> anyhow::Result<Option<Mailer>> {
        let Some(url) = config.smtp_url.as_deref().map(str::trim) else {
            return Ok(None);
        };
        if url.is_empty() {
            return Ok(None);
        }
        let from = config
            .mail_from
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .context("MEDOPT_SMTP_URL is set, so MEDOPT_MAIL_FROM must be too (the sender's address, e.g. medopt@example.nhs.uk)")?;
        let from: Mailbox = from
            .parse()
            .with_context(|| format!("MEDOPT_MAIL_FROM {from:?} is not an e-mail address"))?;
        // The URL may hold a password: it is never repeated in messages.
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("MEDOPT_SMTP_URL cannot be used: {}", e))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        Ok(Some(Mailer { transport, from }))
    }

    /// Sends `rendered` to `name <address>`, as plain text with an HTML alternative.
    pub async fn send(
        &self,
        address: &str,
        name: &str,
        rendered: &Rendered,
    ) -> Result<(), SendError> {
        let to = address
            .parse()
            .map(|address| Mailbox::new(Some(name.to_owned()), address))
            .map_err(|e| SendError::Permanent(format!("the address cannot be used: {e}")))?;
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(rendered.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                rendered.text.clone(),
                rendered.html.clone(),
            ))
            .map_err(|e| SendError::Permanent(short(e)))?;
        match self.transport.send(email).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(short(e))),
            Err(e) => Err(SendError::Transient(short(e))),
        }
    }
}
