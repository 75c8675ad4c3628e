//! `POST …/target`: the annual target and its monthly phasing (plan content: changing it
//! reopens an agreed plan). "Save and split evenly" phases the target evenly, the remainder in
//! March.

use axum::response::Response;
use serde::Deserialize;

use super::save::{finish, refuse, stale};
use crate::domain::{Month, Pence, even_split};
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form, MonthEntries, MonthInput, Version};
use crate::plans::changes::Changes;
use crate::plans::request::WorkstreamEdit;
use crate::plans::workflow;
use crate::plans::workstreams::{self, Workstream};

/// The target form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TargetForm {
    version: Version,
    annual_target: String,
    /// `split` to phase the target evenly.
    action: String,
    /// `planned_2024-04` … one per month.
    #[serde(flatten)]
    months: MonthEntries,
}

/// What the form asks for, read and checked.
struct Target {
    target: Option<Pence>,
    phasing: Vec<(Month, Pence)>,
    sent: Vec<MonthInput>,
}

fn read(
    form: &TargetForm,
    ws_year: crate::domain::FinancialYear,
    errors: &mut FieldErrors,
) -> Target {
    if let Some(first) = ws_year.reporting_months().first() {
        errors.link_to("phasing", format!("planned_{}", first.key()));
    }
    let target = match Pence::parse(form.annual_target.trim()) {
        Ok(p) if p.0 < 0 => {
            errors.add(
                "annual_target",
                "The annual target cannot be negative: enter the saving you plan to make",
            );
            None
        }
        Ok(p) => Some(p),
        Err(e) => {
            errors.add("annual_target", format!("Annual target: {e}"));
            None
        }
    };
    let split = form.action == "split";
    let mut phasing = Vec::new();
    let mut sent = Vec::new();
    for entry in form.months.read("planned_", ws_year, "phasing", errors) {
        sent.push(MonthInput::new(entry.month, entry.text.clone()));
        if split {
            continue;
        }
        let text = if entry.text.is_empty() {
            "0"
        } else {
            entry.text.as_str()
        };
        match Pence::parse(text) {
            Ok(p) => phasing.push((entry.month, p)),
            Err(e) => errors.add(&entry.field, format!("{}: {e}", entry.month.label())),
        }
    }
    if let (true, Some(target)) = (split, target) {
        phasing = ws_year
            .reporting_months()
            .into_iter()
            .zip(even_split(target))
            .collect();
    }
    Target {
        target,
        phasing,
        sent,
    }
}

fn changes(
    ws: &Workstream,
    saved: &[crate::domain::MonthFigures],
    form: &TargetForm,
    asked: &Target,
) -> Changes {
    let mut diff = Changes::default();
    let after = asked.target.map_or_else(
        || form.annual_target.trim().to_owned(),
        Pence::exact_display,
    );
    diff.field("Annual target", ws.annual_target().exact_display(), after);
    for (month, amount) in &asked.phasing {
        let before = saved
            .iter()
            .find(|f| f.month == month.first_day())
            .map_or(Pence(0), |f| f.planned);
        diff.field(
            format!("Phasing {}", month.label()),
            before.exact_display(),
            amount.exact_display(),
        );
    }
    diff
}

pub async fn save_target(
    mut edit: WorkstreamEdit,
    Form(form): Form<TargetForm>,
) -> AppResult<Response> {
    let mut errors = FieldErrors::default();
    if let Some(reason) = edit.plan_locked() {
        errors.add("annual_target", reason);
    }
    let asked = read(&form, edit.ctx.year.year, &mut errors);
    let saved = workstreams::months(&mut edit.tx, &edit.ctx.icb, edit.ws.workstream_id).await?;
    let diff = changes(&edit.ws, &saved, &form, &asked);
    let Some(target) = asked.target.filter(|_| errors.is_empty()) else {
        return refuse(edit, |page| {
            page.errors = errors;
            page.annual_target = form.annual_target.trim().to_owned();
            if !asked.sent.is_empty() {
                page.phasing = asked.sent;
            }
        })
        .await;
    };
    let id = edit.ws.workstream_id;
    if !workstreams::claim_version(&mut edit.tx, &edit.editor, id, form.version).await? {
        return stale(edit, diff).await;
    }
    workstreams::save_target(&mut edit.tx, &edit.editor, id, target, &asked.phasing).await?;
    let reopened = !diff.is_empty()
        && workflow::content_changed(
            &mut edit.tx,
            &edit.editor,
            &edit.user.actor(),
            &edit.ctx,
            false,
        )
        .await?;
    finish(edit, "workstream.target_changed", &diff, reopened).await
}
