//! `/admin/audit`: the audit trail, newest first, filtered by actor, action, organisation and
//! date, paged by keyset (`before` = the last id shown) so deep pages stay fast.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use crate::AppState;
use crate::auth::scope::{self, AdminUser};
use crate::error::AppResult;
use crate::forms::FieldErrors;
use crate::page::Layout;
use crate::routes::{Access, Routes};

/// Events per page.
const PAGE_SIZE: i64 = 50;

pub fn routes() -> Routes {
    Routes::new().get("/admin/audit", Access::Admin, list_events)
}

/// The filters, as typed in the form.
#[derive(Debug, Default, Deserialize)]
pub struct AuditQueryParams {
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub organisation: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    pub before: Option<i64>,
}

/// One event as listed.
pub struct EventRow {
    pub audit_event_id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor: Option<String>,
    pub action: String,
    pub object: Option<String>,
    pub organisation_code: Option<String>,
    pub request_id: Option<String>,
    pub details: String,
}

impl EventRow {
    /// UTC time, to the second.
    pub fn when(&self) -> String {
        self.occurred_at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    }
}

/// `/admin/audit`
#[derive(Template, WebTemplate)]
#[template(path = "admin/audit.html")]
pub struct AuditPage {
    pub layout: Layout,
    pub filters: AuditQueryParams,
    pub events: Vec<EventRow>,
    /// Query string for the next (older) page, if there is one.
    pub older: Option<String>,
    pub errors: FieldErrors,
}

fn parse_date(text: &str, field: &str, errors: &mut FieldErrors) -> Option<NaiveDate> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
    if date.is_none() {
        errors.add(field, "Enter a date like 2026-11-23");
    }
    date
}

fn blank_to_none(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

async fn list_events(
    State(state): State<AppState>,
    admin: AdminUser,
    Query(filters): Query<AuditQueryParams>,
) -> AppResult<AuditPage> {
    // In the form's order, so the error summary lists them that way. A filter with control
    // characters (PostgreSQL cannot compare a NUL) is refused by its field and not applied.
    let mut errors = FieldErrors::default();
    let mut text = |field: &str, label: &str, value: &str| {
        blank_to_none(value).filter(|v| errors.check_plain_text(field, label, v))
    };
    let actor = text("actor", "Actor's email", &filters.actor).map(|a| a.to_lowercase());
    let action = text("action", "Action", &filters.action);
    let organisation = text(
        "organisation",
        "Organisation ODS code",
        &filters.organisation,
    )
    .map(|o| o.to_uppercase());
    let from = parse_date(&filters.from, "from", &mut errors);
    let to = parse_date(&filters.to, "to", &mut errors);

    let mut tx = scope::begin(&state, &admin.0.scope()).await?;
    let mut events = sqlx::query_as!(
        EventRow,
        r#"
        select e.audit_event_id, e.occurred_at, u.email as "actor?", e.action,
               e.object_type || ' ' || e.object_id as object, e.organisation_code, e.request_id,
               e.details::text as "details!"
        from audit_event e
        left join app_user u on u.user_id = e.actor_user_id
        where ($1::text is null or u.email = $1)
          and ($2::text is null or e.action = $2)
          and ($3::text is null or e.organisation_code = $3)
          and ($4::date is null or e.occurred_at >= $4::date)
          and ($5::date is null or e.occurred_at < $5::date + 1)
          and ($6::bigint is null or e.audit_event_id < $6)
        order by e.audit_event_id desc
        limit $7
        "#,
        actor,
        action,
        organisation,
        from,
        to,
        filters.before,
        PAGE_SIZE + 1,
    )
    .fetch_all(&mut *tx)
    .await?;

    let older = if events.len() as i64 > PAGE_SIZE {
        events.truncate(PAGE_SIZE as usize);
        events.last().map(|last| {
            form_urlencoded::Serializer::new(String::new())
                .append_pair("actor", &filters.actor)
                .append_pair("action", &filters.action)
                .append_pair("organisation", &filters.organisation)
                .append_pair("from", &filters.from)
                .append_pair("to", &filters.to)
                .append_pair("before", &last.audit_event_id.to_string())
                .finish()
        })
    } else {
        None
    };
    Ok(AuditPage {
        layout: admin.0.layout(),
        filters,
        events,
        older,
        errors,
    })
}
