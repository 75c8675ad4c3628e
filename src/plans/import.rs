//! `/icbs/{icb}/{year}/import`: an ICB's editors report a month's figures from a CSV file.
//!
//! 1. Download a template for a month (`import/template.csv?month=2024-06`), pre-filled with
//!    the plan's workstreams and measures and what is saved for that month.
//! 2. Upload it: the whole file is checked ([`check`]) before anything is written; every
//!    problem is listed with its row and column, or the changes are shown for confirmation.
//! 3. Confirm: with the plan's row locked (so no page save or other import can slip in), the
//!    file (carried in the form) is checked again against what is saved now and applied in
//!    one transaction, only if the changes are exactly those that were shown (a digest of
//!    them travels with the form). If any figure changed since the preview, nothing is
//!    applied and the page lists what changed, and who changed it; applying the same preview
//!    twice applies it once.

mod check;
mod known;
mod stale;
mod write;

use askama::Template;
use askama_web::WebTemplate;
use axum::body::Bytes;
use axum::extract::Query;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use chrono::{Months, NaiveDate};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use check::{COLUMNS, Change, Checked, Known, MAX_FILE_BYTES};
use known::known;
use write::write_changes;

use super::changes::{month_key, month_label};
use super::context::IcbYear;
use super::measures::show_value;
use super::request::{PlanEdit, PlanView};
use crate::audit::{self, AuditEvent};
use crate::auth::CurrentUser;
use crate::clock::Clock;
use crate::domain::assurance::Confidence;
use crate::domain::{FinancialYear, Month, Pence};
use crate::error::AppResult;
use crate::exports::neutralise;
use crate::forms::{FieldErrors, Form};
use crate::page::Layout;

use super::context::PlanHeader;

/// A change as the preview lists it.
pub struct ChangeRow {
    pub what: String,
    pub month: String,
    pub before: String,
    pub after: String,
}

/// The checked file waiting for confirmation.
pub struct Preview {
    pub rows: Vec<ChangeRow>,
    pub unchanged: usize,
    pub file_rows: usize,
    /// The file, base64, for the confirm form.
    pub content: String,
    pub digest: String,
    /// The changes shown, JSON in base64, for the confirm form.
    pub shown: String,
}

/// A figure that changed between the preview and the apply.
pub struct MovedRow {
    pub what: String,
    pub month: String,
    pub when_checked: String,
    pub now: String,
    /// Who saved the figure now saved, and when, if the history says.
    pub changed_by: String,
}

/// A problem as the page lists it.
pub struct ProblemRow {
    pub row: String,
    pub column: String,
    pub message: String,
}

/// `/icbs/{icb}/{year}/import`
#[derive(Template, WebTemplate)]
#[template(path = "plans/import.html")]
pub struct ImportPage {
    pub layout: Layout,
    pub header: PlanHeader,
    /// `(2024-06, June 2024)` for the template's month choice, latest first.
    pub months: Vec<(String, String)>,
    pub selected_month: String,
    pub errors: FieldErrors,
    pub problems: Vec<ProblemRow>,
    pub more_problems: bool,
    pub preview: Option<Preview>,
    /// Figures that changed after the file was checked (the apply was refused).
    pub moved: Vec<MovedRow>,
    pub notice: Option<String>,
    pub locked: Option<String>,
    pub max_megabytes: usize,
}

#[derive(Debug, Default, Deserialize)]
pub struct ImportQuery {
    month: Option<String>,
    done: Option<usize>,
}

/// The confirm form: the file and the changes the preview showed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ApplyForm {
    /// The file, base64.
    content: String,
    /// The digest of the changes shown.
    digest: String,
    /// The changes shown, as JSON in base64, to say what moved if the apply is refused.
    shown: String,
}

/// The months of `year` that have started, latest first: the months a template can be for.
fn started_months(year: FinancialYear, clock: Clock) -> Vec<NaiveDate> {
    let this_month = clock.this_month().first_day();
    year.months()
        .into_iter()
        .filter(|m| *m <= this_month)
        .rev()
        .collect()
}

