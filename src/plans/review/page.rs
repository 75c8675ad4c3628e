//! `/icbs/{icb}/{year}/review`: what a reviewer needs before deciding, above the decision
//! form — the plan's totals, the checks, each workstream's target and phasing, what changed
//! since the plan was last agreed, the ICB's cover note and the dated history of every
//! submission and decision with its comments. Everyone who can read the plan sees the page;
//! the form is there for the region's reviewers while the plan waits for them.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Query;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::history::{self, ReviewEvent};
use super::snapshot::{self, ContentChange, SnapshotWorkstream};
use crate::auth::CurrentUser;
use crate::domain::Pence;
use crate::error::AppResult;
use crate::forms::FieldErrors;
use crate::icbs::PlanStatus;
use crate::page::Layout;
use crate::plans::checks::PlanChecks;
use crate::plans::context::{IcbYear, PlanHeader};
use crate::plans::plan_page::{Conflict, NoticeQuery, notice_text};
use crate::plans::request::PlanView;
use crate::plans::workstreams;

/// One of the checks a reviewer makes.
pub struct Check {
    pub id: &'static str,
    pub label: String,
    pub passed: bool,
    /// What was found, in words.
    pub detail: String,
}

/// A workstream as the reviewer sees it: its target and phasing.
pub struct ReviewRow {
    pub content: SnapshotWorkstream,
    pub href: String,
    pub lead: String,
    pub local: bool,
}

impl ReviewRow {
    /// Whether the phasing adds up to the annual target.
    pub fn adds_up(&self) -> bool {
        self.content.phased_total() == self.content.annual_target()
    }

    /// The twelve months' phasing, April first.
    pub fn phasing(&self) -> Vec<Pence> {
        (0..12).map(|i| self.content.planned(i)).collect()
    }
}

/// `/icbs/{icb}/{year}/review`
#[derive(Template, WebTemplate)]
#[template(path = "plans/review.html")]
pub struct ReviewPage {
    pub layout: Layout,
    pub header: PlanHeader,
    pub version: i32,
    pub submitted_at: Option<DateTime<Utc>>,
    pub cover_note: String,
    pub national: usize,
    pub local: usize,
    pub annual_target: Pence,
    pub phased_total: Pence,
    pub checks: Vec<Check>,
    pub rows: Vec<ReviewRow>,
    /// `Apr`, `May`, … and `April 2024`, …
    pub months: Vec<(String, String)>,
    /// When the plan was last agreed (with a snapshot of its content then).
    pub last_agreed: Option<DateTime<Utc>>,
    pub changes: Vec<ContentChange>,
    pub history: Vec<ReviewEvent>,
    /// The reviewer may decide now (the plan is submitted and theirs to review).
    pub can_review: bool,
    pub notice: Option<&'static str>,
    pub conflict: Option<Conflict>,
    pub errors: FieldErrors,
    pub review_decision: String,
    pub review_comment_value: String,
}

impl ReviewPage {
    /// Whether every check passed.
    pub fn all_passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }
}

/// The checks of [`PlanChecks`] as the reviewer reads them: each with what was found.
fn checks_view(checks: &PlanChecks) -> Vec<Check> {
    checks
        .checks
        .iter()
        .map(|c| Check {
            id: match c.key {
                "national" => "check-opportunities",
                "targets" => "check-targets",
                _ => "check-phasing",
            },
            label: c.label.to_owned(),
            passed: c.passed,
            detail: c.problem.clone().unwrap_or_else(|| match c.key {
                "national" => format!("{} chosen", checks.national_chosen),
                "targets" => "All have one".into(),
                _ => "All add up".into(),
            }),
        })
        .collect()
}

/// The page as saved.
pub async fn build(
    conn: &mut PgConnection,
    user: &CurrentUser,
    ctx: &IcbYear,
) -> AppResult<ReviewPage> {
    let plan = ctx.require_plan()?.clone();
    let content = history::current(conn, &ctx.icb, plan.plan_id).await?;
    let live = workstreams::list(conn, &ctx.icb, plan.plan_id).await?;
    let last_agreed = history::last_agreed(conn, &ctx.icb, plan.plan_id).await?;
    let history = history::list(conn, &ctx.icb, plan.plan_id).await?;
    let cover_note = sqlx::query_scalar!(
        "select cover_note from plan where icb_id = $1 and plan_id = $2",
        ctx.icb.icb_id(),
        plan.plan_id
    )
    .fetch_one(&mut *conn)
    .await?;
    let months = ctx.year.year.reporting_months();
    let changes = last_agreed
        .as_ref()
        .map(|(_, agreed)| snapshot::changes(agreed, &content, &months))
        .unwrap_or_default();
    let rows = content
        .workstreams
        .iter()
        .map(|w| {
            let ws = live.iter().find(|l| l.workstream_id == w.id);
            ReviewRow {
                href: format!("{}/workstreams/{}", ctx.base_path(), w.id),
                lead: ws.map(|l| l.lead_name.clone()).unwrap_or_default(),
                local: w.number.is_none(),
                content: w.clone(),
            }
        })
        .collect::<Vec<_>>();
    Ok(ReviewPage {
        layout: user.layout(),
        header: ctx.header("/review"),
        version: plan.version,
        submitted_at: plan.submitted_at,
        cover_note,
        national: rows.iter().filter(|r| !r.local).count(),
        local: rows.iter().filter(|r| r.local).count(),
        annual_target: rows.iter().map(|r| r.content.annual_target()).sum(),
        phased_total: rows.iter().map(|r| r.content.phased_total()).sum(),
        checks: checks_view(&PlanChecks::load(conn, &ctx.icb, plan.plan_id).await?),
        rows,
        months: months
            .iter()
            .map(|m| (m.first_day().format("%b").to_string(), m.label()))
            .collect(),
        last_agreed: last_agreed.map(|(at, _)| at),
        changes,
        history,
        can_review: ctx.icb.can_review() && plan.status == PlanStatus::Submitted,
        notice: None,
        conflict: None,
        errors: FieldErrors::default(),
        review_decision: String::new(),
        review_comment_value: String::new(),
    })
}

pub async fn show(
    PlanView { mut tx, ctx, user }: PlanView,
    Query(query): Query<NoticeQuery>,
) -> AppResult<ReviewPage> {
    let mut page = build(&mut tx, &user, &ctx).await?;
    page.notice = notice_text(query.notice.as_deref());
    Ok(page)
}
