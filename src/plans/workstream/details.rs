//! `POST …/details`: the workstream's lead, summary and ICS objectives (and a local
//! priority's title and description, which are plan content: changing them reopens an agreed
//! plan).

use axum::response::Response;
use serde::Deserialize;

use super::page::DetailsValues;
use super::save::{finish, refuse, stale};
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form, Version};
use crate::plans::changes::Changes;
use crate::plans::request::WorkstreamEdit;
use crate::plans::workflow;
use crate::plans::workstreams::{self, ICS_OBJECTIVES};

/// The details form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DetailsForm {
    version: Version,
    title: String,
    description: String,
    lead_name: String,
    summary: String,
    objectives: Vec<String>,
}

impl DetailsForm {
    /// The values sent, trimmed, with only the objectives there are.
    fn values(&self) -> DetailsValues {
        DetailsValues {
            title: self.title.trim().to_owned(),
            description: self.description.trim().to_owned(),
            lead_name: self.lead_name.trim().to_owned(),
            summary: self.summary.trim().to_owned(),
            objectives: ICS_OBJECTIVES
                .iter()
                .map(|(k, _)| *k)
                .filter(|k| self.objectives.iter().any(|o| o.trim() == *k))
                .map(str::to_owned)
                .collect(),
        }
    }
}

fn check(sent: &DetailsValues, local: bool, errors: &mut FieldErrors) {
    if local && sent.title.is_empty() {
        errors.add("title", "Enter a title for the local priority");
    }
    let fields = [
        ("title", &sent.title, 200),
        ("lead_name", &sent.lead_name, 200),
        ("description", &sent.description, 5000),
        ("summary", &sent.summary, 5000),
    ];
    for (field, value, max) in fields {
        if value.chars().count() > max {
            errors.add(field, format!("Enter no more than {max} characters"));
        }
    }
    errors.check_plain_text("title", "Title", &sent.title);
    errors.check_plain_text("lead_name", "Lead", &sent.lead_name);
    errors.check_multiline_text("description", "Description", &sent.description);
    errors.check_multiline_text("summary", "Summary", &sent.summary);
}

fn changes(saved: &DetailsValues, sent: &DetailsValues, local: bool) -> Changes {
    let mut diff = Changes::default();
    if local {
        diff.field("Title", &saved.title, &sent.title);
        diff.field("Description", &saved.description, &sent.description);
    }
    diff.field("Lead", &saved.lead_name, &sent.lead_name);
    diff.field("Summary", &saved.summary, &sent.summary);
    diff.field(
        "ICS objectives",
        saved.objective_words(),
        sent.objective_words(),
    );
    diff
}

pub async fn save_details(
    mut edit: WorkstreamEdit,
    Form(form): Form<DetailsForm>,
) -> AppResult<Response> {
    let local = edit.ws.is_local();
    let sent = form.values();
    let mut errors = FieldErrors::default();
    let locked = if local {
        edit.plan_locked()
    } else {
        edit.progress_locked()
    };
    if let Some(reason) = locked {
        errors.add("lead_name", reason);
    }
    check(&sent, local, &mut errors);
    let diff = changes(&DetailsValues::from_saved(&edit.ws), &sent, local);
    if !errors.is_empty() {
        return refuse(edit, |page| {
            page.errors = errors;
            page.details = sent;
        })
        .await;
    }
    let id = edit.ws.workstream_id;
    if !workstreams::claim_version(&mut edit.tx, &edit.editor, id, form.version).await? {
        return stale(edit, diff).await;
    }
    workstreams::save_details(&mut edit.tx, &edit.editor, id, &sent).await?;
    let reopened = local
        && !diff.is_empty()
        && workflow::content_changed(
            &mut edit.tx,
            &edit.editor,
            &edit.user.actor(),
            &edit.ctx,
            false,
        )
        .await?;
    finish(edit, "workstream.details_changed", &diff, reopened).await
}
