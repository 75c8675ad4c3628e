//! `/icbs/{icb}/{year}/plan`: the national opportunities an ICB chose and its local
//! priorities. Choosing or un-choosing opportunities creates or removes workstreams; a
//! workstream with recorded progress is only removed after a confirmation, and is kept
//! (soft-deleted) with its history so choosing it again brings everything back.

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::context::{IcbYear, PlanHeader, reopen_if_agreed, workstreams_changed};
use super::workstreams::{self, Workstream};
use crate::AppState;
use crate::audit::{self, AuditEvent};
use crate::auth::CurrentUser;
use crate::auth::scope::{self, Tx};
use crate::error::AppResult;
use crate::forms::{FieldErrors, FormFields};
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

/// A stale save: what the user sent and what is saved now.
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
    pub review_decision: String,
    pub review_comment_value: String,
}

impl PlanPage {
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
    let status = ctx.plan.as_ref().map(|p| p.status);
    let plan_locked = ctx.plan_locked();
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
        review_decision: String::new(),
        review_comment_value: String::new(),
    })
}

/// Opens the request's scoped transaction and loads the ICB and year.
pub async fn open(
    state: &AppState,
    user: &CurrentUser,
    code: &str,
    year: &str,
) -> AppResult<(Tx, IcbYear)> {
    let mut tx = scope::begin(state, &user.scope()).await?;
    let ctx = IcbYear::load(state, user, &mut tx, code, year).await?;
    Ok((tx, ctx))
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((code, year)): Path<(String, String)>,
    Query(query): Query<NoticeQuery>,
) -> AppResult<PlanPage> {
    let (mut tx, ctx) = open(&state, &user, &code, &year).await?;
    let mut page = build(&mut tx, &user, &ctx, None).await?;
    page.notice = notice_text(query.notice.as_deref());
    Ok(page)
}

/// A form's `version` field.
pub fn version_field(form: &FormFields) -> i32 {
    form.get("version").parse().unwrap_or(-1)
}

/// Confirmation before removing workstreams with recorded progress.
#[derive(Template, WebTemplate)]
#[template(path = "plans/confirm_unchoose.html")]
pub struct ConfirmUnchoosePage {
    pub layout: Layout,
    pub header: PlanHeader,
    pub removing: Vec<Workstream>,
    pub chosen: Vec<i32>,
    pub version: i32,
}

