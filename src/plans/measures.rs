//! Outcome measures of a workstream: what it should change besides money (e.g. the share of
//! patients on a preferred product), with a baseline, a target and monthly values.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use serde_json::json;
use sqlx::PgConnection;

use super::changes::{Changes, month_key, month_label, parse_month_key};
use super::plan_page::version_field;
use super::workstream_page::{self, Loaded, MonthFields, MonthInput, month_fields};
use crate::AppState;
use crate::audit::{self, AuditEvent};
use crate::auth::CurrentUser;
use crate::auth::scope::IcbAccess;
use crate::error::AppResult;
use crate::forms::{FieldErrors, FormFields};

/// Whether a higher or a lower value is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "measure_direction", rename_all = "snake_case")]
pub enum Direction {
    HigherIsBetter,
    LowerIsBetter,
}

impl Direction {
    /// In words.
    pub fn label(self) -> &'static str {
        match self {
            Direction::HigherIsBetter => "Higher is better",
            Direction::LowerIsBetter => "Lower is better",
        }
    }

    fn from_key(key: &str) -> Option<Self> {
        match key {
            "higher_is_better" => Some(Direction::HigherIsBetter),
            "lower_is_better" => Some(Direction::LowerIsBetter),
            _ => None,
        }
    }
}

/// A measure on the workstream page.
pub struct MeasureView {
    pub measure_id: i32,
    pub name: String,
    pub unit: String,
    pub direction: Direction,
    pub baseline: String,
    pub target: String,
    pub version: i32,
    pub values: Vec<MonthInput>,
    pub latest: Option<String>,
}

/// The add-a-measure form's values.
#[derive(Debug, Clone, Default)]
pub struct MeasureForm {
    pub name: String,
    pub unit: String,
    pub direction: String,
    pub baseline_value: String,
    pub baseline_month: String,
    pub target_value: String,
    pub target_month: String,
}

/// A measure value as shown: `12.5`, not `12.500000`.
pub fn show_value(value: f64) -> String {
    let rounded = (value * 1e6).round() / 1e6;
    format!("{rounded}")
}

/// Parses a measure value: a finite number, commas allowed as thousands separators.
pub fn parse_value(text: &str) -> Option<f64> {
    let cleaned: String = text.chars().filter(|c| *c != ',').collect();
    cleaned
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && v.abs() < 1e15)
}

/// Parses a month written `2024-04`, `04/2024`, `4/2024`, `April 2024` or `Apr 2024`.
pub fn parse_month(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    if let Some(month) = parse_month_key(text) {
        return Some(month);
    }
    if let Some((m, y)) = text.split_once('/') {
        return NaiveDate::from_ymd_opt(y.trim().parse().ok()?, m.trim().parse().ok()?, 1);
    }
    for format in ["%d %B %Y", "%d %b %Y"] {
        if let Ok(date) = NaiveDate::parse_from_str(&format!("1 {text}"), format) {
            return Some(date);
        }
    }
    None
}

