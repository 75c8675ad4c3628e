//! An apply refused because figures changed after the preview: what moved, and who moved it,
//! beside what the file would change now. Applying the same preview twice lands here too,
//! and says the figures are already imported.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sqlx::PgConnection;

use super::check::{Change, Known};
use super::{ImportPage, MovedRow, show_result};
use crate::domain::assurance::Confidence;
use crate::domain::{Month, Pence};
use crate::error::AppResult;
use crate::plans::context::IcbYear;
use crate::plans::measures::show_value;
use crate::plans::workstream::forecast::field_names;

/// The changes the preview showed, from the confirm form (none if it was tampered with).
pub fn decode_shown(shown: &str) -> Vec<Change> {
    base64::engine::general_purpose::STANDARD
        .decode(shown.trim())
        .ok()
        .and_then(|json| serde_json::from_slice(&json).ok())
        .unwrap_or_default()
}

/// Answers a refused apply: 409 with the figures that moved since the preview and the changes
/// the file would make now (or its problems, 422, if it no longer passes the check).
pub async fn refuse(
    conn: &mut PgConnection,
    ctx: &IcbYear,
    mut page: ImportPage,
    known: &Known,
    bytes: &[u8],
    shown: &[Change],
) -> AppResult<Response> {
    let status = show_result(&mut page, known, bytes);
    let already_applied = !shown.is_empty()
        && shown
            .iter()
            .all(|c| saved_now(known, c) == Saved::from_after(c));
    page.moved = moved_since_preview(conn, ctx, known, shown).await?;
    page.notice = Some(if already_applied {
        "These figures have already been imported: nothing was changed.".into()
    } else {
        "The saved figures changed after you checked the file, so nothing was imported. The changes below are what the file would make now: check them before you apply it.".into()
    });
    let status = if status.is_success() {
        StatusCode::CONFLICT
    } else {
        status
    };
    Ok((status, page).into_response())
}

/// A figure as saved: an amount, a measure value, a forecast, or nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Saved {
    Money(Option<Pence>),
    Value(Option<f64>),
    Forecast(Option<(Pence, Confidence)>),
}

impl Saved {
    fn from_before(change: &Change) -> Self {
        match change {
            Change::Actual { before, .. } => Saved::Money(*before),
            Change::Value { before, .. } => Saved::Value(*before),
            Change::Forecast { before, .. } => Saved::Forecast(*before),
        }
    }

    fn from_after(change: &Change) -> Self {
        match change {
            Change::Actual { after, .. } => Saved::Money(Some(*after)),
            Change::Value { after, .. } => Saved::Value(Some(*after)),
            Change::Forecast { after, .. } => Saved::Forecast(Some(*after)),
        }
    }

    fn shown(self) -> String {
        match self {
            Saved::Money(p) => p.map_or_else(|| "Not reported".to_owned(), Pence::exact_display),
            Saved::Value(v) => v.map_or_else(|| "Not recorded".to_owned(), show_value),
            Saved::Forecast(f) => f.map_or_else(
                || "Not recorded".to_owned(),
                |(p, c)| {
                    format!(
                        "{} ({} confidence)",
                        p.exact_display(),
                        c.label().to_lowercase()
                    )
                },
            ),
        }
    }
}

/// What is saved now for the figure a change is about.
fn saved_now(known: &Known, change: &Change) -> Saved {
    match change {
        Change::Actual {
            workstream_id,
            month,
            ..
        } => Saved::Money(
            known
                .workstreams
                .get(workstream_id)
                .and_then(|w| w.actual.get(month).copied()),
        ),
        Change::Value {
            measure_id, month, ..
        } => Saved::Value(
            known
                .measures
                .get(measure_id)
                .and_then(|m| m.values.get(month).copied()),
        ),
        Change::Forecast {
            workstream_id,
            month,
            ..
        } => Saved::Forecast(
            known
                .workstreams
                .get(workstream_id)
                .and_then(|w| w.forecasts.get(month).copied()),
        ),
    }
}

/// The figures the preview showed that are saved differently now, with who saved them.
async fn moved_since_preview(
    conn: &mut PgConnection,
    ctx: &IcbYear,
    known: &Known,
    shown: &[Change],
) -> sqlx::Result<Vec<MovedRow>> {
    let mut moved = Vec::new();
    for change in shown {
        let now = saved_now(known, change);
        if now == Saved::from_before(change) {
            continue;
        }
        let month = Month::containing(change.month());
        // The history names the field as the page (`Lead time 2024-06`) or the import
        // (`Lead time (days) June 2024`) wrote it.
        let (what, workstream_id, fields) = match change {
            Change::Actual { workstream_id, .. } => {
                let title = known
                    .workstreams
                    .get(workstream_id)
                    .map_or("", |w| w.title.as_str());
                let field = format!("Actual {}", month.label());
                (
                    format!("Actual saving: {title}"),
                    *workstream_id,
                    vec![field],
                )
            }
            Change::Value {
                measure_id,
                workstream_id,
                ..
            } => {
                let name = known
                    .measures
                    .get(measure_id)
                    .map_or("", |m| m.name.as_str());
                let plain = name.rsplit_once(" (").map_or(name, |(n, _)| n);
                let fields = vec![
                    format!("{plain} {}", month.label()),
                    format!("{name} {}", month.label()),
                ];
                (format!("Measure: {name}"), *workstream_id, fields)
            }
            Change::Forecast { workstream_id, .. } => {
                let title = known
                    .workstreams
                    .get(workstream_id)
                    .map_or("", |w| w.title.as_str());
                let (outturn, confidence) = field_names(month);
                (
                    format!("Forecast: {title}"),
                    *workstream_id,
                    vec![outturn, confidence],
                )
            }
        };
        let by = sqlx::query!(
            r#"
            select coalesce(u.name, 'System') as "name!", e.occurred_at
            from audit_event e left join app_user u on u.user_id = e.actor_user_id
            where e.object_type = 'workstream' and e.object_id = $1 and e.organisation_code = $2
              and e.details -> 'after' ?| $3
            order by e.audit_event_id desc limit 1
            "#,
            workstream_id.to_string(),
            ctx.icb.ods_code(),
            &fields
        )
        .fetch_optional(&mut *conn)
        .await?;
        moved.push(MovedRow {
            what,
            month: month.label(),
            when_checked: Saved::from_before(change).shown(),
            now: now.shown(),
            changed_by: by.map_or_else(
                || "Not recorded".to_owned(),
                |b| {
                    format!(
                        "{} on {}",
                        b.name,
                        b.occurred_at.format("%-d %B %Y at %H:%M")
                    )
                },
            ),
        });
    }
    Ok(moved)
}
