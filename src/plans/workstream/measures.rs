//! The workstream's outcome measures: adding one (`POST …/measures`) and recording its
//! monthly values (`POST …/measures/{measure}`), each a progress change, stale-checked on the
//! workstream's or the measure's version.

use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::page::NewMeasureValues;
use super::save::{MonthFields, refuse, reported_months, stale, workstream_event};
use crate::audit;
use crate::domain::Month;
use crate::error::{AppError, AppResult};
use crate::forms::{FieldErrors, Form, MonthEntries, MonthInput, Version};
use crate::plans::changes::Changes;
use crate::plans::measures::{
    self, Direction, MeasureView, NewMeasure, parse_month, parse_value, show_value,
};
use crate::plans::request::{MeasurePath, WorkstreamEdit};
use crate::plans::workstreams;

/// The add-a-measure form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MeasureForm {
    version: Version,
    measure_name: String,
    measure_unit: String,
    measure_direction: String,
    baseline_value: String,
    baseline_month: String,
    target_value: String,
    target_month: String,
}

impl MeasureForm {
    fn values(&self) -> NewMeasureValues {
        NewMeasureValues {
            name: self.measure_name.trim().to_owned(),
            unit: self.measure_unit.trim().to_owned(),
            direction: self.measure_direction.trim().to_owned(),
            baseline_value: self.baseline_value.trim().to_owned(),
            baseline_month: self.baseline_month.trim().to_owned(),
            target_value: self.target_value.trim().to_owned(),
            target_month: self.target_month.trim().to_owned(),
        }
    }
}

/// A measure's point: its value and month, read from two fields.
fn point(
    errors: &mut FieldErrors,
    what: &str,
    value: (&str, &str),
    month: (&str, &str),
) -> Option<(f64, Month)> {
    let number = parse_value(value.1);
    if number.is_none() {
        errors.add(value.0, format!("Enter the {what} as a number, like 42, 12.5 or 1,234 (use a full stop for decimals)"));
    }
    let at = parse_month(month.1);
    if at.is_none() {
        errors.add(
            month.0,
            format!("Enter the {what} month like 2024-03 or March 2024"),
        );
    }
    Some((number?, at?))
}

fn check<'a>(sent: &'a NewMeasureValues, errors: &mut FieldErrors) -> Option<NewMeasure<'a>> {
    if sent.name.is_empty() {
        errors.add("measure_name", "Enter the name of the measure");
    } else if sent.name.chars().count() > 200 {
        errors.add("measure_name", "Enter no more than 200 characters");
    }
    if sent.unit.is_empty() {
        errors.add(
            "measure_unit",
            "Enter the unit, for example % of patients or items per 1,000 patients",
        );
    } else if sent.unit.chars().count() > 100 {
        errors.add("measure_unit", "Enter no more than 100 characters");
    }
    errors.check_plain_text("measure_name", "Name", &sent.name);
    errors.check_plain_text("measure_unit", "Unit", &sent.unit);
    let direction = Direction::from_key(&sent.direction);
    if direction.is_none() {
        errors.add(
            "measure_direction",
            "Choose whether a higher or a lower value is better",
        );
    }
    let baseline = point(
        errors,
        "baseline",
        ("baseline_value", &sent.baseline_value),
        ("baseline_month", &sent.baseline_month),
    );
    let target = point(
        errors,
        "target",
        ("target_value", &sent.target_value),
        ("target_month", &sent.target_month),
    );
    if let (Some(b), Some(t)) = (baseline, target)
        && t.1 < b.1
    {
        errors.add(
            "target_month",
            "The target month must be the same as or after the baseline month",
        );
    }
    Some(NewMeasure {
        name: &sent.name,
        unit: &sent.unit,
        direction: direction?,
        baseline: baseline?,
        target: target?,
    })
    .filter(|_| errors.is_empty())
}