/// The month most likely being reported: last month, or the year's latest month if the year
/// ended before that.
fn default_month(year: FinancialYear, clock: Clock) -> Option<NaiveDate> {
    let started = started_months(year, clock);
    let last_month = clock.this_month().first_day() - Months::new(1);
    started
        .iter()
        .find(|m| **m <= last_month)
        .or(started.first())
        .copied()
}

fn page(user: &CurrentUser, ctx: &IcbYear) -> ImportPage {
    let months = started_months(ctx.year.year, ctx.clock);
    ImportPage {
        layout: user.layout(),
        header: ctx.header("/import"),
        months: months
            .iter()
            .map(|m| (month_key(*m), month_label(*m)))
            .collect(),
        selected_month: default_month(ctx.year.year, ctx.clock)
            .map(month_key)
            .unwrap_or_default(),
        errors: FieldErrors::default(),
        problems: Vec::new(),
        more_problems: false,
        preview: None,
        moved: Vec::new(),
        notice: None,
        locked: ctx.progress_locked(),
        max_megabytes: MAX_FILE_BYTES / (1024 * 1024),
    }
}

pub async fn show(
    PlanView { ctx, user, .. }: PlanView,
    Query(query): Query<ImportQuery>,
) -> AppResult<ImportPage> {
    ctx.icb.editor()?;
    ctx.require_plan()?;
    let mut page = page(&user, &ctx);
    if let Some(month) = query
        .month
        .filter(|m| page.months.iter().any(|(k, _)| k == m))
    {
        page.selected_month = month;
    }
    page.notice = query.done.map(|n| match n {
        0 => "Nothing was changed: every figure in the file was already saved.".to_owned(),
        1 => "1 figure was imported.".to_owned(),
        n => format!("{n} figures were imported."),
    });
    Ok(page)
}

/// `…/import/template.csv?month=2024-06`: the plan's workstreams and measures for the month,
/// with what is saved, ready to fill in.
pub async fn template(
    PlanView { mut tx, ctx, user }: PlanView,
    Query(query): Query<ImportQuery>,
) -> AppResult<Response> {
    ctx.icb.editor()?;
    let plan = ctx.require_plan()?;
    // With no month, the one the page offers first (normally last month).
    let month = match query.month {
        Some(key) => Month::parse_key(&key)
            .map(Month::first_day)
            .filter(|m| started_months(ctx.year.year, ctx.clock).contains(m)),
        None => default_month(ctx.year.year, ctx.clock),
    };
    let Some(month) = month else {
        let mut page = page(&user, &ctx);
        page.errors.add(
            "month",
            format!("Choose a month of {} that has started", ctx.year.year),
        );
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let known = known(&mut tx, &ctx, plan.plan_id).await?;
    let body = template_csv(&known, month);
    let file_name = format!("medopt-import-{}-{}.csv", known.icb_code, month_key(month));
    let mut response = Bytes::from(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// The template for `month`: a row per workstream and per measure, with what is saved.
fn template_csv(known: &Known, month: NaiveDate) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer("\u{feff}".as_bytes().to_vec());
    let date = month.format("%Y-%m-%d").to_string();
    let money = |p: Option<&Pence>| p.map(|p| p.decimal_pounds()).unwrap_or_default();
    let _ = writer.write_record(COLUMNS);
    for (id, ws) in &known.workstreams {
        let forecast = ws.forecasts.get(&month);
        let _ = writer.write_record([
            known.icb_code.as_str(),
            &date,
            "saving",
            &id.to_string(),
            "",
            &neutralise(&ws.title),
            "",
            &money(Some(ws.planned.get(&month).unwrap_or(&Pence(0)))),
            &money(ws.actual.get(&month)),
            "",
            &money(forecast.map(|(p, _)| p)),
            forecast.map_or("", |(_, c)| c.key()),
        ]);
    }
    for (id, m) in &known.measures {
        let _ = writer.write_record([
            known.icb_code.as_str(),
            &date,
            "measure",
            &m.workstream_id.to_string(),
            &id.to_string(),
            &neutralise(&m.name),
            "",
            "",
            "",
            &m.values
                .get(&month)
                .map(|v| show_value(*v))
                .unwrap_or_default(),
            "",
            "",
        ]);
    }
    writer.into_inner().unwrap_or_default()
}

/// The uploaded file's bytes, or what to tell the user.
async fn read_upload(multipart: Result<Multipart, MultipartRejection>) -> Result<Vec<u8>, String> {
    let no_file = "Choose a CSV file to upload".to_owned();
    let mut multipart = multipart.map_err(|_| no_file.clone())?;
    while let Ok(Some(mut field)) = multipart.next_field().await {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or_default().to_lowercase();
        if name.is_empty() {
            return Err(no_file);
        }
        if name.ends_with(".xlsx") || name.ends_with(".xls") || name.ends_with(".ods") {
            return Err("The file is a spreadsheet. In Excel, choose Save As, then CSV UTF-8 (Comma delimited), and upload that.".into());
        }
        let mut bytes = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    bytes.extend_from_slice(&chunk);
                    if bytes.len() > MAX_FILE_BYTES {
                        return Err(format!(
                            "The file is larger than {} MB. Import one month or a few months at a time.",
                            MAX_FILE_BYTES / (1024 * 1024)
                        ));
                    }
                }
                Ok(None) => return Ok(bytes),
                Err(_) => return Err("The file could not be uploaded. Try again.".into()),
            }
        }
    }
    Err(no_file)
}

