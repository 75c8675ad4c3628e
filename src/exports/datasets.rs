//! The datasets, each as its documented columns next to the query that fills them, so the two
//! cannot drift apart (a test checks every row has as many cells as the header).
//!
//! Column names are a published interface: analysts' scripts read them. Add columns at the
//! end; never rename or reorder one.
//!
//! Tenant datasets filter on `$1` (the ICBs the caller may read, null for national roles) as
//! well as on row-level security, then on the optional year, region, ICB and opportunity.

use futures_util::TryStreamExt;
use sqlx::PgConnection;

use super::csv_stream::{Cell, CsvSink};
use super::filters::Filters;
use crate::domain::{FinancialYear, Month, Pence, PlanTotals};
use crate::icbs::PlanStatus;
use crate::plan_sums;
use crate::plans::workstreams::Rag;

/// A documented column.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    /// `text`, `integer`, `money (pounds)`, `date`, `timestamp`, `decimal`, `boolean`.
    pub kind: &'static str,
    pub description: &'static str,
}

const fn col(name: &'static str, kind: &'static str, description: &'static str) -> Column {
    Column {
        name,
        kind,
        description,
    }
}

/// A dataset that can be downloaded.
#[derive(Debug, Clone, Copy)]
pub struct Dataset {
    /// In the address: `/exports/{slug}.csv`.
    pub slug: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    /// Only administrators may download it.
    pub admin_only: bool,
    /// Which filters apply.
    pub filters: &'static [&'static str],
    pub columns: &'static [Column],
}

/// Every dataset, in the order the exports page lists them.
pub const DATASETS: [Dataset; 6] = [
    PLANS,
    WORKSTREAMS,
    MONTHLY_SAVINGS,
    MEASURE_VALUES,
    PRESCRIBING_MEASURES,
    AUDIT_LOG,
];

/// The data dictionary as Markdown (committed as `docs/exports.md`, checked by a test, so
/// analysts can read the columns without signing in).
#[cfg(test)]
fn dictionary_markdown() -> String {
    let mut text = String::from(
        "# Export data dictionary\n\n\
         Generated from `src/exports/datasets.rs` (a test keeps it current: run\n\
         `MEDOPT_UPDATE_DOCS=1 cargo test --lib dictionary` after changing a dataset). The same\n\
         dictionary is at `/exports` in the service.\n\n\
         Every file is UTF-8 CSV with a byte-order mark, RFC 4180 quoting and CRLF line ends.\n\
         Money is in pounds with two decimals (`-1234.50`), dates are ISO (`2024-04-01`),\n\
         timestamps ISO 8601 in UTC, financial years `2024/25`. Free text that a spreadsheet\n\
         would run as a formula (starting with `=`, `+`, `-`, `@`, tab or carriage return) has\n\
         an apostrophe in front; numbers never do. Column names are stable: columns are only\n\
         ever added at the end.\n\n\
         Download: `/exports/{dataset}.csv?year=2024-25&region=Y62&icb=QE1&opportunity=4`\n\
         (every filter optional). Each role gets only what it may read: an ICB's users their\n\
         ICB, a region's reviewers their region, national roles everything. Every download is\n\
         recorded in the audit log.\n",
    );
    for dataset in DATASETS {
        text.push_str(&format!(
            "\n## {} (`{}.csv`)\n\n{}\n\nFilters: {}.{}\n\n| Column | Type | Meaning |\n|---|---|---|\n",
            dataset.title,
            dataset.slug,
            dataset.description,
            dataset
                .filters
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", "),
            if dataset.admin_only { " Administrators only." } else { "" }
        ));
        for c in dataset.columns {
            text.push_str(&format!(
                "| `{}` | {} | {} |\n",
                c.name, c.kind, c.description
            ));
        }
    }
    text
}

/// Errors while producing an export.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error(transparent)]
    Disconnected(#[from] super::csv_stream::Disconnected),
}

/// Writes `dataset`'s rows matching `filters` to `sink` (the header first).
pub async fn write(
    dataset: &Dataset,
    conn: &mut PgConnection,
    filters: &Filters,
    sink: &mut CsvSink,
) -> Result<(), ExportError> {
    let names: Vec<&str> = dataset.columns.iter().map(|c| c.name).collect();
    sink.header(&names).await?;
    match dataset.slug {
        "plans" => plans(conn, filters, sink).await,
        "workstreams" => workstreams(conn, filters, sink).await,
        "monthly-savings" => monthly_savings(conn, filters, sink).await,
        "measure-values" => measure_values(conn, filters, sink).await,
        "prescribing-measures" => prescribing_measures(conn, filters, sink).await,
        _ => audit_log(conn, filters, sink).await,
    }
}

