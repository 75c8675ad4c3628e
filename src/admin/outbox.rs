//! `/admin/outbox`: the e-mails the service has written ([`crate::notifications`]), newest
//! first: sent, waiting (with the attempts so far and the next one) and failed (with the
//! error), filtered by status and paged by keyset (`before` = the last id shown).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::AppState;
use crate::auth::scope::{self, AdminUser};
use crate::error::AppResult;
use crate::notifications::Kind;
use crate::page::Layout;
use crate::routes::{Access, Routes};

/// Messages per page.
const PAGE_SIZE: i64 = 50;

pub fn routes() -> Routes {
    Routes::new().get("/admin/outbox", Access::Admin, list_outbox)
}

/// `?status=…&before=…`
#[derive(Debug, Default, Deserialize)]
pub struct OutboxQuery {
    #[serde(default)]
    pub status: String,
    pub before: Option<i64>,
}

/// One message as listed.
pub struct OutboxRow {
    pub outbox_id: i64,
    pub created_at: DateTime<Utc>,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

fn utc(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

impl OutboxRow {
    /// `sent`, `waiting` or `failed`.
    pub fn status(&self) -> &'static str {
        if self.sent_at.is_some() {
            "sent"
        } else if self.failed_at.is_some() {
            "failed"
        } else {
            "waiting"
        }
    }

    /// The kind in words.
    pub fn kind_label(&self) -> &'static str {
        Kind::from_key(&self.kind).map_or("Other", Kind::label)
    }

    pub fn created(&self) -> String {
        utc(self.created_at)
    }

    /// What happened to it, in words.
    pub fn outcome(&self) -> String {
        match (self.sent_at, self.failed_at) {
            (Some(at), _) => format!("Sent {}", utc(at)),
            (None, Some(at)) => format!("Gave up {} after {} attempts", utc(at), self.attempts),
            (None, None) if self.attempts == 0 => "Not tried yet".to_owned(),
            (None, None) => format!(
                "{} attempts so far; next {}",
                self.attempts,
                utc(self.next_attempt_at)
            ),
        }
    }
}

/// A status filter link with its count.
pub struct StatusLink {
    pub key: &'static str,
    pub label: &'static str,
    pub count: i64,
    pub current: bool,
}

/// `/admin/outbox`
#[derive(Template, WebTemplate)]
#[template(path = "admin/outbox.html")]
pub struct OutboxPage {
    pub layout: Layout,
    pub sends_email: bool,
    pub statuses: Vec<StatusLink>,
    pub status_label: &'static str,
    pub rows: Vec<OutboxRow>,
    /// Query string for the next (older) page, if there is one.
    pub older: Option<String>,
}

async fn list_outbox(
    State(state): State<AppState>,
    admin: AdminUser,
    Query(query): Query<OutboxQuery>,
) -> AppResult<OutboxPage> {
    let status = match query.status.trim() {
        s @ ("waiting" | "sent" | "failed") => Some(s),
        _ => None,
    };
    let mut tx = scope::begin(&state, &admin.0.scope()).await?;
    let counts = sqlx::query!(
        r#"
        select count(*) filter (where sent_at is null and failed_at is null) as "waiting!",
               count(*) filter (where sent_at is not null) as "sent!",
               count(*) filter (where failed_at is not null) as "failed!",
               count(*) as "all!"
        from outbox
        "#
    )
    .fetch_one(&mut *tx)
    .await?;
    let mut rows = sqlx::query_as!(
        OutboxRow,
        r#"
        select o.outbox_id, o.created_at, o.kind, u.email as recipient, o.subject, o.attempts,
               o.next_attempt_at, o.sent_at, o.failed_at, o.last_error
        from outbox o
        join app_user u on u.user_id = o.recipient_user_id
        where case $1::text
                  when 'waiting' then o.sent_at is null and o.failed_at is null
                  when 'sent' then o.sent_at is not null
                  when 'failed' then o.failed_at is not null
                  else true end
          and ($2::bigint is null or o.outbox_id < $2)
        order by o.outbox_id desc
        limit $3
        "#,
        status,
        query.before,
        PAGE_SIZE + 1
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let older = if rows.len() as i64 > PAGE_SIZE {
        rows.truncate(PAGE_SIZE as usize);
        rows.last().map(|last| {
            form_urlencoded::Serializer::new(String::new())
                .append_pair("status", status.unwrap_or(""))
                .append_pair("before", &last.outbox_id.to_string())
                .finish()
        })
    } else {
        None
    };
    let link = |key: &'static str, label: &'static str, count: i64| StatusLink {
        key,
        label,
        count,
        current: status.unwrap_or("") == key,
    };
    let statuses = vec![
        link("", "All", counts.all),
        link("waiting", "Waiting", counts.waiting),
        link("sent", "Sent", counts.sent),
        link("failed", "Failed", counts.failed),
    ];
    Ok(OutboxPage {
        layout: admin.0.layout(),
        sends_email: state
            .config()
            .smtp_url
            .as_deref()
            .is_some_and(|u| !u.trim().is_empty()),
        status_label: statuses
            .iter()
            .find(|s| s.current)
            .map_or("All", |s| s.label),
        statuses,
        rows,
        older,
    })
}
