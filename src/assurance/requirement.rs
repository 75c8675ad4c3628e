//! `POST /icbs/{icb}/{year}/assurance/requirement`: the ICB's savings requirement for medicines
//! (what its financial plan needs from medicines optimisation in the year). It is part of the
//! plan: locked while the plan is with the reviewer, and changing it reopens an agreed plan.
//! Blank clears it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::plan_page;
use super::store;
use crate::audit::{self, AuditEvent};
use crate::domain::Pence;
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form, Version};
use crate::plans::changes::Changes;
use crate::plans::request::PlanEdit;
use crate::plans::workflow;

/// The requirement form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RequirementForm {
    version: Version,
    savings_requirement: String,
}

fn read(text: &str, errors: &mut FieldErrors) -> Option<Pence> {
    if text.is_empty() {
        return None;
    }
    match Pence::parse(text) {
        Ok(p) if p.0 < 0 => {
            errors.add(
                "savings_requirement",
                "The savings requirement cannot be negative: enter what the ICB's financial plan needs from medicines optimisation",
            );
            None
        }
        Ok(p) => Some(p),
        Err(e) => {
            errors.add("savings_requirement", format!("Savings requirement: {e}"));
            None
        }
    }
}

fn shown(p: Option<Pence>) -> String {
    p.map_or_else(|| "Not recorded".to_owned(), Pence::exact_display)
}

pub async fn save_requirement(
    PlanEdit {
        mut tx,
        ctx,
        user,
        editor,
    }: PlanEdit,
    Form(form): Form<RequirementForm>,
) -> AppResult<Response> {
    let plan = ctx.require_plan()?.clone();
    let text = form.savings_requirement.trim().to_owned();
    let mut errors = FieldErrors::default();
    if let Some(reason) = ctx.plan_locked() {
        errors.add("savings_requirement", reason);
    }
    let asked = read(&text, &mut errors);
    let saved = store::requirement(&mut tx, &ctx.icb, plan.plan_id).await?;
    let mut diff = Changes::default();
    diff.field("Savings requirement", shown(saved), shown(asked));
    if !errors.is_empty() {
        let mut page = plan_page::build(&mut tx, &user, &ctx).await?;
        page.errors = errors;
        page.requirement = text;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    if !store::save_requirement(&mut tx, &editor, plan.plan_id, form.version, asked).await? {
        let mut page = plan_page::build(&mut tx, &user, &ctx).await?;
        page.conflict = Some(diff.into_vec());
        return Ok((StatusCode::CONFLICT, page).into_response());
    }
    let reopened = !diff.is_empty()
        && workflow::content_changed(&mut tx, &editor, &user.actor(), &ctx, false).await?;
    if !diff.is_empty() {
        let event = AuditEvent::new("plan.requirement_changed")
            .object(
                "plan",
                format!("{}/{}", ctx.icb.ods_code(), ctx.year.year.slug()),
            )
            .organisation(Some(ctx.icb.ods_code()))
            .details(diff.to_json());
        audit::record(&mut tx, &user.actor(), event).await?;
    }
    tx.commit().await?;
    let notice = if reopened { "reopened" } else { "saved" };
    Ok(Redirect::to(&format!("{}/assurance?notice={notice}", ctx.base_path())).into_response())
}
