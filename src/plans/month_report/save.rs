//! `POST /icbs/{icb}/{year}/months/{month}`: the month's actual savings and measure values,
//! saved together in the plan-locked transaction, or refused whole: as stale (409) when any
//! record's version in the form is not the saved one, with messages by the fields (422)
//! otherwise. Only the records whose figures change are written and audited.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::page::{MonthConflict, MonthPage, MonthRow, build, load, locked, month_path};
use crate::audit::{self, AuditEvent};
use crate::auth::CurrentUser;
use crate::auth::scope::IcbEditor;
use crate::domain::{Month, Pence};
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form, Version};
use crate::plans::changes::Changes;
use crate::plans::context::IcbYear;
use crate::plans::measures::{self, parse_value, show_value};
use crate::plans::request::{MonthPath, PlanEdit};
use crate::plans::workstreams;

/// The month form: for each workstream `ws{id}_version` and `ws{id}_actual`, for each measure
/// `m{id}_version` and `m{id}_value`. Their names depend on the plan, so they are read as
/// sent (a field sent twice keeps both values, and is refused).
#[derive(Debug, Default)]
pub struct MonthForm(BTreeMap<String, Vec<String>>);

impl<'de> Deserialize<'de> for MonthForm {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        let map = BTreeMap::<String, OneOrMany>::deserialize(deserializer)?;
        Ok(MonthForm(
            map.into_iter()
                .map(|(name, value)| match value {
                    OneOrMany::One(v) => (name, vec![v]),
                    OneOrMany::Many(vs) => (name, vs),
                })
                .collect(),
        ))
    }
}

/// One record's fields as sent.
#[derive(Debug, Default, Clone)]
struct Sent {
    /// `None`: no version field (then the record is treated as stale if its value was sent).
    version: Option<Version>,
    /// `None`: the value field was not sent. Trimmed.
    text: Option<String>,
    repeated: bool,
}

/// The form's records: workstreams and measures by id.
#[derive(Debug, Default)]
struct SentForm {
    workstreams: BTreeMap<i32, Sent>,
    measures: BTreeMap<i32, Sent>,
}

impl SentForm {
    fn read(form: &MonthForm) -> Self {
        let mut sent = SentForm::default();
        for (name, values) in &form.0 {
            let (records, rest) = if let Some(rest) = name.strip_prefix("ws") {
                (&mut sent.workstreams, rest)
            } else if let Some(rest) = name.strip_prefix('m') {
                (&mut sent.measures, rest)
            } else {
                continue;
            };
            let Some((id, part)) = rest.split_once('_') else {
                continue;
            };
            let Some(id) = id.parse::<i32>().ok().filter(|id| *id > 0) else {
                continue;
            };
            let record = records.entry(id).or_default();
            let value = values
                .first()
                .map(|v| v.trim().to_owned())
                .unwrap_or_default();
            match part {
                "version" => {
                    record.version = Some(match values.len() {
                        1 => Version(value.parse().unwrap_or(-1)),
                        _ => Version(-1),
                    });
                }
                "actual" | "value" => {
                    record.repeated |= values.len() != 1;
                    record.text = Some(value);
                }
                _ => {}
            }
        }
        sent
    }

    /// Whose figures changed since the form was opened (a version that is not the saved one,
    /// or a record no longer on the page), with what was sent against what is saved; `None`
    /// when every version in the form is current.
    fn conflict(&self, saved: &[MonthRow]) -> Option<MonthConflict> {
        let mut changed = Vec::new();
        let mut diff = Changes::default();
        for (id, sent) in &self.workstreams {
            let Some(row) = saved.iter().find(|r| r.ws.workstream_id == *id) else {
                changed.push("A workstream that has since been removed from the plan".into());
                continue;
            };
            if sent.version != Some(Version(row.ws.version)) {
                let title = row.ws.display_title();
                if let Some(text) = &sent.text {
                    diff.field(format!("Actual saving, {title}"), row.input.clone(), text);
                }
                changed.push(title);
            }
        }
        for (id, sent) in &self.measures {
            let found = saved
                .iter()
                .find_map(|r| Some((r, r.measures.iter().find(|m| m.measure_id == *id)?)));
            let Some((row, measure)) = found else {
                changed.push("An outcome measure that has since been removed".into());
                continue;
            };
            if sent.version != Some(Version(measure.version)) {
                let name = format!("{}, {}", measure.name, row.ws.display_title());
                if let Some(text) = &sent.text {
                    diff.field(name.clone(), measure.input.clone(), text);
                }
                changed.push(name);
            }
        }
        (!changed.is_empty()).then(|| MonthConflict {
            changed,
            rows: diff.into_vec(),
        })
    }
}

