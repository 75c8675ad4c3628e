//! `POST …/full-year-effect`: the saving a full year of a recurrent saving would deliver, as
//! the lead judges it (progress: recorded whatever the plan's status while the year is open).
//! Blank goes back to the figure derived from the actuals. Only a recurrent saving has one.

use axum::response::Response;
use serde::Deserialize;

use super::save::{finish, refuse, stale};
use crate::assurance::store;
use crate::domain::Pence;
use crate::domain::assurance::SavingType;
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form, Version};
use crate::plans::changes::Changes;
use crate::plans::request::WorkstreamEdit;
use crate::plans::workstreams;

/// The full-year effect form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FullYearEffectForm {
    version: Version,
    full_year_effect: String,
}

/// The lead's figure asked for (`None`: derive it), or the messages.
fn read(text: &str, saving_type: Option<SavingType>, errors: &mut FieldErrors) -> Option<Pence> {
    if text.is_empty() {
        return None;
    }
    match saving_type {
        None => errors.add(
            "full_year_effect",
            "Record whether the saving is recurrent first (under Savings type): only a recurrent saving has a full-year effect",
        ),
        Some(SavingType::NonRecurrent) => errors.add(
            "full_year_effect",
            "A non-recurrent saving has no full-year effect: leave this blank, or record the saving as recurrent first",
        ),
        Some(SavingType::Recurrent) => {}
    }
    match Pence::parse(text) {
        Ok(p) if p.0 < 0 => {
            errors.add(
                "full_year_effect",
                "The full-year effect cannot be negative: enter the saving a full year would deliver",
            );
            None
        }
        Ok(p) => Some(p),
        Err(e) => {
            errors.add("full_year_effect", format!("Full-year effect: {e}"));
            None
        }
    }
}

fn shown(effect: Option<Pence>) -> String {
    effect.map_or_else(|| "From the actuals".to_owned(), Pence::exact_display)
}

pub async fn save_full_year_effect(
    mut edit: WorkstreamEdit,
    Form(form): Form<FullYearEffectForm>,
) -> AppResult<Response> {
    let text = form.full_year_effect.trim().to_owned();
    let mut errors = FieldErrors::default();
    if let Some(reason) = edit.progress_locked() {
        errors.add("full_year_effect", reason);
    }
    let id = edit.ws.workstream_id;
    let saved = store::classification(&mut edit.tx, &edit.ctx.icb, id).await?;
    let effect = read(&text, saved.saving_type, &mut errors);
    if !errors.is_empty() {
        return refuse(edit, |page| {
            page.errors = errors;
            page.assurance.full_year_effect_value = text;
        })
        .await;
    }
    let mut diff = Changes::default();
    diff.field(
        "Full-year effect",
        shown(saved.full_year_effect),
        shown(effect),
    );
    if !workstreams::claim_version(&mut edit.tx, &edit.editor, id, form.version).await? {
        return stale(edit, diff).await;
    }
    store::save_full_year_effect(&mut edit.tx, &edit.editor, id, effect).await?;
    finish(edit, "workstream.full_year_effect_changed", &diff, false).await
}
