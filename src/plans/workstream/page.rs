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
use crate::domain::{Month, Pence, PlanTotals, reporting_month};
use crate::error::AppResult;
use crate::figures;
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
    /// The workstream is (or the refused form said it is) a planned spending increase.
    pub cost_pressure: bool,
    pub phasing: Vec<MonthInput>,
    pub phasing_total: Pence,
    pub phasing_mismatch: Option<String>,
    pub actuals: Vec<MonthInput>,
    /// Each month's plan and actual as saved, for readers (who see tables, not forms).
    pub saved_months: Vec<SavedMonth>,
    /// Its figures to the reporting month.
    pub figures: PlanTotals,
    /// "to the end of September 2024".
    pub to_date: String,
    /// Due months it has not reported.
    pub months_not_reported: i32,
    /// The months of the year the ICB does not answer for, in words, when there are any.
    pub lifetime_note: Option<String>,
    pub updates: Vec<UpdateView>,
    pub rags: [Rag; 3],
    pub update_rag: String,
    pub update_narrative: String,
    pub measures: Vec<MeasureView>,
    pub new_measure: NewMeasureValues,
    pub history: Vec<HistoryEntry>,
    /// A national opportunity's measures from the national prescribing data (local priorities
    /// have none).
    pub prescribing: Option<crate::prescribing::PrescribingPanel>,
    /// Savings assurance: classification, full-year effect, forecast, suggested RAG, risks.
    pub assurance: AssuranceSection,
}

/// A month's plan and actual as saved.
pub struct SavedMonth {
    /// `April 2024`
    pub label: String,
    /// `2024-04`, for the month's page.
    pub key: String,
    pub planned: Pence,
    pub actual: Option<Pence>,
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

/// When the ICB did not exist for the whole year: which months it answers for.
pub fn lifetime_note(ctx: &IcbYear) -> Option<String> {
    let lifetime = ctx.icb.lifetime();
    let months = lifetime.months_in(ctx.year.year);
    if months.len() == 12 {
        return None;
    }
    let name = ctx.icb.name();
    let day = |d: chrono::NaiveDate| d.format("%-d %B %Y").to_string();
    let existed = match (months.first(), months.last()) {
        (Some(first), Some(last)) => format!(
            "its figures for {} count from {} to {}, the months it existed in",
            ctx.year.year,
            first.label(),
            last.label()
        ),
        _ => format!(
            "it did not exist in {}, so no figures count for it",
            ctx.year.year
        ),
    };
    let when = match lifetime.valid_to {
        Some(to) if to < ctx.year.year.ends_on() => format!("closed on {}", day(to)),
        _ => format!("started on {}", day(lifetime.valid_from)),
    };
    Some(format!("{name} {when}: {existed}."))
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
    let saved_months = year_months
        .iter()
        .map(|m| SavedMonth {
            label: m.label(),
            key: m.key(),
            planned: saved(*m).map_or(Pence(0), |f| f.planned),
            actual: saved(*m).and_then(|f| f.actual),
        })
        .collect();
    let phasing_total: Pence = months
        .iter()
        .filter(|f| ctx.year.year.contains_month(f.month))
        .map(|f| f.planned)
        .sum();
    let target = ws.annual_target();
    let to_month = reporting_month(ctx.clock.today());
    let plan_id = ctx.require_plan()?.plan_id;
    let own = figures::workstreams(conn, &ctx.icb, plan_id, to_month)
        .await?
        .into_iter()
        .find(|f| f.workstream_id == ws.workstream_id);
    let through = to_month.min(crate::domain::progress::last_month(ctx.year.year));
    let to_date = if through < crate::domain::progress::first_month(ctx.year.year) {
        "no month of the year is due yet".to_owned()
    } else {
        format!("to the end of {}", through.label())
    };
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
    let prescribing = match ws.number {
        Some(n) => Some(
            crate::prescribing::for_opportunity(conn, ctx.icb.icb_id(), n, ctx.year.year).await?,
        ),
        None => None,
    };
    let own_totals = own.as_ref().map(|f| f.totals).unwrap_or_default();
    let assurance = AssuranceSection::load(conn, ctx, &ws, &months, &own_totals).await?;
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
        cost_pressure: ws.cost_pressure,
        phasing,
        phasing_total,
        phasing_mismatch: phasing_mismatch(phasing_total, target),
        actuals,
        saved_months,
        figures: own_totals,
        months_not_reported: own.as_ref().map_or(0, |f| f.months_not_reported),
        to_date,
        lifetime_note: lifetime_note(ctx),
        updates,
        rags: Rag::ALL,
        update_rag: String::new(),
        update_narrative: String::new(),
        measures,
        new_measure: NewMeasureValues::default(),
        history,
        prescribing,
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