const COMMON_FILTERS: &[&str] = &["year", "region", "icb", "opportunity"];

/// `2024/25` from the year's first day.
fn year_label(starts_on: chrono::NaiveDate) -> String {
    FinancialYear::from_start_date(starts_on).map_or_else(String::new, |y| y.to_string())
}

fn rag_text(rag: Option<Rag>) -> Option<&'static str> {
    rag.map(Rag::key)
}

pub const PLANS: Dataset = Dataset {
    slug: "plans",
    title: "Plans",
    description: "One row per ICB and programme year, for every ICB that existed in the year (or has a plan for it): its plan's status, choices and headline figures. \"To date\" runs from April to the reporting month (reporting_month: the latest month whose figures are due, a month being due by the end of the next), the same month for every ICB. Only the months the ICB existed in count: after a merger the predecessors count up to the day before it and the successor from that day. A removed workstream's reported savings still count. With an opportunity filter, only the plans that chose it.",
    admin_only: false,
    filters: COMMON_FILTERS,
    columns: &[
        col(
            "financial_year",
            "text",
            "Programme year, like 2024/25 (April to March)",
        ),
        col("region_code", "text", "ODS code of the NHS England region"),
        col("region_name", "text", "Name of the region"),
        col("icb_code", "text", "ODS code of the ICB"),
        col("icb_name", "text", "Name of the ICB"),
        col(
            "plan_status",
            "text",
            "not_started, draft, submitted, agreed or returned",
        ),
        col(
            "submitted_at",
            "timestamp",
            "When the plan was last submitted for review (UTC)",
        ),
        col(
            "reviewed_at",
            "timestamp",
            "When the region last agreed or returned it (UTC)",
        ),
        col(
            "national_opportunities_chosen",
            "integer",
            "National opportunities chosen (at least 5 are required)",
        ),
        col("local_priorities", "integer", "Local priorities added"),
        col(
            "annual_target_gbp",
            "money (pounds)",
            "Sum of the workstreams' annual savings targets, for the months the ICB existed in (a workstream's phasing of those months when it does not count for the whole year)",
        ),
        col(
            "planned_total_gbp",
            "money (pounds)",
            "Sum of the monthly phasing over the months that count",
        ),
        col(
            "target_to_date_gbp",
            "money (pounds)",
            "Phased target from April to the reporting month",
        ),
        col(
            "actual_to_date_gbp",
            "money (pounds)",
            "Actual savings reported from April to the reporting month",
        ),
        col(
            "variance_to_date_gbp",
            "money (pounds)",
            "actual_to_date_gbp minus reported_target_to_date_gbp, the target of the months reported (negative is behind plan)",
        ),
        col(
            "percent_of_target_to_date",
            "integer",
            "Actual to date as a whole percentage of the target of the months reported (reported_target_to_date_gbp); empty when that is zero",
        ),
        col(
            "forecast_outturn_gbp",
            "money (pounds)",
            "Actual to date plus the phased target of the months after the reporting month; a due month not reported adds nothing, so a finished year's forecast is its actual outturn",
        ),
        col(
            "latest_month_reported",
            "date",
            "First day of the latest month up to the reporting month with an actual saving; empty if none",
        ),
        col(
            "workstreams_red",
            "integer",
            "Workstreams with RAG status red",
        ),
        col(
            "workstreams_amber",
            "integer",
            "Workstreams with RAG status amber",
        ),
        col(
            "workstreams_green",
            "integer",
            "Workstreams with RAG status green",
        ),
        col(
            "workstreams_no_rag",
            "integer",
            "Workstreams with no RAG status yet",
        ),
        col(
            "successor_icb_code",
            "text",
            "For an ICB that has closed: the ODS codes of the ICBs that succeeded it, separated by semicolons (several after a split); empty otherwise",
        ),
        col(
            "reporting_month",
            "date",
            "First day of the month \"to date\" runs to: the reporting month, or the ICB's last month if it closed before; empty when no month of the year is due",
        ),
        col(
            "workstreams_due",
            "integer",
            "Workstreams that count in the reporting month",
        ),
        col(
            "workstreams_reported",
            "integer",
            "Of those, the workstreams with an actual saving reported for the reporting month",
        ),
        col(
            "reported_target_to_date_gbp",
            "money (pounds)",
            "The part of target_to_date_gbp whose months have an actual reported",
        ),
        col(
            "not_reported_target_to_date_gbp",
            "money (pounds)",
            "The part of target_to_date_gbp whose months have no actual reported yet (not counted as delivered, nor as missed)",
        ),
        col(
            "pct_of_annual_target",
            "integer",
            "Actual to date as a whole percentage of annual_target_gbp; empty when that is zero",
        ),
        col(
            "forecast_vs_annual_target_gbp",
            "money (pounds)",
            "forecast_outturn_gbp minus annual_target_gbp (negative is short of the target)",
        ),
        col(
            "run_rate_forecast_gbp",
            "money (pounds)",
            "Actual to date divided by the months to the reporting month, times the months of the year the ICB existed in; empty before any month is due",
        ),
        col(
            "months_overdue",
            "integer",
            "Due months (to the reporting month) in which at least one workstream has not reported",
        ),
    ],
};

