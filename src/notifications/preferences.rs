//! `/account/notifications`: each person chooses which kinds of e-mail they get (those their
//! role gets at all: editors the plan's decisions and figure reminders, reviewers submissions
//! and the weekly digest). Everything is on until turned off.
//!
//! The form carries the settings' version; a save from a page opened before another save is
//! refused (409, both choices shown) and changes nothing, and the change is conditional on the
//! version under the row's lock, so of two saves from one page exactly one applies. Every
//! change is audited with before and after.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::Kind;
use crate::AppState;
use crate::audit::{self, AuditEvent};
use crate::auth::CurrentUser;
use crate::auth::scope;
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form, Version};
use crate::page::Layout;

/// One kind as a checkbox.
pub struct Choice {
    pub key: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub on: bool,
}

/// What was sent against what is saved, for a stale form.
pub struct Conflict {
    pub yours: Vec<String>,
    pub saved: Vec<String>,
}

/// `/account/notifications`
#[derive(Template, WebTemplate)]
#[template(path = "notifications/preferences.html")]
pub struct NotificationsPage {
    pub layout: Layout,
    pub choices: Vec<Choice>,
    pub version: i32,
    /// E-mail is set up on this server.
    pub sends_email: bool,
    pub notice: Option<String>,
    pub conflict: Option<Conflict>,
    pub errors: FieldErrors,
}

#[derive(Debug, Default, Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

/// The form: the kinds ticked (left on), and the version it was opened on.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NotificationsForm {
    version: Option<Version>,
    kind: Vec<String>,
}

/// The saved settings: the kinds turned off, and the version (0: never saved).
struct Saved {
    turned_off: Vec<String>,
    version: i32,
}

impl Saved {
    fn is_on(&self, kind: Kind) -> bool {
        !self.turned_off.iter().any(|k| k == kind.key())
    }
}

async fn load(conn: &mut PgConnection, user_id: Uuid, lock: bool) -> sqlx::Result<Saved> {
    let row = if lock {
        sqlx::query!(
            "select turned_off, version from notification_setting where user_id = $1 for update",
            user_id
        )
        .fetch_optional(conn)
        .await?
        .map(|r| (r.turned_off, r.version))
    } else {
        sqlx::query!(
            "select turned_off, version from notification_setting where user_id = $1",
            user_id
        )
        .fetch_optional(conn)
        .await?
        .map(|r| (r.turned_off, r.version))
    };
    Ok(row.map_or(
        Saved {
            turned_off: Vec::new(),
            version: 0,
        },
        |(turned_off, version)| Saved {
            turned_off,
            version,
        },
    ))
}

fn page(state: &AppState, user: &CurrentUser, saved: &Saved) -> NotificationsPage {
    NotificationsPage {
        layout: user.layout(),
        choices: Kind::for_role(user.role)
            .iter()
            .map(|kind| Choice {
                key: kind.key(),
                label: kind.label(),
                hint: kind.hint(),
                on: saved.is_on(*kind),
            })
            .collect(),
        version: saved.version,
        sends_email: state
            .config()
            .smtp_url
            .as_deref()
            .is_some_and(|u| !u.trim().is_empty()),
        notice: None,
        conflict: None,
        errors: FieldErrors::default(),
    }
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<NoticeQuery>,
) -> AppResult<NotificationsPage> {
    let mut tx = scope::begin(&state, &user.scope()).await?;
    let saved = load(&mut tx, user.user_id, false).await?;
    tx.commit().await?;
    let mut page = page(&state, &user, &saved);
    if query.notice.as_deref() == Some("saved") {
        page.notice = Some("Your choice of e-mails has been saved.".into());
    }
    Ok(page)
}

pub async fn save(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<NotificationsForm>,
) -> AppResult<Response> {
    let offered = Kind::for_role(user.role);
    let (ticked, errors) = read_ticked(&form, offered);
    let mut tx = scope::begin(&state, &user.scope()).await?;
    let saved = load(&mut tx, user.user_id, true).await?;
    // A page opened before another save is answered as stale before anything else.
    if form.version.map(|v| v.0) != Some(saved.version) {
        return Ok(stale(&state, &user, &saved, &ticked));
    }
    if !errors.is_empty() {
        let mut page = page(&state, &user, &saved);
        page.errors = errors;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let turned_off = turned_off_after(&saved, offered, &ticked);
    if store(&mut tx, user.user_id, &turned_off, saved.version)
        .await?
        .is_none()
    {
        // Saved by another request between the read and the write (the first save of all).
        let saved = load(&mut tx, user.user_id, false).await?;
        return Ok(stale(&state, &user, &saved, &ticked));
    }
    let event = AuditEvent::new("notifications.changed")
        .object("user", user.user_id)
        .details(json!({
            "before": { "turned_off": saved.turned_off },
            "after": { "turned_off": turned_off },
        }));
    audit::record(&mut tx, &user.actor(), event).await?;
    tx.commit().await?;
    Ok(Redirect::to("/account/notifications?notice=saved").into_response())
}

/// The kinds ticked, and an error if the form names a kind the role is not offered.
fn read_ticked(form: &NotificationsForm, offered: &[Kind]) -> (Vec<Kind>, FieldErrors) {
    let mut errors = FieldErrors::default();
    let mut ticked = Vec::new();
    for key in &form.kind {
        match Kind::from_key(key.trim()).filter(|k| offered.contains(k)) {
            Some(kind) => ticked.push(kind),
            None => errors.add("kind", "Choose from the e-mails listed"),
        }
    }
    if let Some(first) = offered.first() {
        errors.link_to("kind", format!("kind-{}", first.key()));
    }
    (ticked, errors)
}

/// The kinds turned off once `ticked` is saved: the offered kinds not ticked, and whatever
/// was saved for kinds the role is not offered.
fn turned_off_after(saved: &Saved, offered: &[Kind], ticked: &[Kind]) -> Vec<String> {
    Kind::ALL
        .iter()
        .filter(|k| {
            if offered.contains(k) {
                !ticked.contains(k)
            } else {
                !saved.is_on(**k)
            }
        })
        .map(|k| k.key().to_owned())
        .collect()
}

/// Saves the settings if they are still at `version` (0: never saved); the new version, or
/// `None` if someone saved first.
async fn store(
    conn: &mut PgConnection,
    user_id: Uuid,
    turned_off: &[String],
    version: i32,
) -> sqlx::Result<Option<i32>> {
    sqlx::query_scalar!(
        r#"
        insert into notification_setting (user_id, turned_off) values ($1, $2)
        on conflict (user_id) do update
            set turned_off = excluded.turned_off,
                version = notification_setting.version + 1, updated_at = now()
            where notification_setting.version = $3
        returning version
        "#,
        user_id,
        turned_off,
        version
    )
    .fetch_optional(conn)
    .await
}

/// 409: the page as saved now, with what was sent beside what is saved.
fn stale(state: &AppState, user: &CurrentUser, saved: &Saved, ticked: &[Kind]) -> Response {
    let offered = Kind::for_role(user.role);
    let label =
        |on: bool, kind: &Kind| format!("{}: {}", kind.label(), if on { "on" } else { "off" });
    let mut page = page(state, user, saved);
    page.conflict = Some(Conflict {
        yours: offered
            .iter()
            .map(|k| label(ticked.contains(k), k))
            .collect(),
        saved: offered.iter().map(|k| label(saved.is_on(*k), k)).collect(),
    });
    (StatusCode::CONFLICT, page).into_response()
}