/// A figure the save changes.
enum Change<'a> {
    Actual {
        row: &'a MonthRow,
        after: Option<Pence>,
    },
    Value {
        row: &'a MonthRow,
        measure: &'a super::page::MonthMeasure,
        after: Option<f64>,
    },
}

/// Reads the figures sent, with a message by each field that is wrong; returns those that
/// differ from the saved ones.
fn changes<'a>(
    sent: &SentForm,
    saved: &'a [MonthRow],
    ctx: &IcbYear,
    month: Month,
    errors: &mut FieldErrors,
) -> Vec<Change<'a>> {
    let started = month <= ctx.clock.this_month();
    let mut out = Vec::new();
    for row in saved {
        let title = row.ws.display_title();
        if let Some(text) = sent
            .workstreams
            .get(&row.ws.workstream_id)
            .and_then(|s| usable(s, &row.field(), &title, month, started, errors))
        {
            let after = match text.as_str() {
                "" => Ok(None),
                text => Pence::parse(text).map(Some),
            };
            match after {
                Ok(after) if after != row.actual => out.push(Change::Actual { row, after }),
                Ok(_) => {}
                Err(e) => errors.add(&row.field(), format!("{title}: {e}")),
            }
        }
        for measure in &row.measures {
            let Some(text) = sent
                .measures
                .get(&measure.measure_id)
                .and_then(|s| usable(s, &measure.field(), &measure.name, month, started, errors))
            else {
                continue;
            };
            let after = match text.as_str() {
                "" => Some(None),
                text => parse_value(text).map(Some),
            };
            match after {
                Some(after) if after.map(show_value) != measure.value.map(show_value) => {
                    out.push(Change::Value {
                        row,
                        measure,
                        after,
                    });
                }
                Some(_) => {}
                None => errors.add(
                    &measure.field(),
                    format!(
                        "Enter a number for {}, like 42, 12.5 or 1,234 (use a full stop for decimals)",
                        measure.name
                    ),
                ),
            }
        }
    }
    out
}

/// The text sent for a figure, unless it cannot be used (sent twice, or a figure for a month
/// that has not started), which gets a message by its `field`.
fn usable(
    sent: &Sent,
    field: &str,
    title: &str,
    month: Month,
    started: bool,
    errors: &mut FieldErrors,
) -> Option<String> {
    let text = sent.text.clone()?;
    if sent.repeated {
        errors.add(field, format!("{title}: enter the figure once"));
        None
    } else if !text.is_empty() && !started {
        errors.add(
            field,
            format!("{title}: {} has not started yet", month.label()),
        );
        None
    } else {
        Some(text)
    }
}

/// How an actual is shown in the history and in a conflict.
fn shown(p: Option<Pence>) -> String {
    p.map_or_else(|| "not reported".to_owned(), Pence::exact_display)
}