async fn plans(
    conn: &mut PgConnection,
    f: &Filters,
    sink: &mut CsvSink,
) -> Result<(), ExportError> {
    let mut rows = sqlx::query!(
        r#"
        select y.starts_on, r.ods_code as region_code, r.name as region_name,
               i.ods_code as icb_code, i.name as icb_name,
               (select string_agg(n.ods_code, ';' order by n.ods_code)
                from icb_succession s join icb n on n.icb_id = s.successor_icb_id
                where s.predecessor_icb_id = i.icb_id) as successors,
               f.status as "status?: PlanStatus", f.submitted_at, f.reviewed_at,
               f.national_chosen, f.local_priorities,
               f.annual_target_pence, f.planned_total_pence, f.target_to_date_pence,
               f.reported_target_to_date_pence, f.actual_to_date_pence, f.planned_after_pence,
               f.months_in_year, f.months_to_date, f.workstreams_due, f.workstreams_reported,
               f.latest_month, f.reporting_month, f.months_overdue,
               f.rag_red, f.rag_amber, f.rag_green, f.rag_not_set
        from programme_year y
        join icb i on true
        join region r on r.region_id = i.region_id
        left join plan_figures($6) f on f.icb_id = i.icb_id and f.programme_year_id = y.programme_year_id
        where ((i.valid_from < (y.starts_on + interval '1 year')::date
                and (i.valid_to is null or i.valid_to >= y.starts_on))
               or f.plan_id is not null)
          and ($1::integer[] is null or i.icb_id = any($1))
          and ($2::smallint is null or y.programme_year_id = $2)
          and ($3::smallint is null or i.region_id = $3)
          and ($4::integer is null or i.icb_id = $4)
          and ($5::smallint is null or exists (
                select 1 from workstream w join opportunity o on o.opportunity_id = w.opportunity_id
                where w.plan_id = f.plan_id and w.icb_id = f.icb_id and w.removed_at is null
                  and o.number = $5))
        order by y.starts_on, r.name, i.name
        "#,
        f.scope_icbs.as_deref(),
        f.programme_year_id,
        f.region_id,
        f.icb_id,
        f.opportunity,
        f.to_month() as Month
    )
    .fetch(&mut *conn);
    while let Some(r) = rows.try_next().await? {
        let planned = r.status.is_some();
        let totals = PlanTotals::from_sums(plan_sums!(r));
        let money = |p: Pence| if planned { Cell::Money(p) } else { Cell::Empty };
        let count = |n: Option<i32>| Cell::int(n.map(i64::from));
        sink.row(&[
            Cell::Text(&year_label(r.starts_on)),
            Cell::Text(&r.region_code),
            Cell::Text(&r.region_name),
            Cell::Text(&r.icb_code),
            Cell::Text(&r.icb_name),
            Cell::Text(r.status.map_or("not_started", PlanStatus::key)),
            Cell::timestamp(r.submitted_at),
            Cell::timestamp(r.reviewed_at),
            count(r.national_chosen),
            count(r.local_priorities),
            money(totals.annual_target),
            money(totals.planned_total),
            money(totals.target_to_date),
            money(totals.actual_to_date),
            money(totals.variance()),
            Cell::int(totals.percent_of_target()),
            money(totals.forecast_outturn()),
            Cell::date(r.latest_month),
            count(r.rag_red),
            count(r.rag_amber),
            count(r.rag_green),
            count(r.rag_not_set),
            Cell::text(r.successors.as_deref()),
            Cell::date(r.reporting_month),
            count(r.workstreams_due),
            count(r.workstreams_reported),
            money(totals.reported_target_to_date),
            money(totals.not_reported_target()),
            Cell::int(totals.percent_of_annual_target()),
            money(totals.forecast_vs_annual_target()),
            if planned {
                Cell::money(totals.run_rate_forecast.map(|p| p.0))
            } else {
                Cell::Empty
            },
            count(r.months_overdue),
        ])
        .await?;
    }
    Ok(())
}