pub async fn add_measure(
    mut edit: WorkstreamEdit,
    Form(form): Form<MeasureForm>,
) -> AppResult<Response> {
    let sent = form.values();
    let mut errors = FieldErrors::default();
    if let Some(reason) = edit.progress_locked() {
        errors.add("measure_name", reason);
    }
    let Some(measure) = check(&sent, &mut errors).filter(|_| errors.is_empty()) else {
        return refuse(edit, |page| {
            page.errors = errors;
            page.new_measure = sent;
        })
        .await;
    };
    let ws_id = edit.ws.workstream_id;
    if !workstreams::claim_version(&mut edit.tx, &edit.editor, ws_id, form.version).await? {
        let mut diff = Changes::default();
        diff.field("New measure", "", measure.name);
        return stale(edit, diff).await;
    }
    let id = measures::add(&mut edit.tx, &edit.editor, ws_id, &measure).await?;
    let event = workstream_event("measure.created", &edit.ctx, &edit.ws).details(json!({
            "measure_id": id,
            "after": {
                "Measure": sent.name,
                "Unit": sent.unit,
                "Baseline": format!("{} ({})", show_value(measure.baseline.0), measure.baseline.1.label()),
                "Target": format!("{} ({})", show_value(measure.target.0), measure.target.1.label()),
            }
        }));
    audit::record(&mut edit.tx, &edit.user.actor(), event).await?;
    edit.tx.commit().await?;
    Ok(Redirect::to(&format!(
        "{}/workstreams/{ws_id}?notice=saved#measure-{id}",
        edit.ctx.base_path()
    ))
    .into_response())
}

/// The measure values form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MeasureValuesForm {
    version: Version,
    /// `value_2024-04` … one per month.
    #[serde(flatten)]
    months: MonthEntries,
}

/// What a values form asks for: each month's value, the values as typed, and the changes.
struct Asked {
    values: Vec<(Month, Option<f64>)>,
    sent: Vec<MonthInput>,
    diff: Changes,
}

fn read_values(
    form: &MeasureValuesForm,
    saved: &MeasureView,
    edit: &WorkstreamEdit,
    errors: &mut FieldErrors,
) -> Asked {
    let id = saved.measure_id;
    let (id_prefix, group_id) = (format!("m{id}_"), format!("m{id}_values"));
    if let Some(reason) = edit.progress_locked() {
        errors.add(&group_id, reason);
    }
    let fields = MonthFields {
        prefix: "value_",
        id_prefix: &id_prefix,
        group_id: &group_id,
    };
    let (year, this_month) = (edit.ctx.year.year, edit.ctx.clock.this_month());
    let (values, sent) = reported_months(&form.months, &fields, year, this_month, errors, |text| {
        parse_value(text).ok_or_else(|| {
            format!(
                "Enter a number for {}, like 42, 12.5 or 1,234 (use a full stop for decimals)",
                saved.name
            )
        })
    });
    let mut diff = Changes::default();
    for (month, value) in &values {
        let before = saved
            .values
            .iter()
            .find(|v| v.key == month.key())
            .map(|v| v.value.clone());
        diff.field(
            format!("{} {}", saved.name, month.label()),
            before.unwrap_or_default(),
            value.map(show_value).unwrap_or_default(),
        );
    }
    Asked { values, sent, diff }
}

pub async fn save_values(
    mut edit: WorkstreamEdit,
    path: MeasurePath,
    Form(form): Form<MeasureValuesForm>,
) -> AppResult<Response> {
    let measure_id = path.measure_id;
    let year_months = edit.ctx.year.year.reporting_months();
    let saved = measures::list(
        &mut edit.tx,
        &edit.ctx.icb,
        edit.ws.workstream_id,
        &year_months,
    )
    .await?
    .into_iter()
    .find(|m| m.measure_id == measure_id)
    .ok_or(AppError::NotFound)?;
    let mut errors = FieldErrors::default();
    let Asked { values, sent, diff } = read_values(&form, &saved, &edit, &mut errors);
    if !errors.is_empty() {
        return refuse(edit, |page| {
            page.errors = errors;
            if let Some(m) = page
                .measures
                .iter_mut()
                .find(|m| m.measure_id == measure_id)
                && !sent.is_empty()
            {
                m.values = sent;
            }
        })
        .await;
    }
    if !measures::claim_version(&mut edit.tx, &edit.editor, measure_id, form.version).await? {
        return stale(edit, diff).await;
    }
    for (month, value) in &values {
        measures::save_value(&mut edit.tx, &edit.editor, measure_id, *month, *value).await?;
    }
    if !diff.is_empty() {
        let mut details = diff.to_json();
        details["measure_id"] = json!(measure_id);
        let event =
            workstream_event("measure.values_changed", &edit.ctx, &edit.ws).details(details);
        audit::record(&mut edit.tx, &edit.user.actor(), event).await?;
    }
    edit.tx.commit().await?;
    let ws_id = edit.ws.workstream_id;
    let to = format!(
        "{}/workstreams/{ws_id}?notice=saved#measure-{measure_id}",
        edit.ctx.base_path()
    );
    Ok(Redirect::to(&to).into_response())
}