/// The workstream's measures that have not been removed, with their values for `months`.
pub async fn list(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    workstream_id: i32,
    months: &[NaiveDate],
) -> sqlx::Result<Vec<MeasureView>> {
    let measures = sqlx::query!(
        r#"
        select measure_id, name, unit, direction as "direction: Direction", baseline_value,
               baseline_month, target_value, target_month, version
        from measure where icb_id = $1 and workstream_id = $2 and removed_at is null
        order by measure_id
        "#,
        icb.icb_id(),
        workstream_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let ids: Vec<i32> = measures.iter().map(|m| m.measure_id).collect();
    let values = sqlx::query!(
        r#"
        select measure_id, month, value from measure_value
        where icb_id = $1 and measure_id = any($2) order by month
        "#,
        icb.icb_id(),
        &ids
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut by_measure: BTreeMap<i32, BTreeMap<NaiveDate, f64>> = BTreeMap::new();
    for v in values {
        by_measure
            .entry(v.measure_id)
            .or_default()
            .insert(v.month, v.value);
    }
    let point = |value: Option<f64>, month: Option<NaiveDate>| match (value, month) {
        (Some(v), Some(m)) => format!("{} in {}", show_value(v), month_label(m)),
        (Some(v), None) => show_value(v),
        _ => "Not set".to_owned(),
    };
    Ok(measures
        .into_iter()
        .map(|m| {
            let saved = by_measure.remove(&m.measure_id).unwrap_or_default();
            MeasureView {
                measure_id: m.measure_id,
                baseline: point(m.baseline_value, m.baseline_month),
                target: point(m.target_value, m.target_month),
                latest: saved
                    .iter()
                    .next_back()
                    .map(|(month, v)| format!("{} in {}", show_value(*v), month_label(*month))),
                values: months
                    .iter()
                    .map(|month| MonthInput {
                        key: month_key(*month),
                        label: month_label(*month),
                        value: saved.get(month).map(|v| show_value(*v)).unwrap_or_default(),
                    })
                    .collect(),
                name: m.name,
                unit: m.unit,
                direction: m.direction,
                version: m.version,
            }
        })
        .collect())
}

pub async fn add(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((code, year, workstream)): Path<(String, String, String)>,
    form: FormFields,
) -> AppResult<Response> {
    let Loaded {
        mut tx,
        ctx,
        ws,
        progress_locked,
        ..
    } = workstream_page::load(&state, &user, &code, &year, &workstream).await?;
    ctx.icb.require_edit()?;
    let sent = MeasureForm {
        name: form.get("measure_name").to_owned(),
        unit: form.get("measure_unit").to_owned(),
        direction: form.get("measure_direction").to_owned(),
        baseline_value: form.get("baseline_value").to_owned(),
        baseline_month: form.get("baseline_month").to_owned(),
        target_value: form.get("target_value").to_owned(),
        target_month: form.get("target_month").to_owned(),
    };
    let mut errors = FieldErrors::default();
    if let Some(reason) = progress_locked {
        errors.add("measure_name", reason);
    }
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
    let direction = Direction::from_key(&sent.direction);
    if direction.is_none() {
        errors.add(
            "measure_direction",
            "Choose whether a higher or a lower value is better",
        );
    }
    let mut number = |field: &str, text: &str, what: &str| {
        let value = parse_value(text);
        if value.is_none() {
            errors.add(
                field,
                format!("Enter the {what} as a number, like 42 or 12.5"),
            );
        }
        value
    };
    let baseline_value = number("baseline_value", &sent.baseline_value, "baseline");
    let target_value = number("target_value", &sent.target_value, "target");
    let mut month = |field: &str, text: &str, what: &str| {
        let value = parse_month(text);
        if value.is_none() {
            errors.add(
                field,
                format!("Enter the {what} month like 2024-03 or March 2024"),
            );
        }
        value
    };
    let baseline_month = month("baseline_month", &sent.baseline_month, "baseline");
    let target_month = month("target_month", &sent.target_month, "target");
    if let (Some(b), Some(t)) = (baseline_month, target_month)
        && t < b
    {
        errors.add(
            "target_month",
            "The target month must be the same as or after the baseline month",
        );
    }
    if !errors.is_empty() {
        let mut page = workstream_page::build(&mut tx, &user, &ctx, ws).await?;
        page.errors = errors;
        page.new_measure = sent;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let id = sqlx::query_scalar!(
        r#"
        insert into measure (workstream_id, icb_id, name, unit, direction, baseline_value,
                             baseline_month, target_value, target_month)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning measure_id
        "#,
        ws.workstream_id,
        ctx.icb.icb_id(),
        sent.name,
        sent.unit,
        direction as Option<Direction>,
        baseline_value,
        baseline_month,
        target_value,
        target_month
    )
    .fetch_one(&mut *tx)
    .await?;
    let event = AuditEvent::new("measure.created")
        .object("workstream", ws.workstream_id)
        .organisation(Some(ctx.icb.ods_code()))
        .details(json!({
            "measure_id": id,
            "after": {
                "Measure": sent.name,
                "Unit": sent.unit,
                "Baseline": format!("{} ({})", sent.baseline_value, sent.baseline_month),
                "Target": format!("{} ({})", sent.target_value, sent.target_month),
            }
        }));
    audit::record(&mut tx, &user.actor(), event).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "{}/workstreams/{}?notice=saved#measure-{id}",
        ctx.base_path(),
        ws.workstream_id
    ))
    .into_response())
}

