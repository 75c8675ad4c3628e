//! `medopt check`: stored figures that break a rule the database now enforces on every write
//! (phasing that adds up to the target, no negative phasing unless a cost pressure, monthly rows
//! in their plan's year) or that fall outside their ICB's lifetime. Rows stored before the
//! rules are never changed automatically: an operator lists them here and has them corrected.

use sqlx::PgPool;

/// One stored row that breaks a rule.
#[derive(Debug, Clone)]
pub struct Problem {
    pub problem: String,
    pub ods_code: String,
    /// `2024/25`.
    pub year: String,
    pub workstream_id: i32,
    pub detail: String,
}

/// Every stored row that breaks a rule (the `figures_problem` view), read with every ICB in
/// scope: the operator's command, not a request.
pub async fn problems(pool: &PgPool) -> sqlx::Result<Vec<Problem>> {
    let mut tx = pool.begin().await?;
    sqlx::query!(r#"select set_config('medopt.read_icbs', '*', true) as "read!""#)
        .fetch_one(&mut *tx)
        .await?;
    let rows = sqlx::query!(
        r#"
        select problem as "problem!", ods_code as "ods_code!", year_starts_on as "year!",
               workstream_id as "workstream_id!", detail as "detail!"
        from figures_problem
        order by problem, ods_code, year_starts_on, workstream_id
        "#
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|r| Problem {
            problem: r.problem,
            ods_code: r.ods_code,
            year: crate::domain::FinancialYear::from_start_date(r.year)
                .map_or_else(|| r.year.to_string(), |y| y.to_string()),
            workstream_id: r.workstream_id,
            detail: r.detail,
        })
        .collect())
}
