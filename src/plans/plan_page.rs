//! `/icbs/{icb}/{year}/plan`: the page showing the national opportunities an ICB chose, its
//! local priorities, and the submit and review forms. The forms' handlers live beside it
//! (`choices.rs`, `priorities.rs`, `review.rs`) and re-render this page when they refuse.

use std::collections::BTreeSet;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Query;
use serde::Deserialize;
use sqlx::PgConnection;

use super::checks::PlanChecks;
use super::context::{IcbYear, PlanHeader};
use super::request::PlanView;
use super::workstreams::{self, Workstream};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::forms::FieldErrors;
use crate::icbs::PlanStatus;
use crate::page::Layout;

/// A plan needs at least this many national opportunities to be submitted.
pub const MIN_NATIONAL_OPPORTUNITIES: usize = 5;

/// One opportunity of the year's catalogue, as a checkbox.
pub struct OpportunityOption {
    pub opportunity_id: i32,
    pub number: i16,
    pub title: String,
    pub efficiency_focus: bool,
    pub chosen: bool,
}

/// A catalogue group.
pub struct OpportunityGroup {
    pub name: String,
    pub options: Vec<OpportunityOption>,
}

/// A stale save: what the user sent and what is saved now (answered 409, nothing changed).
pub struct Conflict {
    pub yours: Vec<String>,
    pub saved: Vec<String>,
}

/// Notices shown after a redirect (`?notice=`).
#[derive(Debug, Deserialize, Default)]
pub struct NoticeQuery {
    #[serde(default)]
    pub notice: Option<String>,
}

/// The message for a notice key.
pub fn notice_text(key: Option<&str>) -> Option<&'static str> {
    Some(match key? {
        "reopened" => {
            "You changed an agreed plan, so it is back to draft. Submit it again when it is ready for review."
        }
        "saved" => "Your changes have been saved.",
        "submitted" => "The plan has been submitted to the regional team for review.",
        "agreed" => "The plan has been agreed.",
        "returned" => "The plan has been returned to the ICB with your comments.",
        "removed" => "The workstream has been removed. Its figures and history are kept.",
        "carried" => {
            "The plan has been started from last year's: check each workstream's target, then add this year's new savings."
        }
        _ => return None,
    })
}

/// `/icbs/{icb}/{year}/plan`
#[derive(Template, WebTemplate)]
#[template(path = "plans/plan.html")]
pub struct PlanPage {
    pub layout: Layout,
    pub header: PlanHeader,
    pub has_plan: bool,
    pub version: i32,
    pub review_comment: Option<String>,
    pub groups: Vec<OpportunityGroup>,
    pub national: Vec<Workstream>,
    pub local: Vec<Workstream>,
    pub chosen_count: usize,
    pub min_required: usize,
    pub can_edit: bool,
    pub plan_locked: Option<String>,
    pub reopen_warning: bool,
    pub can_submit: bool,
    pub can_review: bool,
    pub notice: Option<&'static str>,
    pub conflict: Option<Conflict>,
    pub errors: FieldErrors,
    pub priority_title: String,
    pub priority_description: String,
    /// The submit form's cover note: the last one sent, or as typed when refused.
    pub cover_note_value: String,
    /// What the plan must satisfy to be submitted (shown to editors and reviewers alike).
    pub checks: PlanChecks,
}

impl PlanPage {
    /// Whether any opportunity of the year carries NHS England's efficiency focus.
    pub fn has_efficiency_focus(&self) -> bool {
        self.groups
            .iter()
            .flat_map(|g| &g.options)
            .any(|o| o.efficiency_focus)
    }

    /// How many more national opportunities the plan needs before it can be submitted.
    pub fn still_needed(&self) -> usize {
        self.min_required.saturating_sub(self.chosen_count)
    }
}

/// Builds the page as saved, with `chosen` overriding the checkboxes when a form is redisplayed.
pub async fn build(
    conn: &mut PgConnection,
    user: &CurrentUser,
    ctx: &IcbYear,
    chosen_override: Option<&BTreeSet<i32>>,
) -> AppResult<PlanPage> {
    let (national, local) = match &ctx.plan {
        Some(plan) => workstreams::list(conn, &ctx.icb, plan.plan_id)
            .await?
            .into_iter()
            .partition(|w| !w.is_local()),
        None => (Vec::new(), Vec::new()),
    };
    let saved: BTreeSet<i32> = national.iter().filter_map(|w| w.opportunity_id).collect();
    let chosen = chosen_override.unwrap_or(&saved);
    let catalogue = sqlx::query!(
        r#"
        select opportunity_id, number, group_name, title, efficiency_focus
        from opportunity where programme_year_id = $1 order by number
        "#,
        ctx.year.programme_year_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut groups: Vec<OpportunityGroup> = Vec::new();
    for o in catalogue {
        if groups.last().is_none_or(|g| g.name != o.group_name) {
            groups.push(OpportunityGroup {
                name: o.group_name.clone(),
                options: Vec::new(),
            });
        }
        if let Some(group) = groups.last_mut() {
            group.options.push(OpportunityOption {
                opportunity_id: o.opportunity_id,
                number: o.number,
                title: o.title,
                efficiency_focus: o.efficiency_focus,
                chosen: chosen.contains(&o.opportunity_id),
            });
        }
    }
    let checks = match &ctx.plan {
        Some(plan) => PlanChecks::load(conn, &ctx.icb, plan.plan_id).await?,
        None => PlanChecks::default(),
    };
    let status = ctx.plan.as_ref().map(|p| p.status);
    let plan_locked = ctx.plan_locked();
    let cover_note = match &ctx.plan {
        Some(plan) => {
            sqlx::query_scalar!(
                "select cover_note from plan where icb_id = $1 and plan_id = $2",
                ctx.icb.icb_id(),
                plan.plan_id
            )
            .fetch_one(&mut *conn)
            .await?
        }
        None => String::new(),
    };
    Ok(PlanPage {
        layout: user.layout(),
        header: ctx.header("/plan"),
        has_plan: ctx.plan.is_some(),
        version: ctx.plan.as_ref().map_or(0, |p| p.version),
        review_comment: ctx.plan.as_ref().and_then(|p| p.review_comment.clone()),
        groups,
        chosen_count: national.len(),
        national,
        local,
        min_required: MIN_NATIONAL_OPPORTUNITIES,
        can_edit: ctx.icb.can_edit(),
        reopen_warning: plan_locked.is_none() && ctx.change_reopens_plan(),
        can_submit: plan_locked.is_none()
            && matches!(status, Some(PlanStatus::Draft | PlanStatus::Returned)),
        plan_locked,
        can_review: ctx.icb.can_review() && status == Some(PlanStatus::Submitted),
        notice: None,
        conflict: None,
        errors: FieldErrors::default(),
        priority_title: String::new(),
        priority_description: String::new(),
        cover_note_value: cover_note,
        checks,
    })
}

pub async fn show(
    PlanView { mut tx, ctx, user }: PlanView,
    Query(query): Query<NoticeQuery>,
) -> AppResult<PlanPage> {
    let mut page = build(&mut tx, &user, &ctx, None).await?;
    page.notice = notice_text(query.notice.as_deref());
    Ok(page)
}
