//! `POST …/actuals`: the actual saving of each month that has started (progress: recorded
//! whatever the plan's status while the year is open). A blank month clears it. A month
//! before the ICB existed or after it closed is refused.

use axum::response::Response;
use serde::Deserialize;

use super::save::{MonthFields, finish, refuse, reported_months, stale};
use crate::domain::Pence;
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form, MonthEntries, Version};
use crate::plans::changes::Changes;
use crate::plans::request::WorkstreamEdit;
use crate::plans::workstreams;

/// The actuals form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ActualsForm {
    version: Version,
    /// `actual_2024-04` … one per month.
    #[serde(flatten)]
    months: MonthEntries,
}

/// How an actual is shown in the history and in a conflict.
fn shown(p: Option<Pence>) -> String {
    p.map_or_else(|| "not reported".to_owned(), Pence::exact_display)
}

pub async fn save_actuals(
    mut edit: WorkstreamEdit,
    Form(form): Form<ActualsForm>,
) -> AppResult<Response> {
    let mut errors = FieldErrors::default();
    if let Some(reason) = edit.progress_locked() {
        errors.add("actuals", reason);
    }
    let fields = MonthFields {
        prefix: "actual_",
        id_prefix: "",
        group_id: "actuals",
    };
    let this_month = edit.ctx.clock.this_month();
    let (actuals, sent) = reported_months(
        &form.months,
        &fields,
        edit.ctx.year.year,
        this_month,
        &mut errors,
        |text| Pence::parse(text).map_err(|e| e.to_string()),
    );
    // Figures belong to the ICB that existed in the month (after a merger, the predecessors
    // up to the day before and the successor from that day).
    let lifetime = edit.ctx.icb.lifetime();
    for (month, amount) in &actuals {
        if let (Some(_), Some(why)) = (amount, lifetime.refusal(edit.ctx.icb.name(), *month)) {
            errors.add(&format!("actual_{}", month.key()), why);
        }
    }
    let saved = workstreams::months(&mut edit.tx, &edit.ctx.icb, edit.ws.workstream_id).await?;
    let mut diff = Changes::default();
    for (month, amount) in &actuals {
        let before = saved
            .iter()
            .find(|f| f.month == month.first_day())
            .and_then(|f| f.actual);
        diff.field(
            format!("Actual {}", month.label()),
            shown(before),
            shown(*amount),
        );
    }
    if !errors.is_empty() {
        return refuse(edit, |page| {
            page.errors = errors;
            if !sent.is_empty() {
                page.actuals = sent;
            }
        })
        .await;
    }
    let id = edit.ws.workstream_id;
    if !workstreams::claim_version(&mut edit.tx, &edit.editor, id, form.version).await? {
        return stale(edit, diff).await;
    }
    workstreams::save_actuals(&mut edit.tx, &edit.editor, id, &actuals).await?;
    finish(edit, "workstream.actuals_changed", &diff, false).await
}
