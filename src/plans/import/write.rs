//! Writing an applied import: each workstream's actuals and forecasts and each measure's
//! values, audited on the workstream's history like a change made on its page, with their
//! versions moved on.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::json;
use sqlx::PgConnection;

use super::check::{Change, Known};
use crate::assurance::store as assurance_store;
use crate::audit::{self, AuditEvent};
use crate::auth::CurrentUser;
use crate::auth::scope::IcbEditor;
use crate::domain::assurance::Confidence;
use crate::domain::{Month, Pence};
use crate::error::{AppError, AppResult};
use crate::plans::changes::{Changes, month_label};
use crate::plans::measures::{self, show_value};
use crate::plans::workstream::forecast::field_names;
use crate::plans::workstreams;

/// A month's figure: (month, saved before, imported).
type MonthChange<T> = (NaiveDate, Option<T>, T);

/// Writes `changes`, one workstream or measure at a time, each audited with its before and
/// after values like a change made on its page, and bumps their versions (a form opened
/// before the import is then stale, so it cannot overwrite the imported figures unseen).
pub async fn write_changes(
    tx: &mut PgConnection,
    editor: &IcbEditor,
    user: &CurrentUser,
    known: &Known,
    changes: &[Change],
) -> AppResult<()> {
    let mut actuals: BTreeMap<i32, Vec<MonthChange<Pence>>> = BTreeMap::new();
    let mut values: BTreeMap<(i32, i32), Vec<MonthChange<f64>>> = BTreeMap::new();
    let mut forecasts: BTreeMap<i32, Vec<MonthChange<(Pence, Confidence)>>> = BTreeMap::new();
    for change in changes {
        match change {
            Change::Actual {
                workstream_id,
                month,
                before,
                after,
            } => {
                actuals
                    .entry(*workstream_id)
                    .or_default()
                    .push((*month, *before, *after));
            }
            Change::Value {
                measure_id,
                workstream_id,
                month,
                before,
                after,
            } => {
                values
                    .entry((*workstream_id, *measure_id))
                    .or_default()
                    .push((*month, *before, *after));
            }
            Change::Forecast {
                workstream_id,
                month,
                before,
                after,
            } => {
                forecasts
                    .entry(*workstream_id)
                    .or_default()
                    .push((*month, *before, *after));
            }
        }
    }
    let shown =
        |p: Option<Pence>| p.map_or_else(|| "not reported".to_owned(), Pence::exact_display);
    for (workstream_id, months) in actuals {
        let new: Vec<(Month, Option<Pence>)> = months
            .iter()
            .map(|(m, _, a)| (Month::containing(*m), Some(*a)))
            .collect();
        workstreams::save_actuals(&mut *tx, editor, workstream_id, &new).await?;
        bump_workstream(&mut *tx, editor, workstream_id).await?;
        let mut diff = Changes::default();
        for (month, before, after) in &months {
            diff.field(
                format!("Actual {}", month_label(*month)),
                shown(*before),
                shown(Some(*after)),
            );
        }
        let mut details = diff.to_json();
        details["source"] = json!("import");
        let event = AuditEvent::new("workstream.actuals_changed")
            .object("workstream", workstream_id)
            .organisation(Some(editor.ods_code()))
            .details(details);
        audit::record(&mut *tx, &user.actor(), event).await?;
    }
    for (workstream_id, months) in forecasts {
        let mut diff = Changes::default();
        for (month, before, (outturn, confidence)) in &months {
            let month = Month::containing(*month);
            assurance_store::save_forecast(
                &mut *tx,
                editor,
                workstream_id,
                month,
                *outturn,
                *confidence,
            )
            .await?;
            let (outturn_field, confidence_field) = field_names(month);
            diff.field(
                outturn_field,
                before.map_or_else(String::new, |(p, _)| p.exact_display()),
                outturn.exact_display(),
            );
            diff.field(
                confidence_field,
                before.map_or("", |(_, c)| c.label()),
                confidence.label(),
            );
        }
        bump_workstream(&mut *tx, editor, workstream_id).await?;
        let mut details = diff.to_json();
        details["source"] = json!("import");
        let event = AuditEvent::new("workstream.forecast_changed")
            .object("workstream", workstream_id)
            .organisation(Some(editor.ods_code()))
            .details(details);
        audit::record(&mut *tx, &user.actor(), event).await?;
    }
    for ((workstream_id, measure_id), months) in values {
        let name = known
            .measures
            .get(&measure_id)
            .map_or("", |m| m.name.as_str());
        let mut diff = Changes::default();
        for (month, before, after) in &months {
            measures::save_value(
                &mut *tx,
                editor,
                measure_id,
                Month::containing(*month),
                Some(*after),
            )
            .await?;
            diff.field(
                format!("{name} {}", month_label(*month)),
                before.map(show_value).unwrap_or_default(),
                show_value(*after),
            );
        }
        let bumped = sqlx::query!(
            "update measure set version = version + 1, updated_at = now() where icb_id = $1 and measure_id = $2",
            editor.icb_id(),
            measure_id
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if bumped != 1 {
            return Err(AppError::NotFound);
        }
        let mut details = diff.to_json();
        details["measure_id"] = json!(measure_id);
        details["source"] = json!("import");
        let event = AuditEvent::new("measure.values_changed")
            .object("workstream", workstream_id)
            .organisation(Some(editor.ods_code()))
            .details(details);
        audit::record(&mut *tx, &user.actor(), event).await?;
    }
    Ok(())
}

async fn bump_workstream(
    conn: &mut PgConnection,
    editor: &IcbEditor,
    workstream_id: i32,
) -> AppResult<()> {
    let bumped = sqlx::query!(
        r#"
        update workstream set version = version + 1, updated_at = now()
        where icb_id = $1 and workstream_id = $2 and removed_at is null
        "#,
        editor.icb_id(),
        workstream_id
    )
    .execute(conn)
    .await?
    .rows_affected();
    if bumped == 1 {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}