/// Records a measure's value for a month (replacing one recorded before).
pub async fn save_value(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    measure_id: i32,
    month: NaiveDate,
    value: f64,
) -> sqlx::Result<()> {
    sqlx::query!(
        r#"
        insert into measure_value (measure_id, icb_id, month, value) values ($1, $2, $3, $4)
        on conflict (measure_id, month) do update set value = excluded.value
        "#,
        measure_id,
        icb.icb_id(),
        month,
        value
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn save_values(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((code, year, workstream, measure)): Path<(String, String, String, String)>,
    form: FormFields,
) -> AppResult<Response> {
    let Loaded {
        mut tx,
        ctx,
        ws,
        progress_locked,
        ..
    } = workstream_page::load(&state, &user, &code, &year, &workstream).await?;
    ctx.icb.require_edit()?;
    let measure_id: i32 = measure
        .parse()
        .map_err(|_| crate::error::AppError::NotFound)?;
    let fy = ctx.year.year;
    let months = fy.months();
    let saved = list(&mut tx, &ctx.icb, ws.workstream_id, &months)
        .await?
        .into_iter()
        .find(|m| m.measure_id == measure_id)
        .ok_or(crate::error::AppError::NotFound)?;
    let id_prefix = format!("m{measure_id}_");
    let group_id = format!("m{measure_id}_values");
    let mut errors = FieldErrors::default();
    if let Some(reason) = progress_locked {
        errors.add(&group_id, reason);
    }
    let fields = MonthFields {
        prefix: "value_",
        id_prefix: &id_prefix,
        group_id: &group_id,
    };
    let (values, sent) = month_fields(&form, &fields, fy, &mut errors, |text| {
        parse_value(text)
            .ok_or_else(|| format!("Enter a number for {}, like 42 or 12.5", saved.name))
    });
    let mut diff = Changes::default();
    for (month, value) in &values {
        let before = saved
            .values
            .iter()
            .find(|v| v.key == month_key(*month))
            .map(|v| v.value.clone())
            .unwrap_or_default();
        diff.field(
            format!("{} {}", saved.name, month_label(*month)),
            before,
            value.map(show_value).unwrap_or_default(),
        );
    }
    let version_ok = errors.is_empty()
        && sqlx::query!(
            r#"update measure set version = version + 1, updated_at = now()
               where icb_id = $1 and measure_id = $2 and version = $3"#,
            ctx.icb.icb_id(),
            measure_id,
            version_field(&form)
        )
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
    if !version_ok {
        let stale = errors.is_empty();
        let mut page = workstream_page::build(&mut tx, &user, &ctx, ws).await?;
        if stale {
            page.conflict = Some(diff.into_vec());
            return Ok((StatusCode::CONFLICT, page).into_response());
        }
        page.errors = errors;
        if let Some(m) = page
            .measures
            .iter_mut()
            .find(|m| m.measure_id == measure_id)
            && !sent.is_empty()
        {
            m.values = sent;
        }
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    for (month, value) in &values {
        match value {
            Some(v) => save_value(&mut tx, &ctx.icb, measure_id, *month, *v).await?,
            None => {
                sqlx::query!(
                    "delete from measure_value where icb_id = $1 and measure_id = $2 and month = $3",
                    ctx.icb.icb_id(),
                    measure_id,
                    month
                )
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    if !diff.is_empty() {
        let mut details = diff.to_json();
        details["measure_id"] = json!(measure_id);
        let event = AuditEvent::new("measure.values_changed")
            .object("workstream", ws.workstream_id)
            .organisation(Some(ctx.icb.ods_code()))
            .details(details);
        audit::record(&mut tx, &user.actor(), event).await?;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "{}/workstreams/{}?notice=saved#measure-{measure_id}",
        ctx.base_path(),
        ws.workstream_id
    ))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_read_as_people_write_them() {
        let march = NaiveDate::from_ymd_opt(2024, 3, 1);
        for text in [
            "2024-03",
            "03/2024",
            "3/2024",
            "March 2024",
            "Mar 2024",
            " march 2024 ",
        ] {
            assert_eq!(parse_month(text), march, "{text}");
        }
        for text in ["", "2024", "13/2024", "Smarch 2024", "2024-3-1"] {
            assert_eq!(parse_month(text), None, "{text}");
        }
    }

    #[test]
    fn values_are_finite_numbers() {
        assert_eq!(parse_value("1,234.5"), Some(1234.5));
        assert_eq!(parse_value("-3"), Some(-3.0));
        assert_eq!(parse_value("NaN"), None);
        assert_eq!(parse_value("inf"), None);
        assert_eq!(parse_value("12%"), None);
        assert_eq!(show_value(12.5), "12.5");
        assert_eq!(show_value(0.1 + 0.2), "0.3");
    }
}
