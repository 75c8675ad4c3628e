//! Removing a workstream from the plan: a confirmation page (`GET …/remove`), then the
//! removal (`POST …/remove`). Nothing is deleted: the workstream keeps its figures and
//! history, and choosing the opportunity again brings it back.

use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::page::workstream_path;
use super::save::{stale, workstream_event};
use crate::audit;
use crate::error::AppResult;
use crate::forms::{Form, Version};
use crate::page::Layout;
use crate::plans::changes::Changes;
use crate::plans::context::PlanHeader;
use crate::plans::request::{WorkstreamEdit, WorkstreamView};
use crate::plans::workflow;
use crate::plans::workstreams::{self, Workstream};

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

/// The removal form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RemoveForm {
    version: Version,
}

pub async fn confirm_remove(view: WorkstreamView) -> AppResult<ConfirmRemovePage> {
    let WorkstreamView {
        mut tx,
        ctx,
        user,
        ws,
    } = view;
    let has_progress =
        workstreams::has_recorded_progress(&mut tx, &ctx.icb, ws.workstream_id).await?;
    let locked = ws
        .removed_at
        .map(|_| "This workstream has already been removed from the plan.".to_owned())
        .or_else(|| ctx.plan_locked());
    Ok(ConfirmRemovePage {
        layout: user.layout(),
        header: ctx.header(""),
        path: workstream_path(&ctx, &ws),
        locked,
        ws,
        has_progress,
    })
}

pub async fn remove(mut edit: WorkstreamEdit, Form(form): Form<RemoveForm>) -> AppResult<Response> {
    let id = edit.ws.workstream_id;
    if form.version.0 != edit.ws.version {
        let mut sent = Changes::default();
        sent.field("Workstream", edit.ws.display_title(), "removed");
        return stale(edit, sent).await;
    }
    if let Some(reason) = edit.plan_locked() {
        let WorkstreamEdit {
            mut tx,
            ctx,
            user,
            ws,
            ..
        } = edit;
        let has_progress =
            workstreams::has_recorded_progress(&mut tx, &ctx.icb, ws.workstream_id).await?;
        let page = ConfirmRemovePage {
            layout: user.layout(),
            header: ctx.header(""),
            path: workstream_path(&ctx, &ws),
            locked: Some(reason),
            ws,
            has_progress,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    if !workstreams::remove(&mut edit.tx, &edit.editor, id, form.version).await? {
        let mut sent = Changes::default();
        sent.field("Workstream", edit.ws.display_title(), "removed");
        return stale(edit, sent).await;
    }
    let reopened = workflow::content_changed(
        &mut edit.tx,
        &edit.editor,
        &edit.user.actor(),
        &edit.ctx,
        true,
    )
    .await?;
    let event = workstream_event("workstream.removed", &edit.ctx, &edit.ws).details(json!({
        "before": { "Workstream": edit.ws.display_title() },
        "after": { "Workstream": "removed" },
    }));
    audit::record(&mut edit.tx, &edit.user.actor(), event).await?;
    edit.tx.commit().await?;
    let notice = if reopened { "reopened" } else { "removed" };
    Ok(Redirect::to(&format!("{}/plan?notice={notice}", edit.ctx.base_path())).into_response())
}