pub const WORKSTREAMS: Dataset = Dataset {
    slug: "workstreams",
    title: "Workstreams",
    description: "One row per workstream (a chosen national opportunity or a local priority) of every plan, with its target, savings to the reporting month and latest update. Removed workstreams are included (removed_on is set): the savings they reported before removal still count in every total.",
    admin_only: false,
    filters: COMMON_FILTERS,
    columns: &[
        col("financial_year", "text", "Programme year, like 2024/25"),
        col("region_code", "text", "ODS code of the region"),
        col("icb_code", "text", "ODS code of the ICB"),
        col("icb_name", "text", "Name of the ICB"),
        col(
            "plan_status",
            "text",
            "draft, submitted, agreed or returned",
        ),
        col(
            "workstream_id",
            "integer",
            "medopt's identifier of the workstream (stable)",
        ),
        col(
            "kind",
            "text",
            "national (a national opportunity) or local (a local priority)",
        ),
        col(
            "opportunity_number",
            "integer",
            "Number of the national opportunity in the year's catalogue; empty for local priorities",
        ),
        col(
            "title",
            "text",
            "Title of the opportunity or local priority; never empty (a national opportunity whose title NHS England has not confirmed has a working title)",
        ),
        col(
            "efficiency_focus",
            "boolean",
            "The opportunity is one of the year's efficiency focus areas",
        ),
        col("lead", "text", "The workstream's lead, as entered"),
        col(
            "ics_objectives",
            "text",
            "ICS objectives served, separated by semicolons: outcomes; inequalities; value; social_economic",
        ),
        col(
            "rag_status",
            "text",
            "red, amber or green; empty if not set",
        ),
        col(
            "annual_target_gbp",
            "money (pounds)",
            "Annual savings target, for the months that count (as in the plans dataset, whose annual_target_gbp is the sum of these)",
        ),
        col(
            "planned_total_gbp",
            "money (pounds)",
            "Sum of the monthly phasing over the months that count",
        ),
        col(
            "actual_to_date_gbp",
            "money (pounds)",
            "Actual savings reported from April to the reporting month",
        ),
        col(
            "latest_update_at",
            "timestamp",
            "When the latest RAG update was written (UTC)",
        ),
        col("latest_update", "text", "The latest RAG update's narrative"),
        col(
            "removed_on",
            "date",
            "The day the workstream was removed from the plan (UTC); empty while it is in the plan. Only the months it reported an actual for count after removal",
        ),
        col(
            "cost_pressure",
            "boolean",
            "A planned spending increase: the only kind of workstream with a negative target",
        ),
        col(
            "successor_icb_code",
            "text",
            "For an ICB that has closed: the ODS codes of its successors, separated by semicolons; empty otherwise",
        ),
        col(
            "reporting_month",
            "date",
            "First day of the month \"to date\" runs to (see the plans dataset)",
        ),
        col(
            "target_to_date_gbp",
            "money (pounds)",
            "Phased target from April to the reporting month",
        ),
        col(
            "reported_for_reporting_month",
            "boolean",
            "An actual saving is reported for the reporting month; empty when the workstream does not count in that month",
        ),
        col(
            "months_not_reported",
            "integer",
            "Due months (to the reporting month) with no actual saving reported",
        ),
        col(
            "pct_of_annual_target",
            "integer",
            "Actual to date as a whole percentage of annual_target_gbp; empty when that is zero",
        ),
        col(
            "forecast_outturn_gbp",
            "money (pounds)",
            "Actual to date plus the phased target of the months after the reporting month",
        ),
    ],
};

