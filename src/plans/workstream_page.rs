//! `/icbs/{icb}/{year}/workstreams/{workstream}`: one workstream's details, annual target and
//! its monthly phasing, monthly actual savings, RAG updates, outcome measures and history.
//!
//! Each form carries the workstream's version; a save based on an older version is refused
//! with both values shown, and changes nothing.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::PgConnection;

use super::changes::{self, Change, Changes, month_key, month_label, parse_month_key};
use super::context::{IcbYear, PlanHeader, reopen_if_agreed, workstreams_changed};
use super::measures::{self, MeasureForm, MeasureView};
use super::plan_page::{self, NoticeQuery, notice_text, version_field};
use super::workstreams::{self, ICS_OBJECTIVES, Rag, Workstream};
use crate::AppState;
use crate::audit::{self, AuditEvent};
use crate::auth::CurrentUser;
use crate::auth::scope::Tx;
use crate::domain::{Pence, Progress, even_split, progress};
use crate::error::{AppError, AppResult};
use crate::forms::{FieldErrors, FormFields};
use crate::page::Layout;

/// One month's input in a form.
#[derive(Debug, Clone)]
pub struct MonthInput {
    /// `2024-04`, for the field name.
    pub key: String,
    /// `April 2024`.
    pub label: String,
    pub value: String,
}

/// A RAG update, for the log.
pub struct UpdateView {
    pub rag: Rag,
    pub narrative: String,
    pub author_name: String,
    pub created_at: DateTime<Utc>,
}

/// One entry of the workstream's history.
pub struct HistoryEntry {
    pub occurred_at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub changes: Vec<Change>,
}

/// The details form's values.
#[derive(Debug, Clone, Default)]
pub struct DetailsForm {
    pub title: String,
    pub description: String,
    pub lead_name: String,
    pub summary: String,
    pub objectives: Vec<String>,
}

impl DetailsForm {
    fn from_saved(w: &Workstream) -> Self {
        Self {
            title: w.title.clone().unwrap_or_default(),
            description: w.description.clone(),
            lead_name: w.lead_name.clone(),
            summary: w.summary.clone(),
            objectives: w.objectives.clone(),
        }
    }

    /// Whether the objective `key` is ticked.
    pub fn has(&self, key: &&str) -> bool {
        self.objectives.iter().any(|o| o == key)
    }

