//! The workstream's dated risk log: adding a risk (`POST …/risks`, stale-checked on the
//! workstream's version) and changing one (`POST …/risks/{risk}`: its mitigation, owner or
//! status, stale-checked on the risk's own version). Both are progress, recorded whatever the
//! plan's status while the year is open.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::save::{refuse, stale, workstream_event};
use crate::assurance::store::{self, Risk, RiskFields};
use crate::assurance::workstream::RiskValues;
use crate::audit;
use crate::domain::assurance::{Choice, RiskStatus};
use crate::error::{AppError, AppResult};
use crate::forms::{FieldErrors, Form, Version};
use crate::plans::changes::Changes;
use crate::plans::request::WorkstreamEdit;
use crate::plans::workstreams;

/// The risk named in the path (`{risk}`): a positive number, or 404.
pub struct RiskId(pub i32);

impl<S: Send + Sync> FromRequestParts<S> for RiskId {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::NotFound.into_response())?;
        params
            .iter()
            .find(|(key, _)| *key == "risk")
            .and_then(|(_, v)| v.parse().ok())
            .filter(|id: &i32| *id > 0)
            .map(RiskId)
            .ok_or_else(|| AppError::NotFound.into_response())
    }
}

/// A risk form: the new-risk form and each risk's form have the same fields.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RiskForm {
    version: Version,
    risk_description: String,
    risk_mitigation: String,
    risk_owner: String,
    risk_status: String,
}

impl RiskForm {
    fn values(&self) -> RiskValues {
        RiskValues {
            description: self.risk_description.trim().to_owned(),
            mitigation: self.risk_mitigation.trim().to_owned(),
            owner: self.risk_owner.trim().to_owned(),
            status: self.risk_status.trim().to_owned(),
        }
    }
}

/// Checks a risk's fields; messages go by `{prefix}risk_description` and so on.
fn check<'a>(
    sent: &'a RiskValues,
    prefix: &str,
    errors: &mut FieldErrors,
) -> Option<RiskFields<'a>> {
    let field = |name: &str| format!("{prefix}{name}");
    if sent.description.is_empty() {
        errors.add(
            &field("risk_description"),
            "Describe the risk: what could stop the saving being made",
        );
    }
    for (name, label, value, max) in [
        ("risk_description", "Risk", &sent.description, 2000),
        ("risk_mitigation", "Mitigation", &sent.mitigation, 2000),
        ("risk_owner", "Owner", &sent.owner, 200),
    ] {
        if value.chars().count() > max {
            errors.add(&field(name), format!("Enter no more than {max} characters"));
        }
        if name == "risk_owner" {
            errors.check_plain_text(&field(name), label, value);
        } else {
            errors.check_multiline_text(&field(name), label, value);
        }
    }
    let status = RiskStatus::from_key(&sent.status);
    if status.is_none() {
        errors.add(
            &field("risk_status"),
            "Choose the risk's status: open, mitigated or closed",
        );
    }
    Some(RiskFields {
        description: &sent.description,
        mitigation: &sent.mitigation,
        owner: &sent.owner,
        status: status?,
    })
    .filter(|_| errors.is_empty())
}

fn changes(saved: Option<&Risk>, sent: &RiskFields<'_>) -> Changes {
    let before = saved.map(RiskValues::of).unwrap_or_default();
    let mut diff = Changes::default();
    diff.field("Risk", before.description, sent.description);
    diff.field("Mitigation", before.mitigation, sent.mitigation);
    diff.field("Risk owner", before.owner, sent.owner);
    diff.field(
        "Risk status",
        saved.map_or("", |r| r.status.label()),
        sent.status.label(),
    );
    diff
}

/// Back to the risk on the page.
fn to_risk(edit: &WorkstreamEdit, risk_id: i32) -> Response {
    Redirect::to(&format!(
        "{}/workstreams/{}?notice=saved#risk-{risk_id}",
        edit.ctx.base_path(),
        edit.ws.workstream_id
    ))
    .into_response()
}

pub async fn add_risk(mut edit: WorkstreamEdit, Form(form): Form<RiskForm>) -> AppResult<Response> {
    let sent = form.values();
    let mut errors = FieldErrors::default();
    if let Some(reason) = edit.progress_locked() {
        errors.add("risk_description", reason);
    }
    let Some(risk) = check(&sent, "", &mut errors).filter(|_| errors.is_empty()) else {
        return refuse(edit, |page| {
            page.errors = errors;
            page.assurance.new_risk = sent;
        })
        .await;
    };
    let diff = changes(None, &risk);
    let ws_id = edit.ws.workstream_id;
    if !workstreams::claim_version(&mut edit.tx, &edit.editor, ws_id, form.version).await? {
        return stale(edit, diff).await;
    }
    let risk_id = store::add_risk(&mut edit.tx, &edit.editor, ws_id, risk).await?;
    let mut details = diff.to_json();
    details["risk_id"] = json!(risk_id);
    let event = workstream_event("risk.added", &edit.ctx, &edit.ws).details(details);
    audit::record(&mut edit.tx, &edit.user.actor(), event).await?;
    let response = to_risk(&edit, risk_id);
    edit.tx.commit().await?;
    Ok(response)
}

pub async fn update_risk(
    mut edit: WorkstreamEdit,
    RiskId(risk_id): RiskId,
    Form(form): Form<RiskForm>,
) -> AppResult<Response> {
    let ws_id = edit.ws.workstream_id;
    let saved = store::risks(&mut edit.tx, &edit.ctx.icb, ws_id)
        .await?
        .into_iter()
        .find(|r| r.risk_id == risk_id)
        .ok_or(AppError::NotFound)?;
    let sent = form.values();
    let prefix = format!("r{risk_id}_");
    let mut errors = FieldErrors::default();
    if let Some(reason) = edit.progress_locked() {
        errors.add(&format!("{prefix}risk_description"), reason);
    }
    let Some(risk) = check(&sent, &prefix, &mut errors).filter(|_| errors.is_empty()) else {
        return refuse(edit, |page| {
            page.errors = errors;
            page.assurance.risk_sent = Some((risk_id, sent));
        })
        .await;
    };
    let diff = changes(Some(&saved), &risk);
    let updated = store::update_risk(
        &mut edit.tx,
        &edit.editor,
        ws_id,
        risk_id,
        form.version,
        risk,
    )
    .await?;
    if !updated {
        return stale(edit, diff).await;
    }
    if !diff.is_empty() {
        let mut details = diff.to_json();
        details["risk_id"] = json!(risk_id);
        let event = workstream_event("risk.changed", &edit.ctx, &edit.ws).details(details);
        audit::record(&mut edit.tx, &edit.user.actor(), event).await?;
    }
    let response = to_risk(&edit, risk_id);
    edit.tx.commit().await?;
    Ok(response)
}
