//! `POST …/updates`: a dated RAG update with its narrative (progress), which becomes the
//! workstream's RAG status. A RAG that differs from the one the figures suggest (the year's
//! thresholds, see [`crate::domain::assurance`]) needs a reason, kept with the update for the
//! reviewer.

use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::save::{finish, refuse, stale, workstream_event};
use crate::assurance::store as assurance_store;
use crate::audit;
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form, Version};
use crate::plans::changes::Changes;
use crate::plans::request::WorkstreamEdit;
use crate::plans::workstreams::{self, Rag};

/// The update form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UpdateForm {
    version: Version,
    rag: String,
    narrative: String,
    /// Why the RAG differs from the suggested one.
    rag_reason: String,
}

/// The RAG the workstream's figures suggest now.
async fn suggestion(edit: &mut WorkstreamEdit) -> AppResult<Option<Rag>> {
    let id = edit.ws.workstream_id;
    Ok(assurance_store::suggested_rag(&mut edit.tx, &edit.ctx.icb, id).await?)
}

/// Checks the reason: needed when the chosen RAG differs from the suggested one.
fn check_reason(rag: Option<Rag>, suggested: Option<Rag>, reason: &str, errors: &mut FieldErrors) {
    if let (Some(rag), Some(suggested)) = (rag, suggested)
        && rag != suggested
        && reason.is_empty()
    {
        errors.add(
            "rag_reason",
            format!(
                "The figures suggest {}: say why the status is {}",
                suggested.label(),
                rag.label()
            ),
        );
    }
    if reason.chars().count() > 2000 {
        errors.add("rag_reason", "Enter no more than 2000 characters");
    }
    errors.check_multiline_text("rag_reason", "Reason", reason);
}

pub async fn add_update(
    mut edit: WorkstreamEdit,
    Form(form): Form<UpdateForm>,
) -> AppResult<Response> {
    let rag = Rag::from_key(form.rag.trim());
    let narrative = form.narrative.trim();
    let reason = form.rag_reason.trim();
    let suggested = suggestion(&mut edit).await?;
    let mut errors = FieldErrors::default();
    if let Some(reason) = edit.progress_locked() {
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
    errors.check_multiline_text("narrative", "Update", narrative);
    check_reason(rag, suggested, reason, &mut errors);
    let Some(rag) = rag.filter(|_| errors.is_empty()) else {
        return refuse(edit, |page| {
            page.errors = errors;
            page.update_rag = form.rag.trim().to_owned();
            page.update_narrative = narrative.to_owned();
            page.assurance.rag_reason = reason.to_owned();
        })
        .await;
    };
    let id = edit.ws.workstream_id;
    if !workstreams::claim_version(&mut edit.tx, &edit.editor, id, form.version).await? {
        let mut sent = Changes::default();
        sent.field("RAG update", "", format!("{}: {narrative}", rag.label()));
        return stale(edit, sent).await;
    }
    workstreams::add_update(&mut edit.tx, &edit.editor, id, rag, narrative, &edit.user).await?;
    assurance_store::record_rag_reason(&mut edit.tx, &edit.editor, id, suggested, reason).await?;
    // Audited here rather than by `finish`: an update is recorded even when the status stays.
    let mut after = json!({ "RAG status": rag.label() });
    if let Some(suggested) = suggested {
        after["Suggested RAG"] = json!(suggested.label());
    }
    if !reason.is_empty() {
        after["Reason for the RAG"] = json!(reason);
    }
    let event = workstream_event("workstream.update_added", &edit.ctx, &edit.ws).details(json!({
        "before": { "RAG status": edit.ws.rag.map(Rag::label) },
        "after": after,
    }));
    audit::record(&mut edit.tx, &edit.user.actor(), event).await?;
    finish(edit, "workstream.update_added", &Changes::default(), false).await
}