async fn workstreams(
    conn: &mut PgConnection,
    f: &Filters,
    sink: &mut CsvSink,
) -> Result<(), ExportError> {
    let mut rows = sqlx::query!(
        r#"
        select y.starts_on, r.ods_code as region_code, i.ods_code as icb_code, i.name as icb_name,
               (select string_agg(n.ods_code, ';' order by n.ods_code)
                from icb_succession s join icb n on n.icb_id = s.successor_icb_id
                where s.predecessor_icb_id = i.icb_id) as successors,
               p.status as "status: PlanStatus", w.workstream_id, o.number as "number?",
               coalesce(w.title, o.title) as title, coalesce(o.efficiency_focus, false) as "efficiency_focus!",
               w.lead_name, array_to_string(w.objectives, '; ') as "objectives!", w.rag as "rag: Rag",
               (w.removed_at at time zone 'UTC')::date as removed_on, w.cost_pressure,
               wf.annual_target_pence, wf.planned_total_pence, wf.target_to_date_pence,
               wf.reported_target_to_date_pence, wf.actual_to_date_pence, wf.planned_after_pence,
               wf.months_in_year, wf.months_to_date,
               wf.due_in_reporting_month::integer as workstreams_due,
               wf.reported_in_reporting_month::integer as workstreams_reported,
               wf.reporting_month, wf.months_not_reported,
               u.created_at as "update_at?", u.narrative as "update?"
        from workstream w
        join plan p on p.plan_id = w.plan_id and p.icb_id = w.icb_id
        join programme_year y on y.programme_year_id = p.programme_year_id
        join icb i on i.icb_id = w.icb_id
        join region r on r.region_id = i.region_id
        join workstream_figures($6) wf on wf.workstream_id = w.workstream_id and wf.icb_id = w.icb_id
        left join opportunity o on o.opportunity_id = w.opportunity_id
        left join lateral (
            select created_at, narrative from workstream_update
            where workstream_id = w.workstream_id and icb_id = w.icb_id
            order by created_at desc, workstream_update_id desc limit 1
        ) u on true
        where ($1::integer[] is null or i.icb_id = any($1))
          and ($2::smallint is null or y.programme_year_id = $2)
          and ($3::smallint is null or i.region_id = $3)
          and ($4::integer is null or i.icb_id = $4)
          and ($5::smallint is null or o.number = $5)
        order by y.starts_on, r.name, i.name, o.number nulls last, w.workstream_id
        "#,
        f.scope_icbs.as_deref(),
        f.programme_year_id,
        f.region_id,
        f.icb_id,
        f.opportunity,
        f.to_month() as Month
    )
    .fetch(&mut *conn);
    while let Some(r) = rows.try_next().await? {
        let totals = PlanTotals::from_sums(plan_sums!(r));
        let due = r.workstreams_due.unwrap_or(0) > 0;
        sink.row(&[
            Cell::Text(&year_label(r.starts_on)),
            Cell::Text(&r.region_code),
            Cell::Text(&r.icb_code),
            Cell::Text(&r.icb_name),
            Cell::Text(r.status.key()),
            Cell::Int(i64::from(r.workstream_id)),
            Cell::Text(if r.number.is_some() {
                "national"
            } else {
                "local"
            }),
            Cell::int(r.number.map(i64::from)),
            Cell::text(r.title.as_deref()),
            Cell::Bool(r.efficiency_focus),
            Cell::Text(&r.lead_name),
            Cell::Text(&r.objectives),
            Cell::text(rag_text(r.rag)),
            Cell::Money(totals.annual_target),
            Cell::Money(totals.planned_total),
            Cell::Money(totals.actual_to_date),
            Cell::timestamp(r.update_at),
            Cell::text(r.update.as_deref()),
            Cell::date(r.removed_on),
            Cell::Bool(r.cost_pressure),
            Cell::text(r.successors.as_deref()),
            Cell::date(r.reporting_month),
            Cell::Money(totals.target_to_date),
            if due {
                Cell::Bool(totals.workstreams_reported > 0)
            } else {
                Cell::Empty
            },
            Cell::int(r.months_not_reported.map(i64::from)),
            Cell::int(totals.percent_of_annual_target()),
            Cell::Money(totals.forecast_outturn()),
        ])
        .await?;
    }
    Ok(())
}

pub const MONTHLY_SAVINGS: Dataset = Dataset {
    slug: "monthly-savings",
    title: "Monthly savings",
    description: "Long format: one row per workstream and month stored, with the phased target and the actual saving (empty until reported). Removed workstreams are included; counts_in_figures says whether the month counts in the figures (the ICB existed in it, and the workstream is in the plan or reported the month before it was removed), so the rows that count add up to the plans and workstreams datasets.",
    admin_only: false,
    filters: COMMON_FILTERS,
    columns: &[
        col("financial_year", "text", "Programme year, like 2024/25"),
        col("region_code", "text", "ODS code of the region"),
        col("icb_code", "text", "ODS code of the ICB"),
        col("icb_name", "text", "Name of the ICB"),
        col(
            "workstream_id",
            "integer",
            "medopt's identifier of the workstream (as in the workstreams dataset)",
        ),
        col(
            "opportunity_number",
            "integer",
            "Number of the national opportunity; empty for local priorities",
        ),
        col(
            "workstream_title",
            "text",
            "Title of the opportunity or local priority",
        ),
        col("month", "date", "First day of the month"),
        col(
            "target_gbp",
            "money (pounds)",
            "Phased savings target for the month",
        ),
        col(
            "actual_gbp",
            "money (pounds)",
            "Actual saving reported for the month; empty if not reported",
        ),
        col(
            "counts_in_figures",
            "boolean",
            "The month counts in every figure and total (see the dataset's description)",
        ),
        col(
            "removed_on",
            "date",
            "The day the workstream was removed from the plan (UTC); empty while it is in the plan",
        ),
        col(
            "successor_icb_code",
            "text",
            "For an ICB that has closed: the ODS codes of its successors, separated by semicolons; empty otherwise",
        ),
    ],
};

