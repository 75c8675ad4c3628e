//! Writing next year's plan from this one: starting the plan if it was not, then each chosen
//! workstream with its phasing and measures, each audited on the new workstream's history, and
//! the whole audited on the plan.

use serde_json::json;
use sqlx::PgConnection;

use super::preview::{Fate, Item};
use crate::audit::{self, AuditEvent};
use crate::auth::CurrentUser;
use crate::auth::scope::IcbEditor;
use crate::domain::assurance::{BenefitType, SavingType, Setting};
use crate::domain::{Month, Pence, even_split};
use crate::error::AppResult;
use crate::plans::context::IcbYear;
use crate::plans::measures::Direction;
use crate::plans::workflow;

/// Copies `chosen` into next year's plan (`next`, started and locked), reopens it if it was
/// agreed, and audits the carry-forward on it.
pub async fn copy_all(
    conn: &mut PgConnection,
    editor: &IcbEditor,
    user: &CurrentUser,
    ctx: &IcbYear,
    next: &IcbYear,
    chosen: &[Item],
) -> AppResult<()> {
    let next_plan = next.require_plan()?.plan_id;
    for item in chosen {
        copy(&mut *conn, editor, user, ctx, next, next_plan, item).await?;
    }
    workflow::content_changed(&mut *conn, editor, &user.actor(), next, true).await?;
    let carried: Pence = chosen.iter().map(|i| i.carried).sum();
    let event = AuditEvent::new("plan.carried_forward")
        .object(
            "plan",
            format!("{}/{}", ctx.icb.ods_code(), next.year.year.slug()),
        )
        .organisation(Some(ctx.icb.ods_code()))
        .details(json!({
            "from": ctx.year.year.to_string(),
            "workstreams": chosen.len(),
            "measures": chosen.iter().map(|i| i.measures.len()).sum::<usize>(),
            "carried_forward": carried.exact_display(),
        }));
    audit::record(conn, &user.actor(), event).await?;
    Ok(())
}

/// Next year's plan, started if it was not (audited like a plan started on its page), and
/// locked.
pub async fn start_plan(
    conn: &mut PgConnection,
    user: &CurrentUser,
    editor: &IcbEditor,
    ctx: &IcbYear,
    next: IcbYear,
) -> AppResult<IcbYear> {
    if next.plan.is_some() {
        return Ok(next);
    }
    sqlx::query!(
        "insert into plan (icb_id, programme_year_id, created_by) values ($1, $2, $3)",
        editor.icb_id(),
        next.year.programme_year_id,
        user.user_id
    )
    .execute(&mut *conn)
    .await?;
    let event = AuditEvent::new("plan.created")
        .object(
            "plan",
            format!("{}/{}", ctx.icb.ods_code(), next.year.year.slug()),
        )
        .organisation(Some(ctx.icb.ods_code()))
        .details(json!({ "year": next.year.year.to_string(), "from": ctx.year.year.to_string() }));
    audit::record(&mut *conn, &user.actor(), event).await?;
    IcbYear::load(conn, ctx.icb.clone(), next.year.year, ctx.clock, true).await
}

/// Copies one workstream, its phasing and its measures into next year's plan, audited on the
/// new workstream's history.
async fn copy(
    conn: &mut PgConnection,
    editor: &IcbEditor,
    user: &CurrentUser,
    ctx: &IcbYear,
    next: &IcbYear,
    next_plan: i32,
    item: &Item,
) -> AppResult<()> {
    let national = item.fate == Fate::Copy && !item.local;
    let id = sqlx::query_scalar!(
        r#"
        insert into workstream (icb_id, plan_id, opportunity_id, title, description, lead_name,
                                summary, objectives, saving_type, benefit_type, setting,
                                annual_target_pence, carried_forward_pence,
                                carried_from_workstream_id)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13)
        returning workstream_id
        "#,
        editor.icb_id(),
        next_plan,
        national.then_some(item.next_opportunity).flatten(),
        (!national).then_some(item.new_title.as_str()),
        item.description,
        item.lead_name,
        item.summary,
        &item.objectives,
        item.saving_type as Option<SavingType>,
        item.benefit_type as Option<BenefitType>,
        item.setting as Option<Setting>,
        item.carried.0,
        item.workstream_id
    )
    .fetch_one(&mut *conn)
    .await?;
    let months: Vec<Month> = next.year.year.reporting_months().to_vec();
    let amounts: Vec<i64> = even_split(item.carried).iter().map(|p| p.0).collect();
    sqlx::query!(
        r#"
        insert into workstream_month (workstream_id, icb_id, month, planned_pence)
        select $2, $1, m, p from unnest($3::date[], $4::bigint[]) as t(m, p)
        "#,
        editor.icb_id(),
        id,
        &months as &[Month],
        &amounts
    )
    .execute(&mut *conn)
    .await?;
    for m in &item.measures {
        sqlx::query!(
            r#"
            insert into measure (workstream_id, icb_id, name, unit, direction, baseline_value,
                                 baseline_month, target_value, target_month)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            "#,
            id,
            editor.icb_id(),
            m.name,
            m.unit,
            m.direction as Direction,
            m.baseline.map(|(v, _)| v),
            m.baseline.map(|(_, month)| month) as Option<Month>,
            m.target_value,
            m.target_month as Month
        )
        .execute(&mut *conn)
        .await?;
    }
    let event = AuditEvent::new("workstream.carried_forward")
        .object("workstream", id)
        .organisation(Some(ctx.icb.ods_code()))
        .details(json!({
            "from_workstream_id": item.workstream_id,
            "after": {
                "Started from": format!("{} ({})", item.title, ctx.year.year),
                "Secured from last year": item.carried.exact_display(),
                "Annual target": item.carried.exact_display(),
                "Measures": item.measures.iter().map(|m| format!("{} from {}", m.name, m.baseline_text())).collect::<Vec<_>>(),
            },
        }));
    audit::record(&mut *conn, &user.actor(), event).await?;
    Ok(())
}