/// Writes `changes`, each record claiming its next version and audited on its workstream's
/// history. Returns whether every claim succeeded (under the plan's lock they do, having
/// been checked; if one did not, the caller drops the transaction and nothing is written).
async fn apply(
    tx: &mut PgConnection,
    editor: &IcbEditor,
    user: &CurrentUser,
    month: Month,
    changes: &[Change<'_>],
) -> AppResult<bool> {
    for change in changes {
        let (ws_id, action, mut details) = match change {
            Change::Actual { row, after } => {
                let id = row.ws.workstream_id;
                let version = Version(row.ws.version);
                if !workstreams::claim_version(&mut *tx, editor, id, version).await? {
                    return Ok(false);
                }
                workstreams::save_actuals(&mut *tx, editor, id, &[(month, *after)]).await?;
                let mut diff = Changes::default();
                let field = format!("Actual {}", month.label());
                diff.field(field, shown(row.actual), shown(*after));
                (id, "workstream.actuals_changed", diff.to_json())
            }
            Change::Value {
                row,
                measure,
                after,
            } => {
                let id = measure.measure_id;
                let version = Version(measure.version);
                if !measures::claim_version(&mut *tx, editor, id, version).await? {
                    return Ok(false);
                }
                measures::save_value(&mut *tx, editor, id, month, *after).await?;
                let mut diff = Changes::default();
                let field = format!("{} {}", measure.name, month.label());
                let show = |v: Option<f64>| v.map(show_value).unwrap_or_default();
                diff.field(field, show(measure.value), show(*after));
                let mut details = diff.to_json();
                details["measure_id"] = json!(id);
                (row.ws.workstream_id, "measure.values_changed", details)
            }
        };
        details["source"] = json!("month");
        let event = AuditEvent::new(action)
            .object("workstream", ws_id)
            .organisation(Some(editor.ods_code()))
            .details(details);
        audit::record(&mut *tx, &user.actor(), event).await?;
    }
    Ok(true)
}

/// The page as saved now, adjusted by `show`, answered with `status`. Nothing is written.
async fn refuse(
    conn: &mut PgConnection,
    user: &CurrentUser,
    ctx: &IcbYear,
    month: Month,
    status: StatusCode,
    show: impl FnOnce(&mut MonthPage),
) -> AppResult<Response> {
    let mut page = build(conn, user, ctx, month).await?;
    show(&mut page);
    Ok((status, page).into_response())
}

/// Puts the values as typed back in the page's fields.
fn show_sent(page: &mut MonthPage, sent: &SentForm) {
    for row in &mut page.rows {
        if let Some(text) = sent
            .workstreams
            .get(&row.ws.workstream_id)
            .and_then(|s| s.text.clone())
        {
            row.input = text;
        }
        for measure in &mut row.measures {
            if let Some(text) = sent
                .measures
                .get(&measure.measure_id)
                .and_then(|s| s.text.clone())
            {
                measure.input = text;
            }
        }
    }
}

pub async fn save(
    PlanEdit {
        mut tx,
        ctx,
        user,
        editor,
    }: PlanEdit,
    path: MonthPath,
    Form(form): Form<MonthForm>,
) -> AppResult<Response> {
    let month = path.month;
    let saved = load(&mut tx, &ctx, ctx.require_plan()?.plan_id, month).await?;
    let sent = SentForm::read(&form);
    // A form opened before someone else's change is answered as stale before anything else.
    if let Some(conflict) = sent.conflict(&saved) {
        let show = |page: &mut MonthPage| page.conflict = Some(conflict);
        return refuse(&mut tx, &user, &ctx, month, StatusCode::CONFLICT, show).await;
    }
    let mut errors = FieldErrors::default();
    if let Some(reason) = ctx.progress_locked() {
        errors.add("locked", reason);
    }
    let changes = changes(&sent, &saved, &ctx, month, &mut errors);
    if !errors.is_empty() {
        return refuse_errors(&mut tx, &user, &ctx, month, errors, &sent).await;
    }
    // In a savepoint: if a claim failed (it cannot, having been checked under the plan's lock),
    // nothing of this save is kept and the page is shown as saved.
    let mut writes = sqlx::Acquire::begin(&mut tx).await?;
    if !apply(&mut writes, &editor, &user, month, &changes).await? {
        writes.rollback().await?;
        let show = |page: &mut MonthPage| {
            page.conflict = Some(MonthConflict {
                changed: vec!["The figures of this month".into()],
                rows: Vec::new(),
            });
        };
        return refuse(&mut tx, &user, &ctx, month, StatusCode::CONFLICT, show).await;
    }
    writes.commit().await?;
    tx.commit().await?;
    let notice = if changes.is_empty() {
        "unchanged"
    } else {
        "saved"
    };
    Ok(Redirect::to(&format!("{}?notice={notice}", month_path(&ctx, month))).into_response())
}

/// Refuses the save with `errors` by their fields and the values as typed (422). A month that
/// cannot be recorded shows its figures as tables, so its messages lead to why instead.
async fn refuse_errors(
    conn: &mut PgConnection,
    user: &CurrentUser,
    ctx: &IcbYear,
    month: Month,
    mut errors: FieldErrors,
    sent: &SentForm,
) -> AppResult<Response> {
    if locked(ctx, month).is_some() {
        let fields: Vec<String> = errors.all().iter().map(|(f, _)| f.clone()).collect();
        for field in fields {
            errors.link_to(&field, "locked");
        }
    }
    let show = |page: &mut MonthPage| {
        page.errors = errors;
        show_sent(page, sent);
    };
    refuse(
        conn,
        user,
        ctx,
        month,
        StatusCode::UNPROCESSABLE_ENTITY,
        show,
    )
    .await
}