async fn monthly_savings(
    conn: &mut PgConnection,
    f: &Filters,
    sink: &mut CsvSink,
) -> Result<(), ExportError> {
    let mut rows = sqlx::query!(
        r#"
        select y.starts_on, r.ods_code as region_code, i.ods_code as icb_code, i.name as icb_name,
               w.workstream_id, o.number as "number?", coalesce(w.title, o.title) as title,
               m.month, m.planned_pence, m.actual_pence,
               exists (select 1 from workstream_month_figures c
                       where c.workstream_id = m.workstream_id and c.icb_id = m.icb_id
                         and c.month = m.month) as "counts!",
               (w.removed_at at time zone 'UTC')::date as removed_on,
               (select string_agg(n.ods_code, ';' order by n.ods_code)
                from icb_succession s join icb n on n.icb_id = s.successor_icb_id
                where s.predecessor_icb_id = i.icb_id) as successors
        from workstream_month m
        join workstream w on w.workstream_id = m.workstream_id and w.icb_id = m.icb_id
        join plan p on p.plan_id = w.plan_id and p.icb_id = w.icb_id
        join programme_year y on y.programme_year_id = p.programme_year_id
        join icb i on i.icb_id = w.icb_id
        join region r on r.region_id = i.region_id
        left join opportunity o on o.opportunity_id = w.opportunity_id
        where ($1::integer[] is null or i.icb_id = any($1))
          and ($2::smallint is null or y.programme_year_id = $2)
          and ($3::smallint is null or i.region_id = $3)
          and ($4::integer is null or i.icb_id = $4)
          and ($5::smallint is null or o.number = $5)
        order by y.starts_on, r.name, i.name, w.workstream_id, m.month
        "#,
        f.scope_icbs.as_deref(),
        f.programme_year_id,
        f.region_id,
        f.icb_id,
        f.opportunity
    )
    .fetch(&mut *conn);
    while let Some(r) = rows.try_next().await? {
        sink.row(&[
            Cell::Text(&year_label(r.starts_on)),
            Cell::Text(&r.region_code),
            Cell::Text(&r.icb_code),
            Cell::Text(&r.icb_name),
            Cell::Int(i64::from(r.workstream_id)),
            Cell::int(r.number.map(i64::from)),
            Cell::text(r.title.as_deref()),
            Cell::Date(r.month),
            Cell::Money(Pence(r.planned_pence)),
            Cell::money(r.actual_pence),
            Cell::Bool(r.counts),
            Cell::date(r.removed_on),
            Cell::text(r.successors.as_deref()),
        ])
        .await?;
    }
    Ok(())
}

pub const MEASURE_VALUES: Dataset = Dataset {
    slug: "measure-values",
    title: "Outcome measure values",
    description: "Long format: one row per outcome measure and month with a value, with the measure's baseline and target. Removed measures and workstreams are left out.",
    admin_only: false,
    filters: COMMON_FILTERS,
    columns: &[
        col("financial_year", "text", "Programme year, like 2024/25"),
        col("region_code", "text", "ODS code of the region"),
        col("icb_code", "text", "ODS code of the ICB"),
        col("icb_name", "text", "Name of the ICB"),
        col(
            "workstream_id",
            "integer",
            "medopt's identifier of the workstream",
        ),
        col(
            "opportunity_number",
            "integer",
            "Number of the national opportunity; empty for local priorities",
        ),
        col(
            "workstream_title",
            "text",
            "Title of the opportunity or local priority",
        ),
        col(
            "measure_id",
            "integer",
            "medopt's identifier of the measure (stable)",
        ),
        col("measure_name", "text", "What is measured, as entered"),
        col("unit", "text", "Unit of the values, like %"),
        col("direction", "text", "higher_is_better or lower_is_better"),
        col(
            "baseline_value",
            "decimal",
            "Baseline value; empty if not set",
        ),
        col("baseline_month", "date", "Month of the baseline"),
        col("target_value", "decimal", "Target value; empty if not set"),
        col(
            "target_month",
            "date",
            "Month by which the target should be reached",
        ),
        col("month", "date", "First day of the month of the value"),
        col("value", "decimal", "The value recorded for the month"),
        col(
            "successor_icb_code",
            "text",
            "For an ICB that has closed: the ODS codes of its successors, separated by semicolons; empty otherwise",
        ),
    ],
};