    fn objective_words(&self) -> String {
        ICS_OBJECTIVES
            .iter()
            .filter(|(k, _)| self.has(k))
            .map(|(_, words)| *words)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// `/icbs/{icb}/{year}/workstreams/{workstream}`
#[derive(Template, WebTemplate)]
#[template(path = "plans/workstream.html")]
pub struct WorkstreamPage {
    pub layout: Layout,
    pub header: PlanHeader,
    pub ws: Workstream,
    pub path: String,
    pub notice: Option<&'static str>,
    pub conflict: Option<Vec<Change>>,
    pub errors: FieldErrors,
    pub plan_locked: Option<String>,
    pub progress_locked: Option<String>,
    pub reopen_warning: bool,
    pub details: DetailsForm,
    pub objectives: &'static [(&'static str, &'static str)],
    pub annual_target: String,
    pub phasing: Vec<MonthInput>,
    pub phasing_total: Pence,
    pub phasing_mismatch: Option<String>,
    pub actuals: Vec<MonthInput>,
    pub figures: Progress,
    pub updates: Vec<UpdateView>,
    pub rags: [Rag; 3],
    pub update_rag: String,
    pub update_narrative: String,
    pub measures: Vec<MeasureView>,
    pub new_measure: MeasureForm,
    pub history: Vec<HistoryEntry>,
}

/// Everything a workstream request starts from.
pub struct Loaded {
    pub tx: Tx,
    pub ctx: IcbYear,
    pub plan_id: i32,
    pub ws: Workstream,
    /// Why progress on this workstream cannot be recorded, if it cannot.
    pub progress_locked: Option<String>,
    /// Why this workstream's part of the plan cannot be changed, if it cannot.
    pub plan_locked: Option<String>,
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

/// The monthly fields of a form: each month's value parsed by `parse` (blank means none),
/// the values as typed (to show again) and messages by the field. Months outside `year` and
/// months that have not started are refused.
pub fn month_fields<T>(
    form: &FormFields,
    fields: &MonthFields<'_>,
    year: crate::domain::FinancialYear,
    errors: &mut FieldErrors,
    parse: impl Fn(&str) -> Result<T, String>,
) -> (Vec<(NaiveDate, Option<T>)>, Vec<MonthInput>) {
    let MonthFields {
        prefix,
        id_prefix,
        group_id,
    } = fields;
    if let Some(first) = year.months().first() {
        errors.link_to(
            group_id,
            format!("{id_prefix}{prefix}{}", month_key(*first)),
        );
    }
    let this_month = crate::clock::this_month();
    let mut values = Vec::new();
    let mut sent = Vec::new();
    for (key, text) in form.with_prefix(prefix) {
        let Some(month) = parse_month_key(key).filter(|m| year.contains_month(*m)) else {
            errors.add(
                group_id,
                format!("Figures can only be entered for the months of {year}"),
            );
            continue;
        };
        sent.push(MonthInput {
            key: month_key(month),
            label: month_label(month),
            value: text.to_owned(),
        });
        let field = format!("{id_prefix}{prefix}{}", month_key(month));
        if text.is_empty() {
            values.push((month, None));
        } else if month > this_month {
            errors.add(
                &field,
                format!("{}: this month has not started yet", month_label(month)),
            );
        } else {
            match parse(text) {
                Ok(value) => values.push((month, Some(value))),
                Err(message) => errors.add(&field, format!("{}: {message}", month_label(month))),
            }
        }
    }
    (values, sent)
}

/// Proves scope, finds the plan and the workstream (404 when it is not this plan's).
pub async fn load(
    state: &AppState,
    user: &CurrentUser,
    code: &str,
    year: &str,
    workstream: &str,
) -> AppResult<Loaded> {
    let (mut tx, ctx) = plan_page::open(state, user, code, year).await?;
    let plan_id = ctx.require_plan()?.plan_id;
    let id: i32 = workstream.parse().map_err(|_| AppError::NotFound)?;
    let ws = workstreams::find(&mut tx, &ctx.icb, plan_id, id).await?;
    let removed = ws.removed_at.map(|_| {
        "This workstream has been removed from the plan, so it cannot be changed.".to_owned()
    });
    Ok(Loaded {
        progress_locked: removed.clone().or_else(|| ctx.progress_locked()),
        plan_locked: removed.or_else(|| ctx.plan_locked()),
        tx,
        ctx,
        plan_id,
        ws,
    })
}

fn month_inputs(months: &[NaiveDate], value: impl Fn(NaiveDate) -> String) -> Vec<MonthInput> {
    months
        .iter()
        .map(|m| MonthInput {
            key: month_key(*m),
            label: month_label(*m),
            value: value(*m),
        })
        .collect()
}

/// The page as saved.
pub async fn build(
    conn: &mut PgConnection,
    user: &CurrentUser,
    ctx: &IcbYear,
    ws: Workstream,
) -> AppResult<WorkstreamPage> {
    let months = workstreams::months(conn, &ctx.icb, ws.workstream_id).await?;
    let year_months = ctx.year.year.months();
    let saved = |m: NaiveDate| months.iter().find(|f| f.month == m);
    let phasing = month_inputs(&year_months, |m| {
        saved(m).map_or_else(|| "0".into(), |f| f.planned.input_value())
    });
    let actuals = month_inputs(&year_months, |m| {
        saved(m)
            .and_then(|f| f.actual)
            .map(Pence::input_value)
            .unwrap_or_default()
    });
    let phasing_total: Pence = months
        .iter()
        .filter(|f| ctx.year.year.contains_month(f.month))
        .map(|f| f.planned)
        .sum();
    let target = ws.annual_target();
    let phasing_mismatch = (phasing_total != target).then(|| {
        let gap = target - phasing_total;
        if gap.0 > 0 {
            format!(
                "The monthly phasing adds up to {}, which is {} less than the annual target of {}.",
                phasing_total.exact_display(),
                gap.exact_display(),
                target.exact_display()
            )
        } else {
            format!(
                "The monthly phasing adds up to {}, which is {} more than the annual target of {}.",
                phasing_total.exact_display(),
                (-gap).exact_display(),
                target.exact_display()
            )
        }
    });
    let figures = progress(ctx.year.year, target, &months, crate::clock::today());
    let updates = sqlx::query_as!(
        UpdateView,
        r#"
        select rag as "rag: Rag", narrative, author_name, created_at
        from workstream_update where icb_id = $1 and workstream_id = $2
        order by created_at desc, workstream_update_id desc
        "#,
        ctx.icb.icb_id(),
        ws.workstream_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let measures = measures::list(conn, &ctx.icb, ws.workstream_id, &year_months).await?;
    let history = history(conn, ctx, ws.workstream_id).await?;
    let plan_locked = ctx.plan_locked();
    let removed = ws.removed_at.is_some();
    Ok(WorkstreamPage {
        layout: user.layout(),
        header: ctx.header(""),
        path: workstream_path(ctx, &ws),
        notice: None,
        conflict: None,
        errors: FieldErrors::default(),
        reopen_warning: plan_locked.is_none() && ctx.change_reopens_plan(),
        plan_locked: if removed {
            Some(
                "This workstream has been removed from the plan. Its figures and history are kept."
                    .into(),
            )
        } else {
            plan_locked
        },
        progress_locked: if removed {
            Some("This workstream has been removed from the plan, so it cannot be changed.".into())
        } else {
            ctx.progress_locked()
        },
        details: DetailsForm::from_saved(&ws),
        objectives: &ICS_OBJECTIVES,
        annual_target: target.input_value(),
        phasing,
        phasing_total,
        phasing_mismatch,
        actuals,
        figures,
        updates,
        rags: Rag::ALL,
        update_rag: String::new(),
        update_narrative: String::new(),
        measures,
        new_measure: MeasureForm::default(),
        history,
        ws,
    })
}

/// The workstream's audit trail, newest first.
async fn history(
    conn: &mut PgConnection,
    ctx: &IcbYear,
    workstream_id: i32,
) -> sqlx::Result<Vec<HistoryEntry>> {
    let rows = sqlx::query!(
        r#"
        select e.occurred_at, coalesce(u.name, 'System') as "actor!", e.action, e.details
        from audit_event e left join app_user u on u.user_id = e.actor_user_id
        where e.object_type = 'workstream' and e.object_id = $1 and e.organisation_code = $2
        order by e.audit_event_id desc
        limit 200
        "#,
        workstream_id.to_string(),
        ctx.icb.ods_code()
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| HistoryEntry {
            occurred_at: r.occurred_at,
            actor: r.actor,
            action: action_label(&r.action).to_owned(),
            changes: changes::describe(&r.details),
        })
        .collect())
}

fn action_label(action: &str) -> &str {
    match action {
        "workstream.created" => "Added to the plan",
        "workstream.details_changed" => "Details changed",
        "workstream.target_changed" => "Target or phasing changed",
        "workstream.actuals_changed" => "Actual savings changed",
        "workstream.update_added" => "Update added",
        "workstream.removed" => "Removed from the plan",
        "measure.created" => "Measure added",
        "measure.values_changed" => "Measure values changed",
        other => other,
    }
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((code, year, workstream)): Path<(String, String, String)>,
    Query(query): Query<NoticeQuery>,
) -> AppResult<WorkstreamPage> {
    let Loaded {
        mut tx, ctx, ws, ..
    } = load(&state, &user, &code, &year, &workstream).await?;
    let mut page = build(&mut tx, &user, &ctx, ws).await?;
    page.notice = notice_text(query.notice.as_deref());
    Ok(page)
}

/// The answer to a refused form: the page with messages and the user's input kept.
fn refused(status: StatusCode, page: WorkstreamPage) -> Response {
    (status, page).into_response()
}

/// The answer to a stale save: the page as saved now, with what differs.
fn conflict(mut page: WorkstreamPage, rows: Changes) -> Response {
    page.conflict = Some(rows.into_vec());
    (StatusCode::CONFLICT, page).into_response()
}

/// `/icbs/{ods}/{year}/workstreams/{id}`
fn workstream_path(ctx: &IcbYear, ws: &Workstream) -> String {
    format!("{}/workstreams/{}", ctx.base_path(), ws.workstream_id)
}

/// Ends a save: audits the changes (if any) as `action`, commits, and goes back to the page
/// with a notice.
async fn finish(
    mut tx: Tx,
    user: &CurrentUser,
    ctx: &IcbYear,
    ws: &Workstream,
    action: &'static str,
    diff: &Changes,
    reopened: bool,
) -> AppResult<Response> {
    if !diff.is_empty() {
        let event = workstream_event(action, ctx, ws).details(diff.to_json());
        audit::record(&mut tx, &user.actor(), event).await?;
    }
    tx.commit().await?;
    let notice = if reopened { "reopened" } else { "saved" };
    Ok(Redirect::to(&format!("{}?notice={notice}", workstream_path(ctx, ws))).into_response())
}

fn workstream_event(action: &'static str, ctx: &IcbYear, ws: &Workstream) -> AuditEvent {
    AuditEvent::new(action)
        .object("workstream", ws.workstream_id)
        .organisation(Some(ctx.icb.ods_code()))
}

pub async fn save_details(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((code, year, workstream)): Path<(String, String, String)>,
    form: FormFields,
) -> AppResult<Response> {
    let Loaded {
        mut tx,
        ctx,
        ws,
        plan_locked,
        progress_locked,
        ..
    } = load(&state, &user, &code, &year, &workstream).await?;
    ctx.icb.require_edit()?;
    let sent = DetailsForm {
        title: form.get("title").to_owned(),
        description: form.get("description").to_owned(),
        lead_name: form.get("lead_name").to_owned(),
        summary: form.get("summary").to_owned(),
        objectives: ICS_OBJECTIVES
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| form.all("objectives").contains(k))
            .map(str::to_owned)
            .collect(),
    };
    let mut errors = FieldErrors::default();
    let locked = if ws.is_local() {
        plan_locked
    } else {
        progress_locked
    };
    if let Some(reason) = locked {
        errors.add("lead_name", reason);
    }
    if ws.is_local() && sent.title.is_empty() {
        errors.add("title", "Enter a title for the local priority");
    }
    for (field, value, max) in [
        ("title", &sent.title, 200),
        ("lead_name", &sent.lead_name, 200),
        ("description", &sent.description, 5000),
        ("summary", &sent.summary, 5000),
    ] {
        if value.chars().count() > max {
            errors.add(field, format!("Enter no more than {max} characters"));
        }
    }
    let saved = DetailsForm::from_saved(&ws);
    let mut diff = Changes::default();
    if ws.is_local() {
        diff.field("Title", &saved.title, &sent.title);
        diff.field("Description", &saved.description, &sent.description);
    }
    diff.field("Lead", &saved.lead_name, &sent.lead_name);
    diff.field("Summary", &saved.summary, &sent.summary);
    diff.field(
        "ICS objectives",
        saved.objective_words(),
        sent.objective_words(),
    );
    if !errors.is_empty() {
        let mut page = build(&mut tx, &user, &ctx, ws).await?;
        page.errors = errors;
        page.details = sent;
        return Ok(refused(StatusCode::UNPROCESSABLE_ENTITY, page));
    }
    if !workstreams::claim_version(&mut tx, &ctx.icb, ws.workstream_id, version_field(&form))
        .await?
    {
        let page = build(&mut tx, &user, &ctx, ws).await?;
        return Ok(conflict(page, diff));
    }
    sqlx::query!(
        r#"
        update workstream
           set title = case when opportunity_id is null then $3 else null end,
               description = $4, lead_name = $5, summary = $6, objectives = $7
         where icb_id = $1 and workstream_id = $2
        "#,
        ctx.icb.icb_id(),
        ws.workstream_id,
        sent.title,
        sent.description,
        sent.lead_name,
        sent.summary,
        &sent.objectives
    )
    .execute(&mut *tx)
    .await?;
    let reopened = if ws.is_local() && !diff.is_empty() {
        reopen_if_agreed(&mut tx, ctx.require_plan()?.plan_id).await?
    } else {
        false
    };
    finish(
        tx,
        &user,
        &ctx,
        &ws,
        "workstream.details_changed",
        &diff,
        reopened,
    )
    .await
}

pub async fn save_target(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((code, year, workstream)): Path<(String, String, String)>,
    form: FormFields,
) -> AppResult<Response> {
    let Loaded {
        mut tx,
        ctx,
        ws,
        plan_id,
        plan_locked,
        ..
    } = load(&state, &user, &code, &year, &workstream).await?;
    ctx.icb.require_edit()?;
    let fy = ctx.year.year;
    let mut errors = FieldErrors::default();
    if let Some(first) = fy.months().first() {
        errors.link_to("phasing", format!("planned_{}", month_key(*first)));
    }
    if let Some(reason) = plan_locked {
        errors.add("annual_target", reason);
    }
    let target_text = form.get("annual_target");
    let target = match Pence::parse(target_text) {
        Ok(p) if p.0 < 0 => {
            errors.add(
                "annual_target",
                "The annual target cannot be negative: enter the saving you plan to make",
            );
            None
        }
        Ok(p) => Some(p),
        Err(e) => {
            errors.add("annual_target", format!("Annual target: {e}"));
            None
        }
    };
    let split_evenly = form.get("action") == "split";
    let mut phasing: Vec<(NaiveDate, Pence)> = Vec::new();
    let mut sent_phasing: Vec<MonthInput> = Vec::new();
    for (key, value) in form.with_prefix("planned_") {
        let Some(month) = parse_month_key(key).filter(|m| fy.contains_month(*m)) else {
            errors.add(
                "phasing",
                format!("Phasing can only be set for the months of {fy}"),
            );
            continue;
        };
        sent_phasing.push(MonthInput {
            key: month_key(month),
            label: month_label(month),
            value: value.to_owned(),
        });
        if split_evenly {
            continue;
        }
        let field = format!("planned_{}", month_key(month));
        match Pence::parse(if value.is_empty() { "0" } else { value }) {
            Ok(p) => phasing.push((month, p)),
            Err(e) => errors.add(&field, format!("{}: {e}", month_label(month))),
        }
    }
    if let (true, Some(target)) = (split_evenly, target) {
        phasing = fy.months().into_iter().zip(even_split(target)).collect();
    }
    let saved_months = workstreams::months(&mut tx, &ctx.icb, ws.workstream_id).await?;
    let mut diff = Changes::default();
    if let Some(target) = target {
        diff.field(
            "Annual target",
            ws.annual_target().exact_display(),
            target.exact_display(),
        );
    } else {
        diff.field(
            "Annual target",
            ws.annual_target().exact_display(),
            target_text,
        );
    }
    for (month, amount) in &phasing {
        let before = saved_months
            .iter()
            .find(|f| f.month == *month)
            .map_or(Pence(0), |f| f.planned);
        diff.field(
            format!("Phasing {}", month_label(*month)),
            before.exact_display(),
            amount.exact_display(),
        );
    }
    let Some(target) = target.filter(|_| errors.is_empty()) else {
        let mut page = build(&mut tx, &user, &ctx, ws).await?;
        page.errors = errors;
        page.annual_target = target_text.to_owned();
        if !sent_phasing.is_empty() {
            page.phasing = sent_phasing;
        }
        return Ok(refused(StatusCode::UNPROCESSABLE_ENTITY, page));
    };
    if !workstreams::claim_version(&mut tx, &ctx.icb, ws.workstream_id, version_field(&form))
        .await?
    {
        let page = build(&mut tx, &user, &ctx, ws).await?;
        return Ok(conflict(page, diff));
    }
    sqlx::query!(
        "update workstream set annual_target_pence = $3 where icb_id = $1 and workstream_id = $2",
        ctx.icb.icb_id(),
        ws.workstream_id,
        target.0
    )
    .execute(&mut *tx)
    .await?;
    workstreams::save_phasing(&mut tx, &ctx.icb, ws.workstream_id, &phasing).await?;
    let reopened = !diff.is_empty() && reopen_if_agreed(&mut tx, plan_id).await?;
    finish(
        tx,
        &user,
        &ctx,
        &ws,
        "workstream.target_changed",
        &diff,
        reopened,
    )
    .await
}

pub async fn save_actuals(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((code, year, workstream)): Path<(String, String, String)>,
    form: FormFields,
) -> AppResult<Response> {
    let loaded = load(&state, &user, &code, &year, &workstream).await?;
    loaded.ctx.icb.require_edit()?;
    let mut errors = FieldErrors::default();
    if let Some(reason) = &loaded.progress_locked {
        errors.add("actuals", reason.clone());
    }
    let fields = MonthFields {
        prefix: "actual_",
        id_prefix: "",
        group_id: "actuals",
    };
    let (actuals, sent) = month_fields(&form, &fields, loaded.ctx.year.year, &mut errors, |text| {
        Pence::parse(text).map_err(|e| e.to_string())
    });
    let Loaded {
        mut tx, ctx, ws, ..
    } = loaded;
    let saved_months = workstreams::months(&mut tx, &ctx.icb, ws.workstream_id).await?;
    let shown =
        |p: Option<Pence>| p.map_or_else(|| "not reported".to_owned(), Pence::exact_display);
    let mut diff = Changes::default();
    for (month, amount) in &actuals {
        let before = saved_months
            .iter()
            .find(|f| f.month == *month)
            .and_then(|f| f.actual);
        diff.field(
            format!("Actual {}", month_label(*month)),
            shown(before),
            shown(*amount),
        );
    }
    if !errors.is_empty() {
        let mut page = build(&mut tx, &user, &ctx, ws).await?;
        page.errors = errors;
        if !sent.is_empty() {
            page.actuals = sent;
        }
        return Ok(refused(StatusCode::UNPROCESSABLE_ENTITY, page));
    }
    if !workstreams::claim_version(&mut tx, &ctx.icb, ws.workstream_id, version_field(&form))
        .await?
    {
        let page = build(&mut tx, &user, &ctx, ws).await?;
        return Ok(conflict(page, diff));
    }
    workstreams::save_actuals(&mut tx, &ctx.icb, ws.workstream_id, &actuals).await?;
    finish(
        tx,
        &user,
        &ctx,
        &ws,
        "workstream.actuals_changed",
        &diff,
        false,
    )
    .await
}

pub async fn add_update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((code, year, workstream)): Path<(String, String, String)>,
    form: FormFields,
) -> AppResult<Response> {
    let Loaded {
        mut tx,
        ctx,
        ws,
        progress_locked,
        ..
    } = load(&state, &user, &code, &year, &workstream).await?;
    ctx.icb.require_edit()?;
    let rag = Rag::from_key(form.get("rag"));
    let narrative = form.get("narrative");
    let mut errors = FieldErrors::default();
    if let Some(reason) = progress_locked {
        errors.add("rag", reason);
    }
    if rag.is_none() {
        errors.add("rag", "Choose a RAG status");
    }
    if narrative.is_empty() {
        errors.add(
            "narrative",
            "Enter an update: what has happened and what happens next",
        );
    } else if narrative.chars().count() > 5000 {
        errors.add("narrative", "Enter no more than 5000 characters");
    }
    let Some(rag) = rag.filter(|_| errors.is_empty()) else {
        let update_rag = form.get("rag").to_owned();
        let mut page = build(&mut tx, &user, &ctx, ws).await?;
        page.errors = errors;
        page.update_rag = update_rag;
        page.update_narrative = narrative.to_owned();
        return Ok(refused(StatusCode::UNPROCESSABLE_ENTITY, page));
    };
    sqlx::query!(
        r#"
        insert into workstream_update (workstream_id, icb_id, rag, narrative, author_user_id, author_name)
        values ($1, $2, $3, $4, $5, $6)
        "#,
        ws.workstream_id,
        ctx.icb.icb_id(),
        rag as Rag,
        narrative,
        user.user_id,
        user.name
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "update workstream set rag = $3, updated_at = now() where icb_id = $1 and workstream_id = $2",
        ctx.icb.icb_id(),
        ws.workstream_id,
        rag as Rag
    )
    .execute(&mut *tx)
    .await?;
    let event = workstream_event("workstream.update_added", &ctx, &ws).details(json!({
        "before": { "RAG status": ws.rag.map(Rag::label) },
        "after": { "RAG status": rag.label() },
    }));
    audit::record(&mut tx, &user.actor(), event).await?;
    // Audited above: an update is recorded even when the RAG status stays the same.
    finish(
        tx,
        &user,
        &ctx,
        &ws,
        "workstream.update_added",
        &Changes::default(),
        false,
    )
    .await
}

/// Confirmation before removing a workstream.
#[derive(Template, WebTemplate)]
#[template(path = "plans/confirm_remove.html")]
pub struct ConfirmRemovePage {
    pub layout: Layout,
    pub header: PlanHeader,
    pub ws: Workstream,
    pub path: String,
    pub has_progress: bool,
    pub locked: Option<String>,
}

pub async fn confirm_remove(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((code, year, workstream)): Path<(String, String, String)>,
) -> AppResult<ConfirmRemovePage> {
    let loaded = load(&state, &user, &code, &year, &workstream).await?;
    loaded.ctx.icb.require_edit()?;
    confirm_page(loaded, &user).await
}

async fn confirm_page(loaded: Loaded, user: &CurrentUser) -> AppResult<ConfirmRemovePage> {
    let Loaded {
        mut tx,
        ctx,
        ws,
        plan_locked,
        ..
    } = loaded;
    let has_progress =
        workstreams::has_recorded_progress(&mut tx, &ctx.icb, ws.workstream_id).await?;
    Ok(ConfirmRemovePage {
        layout: user.layout(),
        header: ctx.header(""),
        path: workstream_path(&ctx, &ws),
        locked: plan_locked,
        ws,
        has_progress,
    })
}

pub async fn remove(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((code, year, workstream)): Path<(String, String, String)>,
) -> AppResult<Response> {
    let loaded = load(&state, &user, &code, &year, &workstream).await?;
    loaded.ctx.icb.require_edit()?;
    if loaded.plan_locked.is_some() {
        let page = confirm_page(loaded, &user).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let Loaded {
        mut tx,
        ctx,
        ws,
        plan_id,
        ..
    } = loaded;
    sqlx::query!(
        "update workstream set removed_at = now(), updated_at = now() where icb_id = $1 and workstream_id = $2",
        ctx.icb.icb_id(),
        ws.workstream_id
    )
    .execute(&mut *tx)
    .await?;
    let reopened = workstreams_changed(&mut tx, plan_id).await?;
    let event = workstream_event("workstream.removed", &ctx, &ws).details(json!({
        "before": { "Workstream": ws.display_title() },
        "after": { "Workstream": "removed" },
    }));
    audit::record(&mut tx, &user.actor(), event).await?;
    tx.commit().await?;
    let notice = if reopened { "reopened" } else { "removed" };
    Ok(Redirect::to(&format!("{}/plan?notice={notice}", ctx.base_path())).into_response())
}