/// The preview or problems of `bytes`, on `page`.
fn show_result(page: &mut ImportPage, known: &Known, bytes: &[u8]) -> StatusCode {
    match check::check(bytes, known) {
        Ok(checked) => {
            page.preview = Some(preview(known, &checked, bytes));
            StatusCode::OK
        }
        Err(problems) => {
            page.errors.add(
                "file",
                format!(
                    "The file has {} {}: nothing was imported. Correct them and upload it again.",
                    problems.len(),
                    if problems.len() == 1 {
                        "problem"
                    } else {
                        "problems"
                    }
                ),
            );
            page.more_problems = problems.len() >= 200;
            page.problems = problems
                .into_iter()
                .map(|p| ProblemRow {
                    row: p
                        .row
                        .map_or_else(|| "Whole file".to_owned(), |r| r.to_string()),
                    column: p.column_label().unwrap_or_default(),
                    message: p.message,
                })
                .collect();
            StatusCode::UNPROCESSABLE_ENTITY
        }
    }
}

fn digest(changes: &[Change]) -> String {
    let mut hasher = Sha256::new();
    for change in changes {
        hasher.update(change.canonical().as_bytes());
        hasher.update(b"\n");
    }
    format!("{:x}", hasher.finalize())
}

fn preview(known: &Known, checked: &Checked, bytes: &[u8]) -> Preview {
    let money =
        |p: Option<Pence>| p.map_or_else(|| "Not reported".to_owned(), Pence::exact_display);
    let number = |v: Option<f64>| v.map_or_else(|| "Not recorded".to_owned(), show_value);
    let forecast = |f: Option<(Pence, Confidence)>| {
        f.map_or_else(
            || "Not recorded".to_owned(),
            |(p, c)| {
                format!(
                    "{} ({} confidence)",
                    p.exact_display(),
                    c.label().to_lowercase()
                )
            },
        )
    };
    let rows = checked
        .changes
        .iter()
        .map(|change| match change {
            Change::Actual {
                workstream_id,
                month,
                before,
                after,
            } => ChangeRow {
                what: format!(
                    "Actual saving: {}",
                    known
                        .workstreams
                        .get(workstream_id)
                        .map_or("", |w| w.title.as_str())
                ),
                month: month_label(*month),
                before: money(*before),
                after: money(Some(*after)),
            },
            Change::Forecast {
                workstream_id,
                month,
                before,
                after,
            } => ChangeRow {
                what: format!(
                    "Forecast: {}",
                    known
                        .workstreams
                        .get(workstream_id)
                        .map_or("", |w| w.title.as_str())
                ),
                month: month_label(*month),
                before: forecast(*before),
                after: forecast(Some(*after)),
            },
            Change::Value {
                measure_id,
                month,
                before,
                after,
                ..
            } => ChangeRow {
                what: format!(
                    "Measure: {}",
                    known
                        .measures
                        .get(measure_id)
                        .map_or("", |m| m.name.as_str())
                ),
                month: month_label(*month),
                before: number(*before),
                after: number(Some(*after)),
            },
        })
        .collect();
    let shown = serde_json::to_vec(&checked.changes).unwrap_or_default();
    Preview {
        rows,
        unchanged: checked.unchanged,
        file_rows: checked.rows,
        content: base64::engine::general_purpose::STANDARD.encode(bytes),
        digest: digest(&checked.changes),
        shown: base64::engine::general_purpose::STANDARD.encode(shown),
    }
}