async fn measure_values(
    conn: &mut PgConnection,
    f: &Filters,
    sink: &mut CsvSink,
) -> Result<(), ExportError> {
    let mut rows = sqlx::query!(
        r#"
        select y.starts_on, r.ods_code as region_code, i.ods_code as icb_code, i.name as icb_name,
               w.workstream_id, o.number as "number?", coalesce(w.title, o.title) as title,
               ms.measure_id, ms.name, ms.unit, ms.direction::text as "direction!",
               ms.baseline_value, ms.baseline_month, ms.target_value, ms.target_month,
               v.month, v.value,
               (select string_agg(n.ods_code, ';' order by n.ods_code)
                from icb_succession s join icb n on n.icb_id = s.successor_icb_id
                where s.predecessor_icb_id = i.icb_id) as successors
        from measure_value v
        join measure ms on ms.measure_id = v.measure_id and ms.icb_id = v.icb_id
        join workstream w on w.workstream_id = ms.workstream_id and w.icb_id = ms.icb_id
        join plan p on p.plan_id = w.plan_id and p.icb_id = w.icb_id
        join programme_year y on y.programme_year_id = p.programme_year_id
        join icb i on i.icb_id = w.icb_id
        join region r on r.region_id = i.region_id
        left join opportunity o on o.opportunity_id = w.opportunity_id
        where w.removed_at is null and ms.removed_at is null
          and ($1::integer[] is null or i.icb_id = any($1))
          and ($2::smallint is null or y.programme_year_id = $2)
          and ($3::smallint is null or i.region_id = $3)
          and ($4::integer is null or i.icb_id = $4)
          and ($5::smallint is null or o.number = $5)
        order by y.starts_on, r.name, i.name, w.workstream_id, ms.measure_id, v.month
        "#,
        f.scope_icbs.as_deref(),
        f.programme_year_id,
        f.region_id,
        f.icb_id,
        f.opportunity
    )
    .fetch(&mut *conn);
    while let Some(r) = rows.try_next().await? {
        sink.row(&[
            Cell::Text(&year_label(r.starts_on)),
            Cell::Text(&r.region_code),
            Cell::Text(&r.icb_code),
            Cell::Text(&r.icb_name),
            Cell::Int(i64::from(r.workstream_id)),
            Cell::int(r.number.map(i64::from)),
            Cell::text(r.title.as_deref()),
            Cell::Int(i64::from(r.measure_id)),
            Cell::Text(&r.name),
            Cell::Text(&r.unit),
            Cell::Text(&r.direction),
            Cell::decimal(r.baseline_value),
            Cell::date(r.baseline_month),
            Cell::decimal(r.target_value),
            Cell::date(r.target_month),
            Cell::Date(r.month),
            Cell::Decimal(r.value),
            Cell::text(r.successors.as_deref()),
        ])
        .await?;
    }
    Ok(())
}

pub const PRESCRIBING_MEASURES: Dataset = Dataset {
    slug: "prescribing-measures",
    title: "Prescribing measures",
    description: "Long format: one row per ICB, measure and month of the measures medopt computes from NHSBSA's English Prescribing Dataset (see /prescribing for their definitions). The year filter keeps the months of that financial year; the opportunity filter keeps the measures of that national opportunity.",
    admin_only: false,
    filters: COMMON_FILTERS,
    columns: &[
        col("month", "date", "First day of the prescribing month"),
        col(
            "region_code",
            "text",
            "ODS code of the ICB's NHS England region",
        ),
        col("icb_code", "text", "ODS code of the ICB"),
        col(
            "measure_slug",
            "text",
            "The measure's identifier in reference/measures.csv (stable)",
        ),
        col(
            "numerator",
            "decimal",
            "Sum of the measure's numerator field over the ICB's prescribing that matches its numerator codes (pounds for cost fields)",
        ),
        col(
            "denominator",
            "decimal",
            "Sum of the denominator field over the prescribing that matches the denominator codes, or the registered patients of the ICB's practices; empty when there is none",
        ),
        col(
            "value",
            "decimal",
            "numerator ÷ denominator, × 1,000 when the denominator is patients (a share is a fraction: 0.25 is 25%); empty without a denominator",
        ),
        col(
            "percentile",
            "decimal",
            "Where the value sits among England's ICBs that month: 0 is the lowest, 100 the highest",
        ),
    ],
};

async fn prescribing_measures(
    conn: &mut PgConnection,
    f: &Filters,
    sink: &mut CsvSink,
) -> Result<(), ExportError> {
    let from = f.year.map(FinancialYear::starts_on);
    let until = f.year.map(FinancialYear::ends_on);
    let mut rows = sqlx::query!(
        r#"
        select v.month, r.ods_code as region_code, i.ods_code as icb_code, m.slug,
               v.numerator, v.denominator, v.value, v.percentile
        from prescribing_icb_value v
        join prescribing_measure m on m.prescribing_measure_id = v.prescribing_measure_id
        join icb i on i.icb_id = v.icb_id
        join region r on r.region_id = i.region_id
        where ($1::integer[] is null or i.icb_id = any($1))
          and ($2::date is null or v.month >= $2)
          and ($3::date is null or v.month <= $3)
          and ($4::smallint is null or i.region_id = $4)
          and ($5::integer is null or i.icb_id = $5)
          and ($6::smallint is null or m.opportunity_number = $6)
        order by v.month, r.ods_code, i.ods_code, m.position, m.slug
        "#,
        f.scope_icbs.as_deref(),
        from,
        until,
        f.region_id,
        f.icb_id,
        f.opportunity
    )
    .fetch(&mut *conn);
    while let Some(r) = rows.try_next().await? {
        sink.row(&[
            Cell::Date(r.month),
            Cell::Text(&r.region_code),
            Cell::Text(&r.icb_code),
            Cell::Text(&r.slug),
            Cell::Decimal(r.numerator),
            Cell::decimal(r.denominator),
            Cell::decimal(r.value),
            Cell::decimal(r.percentile),
        ])
        .await?;
    }
    Ok(())
}

