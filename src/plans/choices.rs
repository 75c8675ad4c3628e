//! Choosing the plan's national opportunities (`POST …/plan/opportunities`). Each chosen
//! opportunity is a workstream; un-choosing one removes it (soft delete: its figures and history
//! are kept, and choosing it again brings everything back). A workstream with recorded progress
//! is only removed after a confirmation page.

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::context::PlanHeader;
use super::plan_page::{self, Conflict};
use super::request::PlanEdit;
use super::workflow;
use super::workstreams::{self, Workstream};
use crate::audit::{self, AuditEvent};
use crate::auth::scope::IcbAccess;
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form, Version};
use crate::page::Layout;

/// The choices form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ChoicesForm {
    version: Version,
    /// Opportunity ids, one per ticked box.
    opportunity: Vec<String>,
    /// `yes` once the user confirmed removing workstreams with recorded progress.
    confirm_remove: String,
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

/// The year's catalogue: id → `4. Title`, for checking choices and for messages.
async fn catalogue(
    conn: &mut PgConnection,
    programme_year_id: i16,
) -> sqlx::Result<BTreeMap<i32, String>> {
    Ok(sqlx::query!(
        r#"select opportunity_id, number || '. ' || coalesce(title, 'Title to be confirmed') as "title!"
           from opportunity where programme_year_id = $1"#,
        programme_year_id
    )
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(|o| (o.opportunity_id, o.title))
    .collect())
}

pub async fn choose_opportunities(
    PlanEdit {
        mut tx,
        ctx,
        user,
        editor,
    }: PlanEdit,
    Form(form): Form<ChoicesForm>,
) -> AppResult<Response> {
    let plan = ctx.require_plan()?.clone();
    let catalogue = catalogue(&mut tx, ctx.year.programme_year_id).await?;
    let titles = |ids: &BTreeSet<i32>| -> Vec<String> {
        ids.iter()
            .filter_map(|id| catalogue.get(id).cloned())
            .collect()
    };
    let wanted: Option<BTreeSet<i32>> = form
        .opportunity
        .iter()
        .map(|v| {
            v.trim()
                .parse()
                .ok()
                .filter(|id| catalogue.contains_key(id))
        })
        .collect();
    let mut errors = FieldErrors::default();
    if let Some(reason) = ctx.plan_locked() {
        errors.add("opportunities", reason);
    } else if wanted.is_none() {
        errors.add(
            "opportunities",
            format!("Choose opportunities from the {} catalogue", ctx.year.year),
        );
    }
    let wanted = wanted.unwrap_or_default();
    if !errors.is_empty() {
        let mut page = plan_page::build(&mut tx, &user, &ctx, Some(&wanted)).await?;
        if let Some(first) = page.groups.first().and_then(|g| g.options.first()) {
            errors.link_to("opportunities", format!("opportunity-{}", first.number));
        }
        page.errors = errors;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let current = workstreams::list(&mut tx, &ctx.icb, plan.plan_id).await?;
    let saved: BTreeSet<i32> = current.iter().filter_map(|w| w.opportunity_id).collect();
    if form.version.0 != plan.version {
        let mut page = plan_page::build(&mut tx, &user, &ctx, None).await?;
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
        .into_iter()
        .filter(|w| w.opportunity_id.is_some_and(|o| !wanted.contains(&o)))
        .collect();
    if form.confirm_remove != "yes" {
        let with_progress = with_progress(&mut tx, &ctx.icb, &removing).await?;
        if !with_progress.is_empty() {
            return Ok(ConfirmUnchoosePage {
                layout: user.layout(),
                header: ctx.header("/plan"),
                removing: with_progress,
                chosen: wanted.iter().copied().collect(),
                version: plan.version,
            }
            .into_response());
        }
    }
    let adding: Vec<i32> = wanted.difference(&saved).copied().collect();
    workstreams::choose(&mut tx, &editor, plan.plan_id, &adding, &removing).await?;
    let reopened = workflow::content_changed(&mut tx, &editor, &user.actor(), &ctx, true).await?;
    let event = AuditEvent::new("plan.opportunities_changed")
        .object(
            "plan",
            format!("{}/{}", ctx.icb.ods_code(), ctx.year.year.slug()),
        )
        .organisation(Some(ctx.icb.ods_code()))
        .details(
            json!({ "before": titles(&saved), "after": titles(&wanted), "reopened": reopened }),
        );
    audit::record(&mut tx, &user.actor(), event).await?;
    tx.commit().await?;
    let notice = if reopened { "reopened" } else { "saved" };
    Ok(Redirect::to(&format!("{}/plan?notice={notice}", ctx.base_path())).into_response())
}

/// The workstreams of `removing` that have recorded progress, which removing would hide.
async fn with_progress(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    removing: &[Workstream],
) -> sqlx::Result<Vec<Workstream>> {
    let mut found = Vec::new();
    for w in removing {
        if workstreams::has_recorded_progress(conn, icb, w.workstream_id).await? {
            found.push(w.clone());
        }
    }
    Ok(found)
}
