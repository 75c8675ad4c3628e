//! The workstream page as saved ([`build`]), which every form of the page re-renders with its
//! messages or conflict, and the `GET` handler.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Query;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::history::{HistoryEntry, history};
use crate::assurance::workstream::AssuranceSection;
use crate::auth::CurrentUser;
use crate::domain::{Month, Pence, Progress, progress};
use crate::error::AppResult;
use crate::forms::{FieldErrors, MonthInput};
use crate::page::Layout;
use crate::plans::changes::Change;
use crate::plans::context::{IcbYear, PlanHeader};
use crate::plans::measures::{self, MeasureView};
use crate::plans::plan_page::{NoticeQuery, notice_text};
use crate::plans::request::WorkstreamView;
use crate::plans::workstreams::{self, ICS_OBJECTIVES, Rag, Workstream};

/// A RAG update, for the log.
pub struct UpdateView {
    pub rag: Rag,
    pub narrative: String,
    pub author_name: String,
    pub created_at: DateTime<Utc>,
}

/// The details form's values, as saved or as sent.
#[derive(Debug, Clone, Default)]
pub struct DetailsValues {
    pub title: String,
    pub description: String,
    pub lead_name: String,
    pub summary: String,
    pub objectives: Vec<String>,
}

impl DetailsValues {
    /// As saved.
    pub fn from_saved(w: &Workstream) -> Self {
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

    /// The ticked objectives in words, for the history.
    pub fn objective_words(&self) -> String {
        ICS_OBJECTIVES
            .iter()
            .filter(|(k, _)| self.has(k))
            .map(|(_, words)| *words)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The add-a-measure form's values, as sent (shown again when refused).
#[derive(Debug, Clone, Default)]
pub struct NewMeasureValues {
    pub name: String,
    pub unit: String,
    pub direction: String,
    pub baseline_value: String,
    pub baseline_month: String,
    pub target_value: String,
    pub target_month: String,
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
    pub details: DetailsValues,
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
    pub new_measure: NewMeasureValues,
    pub history: Vec<HistoryEntry>,
    /// Savings assurance: classification, full-year effect, forecast, suggested RAG, risks.
    pub assurance: AssuranceSection,
}

/// `/icbs/{ods}/{year}/workstreams/{id}`
pub fn workstream_path(ctx: &IcbYear, ws: &Workstream) -> String {
    format!("{}/workstreams/{}", ctx.base_path(), ws.workstream_id)
}

/// What the phasing adds up to, against the target, in words, when they differ.
fn phasing_mismatch(total: Pence, target: Pence) -> Option<String> {
    let gap = target - total;
    let (amount, side) = match gap.0.signum() {
        0 => return None,
        1 => (gap, "less"),
        _ => (-gap, "more"),
    };
    Some(format!(
        "The monthly phasing adds up to {}, which is {} {side} than the annual target of {}.",
        total.exact_display(),
        amount.exact_display(),
        target.exact_display()
    ))
}

/// The page as saved.
pub async fn build(
    conn: &mut PgConnection,
    user: &CurrentUser,
    ctx: &IcbYear,
    ws: Workstream,
) -> AppResult<WorkstreamPage> {
    let months = workstreams::months(conn, &ctx.icb, ws.workstream_id).await?;
    let year_months = ctx.year.year.reporting_months();
    let saved = |m: Month| months.iter().find(|f| f.month == m.first_day());
    let phasing = year_months
        .iter()
        .map(|m| {
            MonthInput::new(
                *m,
                saved(*m).map_or_else(|| "0".into(), |f| f.planned.input_value()),
            )
        })
        .collect();
    let actuals = year_months
        .iter()
        .map(|m| {
            MonthInput::new(
                *m,
                saved(*m)
                    .and_then(|f| f.actual)
                    .map(Pence::input_value)
                    .unwrap_or_default(),
            )
        })
        .collect();
    let phasing_total: Pence = months
        .iter()
        .filter(|f| ctx.year.year.contains_month(f.month))
        .map(|f| f.planned)
        .sum();
    let target = ws.annual_target();
    let figures = progress(ctx.year.year, target, &months, ctx.clock.today());
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
    let assurance = AssuranceSection::load(conn, ctx, &ws, &months, &figures).await?;
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
        details: DetailsValues::from_saved(&ws),
        objectives: &ICS_OBJECTIVES,
        annual_target: target.input_value(),
        phasing,
        phasing_total,
        phasing_mismatch: phasing_mismatch(phasing_total, target),
        actuals,
        figures,
        updates,
        rags: Rag::ALL,
        update_rag: String::new(),
        update_narrative: String::new(),
        measures,
        new_measure: NewMeasureValues::default(),
        history,
        assurance,
        ws,
    })
}

pub async fn show(
    WorkstreamView {
        mut tx,
        ctx,
        user,
        ws,
    }: WorkstreamView,
    Query(query): Query<NoticeQuery>,
) -> AppResult<WorkstreamPage> {
    let mut page = build(&mut tx, &user, &ctx, ws).await?;
    page.notice = notice_text(query.notice.as_deref());
    Ok(page)
}
