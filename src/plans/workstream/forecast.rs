//! `POST …/forecast`: the lead's forecast as at a month — the likely outturn for the year and
//! how confident they are in it (progress). One forecast a month, so the history shows how it
//! moved and a month's import file can carry it; the latest month's is the current forecast.

use axum::response::Response;
use serde::Deserialize;

use super::save::{finish, refuse, stale};
use crate::assurance::store;
use crate::assurance::workstream::ForecastValues;
use crate::domain::assurance::{Choice, Confidence};
use crate::domain::{Month, Pence};
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form, Version};
use crate::plans::changes::Changes;
use crate::plans::request::WorkstreamEdit;
use crate::plans::workstreams;

/// The forecast form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ForecastForm {
    version: Version,
    forecast_month: String,
    likely_outturn: String,
    confidence: String,
}

impl ForecastForm {
    fn values(&self) -> ForecastValues {
        ForecastValues {
            month: self.forecast_month.trim().to_owned(),
            likely_outturn: self.likely_outturn.trim().to_owned(),
            confidence: self.confidence.trim().to_owned(),
        }
    }
}

/// The history's names of a forecast's two fields as at `month`.
pub fn field_names(month: Month) -> (String, String) {
    (
        format!("Likely outturn (as at {})", month.label()),
        format!("Confidence (as at {})", month.label()),
    )
}

fn read(
    sent: &ForecastValues,
    edit: &WorkstreamEdit,
    errors: &mut FieldErrors,
) -> Option<(Month, Pence, Confidence)> {
    let (year, this_month) = (edit.ctx.year.year, edit.ctx.clock.this_month());
    let month = Month::parse_key(&sent.month).filter(|m| year.has_month(*m) && *m <= this_month);
    if month.is_none() {
        errors.add(
            "forecast_month",
            format!("Choose a month of {year} that has started"),
        );
    }
    let outturn = if sent.likely_outturn.is_empty() {
        errors.add(
            "likely_outturn",
            "Enter the likely outturn: the saving you expect this workstream to make in the whole year",
        );
        None
    } else {
        Pence::parse(&sent.likely_outturn)
            .map_err(|e| errors.add("likely_outturn", format!("Likely outturn: {e}")))
            .ok()
    };
    let confidence = Confidence::from_key(&sent.confidence);
    if confidence.is_none() {
        errors.add(
            "confidence",
            "Choose how confident you are in the likely outturn: high, medium or low",
        );
    }
    Some((month?, outturn?, confidence?))
}

pub async fn save_forecast(
    mut edit: WorkstreamEdit,
    Form(form): Form<ForecastForm>,
) -> AppResult<Response> {
    let sent = form.values();
    let mut errors = FieldErrors::default();
    if let Some(reason) = edit.progress_locked() {
        errors.add("forecast_month", reason);
    }
    let asked = read(&sent, &edit, &mut errors);
    let Some((month, outturn, confidence)) = asked.filter(|_| errors.is_empty()) else {
        return refuse(edit, |page| {
            page.errors = errors;
            page.assurance.forecast_form = sent;
        })
        .await;
    };
    let id = edit.ws.workstream_id;
    let saved = store::forecasts(&mut edit.tx, &edit.ctx.icb, id, edit.ctx.year.year)
        .await?
        .into_iter()
        .find(|f| f.month == month.first_day());
    let (outturn_field, confidence_field) = field_names(month);
    let mut diff = Changes::default();
    diff.field(
        outturn_field,
        saved
            .as_ref()
            .map_or_else(String::new, |f| f.likely_outturn.exact_display()),
        outturn.exact_display(),
    );
    diff.field(
        confidence_field,
        saved.as_ref().map_or("", |f| f.confidence.label()),
        confidence.label(),
    );
    if !workstreams::claim_version(&mut edit.tx, &edit.editor, id, form.version).await? {
        return stale(edit, diff).await;
    }
    store::save_forecast(&mut edit.tx, &edit.editor, id, month, outturn, confidence).await?;
    finish(edit, "workstream.forecast_changed", &diff, false).await
}