/// POST `…/import`: checks the uploaded file and shows its changes or its problems.
pub async fn upload(
    PlanView { mut tx, ctx, user }: PlanView,
    multipart: Result<Multipart, MultipartRejection>,
) -> AppResult<Response> {
    ctx.icb.editor()?;
    let plan_id = ctx.require_plan()?.plan_id;
    let mut page = page(&user, &ctx);
    if let Some(reason) = ctx.progress_locked() {
        page.errors.add("file", reason);
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let bytes = match read_upload(multipart).await {
        Ok(bytes) => bytes,
        Err(message) => {
            page.errors.add("file", message);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let known = known(&mut tx, &ctx, plan_id).await?;
    let status = show_result(&mut page, &known, &bytes);
    Ok((status, page).into_response())
}

/// POST `…/import/apply`: applies the previewed file if its changes are still those shown.
pub async fn apply(
    PlanEdit {
        mut tx,
        ctx,
        user,
        editor,
    }: PlanEdit,
    Form(form): Form<ApplyForm>,
) -> AppResult<Response> {
    let plan_id = ctx.require_plan()?.plan_id;
    let mut page = page(&user, &ctx);
    let engine = base64::engine::general_purpose::STANDARD;
    let bytes = engine
        .decode(form.content.trim())
        .ok()
        .filter(|b| !b.is_empty());
    let (Some(bytes), None) = (bytes, ctx.progress_locked()) else {
        let reason = ctx
            .progress_locked()
            .unwrap_or_else(|| "Upload the file again".to_owned());
        page.errors.add("file", reason);
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let known = known(&mut tx, &ctx, plan_id).await?;
    let checked = match check::check(&bytes, &known) {
        Ok(checked) if digest(&checked.changes) == form.digest.trim() => checked,
        Ok(_) => {
            let shown = stale::decode_shown(&form.shown);
            return stale::refuse(&mut tx, &ctx, page, &known, &bytes, &shown).await;
        }
        Err(_) => {
            let status = show_result(&mut page, &known, &bytes);
            return Ok((status, page).into_response());
        }
    };
    if !checked.changes.is_empty() {
        write_changes(&mut tx, &editor, &user, &known, &checked.changes).await?;
        let event = AuditEvent::new("import.applied")
            .object("plan", format!("{}/{}", ctx.icb.ods_code(), ctx.year.year.slug()))
            .organisation(Some(ctx.icb.ods_code()))
            .details(json!({ "changes": checked.changes.len(), "unchanged": checked.unchanged, "rows": checked.rows }));
        audit::record(&mut tx, &user.actor(), event).await?;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "{}/import?done={}",
        ctx.base_path(),
        checked.changes.len()
    ))
    .into_response())
}
