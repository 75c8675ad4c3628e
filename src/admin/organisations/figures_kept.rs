//! Recording a merger or a split may not make savings disappear. An ICB's figures count only
//! for the months it existed in (predecessors up to the day before the change, successors from
//! that day), so a change is refused when it would leave a predecessor's recorded figures
//! outside its lifetime: a plan for a year that starts on or after the change, or actual
//! savings for a month from the change on. Changes take effect on the first day of a month,
//! because figures are monthly: no month can then belong to two ICBs, or to none.

use chrono::{Datelike, Months, NaiveDate};
use sqlx::PgConnection;

use crate::domain::FinancialYear;

/// Why the change from `effective` cannot be recorded for the predecessors `icbs`, as messages
/// for the date field (none: it can).
pub async fn problems(
    conn: &mut PgConnection,
    icbs: &[i32],
    effective: NaiveDate,
) -> sqlx::Result<Vec<String>> {
    let day = |d: NaiveDate| d.format("%-d %B %Y").to_string();
    if effective.day() != 1 {
        let first = effective.with_day(1).unwrap_or(effective);
        return Ok(vec![format!(
            "Changes take effect on the first day of a month, because figures are monthly: enter {} or {}",
            day(first),
            day(first + Months::new(1))
        )]);
    }
    let rows = sqlx::query!(
        r#"
        select i.name,
               (select max(y.starts_on) from plan p
                join programme_year y on y.programme_year_id = p.programme_year_id
                where p.icb_id = i.icb_id and y.starts_on >= $2) as latest_plan_year,
               (select max(m.month) from workstream_month m
                where m.icb_id = i.icb_id and m.month >= $2 and m.actual_pence is not null)
                   as latest_actual
        from icb i
        where i.icb_id = any($1)
        order by i.name
        "#,
        icbs,
        effective
    )
    .fetch_all(conn)
    .await?;
    let mut problems = Vec::new();
    for r in rows {
        if let Some(year) = r.latest_plan_year.and_then(FinancialYear::from_start_date) {
            problems.push(format!(
                "{} has a {year} plan, which would stop counting if it closed before that year began: enter {} or later",
                r.name,
                day(year.starts_on() + Months::new(1))
            ));
        }
        if let Some(month) = r.latest_actual {
            problems.push(format!(
                "{} has actual savings recorded for {}, which would stop counting: enter {} or later",
                r.name,
                month.format("%B %Y"),
                day(month + Months::new(1))
            ));
        }
    }
    Ok(problems)
}
