//! A workstream's history: its audit events, newest first, as a list of field changes.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::plans::changes::{self, Change};
use crate::plans::context::IcbYear;

/// One entry of the workstream's history.
pub struct HistoryEntry {
    pub occurred_at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub changes: Vec<Change>,
}

/// The workstream's audit trail, newest first.
pub async fn history(
    conn: &mut PgConnection,
    ctx: &IcbYear,
    workstream_id: i32,
) -> sqlx::Result<Vec<HistoryEntry>> {
    let rows = sqlx::query!(
        r#"
        select e.occurred_at, coalesce(u.name, 'System') as "actor!", e.action, e.details
        from audit_event e left join app_user u on u.user_id = e.actor_user_id
        where e.object_type = 'workstream' and e.object_id = $1 and e.organisation_code = $2
        order by e.audit_event_id desc
        limit 200
        "#,
        workstream_id.to_string(),
        ctx.icb.ods_code()
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| HistoryEntry {
            occurred_at: r.occurred_at,
            actor: r.actor,
            action: action_label(&r.action).to_owned(),
            changes: changes::describe(&r.details),
        })
        .collect())
}

fn action_label(action: &str) -> &str {
    match action {
        "workstream.created" => "Added to the plan",
        "workstream.details_changed" => "Details changed",
        "workstream.target_changed" => "Target or phasing changed",
        "workstream.actuals_changed" => "Actual savings changed",
        "workstream.update_added" => "Update added",
        "workstream.removed" => "Removed from the plan",
        "measure.created" => "Measure added",
        "measure.values_changed" => "Measure values changed",
        "workstream.classification_changed" => "Savings type or investment changed",
        "workstream.full_year_effect_changed" => "Full-year effect changed",
        "workstream.forecast_changed" => "Forecast changed",
        "workstream.carried_forward" => "Started from last year's workstream",
        "risk.added" => "Risk added",
        "risk.changed" => "Risk changed",
        other => other,
    }
}
