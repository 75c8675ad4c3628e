//! The demo loader's SQL: what the generator needs to know (ICBs, catalogues, plans that
//! exist already) and writing its plans with one bulk statement per table.
//!
//! Rows are written with ids drawn from their tables' own sequences first (one statement per
//! table), so children can name their parents without a round trip per row and without
//! relying on the order `insert … returning` gives rows back.

use std::collections::HashSet;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

use super::generate::{
    Catalogues, DemoIcb, DemoOpportunity, MeasureData, PlanData, WorkstreamData,
};
use crate::admin::{YearCopy, copy_year};
use crate::audit::Actor;
use crate::domain::FinancialYear;
use crate::icbs::PlanStatus;

/// Sets the transaction up: every ICB in scope (so row-level security lets the load through
/// even when the connection's role is not a superuser), and one demo load at a time.
pub async fn begin_load(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query!(
        r#"select set_config('medopt.read_icbs', '*', true) as "read!",
                  set_config('medopt.write_icbs', '*', true) as "write!",
                  set_config('medopt.review_icbs', '*', true) as "review!""#
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!("lock table demo_dataset in share row exclusive mode")
        .execute(conn)
        .await?;
    Ok(())
}

/// Brings the planner's statistics up to date on the tables the demo filled, so the first
/// pages after a load are planned on the real row counts (autovacuum would get there later).
/// Tables the connection's role does not own are skipped by PostgreSQL with a warning.
pub async fn analyze(pool: &sqlx::PgPool) -> sqlx::Result<()> {
    sqlx::raw_sql(
        "analyze plan, workstream, workstream_month, workstream_update, measure, measure_value, \
         workstream_forecast, demo_dataset",
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Whether any demo plan is there.
pub async fn demo_loaded(conn: &mut PgConnection) -> sqlx::Result<bool> {
    sqlx::query_scalar!(r#"select exists (select 1 from demo_dataset) as "loaded!""#)
        .fetch_one(conn)
        .await
}

/// Creates the programme years among `years` that do not exist, each with a copy of the
/// catalogue of the latest year that has one (as an administrator would). Returns them.
pub async fn ensure_years(
    conn: &mut PgConnection,
    years: &[FinancialYear],
) -> anyhow::Result<Vec<FinancialYear>> {
    let existing: HashSet<FinancialYear> =
        sqlx::query_scalar!("select starts_on from programme_year")
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .filter_map(FinancialYear::from_start_date)
            .collect();
    let mut missing: Vec<FinancialYear> = years
        .iter()
        .copied()
        .filter(|y| !existing.contains(y))
        .collect();
    missing.sort();
    missing.dedup();
    if missing.is_empty() {
        return Ok(missing);
    }
    let source = sqlx::query_scalar!(
        r#"
        select y.starts_on from programme_year y
        where exists (select 1 from opportunity o where o.programme_year_id = y.programme_year_id)
        order by y.starts_on desc limit 1
        "#
    )
    .fetch_optional(&mut *conn)
    .await?
    .and_then(FinancialYear::from_start_date)
    .context("no programme year has a catalogue to copy: run `medopt migrate` first")?;
    for &year in &missing {
        let copied = copy_year(conn, &Actor::default(), year, source).await?;
        anyhow::ensure!(
            matches!(copied, YearCopy::Created { .. }),
            "could not create {year} from {source}'s catalogue ({copied:?})"
        );
    }
    Ok(missing)
}

/// Every ICB, with its region and dates.
pub async fn icbs(conn: &mut PgConnection) -> sqlx::Result<Vec<DemoIcb>> {
    sqlx::query_as!(
        DemoIcb,
        r#"
        select i.icb_id, i.ods_code, r.ods_code as region_code, i.valid_from, i.valid_to
        from icb i join region r using (region_id)
        order by i.ods_code
        "#
    )
    .fetch_all(conn)
    .await
}

/// The catalogue of each of `years`.
pub async fn catalogues(
    conn: &mut PgConnection,
    years: &[FinancialYear],
) -> sqlx::Result<Catalogues> {
    let starts: Vec<NaiveDate> = years.iter().map(|y| y.starts_on()).collect();
    let rows = sqlx::query!(
        r#"
        select y.starts_on, o.number, o.title, o.slug
        from opportunity o join programme_year y using (programme_year_id)
        where y.starts_on = any($1::date[])
        order by y.starts_on, o.number
        "#,
        &starts
    )
    .fetch_all(conn)
    .await?;
    let mut catalogues = Catalogues::new();
    for row in rows {
        if let Some(year) = FinancialYear::from_start_date(row.starts_on) {
            catalogues.entry(year).or_default().push(DemoOpportunity {
                number: row.number,
                title: row.title,
                slug: row.slug,
            });
        }
    }
    Ok(catalogues)
}

/// A plan that exists for one of the demo's years.
pub struct ExistingPlan {
    pub icb_id: i32,
    pub ods_code: String,
    pub year: FinancialYear,
    /// Created by the demo (otherwise: real, and never to be touched).
    pub demo: bool,
}

/// The plans of `years`, each marked as the demo's own or not, by ICB then year.
pub async fn existing_plans(
    conn: &mut PgConnection,
    years: &[FinancialYear],
) -> sqlx::Result<Vec<ExistingPlan>> {
    let starts: Vec<NaiveDate> = years.iter().map(|y| y.starts_on()).collect();
    let rows = sqlx::query!(
        r#"
        select p.icb_id, i.ods_code, y.starts_on,
               exists (select 1 from demo_dataset d where d.plan_id = p.plan_id) as "demo!"
        from plan p
        join icb i using (icb_id)
        join programme_year y using (programme_year_id)
        where y.starts_on = any($1::date[])
        order by i.ods_code, y.starts_on
        "#,
        &starts
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(ExistingPlan {
                icb_id: r.icb_id,
                ods_code: r.ods_code,
                year: FinancialYear::from_start_date(r.starts_on)?,
                demo: r.demo,
            })
        })
        .collect())
}

/// Writes `plans` and everything in them, and records them as the demo's own.
pub async fn write(conn: &mut PgConnection, plans: &[PlanData], seed: u64) -> anyhow::Result<()> {
    if plans.is_empty() {
        return Ok(());
    }
    let workstreams = plans.iter().flat_map(|p| &p.workstreams);
    let workstream_count = workstreams.clone().count();
    let measure_count = workstreams.map(|w| w.measures.len()).sum();
    let ids = Ids {
        plans: reserve_ids(conn, "plan", plans.len()).await?,
        workstreams: reserve_ids(conn, "workstream", workstream_count).await?,
        measures: reserve_ids(conn, "measure", measure_count).await?,
    };
    let rows = Rows::of(plans, &ids);
    insert_plans(conn, plans, &ids.plans).await?;
    insert_workstreams(conn, &rows).await?;
    insert_months(conn, &rows).await?;
    insert_updates(conn, &rows).await?;
    insert_measures(conn, &rows).await?;
    insert_measure_values(conn, &rows).await?;
    insert_review_history(conn, &ids.plans).await?;
    crate::assurance::demo::fill(conn, &ids.plans).await?;
    mark_as_demo(conn, &ids.plans, seed).await?;
    Ok(())
}

/// Ids drawn for the new rows, in the generator's order.
struct Ids {
    plans: Vec<i32>,
    workstreams: Vec<i32>,
    measures: Vec<i32>,
}

/// Draws `count` ids from the identity sequence of `table`'s `{table}_id` column.
async fn reserve_ids(
    conn: &mut PgConnection,
    table: &str,
    count: usize,
) -> anyhow::Result<Vec<i32>> {
    let ids = sqlx::query_scalar!(
        r#"
        select nextval(pg_get_serial_sequence($1, $2))::integer as "id!"
        from generate_series(1, $3::integer)
        "#,
        table,
        format!("{table}_id"),
        i32::try_from(count).context("too many rows")?
    )
    .fetch_all(conn)
    .await
    .with_context(|| format!("could not draw ids for {table}"))?;
    anyhow::ensure!(
        ids.len() == count,
        "drew {} ids for {count} {table} rows",
        ids.len()
    );
    Ok(ids)
}

async fn insert_plans(
    conn: &mut PgConnection,
    plans: &[PlanData],
    ids: &[i32],
) -> sqlx::Result<()> {
    let icb_ids: Vec<i32> = plans.iter().map(|p| p.icb_id).collect();
    let starts: Vec<NaiveDate> = plans.iter().map(|p| p.year.starts_on()).collect();
    let statuses: Vec<String> = plans
        .iter()
        .map(|p| status_key(p.status).to_owned())
        .collect();
    let comments: Vec<Option<String>> = plans.iter().map(|p| p.review_comment.clone()).collect();
    let created: Vec<DateTime<Utc>> = plans.iter().map(|p| p.created_at).collect();
    let updated: Vec<DateTime<Utc>> = plans.iter().map(|p| p.updated_at).collect();
    let submitted: Vec<Option<DateTime<Utc>>> = plans.iter().map(|p| p.submitted_at).collect();
    let reviewed: Vec<Option<DateTime<Utc>>> = plans.iter().map(|p| p.reviewed_at).collect();
    sqlx::query!(
        r#"
        insert into plan (plan_id, icb_id, programme_year_id, status, review_comment, created_at,
                          updated_at, submitted_at, reviewed_at)
        overriding system value
        select t.plan_id, t.icb_id, y.programme_year_id, t.status::plan_status, t.review_comment,
               t.created_at, t.updated_at, t.submitted_at, t.reviewed_at
        from unnest($1::integer[], $2::integer[], $3::date[], $4::text[], $5::text[],
                    $6::timestamptz[], $7::timestamptz[], $8::timestamptz[], $9::timestamptz[])
             as t(plan_id, icb_id, starts_on, status, review_comment, created_at, updated_at,
                  submitted_at, reviewed_at)
        join programme_year y using (starts_on)
        "#,
        ids,
        &icb_ids,
        &starts,
        &statuses,
        &comments as &[Option<String>],
        &created,
        &updated,
        &submitted as &[Option<DateTime<Utc>>],
        &reviewed as &[Option<DateTime<Utc>>],
    )
    .execute(conn)
    .await?;
    Ok(())
}

fn status_key(status: PlanStatus) -> &'static str {
    match status {
        PlanStatus::Draft => "draft",
        PlanStatus::Submitted => "submitted",
        PlanStatus::Agreed => "agreed",
        PlanStatus::Returned => "returned",
    }
}

/// Workstreams, months, updates, measures and values flattened into one array per column.
#[derive(Default)]
struct Rows {
    ws_id: Vec<i32>,
    ws_icb: Vec<i32>,
    ws_plan: Vec<i32>,
    ws_number: Vec<Option<i16>>,
    ws_title: Vec<Option<String>>,
    ws_description: Vec<String>,
    ws_lead: Vec<String>,
    ws_summary: Vec<String>,
    /// Comma-separated: `unnest` flattens an array of arrays, so each is passed as text.
    ws_objectives: Vec<String>,
    ws_target: Vec<i64>,
    ws_rag: Vec<Option<String>>,
    ws_created: Vec<DateTime<Utc>>,
    ws_updated: Vec<DateTime<Utc>>,

    month_ws: Vec<i32>,
    month_icb: Vec<i32>,
    month: Vec<NaiveDate>,
    month_planned: Vec<i64>,
    month_actual: Vec<Option<i64>>,

    update_ws: Vec<i32>,
    update_icb: Vec<i32>,
    update_rag: Vec<String>,
    update_narrative: Vec<String>,
    update_author: Vec<String>,
    update_created: Vec<DateTime<Utc>>,

    measure_id: Vec<i32>,
    measure_ws: Vec<i32>,
    measure_icb: Vec<i32>,
    measure_name: Vec<String>,
    measure_unit: Vec<String>,
    measure_direction: Vec<String>,
    measure_baseline: Vec<f64>,
    measure_baseline_month: Vec<NaiveDate>,
    measure_target: Vec<f64>,
    measure_target_month: Vec<NaiveDate>,
    measure_created: Vec<DateTime<Utc>>,

    value_measure: Vec<i32>,
    value_icb: Vec<i32>,
    value_month: Vec<NaiveDate>,
    value: Vec<f64>,
}

impl Rows {
    fn of(plans: &[PlanData], ids: &Ids) -> Self {
        let mut rows = Rows::default();
        let mut workstream_ids = ids.workstreams.iter().copied();
        let mut measure_ids = ids.measures.iter().copied();
        for (plan, &plan_id) in plans.iter().zip(&ids.plans) {
            for ws in &plan.workstreams {
                let Some(ws_id) = workstream_ids.next() else {
                    return rows;
                };
                rows.workstream(plan.icb_id, plan_id, ws_id, ws);
                for measure in &ws.measures {
                    let Some(measure_id) = measure_ids.next() else {
                        return rows;
                    };
                    rows.measure(plan.icb_id, ws_id, measure_id, measure);
                }
            }
        }
        rows
    }

    fn workstream(&mut self, icb_id: i32, plan_id: i32, ws_id: i32, ws: &WorkstreamData) {
        self.ws_id.push(ws_id);
        self.ws_icb.push(icb_id);
        self.ws_plan.push(plan_id);
        self.ws_number.push(ws.opportunity);
        self.ws_title.push(ws.title.clone());
        self.ws_description.push(ws.description.clone());
        self.ws_lead.push(ws.lead_name.clone());
        self.ws_summary.push(ws.summary.clone());
        self.ws_objectives.push(ws.objectives.join(","));
        self.ws_target.push(ws.annual_target_pence);
        self.ws_rag.push(ws.rag.map(|r| r.key().to_owned()));
        self.ws_created.push(ws.created_at);
        self.ws_updated.push(ws.updated_at);
        for m in &ws.months {
            self.month_ws.push(ws_id);
            self.month_icb.push(icb_id);
            self.month.push(m.month);
            self.month_planned.push(m.planned_pence);
            self.month_actual.push(m.actual_pence);
        }
        for u in &ws.updates {
            self.update_ws.push(ws_id);
            self.update_icb.push(icb_id);
            self.update_rag.push(u.rag.key().to_owned());
            self.update_narrative.push(u.narrative.to_owned());
            self.update_author.push(u.author_name.clone());
            self.update_created.push(u.created_at);
        }
    }

    fn measure(&mut self, icb_id: i32, ws_id: i32, measure_id: i32, m: &MeasureData) {
        self.measure_id.push(measure_id);
        self.measure_ws.push(ws_id);
        self.measure_icb.push(icb_id);
        self.measure_name.push(m.name.to_owned());
        self.measure_unit.push(m.unit.to_owned());
        let direction = if m.higher_is_better {
            "higher_is_better"
        } else {
            "lower_is_better"
        };
        self.measure_direction.push(direction.to_owned());
        self.measure_baseline.push(m.baseline_value);
        self.measure_baseline_month.push(m.baseline_month);
        self.measure_target.push(m.target_value);
        self.measure_target_month.push(m.target_month);
        self.measure_created.push(m.created_at);
        for &(month, value) in &m.values {
            self.value_measure.push(measure_id);
            self.value_icb.push(icb_id);
            self.value_month.push(month);
            self.value.push(value);
        }
    }
}

async fn insert_workstreams(conn: &mut PgConnection, rows: &Rows) -> sqlx::Result<()> {
    // National workstreams name their opportunity by number within the plan's year.
    sqlx::query!(
        r#"
        insert into workstream (workstream_id, icb_id, plan_id, opportunity_id, title, description,
                                lead_name, summary, objectives, annual_target_pence, rag,
                                created_at, updated_at)
        overriding system value
        select t.workstream_id, t.icb_id, t.plan_id, o.opportunity_id, t.title, t.description,
               t.lead_name, t.summary, coalesce(string_to_array(nullif(t.objectives, ''), ','), '{}'),
               t.target, t.rag::rag_status, t.created_at, t.updated_at
        from unnest($1::integer[], $2::integer[], $3::integer[], $4::smallint[], $5::text[],
                    $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[], $11::text[],
                    $12::timestamptz[], $13::timestamptz[])
             as t(workstream_id, icb_id, plan_id, number, title, description, lead_name, summary,
                  objectives, target, rag, created_at, updated_at)
        join plan p on p.plan_id = t.plan_id
        left join opportunity o on o.programme_year_id = p.programme_year_id and o.number = t.number
        "#,
        &rows.ws_id,
        &rows.ws_icb,
        &rows.ws_plan,
        &rows.ws_number as &[Option<i16>],
        &rows.ws_title as &[Option<String>],
        &rows.ws_description,
        &rows.ws_lead,
        &rows.ws_summary,
        &rows.ws_objectives,
        &rows.ws_target,
        &rows.ws_rag as &[Option<String>],
        &rows.ws_created,
        &rows.ws_updated,
    )
    .execute(conn)
    .await?;
    Ok(())
}

async fn insert_months(conn: &mut PgConnection, rows: &Rows) -> sqlx::Result<()> {
    sqlx::query!(
        r#"
        insert into workstream_month (workstream_id, icb_id, month, planned_pence, actual_pence)
        select * from unnest($1::integer[], $2::integer[], $3::date[], $4::bigint[], $5::bigint[])
        "#,
        &rows.month_ws,
        &rows.month_icb,
        &rows.month,
        &rows.month_planned,
        &rows.month_actual as &[Option<i64>],
    )
    .execute(conn)
    .await?;
    Ok(())
}

async fn insert_updates(conn: &mut PgConnection, rows: &Rows) -> sqlx::Result<()> {
    sqlx::query!(
        r#"
        insert into workstream_update (workstream_id, icb_id, rag, narrative, author_name, created_at)
        select t.workstream_id, t.icb_id, t.rag::rag_status, t.narrative, t.author_name, t.created_at
        from unnest($1::integer[], $2::integer[], $3::text[], $4::text[], $5::text[],
                    $6::timestamptz[])
             as t(workstream_id, icb_id, rag, narrative, author_name, created_at)
        "#,
        &rows.update_ws,
        &rows.update_icb,
        &rows.update_rag,
        &rows.update_narrative,
        &rows.update_author,
        &rows.update_created,
    )
    .execute(conn)
    .await?;
    Ok(())
}

async fn insert_measures(conn: &mut PgConnection, rows: &Rows) -> sqlx::Result<()> {
    sqlx::query!(
        r#"
        insert into measure (measure_id, workstream_id, icb_id, name, unit, direction,
                             baseline_value, baseline_month, target_value, target_month,
                             created_at, updated_at)
        overriding system value
        select t.measure_id, t.workstream_id, t.icb_id, t.name, t.unit,
               t.direction::measure_direction, t.baseline_value, t.baseline_month,
               t.target_value, t.target_month, t.created_at, t.created_at
        from unnest($1::integer[], $2::integer[], $3::integer[], $4::text[], $5::text[],
                    $6::text[], $7::float8[], $8::date[], $9::float8[], $10::date[],
                    $11::timestamptz[])
             as t(measure_id, workstream_id, icb_id, name, unit, direction, baseline_value,
                  baseline_month, target_value, target_month, created_at)
        "#,
        &rows.measure_id,
        &rows.measure_ws,
        &rows.measure_icb,
        &rows.measure_name,
        &rows.measure_unit,
        &rows.measure_direction,
        &rows.measure_baseline,
        &rows.measure_baseline_month,
        &rows.measure_target,
        &rows.measure_target_month,
        &rows.measure_created,
    )
    .execute(conn)
    .await?;
    Ok(())
}

async fn insert_measure_values(conn: &mut PgConnection, rows: &Rows) -> sqlx::Result<()> {
    sqlx::query!(
        r#"
        insert into measure_value (measure_id, icb_id, month, value)
        select * from unnest($1::integer[], $2::integer[], $3::date[], $4::float8[])
        "#,
        &rows.value_measure,
        &rows.value_icb,
        &rows.value_month,
        &rows.value,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Each plan's review so far, as its dates and status say: the submission (with a cover note)
/// and the decision with its comments; an agreed plan's agreement keeps its content, so the
/// review page can compare.
async fn insert_review_history(conn: &mut PgConnection, plan_ids: &[i32]) -> sqlx::Result<()> {
    let notes: Vec<&str> = super::text::COVER_NOTES.to_vec();
    sqlx::query!(
        r#"
        update plan set cover_note = ($2::text[])[1 + plan_id % cardinality($2::text[])]
        where plan_id = any($1) and submitted_at is not null
        "#,
        plan_ids,
        &notes as &[&str]
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        r#"
        insert into plan_review_event (plan_id, icb_id, action, note, plan_snapshot, actor_name,
                                       occurred_at)
        select plan_id, icb_id, 'submitted', cover_note, medopt_plan_snapshot(plan_id),
               'ICB medicines optimisation team', submitted_at
        from plan where plan_id = any($1) and submitted_at is not null
        union all
        select plan_id, icb_id, status::text::plan_review_action, coalesce(review_comment, ''),
               medopt_plan_snapshot(plan_id), 'Regional medicines optimisation team', reviewed_at
        from plan
        where plan_id = any($1) and status in ('agreed', 'returned') and reviewed_at is not null
        "#,
        plan_ids
    )
    .execute(conn)
    .await?;
    Ok(())
}

async fn mark_as_demo(conn: &mut PgConnection, plan_ids: &[i32], seed: u64) -> sqlx::Result<()> {
    // The seed is stored as the bits of a bigint: it is a label, not a quantity.
    let seed = i64::from_ne_bytes(seed.to_ne_bytes());
    sqlx::query!(
        "insert into demo_dataset (plan_id, seed) select unnest($1::integer[]), $2",
        plan_ids,
        seed
    )
    .execute(conn)
    .await?;
    Ok(())
}
