//! How every save on the workstream page ends: refused with messages (422), refused as stale
//! with what differs (409), or applied, audited and sent back to the page with a notice. And
//! how the one-field-per-month parts of its forms are read.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::page::{WorkstreamPage, build, workstream_path};
use crate::audit::{self, AuditEvent};
use crate::domain::{FinancialYear, Month};
use crate::error::AppResult;
use crate::forms::{FieldErrors, MonthEntries, MonthInput};
use crate::plans::changes::Changes;
use crate::plans::context::IcbYear;
use crate::plans::request::WorkstreamEdit;
use crate::plans::workstreams::Workstream;

/// Refuses the save: the page as saved, adjusted by `show` (messages, the values sent), 422.
pub async fn refuse(
    edit: WorkstreamEdit,
    show: impl FnOnce(&mut WorkstreamPage),
) -> AppResult<Response> {
    let WorkstreamEdit {
        mut tx,
        ctx,
        user,
        ws,
        ..
    } = edit;
    let mut page = build(&mut tx, &user, &ctx, ws).await?;
    show(&mut page);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// Refuses a save based on a stale page: the page as saved now, with what the user sent
/// against what is saved (409). Nothing is changed.
pub async fn stale(edit: WorkstreamEdit, sent: Changes) -> AppResult<Response> {
    let WorkstreamEdit {
        mut tx,
        ctx,
        user,
        ws,
        ..
    } = edit;
    let mut page = build(&mut tx, &user, &ctx, ws).await?;
    page.conflict = Some(sent.into_vec());
    Ok((StatusCode::CONFLICT, page).into_response())
}

/// Ends an applied save: audits the changes (if any) as `action`, commits, and goes back to
/// the page with a notice (`reopened` when an agreed plan went back to draft).
pub async fn finish(
    edit: WorkstreamEdit,
    action: &'static str,
    diff: &Changes,
    reopened: bool,
) -> AppResult<Response> {
    let WorkstreamEdit {
        mut tx,
        ctx,
        user,
        ws,
        ..
    } = edit;
    if !diff.is_empty() {
        let event = workstream_event(action, &ctx, &ws).details(diff.to_json());
        audit::record(&mut tx, &user.actor(), event).await?;
    }
    tx.commit().await?;
    let notice = if reopened { "reopened" } else { "saved" };
    Ok(Redirect::to(&format!("{}?notice={notice}", workstream_path(&ctx, &ws))).into_response())
}

/// An audit event about the workstream.
pub fn workstream_event(action: &'static str, ctx: &IcbYear, ws: &Workstream) -> AuditEvent {
    AuditEvent::new(action)
        .object("workstream", ws.workstream_id)
        .organisation(Some(ctx.icb.ods_code()))
}

/// Where a form's monthly fields are and where their messages go.
pub struct MonthFields<'a> {
    /// Field names are `{prefix}{yyyy-mm}`, e.g. `actual_2024-04`.
    pub prefix: &'a str,
    /// Prepended to a field's name to make the id its message is shown by.
    pub id_prefix: &'a str,
    /// The id of the whole group, for messages about no month in particular.
    pub group_id: &'a str,
}

/// The monthly fields of a form that records what happened: each month's value parsed by
/// `parse` (blank means none), the values as typed (to show again) and messages by the
/// field. Months outside `year`, months sent twice and months that have not started are
/// refused.
pub fn reported_months<T>(
    entries: &MonthEntries,
    fields: &MonthFields<'_>,
    year: FinancialYear,
    this_month: Month,
    errors: &mut FieldErrors,
    parse: impl Fn(&str) -> Result<T, String>,
) -> (Vec<(Month, Option<T>)>, Vec<MonthInput>) {
    let MonthFields {
        prefix,
        id_prefix,
        group_id,
    } = fields;
    if let Some(first) = year.reporting_months().first() {
        errors.link_to(group_id, format!("{id_prefix}{prefix}{}", first.key()));
    }
    let mut values = Vec::new();
    let mut sent = Vec::new();
    for entry in entries.read(prefix, year, group_id, errors) {
        let month = entry.month;
        sent.push(MonthInput::new(month, entry.text.clone()));
        let field = format!("{id_prefix}{}", entry.field);
        if entry.text.is_empty() {
            values.push((month, None));
        } else if month > this_month {
            errors.add(
                &field,
                format!("{}: this month has not started yet", month.label()),
            );
        } else {
            match parse(&entry.text) {
                Ok(value) => values.push((month, Some(value))),
                Err(message) => errors.add(&field, format!("{}: {message}", month.label())),
            }
        }
    }
    (values, sent)
}
