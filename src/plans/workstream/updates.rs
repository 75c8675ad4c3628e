//! `POST …/updates`: a dated RAG update with its narrative (progress), which becomes the
//! workstream's RAG status.

use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::save::{finish, refuse, stale, workstream_event};
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
}

pub async fn add_update(
    mut edit: WorkstreamEdit,
    Form(form): Form<UpdateForm>,
) -> AppResult<Response> {
    let rag = Rag::from_key(form.rag.trim());
    let narrative = form.narrative.trim();
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
    let Some(rag) = rag.filter(|_| errors.is_empty()) else {
        return refuse(edit, |page| {
            page.errors = errors;
            page.update_rag = form.rag.trim().to_owned();
            page.update_narrative = narrative.to_owned();
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
    // Audited here rather than by `finish`: an update is recorded even when the status stays.
    let event = workstream_event("workstream.update_added", &edit.ctx, &edit.ws).details(json!({
        "before": { "RAG status": edit.ws.rag.map(Rag::label) },
        "after": { "RAG status": rag.label() },
    }));
    audit::record(&mut edit.tx, &edit.user.actor(), event).await?;
    finish(edit, "workstream.update_added", &Changes::default(), false).await
}
