//! `POST …/classification`: whether the saving recurs, whether it releases cash, where it
//! falls, and the investment it takes (plan content: changing it reopens an agreed plan). An
//! investment larger than the gross target is allowed, and flagged on the page; a
//! non-recurrent saving cannot keep a full-year effect.

use axum::response::Response;
use serde::Deserialize;

use super::save::{finish, refuse, stale};
use crate::assurance::store::{self, Classification};
use crate::assurance::workstream::ClassificationValues;
use crate::domain::Pence;
use crate::domain::assurance::{BenefitType, Choice, SavingType, Setting};
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form, Version};
use crate::plans::changes::Changes;
use crate::plans::request::WorkstreamEdit;
use crate::plans::workflow;
use crate::plans::workstreams;

/// The classification form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ClassificationForm {
    version: Version,
    saving_type: String,
    benefit_type: String,
    setting: String,
    investment: String,
}

impl ClassificationForm {
    fn values(&self) -> ClassificationValues {
        ClassificationValues {
            saving_type: self.saving_type.trim().to_owned(),
            benefit_type: self.benefit_type.trim().to_owned(),
            setting: self.setting.trim().to_owned(),
            investment: self.investment.trim().to_owned(),
        }
    }
}

/// What the form asks for, checked field by field against what is saved.
type Asked = (SavingType, BenefitType, Setting, Pence);

fn read(
    sent: &ClassificationValues,
    saved: &Classification,
    errors: &mut FieldErrors,
) -> Option<Asked> {
    let saving_type = SavingType::from_key(&sent.saving_type);
    match (saving_type, saved.full_year_effect) {
        (None, _) => errors.add(
            "saving_type",
            "Choose whether the saving is recurrent or non-recurrent",
        ),
        (Some(SavingType::NonRecurrent), Some(effect)) => errors.add(
            "saving_type",
            format!(
                "This workstream has a full-year effect of {}, and a non-recurrent saving has none. Clear the full-year effect first, or keep the saving recurrent",
                effect.exact_display()
            ),
        ),
        _ => {}
    }
    let benefit_type = BenefitType::from_key(&sent.benefit_type);
    if benefit_type.is_none() {
        errors.add(
            "benefit_type",
            "Choose whether the saving releases cash or avoids a cost",
        );
    }
    let setting = Setting::from_key(&sent.setting);
    if setting.is_none() {
        errors.add(
            "setting",
            "Choose where the saving falls: primary care, secondary care or system-wide",
        );
    }
    let investment = if sent.investment.is_empty() {
        Some(Pence(0))
    } else {
        match Pence::parse(&sent.investment) {
            Ok(p) if p.0 < 0 => {
                errors.add(
                    "investment",
                    "The investment cannot be negative: enter what delivering the saving costs in the year, or 0",
                );
                None
            }
            Ok(p) => Some(p),
            Err(e) => {
                errors.add("investment", format!("Investment: {e}"));
                None
            }
        }
    };
    Some((saving_type?, benefit_type?, setting?, investment?)).filter(|_| errors.is_empty())
}

fn label<C: Choice>(choice: Option<C>) -> &'static str {
    choice.map_or("Not recorded", Choice::label)
}

fn changes(saved: &Classification, asked: &Asked) -> Changes {
    let mut diff = Changes::default();
    diff.field("Saving type", label(saved.saving_type), asked.0.label());
    diff.field("Benefit", label(saved.benefit_type), asked.1.label());
    diff.field(
        "Where the saving falls",
        label(saved.setting),
        asked.2.label(),
    );
    diff.field(
        "Investment",
        saved.investment.exact_display(),
        asked.3.exact_display(),
    );
    diff
}

pub async fn save_classification(
    mut edit: WorkstreamEdit,
    Form(form): Form<ClassificationForm>,
) -> AppResult<Response> {
    let sent = form.values();
    let mut errors = FieldErrors::default();
    if let Some(reason) = edit.plan_locked() {
        errors.add("saving_type", reason);
    }
    let id = edit.ws.workstream_id;
    let saved = store::classification(&mut edit.tx, &edit.ctx.icb, id).await?;
    let Some(asked) = read(&sent, &saved, &mut errors) else {
        return refuse(edit, |page| {
            page.errors = errors;
            page.assurance.classification = sent;
        })
        .await;
    };
    let diff = changes(&saved, &asked);
    if !workstreams::claim_version(&mut edit.tx, &edit.editor, id, form.version).await? {
        return stale(edit, diff).await;
    }
    store::save_classification(&mut edit.tx, &edit.editor, id, asked).await?;
    let reopened = !diff.is_empty()
        && workflow::content_changed(
            &mut edit.tx,
            &edit.editor,
            &edit.user.actor(),
            &edit.ctx,
            false,
        )
        .await?;
    finish(edit, "workstream.classification_changed", &diff, reopened).await
}