pub const AUDIT_LOG: Dataset = Dataset {
    slug: "audit-log",
    title: "Audit log",
    description: "Every recorded event, oldest first: sign-ins, changes with their before and after values, refusals and exports. For administrators only. The year filter keeps the events that happened in that financial year; region and ICB keep the events about that organisation (a region's includes its ICBs').",
    admin_only: true,
    filters: &["year", "region", "icb"],
    columns: &[
        col("audit_event_id", "integer", "Sequence number of the event"),
        col("occurred_at", "timestamp", "When it happened (UTC)"),
        col(
            "actor_user_id",
            "text",
            "medopt's identifier of the user; empty for anonymous requests",
        ),
        col(
            "actor_email",
            "text",
            "The user's e-mail address at the time of export",
        ),
        col(
            "actor_role",
            "text",
            "The user's role at the time of export",
        ),
        col(
            "action",
            "text",
            "What happened, like plan.submitted or export.downloaded",
        ),
        col(
            "object_type",
            "text",
            "Kind of object, like plan, workstream or user",
        ),
        col("object_id", "text", "The object's identifier"),
        col(
            "organisation_code",
            "text",
            "ODS code of the organisation concerned",
        ),
        col(
            "request_id",
            "text",
            "The request's x-request-id, to match the server's logs",
        ),
        col(
            "details",
            "text",
            "Further details as JSON, such as before and after values",
        ),
    ],
};

async fn audit_log(
    conn: &mut PgConnection,
    f: &Filters,
    sink: &mut CsvSink,
) -> Result<(), ExportError> {
    let from = f.year.map(FinancialYear::starts_on);
    let until = f.year.map(FinancialYear::ends_on);
    let mut rows = sqlx::query!(
        r#"
        select e.audit_event_id, e.occurred_at, e.actor_user_id, u.email as "email?",
               u.role::text as "role?", e.action, e.object_type, e.object_id, e.organisation_code,
               e.request_id, e.details::text as "details!"
        from audit_event e
        left join app_user u on u.user_id = e.actor_user_id
        where ($1::date is null or e.occurred_at >= $1::date)
          and ($2::date is null or e.occurred_at < $2::date + 1)
          and ($3::smallint is null or e.organisation_code in (
                select ods_code from region where region_id = $3
                union all select ods_code from icb where region_id = $3))
          and ($4::text is null or e.organisation_code = $4)
        order by e.audit_event_id
        "#,
        from,
        until,
        f.region_id,
        f.icb_code
    )
    .fetch(&mut *conn);
    while let Some(r) = rows.try_next().await? {
        let actor = r.actor_user_id.map(|id| id.to_string());
        sink.row(&[
            Cell::Int(r.audit_event_id),
            Cell::Timestamp(r.occurred_at),
            Cell::text(actor.as_deref()),
            Cell::text(r.email.as_deref()),
            Cell::text(r.role.as_deref()),
            Cell::Text(&r.action),
            Cell::text(r.object_type.as_deref()),
            Cell::text(r.object_id.as_deref()),
            Cell::text(r.organisation_code.as_deref()),
            Cell::text(r.request_id.as_deref()),
            Cell::Text(&r.details),
        ])
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionary_doc_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/exports.md");
        let expected = dictionary_markdown();
        if std::env::var_os("MEDOPT_UPDATE_DOCS").is_some() {
            std::fs::write(path, &expected).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == expected,
            "docs/exports.md is out of date: run MEDOPT_UPDATE_DOCS=1 cargo test --lib dictionary"
        );
    }

    #[test]
    fn column_names_are_unique_snake_case() {
        for dataset in DATASETS {
            let mut seen = std::collections::HashSet::new();
            for c in dataset.columns {
                assert!(seen.insert(c.name), "{} repeats {}", dataset.slug, c.name);
                assert!(
                    c.name
                        .chars()
                        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_'),
                    "{}",
                    c.name
                );
            }
        }
    }
}