pub async fn choose_opportunities(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((code, year)): Path<(String, String)>,
    form: FormFields,
) -> AppResult<Response> {
    let (mut tx, ctx) = open(&state, &user, &code, &year).await?;
    ctx.icb.require_edit()?;
    let plan = ctx.require_plan()?.clone();
    let mut page_errors = FieldErrors::default();
    if let Some(reason) = ctx.plan_locked() {
        page_errors.add("opportunities", reason);
    }
    let wanted: BTreeSet<i32> = form
        .all("opportunity")
        .into_iter()
        .filter_map(|v| v.parse().ok())
        .collect();
    // id → "4. Title", for checking the choices and for messages
    let catalogue: BTreeMap<i32, String> = sqlx::query!(
        r#"select opportunity_id, number || '. ' || title as "title!"
           from opportunity where programme_year_id = $1"#,
        ctx.year.programme_year_id
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|o| (o.opportunity_id, o.title))
    .collect();
    let titles = |ids: &BTreeSet<i32>| -> Vec<String> {
        ids.iter()
            .filter_map(|id| catalogue.get(id).cloned())
            .collect()
    };
    if !wanted.iter().all(|id| catalogue.contains_key(id)) {
        page_errors.add(
            "opportunities",
            format!("Choose opportunities from the {} catalogue", ctx.year.year),
        );
    }
    if !page_errors.is_empty() {
        let mut page = build(&mut tx, &user, &ctx, Some(&wanted)).await?;
        page.errors = page_errors;
        if let Some(first) = page.groups.first().and_then(|g| g.options.first()) {
            page.errors
                .link_to("opportunities", format!("opportunity-{}", first.number));
        }
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }

    let current = workstreams::list(&mut tx, &ctx.icb, plan.plan_id).await?;
    let saved: BTreeSet<i32> = current.iter().filter_map(|w| w.opportunity_id).collect();
    if version_field(&form) != plan.version {
        let mut page = build(&mut tx, &user, &ctx, None).await?;
        page.conflict = Some(Conflict {
            yours: titles(&wanted),
            saved: titles(&saved),
        });
        return Ok((StatusCode::CONFLICT, page).into_response());
    }
    if wanted == saved {
        return Ok(Redirect::to(&format!("{}/plan", ctx.base_path())).into_response());
    }

    let removing: Vec<Workstream> = current
        .iter()
        .filter(|w| w.opportunity_id.is_some_and(|o| !wanted.contains(&o)))
        .cloned()
        .collect();
    if form.get("confirm_remove") != "yes" {
        let mut needs_confirmation = Vec::new();
        for w in &removing {
            if workstreams::has_recorded_progress(&mut tx, &ctx.icb, w.workstream_id).await? {
                needs_confirmation.push(w.clone());
            }
        }
        if !needs_confirmation.is_empty() {
            let page = ConfirmUnchoosePage {
                layout: user.layout(),
                header: ctx.header("/plan"),
                removing: needs_confirmation,
                chosen: wanted.iter().copied().collect(),
                version: plan.version,
            };
            return Ok(page.into_response());
        }
    }

    let adding: Vec<i32> = wanted.difference(&saved).copied().collect();
    sqlx::query!(
        r#"
        insert into workstream (icb_id, plan_id, opportunity_id)
        select $1, $2, unnest($3::integer[])
        on conflict (plan_id, opportunity_id) do update set removed_at = null, updated_at = now()
        "#,
        ctx.icb.icb_id(),
        plan.plan_id,
        &adding
    )
    .execute(&mut *tx)
    .await?;
    let removing_ids: Vec<i32> = removing.iter().map(|w| w.workstream_id).collect();
    sqlx::query!(
        "update workstream set removed_at = now(), updated_at = now() where icb_id = $1 and workstream_id = any($2)",
        ctx.icb.icb_id(),
        &removing_ids
    )
    .execute(&mut *tx)
    .await?;
    let reopened = workstreams_changed(&mut tx, plan.plan_id).await?;
    let event = AuditEvent::new("plan.opportunities_changed")
        .object(
            "plan",
            format!("{}/{}", ctx.icb.ods_code(), ctx.year.year.slug()),
        )
        .organisation(Some(ctx.icb.ods_code()))
        .details(json!({
            "before": titles(&saved),
            "after": titles(&wanted),
            "reopened": reopened,
        }));
    audit::record(&mut tx, &user.actor(), event).await?;
    tx.commit().await?;
    let notice = if reopened { "reopened" } else { "saved" };
    Ok(Redirect::to(&format!("{}/plan?notice={notice}", ctx.base_path())).into_response())
}

pub async fn add_priority(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((code, year)): Path<(String, String)>,
    form: FormFields,
) -> AppResult<Response> {
    let (mut tx, ctx) = open(&state, &user, &code, &year).await?;
    ctx.icb.require_edit()?;
    let plan = ctx.require_plan()?.clone();
    let title = form.get("priority_title");
    let description = form.get("priority_description");
    let mut errors = FieldErrors::default();
    if let Some(reason) = ctx.plan_locked() {
        errors.add("priority_title", reason);
    }
    if title.is_empty() {
        errors.add("priority_title", "Enter a title for the local priority");
    } else if title.chars().count() > 200 {
        errors.add("priority_title", "Title must be 200 characters or fewer");
    }
    if description.chars().count() > 5000 {
        errors.add(
            "priority_description",
            "Description must be 5,000 characters or fewer",
        );
    }
    if !errors.is_empty() {
        let mut page = build(&mut tx, &user, &ctx, None).await?;
        page.errors = errors;
        page.priority_title = title.to_owned();
        page.priority_description = description.to_owned();
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let id = sqlx::query_scalar!(
        r#"
        insert into workstream (icb_id, plan_id, title, description)
        values ($1, $2, $3, $4) returning workstream_id
        "#,
        ctx.icb.icb_id(),
        plan.plan_id,
        title,
        description
    )
    .fetch_one(&mut *tx)
    .await?;
    let reopened = reopen_if_agreed(&mut tx, plan.plan_id).await?;
    let event = AuditEvent::new("workstream.created")
        .object("workstream", id)
        .organisation(Some(ctx.icb.ods_code()))
        .details(json!({ "after": { "title": title, "description": description }, "reopened": reopened }));
    audit::record(&mut tx, &user.actor(), event).await?;
    tx.commit().await?;
    let notice = if reopened { "reopened" } else { "saved" };
    Ok(Redirect::to(&format!(
        "{}/workstreams/{id}?notice={notice}",
        ctx.base_path()
    ))
    .into_response())
}
