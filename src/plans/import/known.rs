//! What the ICB's plan for a year holds now, as the import's check needs it: every live
//! workstream's phasing, actuals and forecasts and every measure's values.

use std::collections::BTreeMap;

use sqlx::PgConnection;

use super::check::{Known, KnownMeasure, KnownWorkstream};
use crate::domain::Pence;
use crate::domain::assurance::Confidence;
use crate::plans::context::IcbYear;
use crate::plans::workstreams;

/// What the ICB's plan for the year holds now.
pub async fn known(conn: &mut PgConnection, ctx: &IcbYear, plan_id: i32) -> sqlx::Result<Known> {
    let icb = &ctx.icb;
    let list = workstreams::list(&mut *conn, icb, plan_id).await?;
    let ids: Vec<i32> = list.iter().map(|w| w.workstream_id).collect();
    let mut known_ws: BTreeMap<i32, KnownWorkstream> = list
        .iter()
        .map(|w| {
            (
                w.workstream_id,
                KnownWorkstream {
                    title: w.display_title(),
                    ..Default::default()
                },
            )
        })
        .collect();
    let months = sqlx::query!(
        r#"
        select workstream_id, month, planned_pence, actual_pence from workstream_month
        where icb_id = $1 and workstream_id = any($2)
        "#,
        icb.icb_id(),
        &ids
    )
    .fetch_all(&mut *conn)
    .await?;
    for m in months {
        if let Some(ws) = known_ws.get_mut(&m.workstream_id) {
            ws.planned.insert(m.month, Pence(m.planned_pence));
            if let Some(actual) = m.actual_pence {
                ws.actual.insert(m.month, Pence(actual));
            }
        }
    }
    let forecasts = sqlx::query!(
        r#"
        select workstream_id, month, likely_outturn_pence, confidence as "confidence: Confidence"
        from workstream_forecast where icb_id = $1 and workstream_id = any($2)
        "#,
        icb.icb_id(),
        &ids
    )
    .fetch_all(&mut *conn)
    .await?;
    for f in forecasts {
        if let Some(ws) = known_ws.get_mut(&f.workstream_id) {
            ws.forecasts
                .insert(f.month, (Pence(f.likely_outturn_pence), f.confidence));
        }
    }
    let mut measures: BTreeMap<i32, KnownMeasure> = sqlx::query!(
        r#"
        select measure_id, workstream_id, name || ' (' || unit || ')' as "name!" from measure
        where icb_id = $1 and workstream_id = any($2) and removed_at is null
        "#,
        icb.icb_id(),
        &ids
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|m| {
        (
            m.measure_id,
            KnownMeasure {
                workstream_id: m.workstream_id,
                name: m.name,
                values: BTreeMap::new(),
            },
        )
    })
    .collect();
    let measure_ids: Vec<i32> = measures.keys().copied().collect();
    let values = sqlx::query!(
        "select measure_id, month, value from measure_value where icb_id = $1 and measure_id = any($2)",
        icb.icb_id(),
        &measure_ids
    )
    .fetch_all(&mut *conn)
    .await?;
    for v in values {
        if let Some(m) = measures.get_mut(&v.measure_id) {
            m.values.insert(v.month, v.value);
        }
    }
    Ok(Known {
        icb_code: icb.ods_code().to_owned(),
        year: ctx.year.year,
        this_month: ctx.clock.this_month().first_day(),
        icb_name: icb.name().to_owned(),
        lifetime: icb.lifetime(),
        workstreams: known_ws,
        measures,
    })
}
