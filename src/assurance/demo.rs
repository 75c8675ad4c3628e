//! The demo dataset's savings assurance (`medopt demo`): the plans just written get a saving
//! type, benefit and setting per workstream, a little investment here and there, the lead's
//! forecast as at the latest reported month with a confidence, and a savings requirement a
//! little above the plan's targets, so the assurance pages and roll-ups have something to
//! show. Everything is derived from the rows' ids and figures, so a load is reproducible; only
//! the plans of this load are touched, so loading again changes nothing.

use sqlx::PgConnection;

/// Fills in the assurance fields of the demo plans `plan_ids`.
pub async fn fill(conn: &mut PgConnection, plan_ids: &[i32]) -> sqlx::Result<()> {
    sqlx::query!(
        r#"
        update workstream w
           set saving_type = case when w.workstream_id % 4 = 0 then 'non_recurrent'::saving_type
                                  else 'recurrent'::saving_type end,
               benefit_type = case when w.workstream_id % 3 = 0 then 'cost_avoidance'::benefit_type
                                   else 'cash_releasing'::benefit_type end,
               setting = case w.workstream_id % 5 when 3 then 'secondary_care'::saving_setting
                                                  when 4 then 'system'::saving_setting
                                                  else 'primary_care'::saving_setting end,
               investment_pence = case when w.workstream_id % 4 = 1
                                       then (w.annual_target_pence / 20 / 100) * 100 else 0 end
         where w.plan_id = any($1)
        "#,
        plan_ids
    )
    .execute(&mut *conn)
    .await?;
    // The forecast as at the latest reported month: the actuals so far and 80% to 110% of the
    // rest of the phasing, in whole pounds.
    sqlx::query!(
        r#"
        insert into workstream_forecast (workstream_id, icb_id, month, likely_outturn_pence, confidence)
        select w.workstream_id, w.icb_id, m.latest,
               (round((m.actual + m.remaining * (80 + w.workstream_id % 31) / 100.0) / 100) * 100)::bigint,
               (array['high', 'medium', 'low'])[1 + w.workstream_id % 3]::forecast_confidence
        from workstream w
        cross join lateral (
            select max(month) filter (where actual_pence is not null) as latest,
                   coalesce(sum(actual_pence), 0) as actual,
                   coalesce(sum(planned_pence) filter (where actual_pence is null), 0) as remaining
            from workstream_month where workstream_id = w.workstream_id and icb_id = w.icb_id
        ) m
        where w.plan_id = any($1) and w.removed_at is null and m.latest is not null
        "#,
        plan_ids
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        r#"
        update plan p
           set savings_requirement_pence =
                   (round(t.target * (105 + p.plan_id % 10) / 100.0 / 100000) * 100000)::bigint
          from (select plan_id, sum(annual_target_pence) as target from workstream
                where plan_id = any($1) and removed_at is null group by plan_id) t
         where p.plan_id = t.plan_id
        "#,
        plan_ids
    )
    .execute(conn)
    .await?;
    Ok(())
}
