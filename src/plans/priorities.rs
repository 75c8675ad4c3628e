//! Adding a local priority to the plan (`POST …/plan/priorities`): a workstream of the ICB's
//! own, with a title and description. It changes the plan's content, so the form carries the
//! plan's version and an agreed plan goes back to draft.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::plan_page::{self, Conflict};
use super::request::PlanEdit;
use super::workflow;
use super::workstreams;
use crate::audit::{self, AuditEvent};
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form, Version};

/// The local priority form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PriorityForm {
    version: Version,
    priority_title: String,
    priority_description: String,
}

impl PriorityForm {
    fn check(&self, errors: &mut FieldErrors) {
        let title = self.priority_title.trim();
        if title.is_empty() {
            errors.add("priority_title", "Enter a title for the local priority");
        } else if title.chars().count() > 200 {
            errors.add("priority_title", "Title must be 200 characters or fewer");
        }
        if self.priority_description.trim().chars().count() > 5000 {
            errors.add(
                "priority_description",
                "Description must be 5,000 characters or fewer",
            );
        }
        errors.check_plain_text("priority_title", "Title", self.priority_title.trim());
        errors.check_multiline_text(
            "priority_description",
            "Description",
            &self.priority_description,
        );
    }
}

pub async fn add_priority(
    PlanEdit {
        mut tx,
        ctx,
        user,
        editor,
    }: PlanEdit,
    Form(form): Form<PriorityForm>,
) -> AppResult<Response> {
    let plan = ctx.require_plan()?.clone();
    let (title, description) = (form.priority_title.trim(), form.priority_description.trim());
    let mut errors = FieldErrors::default();
    if let Some(reason) = ctx.plan_locked() {
        errors.add("priority_title", reason);
    }
    form.check(&mut errors);
    if errors.is_empty() && form.version.0 != plan.version {
        let mut page = plan_page::build(&mut tx, &user, &ctx, None).await?;
        page.conflict = Some(Conflict {
            yours: vec![format!("Add the local priority “{title}”")],
            saved: vec!["The plan has changed since you opened the page: check it, then add the priority again".into()],
        });
        page.priority_title = title.to_owned();
        page.priority_description = description.to_owned();
        return Ok((StatusCode::CONFLICT, page).into_response());
    }
    if !errors.is_empty() {
        let mut page = plan_page::build(&mut tx, &user, &ctx, None).await?;
        page.errors = errors;
        page.priority_title = title.to_owned();
        page.priority_description = description.to_owned();
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let id = workstreams::add_local(&mut tx, &editor, plan.plan_id, title, description).await?;
    let reopened = workflow::content_changed(&mut tx, &editor, &user.actor(), &ctx, true).await?;
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
