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
use crate::domain::assurance::{BenefitType, Confidence, SavingType, Setting};
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
        col(
            "savings_requirement_gbp",
            "money (pounds)",
            "What the ICB's financial plan needs from medicines optimisation in the year; empty until recorded",
        ),
        col(
            "unidentified_gap_gbp",
            "money (pounds)",
            "savings_requirement_gbp minus annual_target_gbp (negative when the targets exceed the requirement); empty without a requirement",
        ),
        col(
            "recurrent_target_gbp",
            "money (pounds)",
            "Annual targets of the workstreams whose saving is recurrent",
        ),
        col(
            "non_recurrent_target_gbp",
            "money (pounds)",
            "Annual targets of the non-recurrent workstreams (the rest of annual_target_gbp is not classified yet)",
        ),
        col(
            "cash_releasing_target_gbp",
            "money (pounds)",
            "Annual targets of the cash-releasing workstreams",
        ),
        col(
            "cost_avoidance_target_gbp",
            "money (pounds)",
            "Annual targets of the cost-avoidance workstreams",
        ),
        col(
            "primary_care_target_gbp",
            "money (pounds)",
            "Annual targets of the workstreams whose saving falls in primary care",
        ),
        col(
            "secondary_care_target_gbp",
            "money (pounds)",
            "Annual targets of the workstreams whose saving falls in secondary care",
        ),
        col(
            "system_target_gbp",
            "money (pounds)",
            "Annual targets of the workstreams whose saving is system-wide",
        ),
        col(
            "investment_gbp",
            "money (pounds)",
            "What delivering the workstreams costs in the year",
        ),
        col(
            "net_target_gbp",
            "money (pounds)",
            "annual_target_gbp minus investment_gbp",
        ),
        col(
            "full_year_effect_gbp",
            "money (pounds)",
            "Full-year effects of the recurrent workstreams that have one (see the workstreams dataset)",
        ),
        col(
            "likely_outturn_gbp",
            "money (pounds)",
            "The leads' latest likely outturns, over the workstreams with a forecast",
        ),
        col(
            "risk_adjusted_forecast_gbp",
            "money (pounds)",
            "The workstreams' risk-adjusted forecasts, over the workstreams with a forecast",
        ),
        col(
            "workstreams_without_forecast",
            "integer",
            "Workstreams with no forecast in the year (not in likely_outturn_gbp or risk_adjusted_forecast_gbp)",
        ),
        col(
            "carried_forward_gbp",
            "money (pounds)",
            "Part of annual_target_gbp secured from the previous year's plan (recurrent full-year effects carried forward)",
        ),
        col(
            "open_risks",
            "integer",
            "Open risks in the workstreams' risk logs",
        ),
        col(
            "rag_differs_from_suggested",
            "integer",
            "Workstreams whose lead's RAG differs from the one the figures suggest",
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
               f.rag_red, f.rag_amber, f.rag_green, f.rag_not_set,
               a.savings_requirement_pence as requirement, a.unidentified_gap_pence as gap,
               a.recurrent_target_pence as recurrent, a.non_recurrent_target_pence as non_recurrent,
               a.cash_releasing_target_pence as cash_releasing,
               a.cost_avoidance_target_pence as cost_avoidance,
               a.primary_care_target_pence as primary_care,
               a.secondary_care_target_pence as secondary_care, a.system_target_pence as system,
               a.investment_pence as investment, a.net_target_pence as net_target,
               a.full_year_effect_pence as full_year_effect, a.likely_outturn_pence as likely_outturn,
               a.risk_adjusted_forecast_pence as risk_adjusted,
               a.workstreams_without_forecast as without_forecast,
               a.carried_forward_pence as carried_forward, a.open_risks, a.rag_differs
        from programme_year y
        join icb i on true
        join region r on r.region_id = i.region_id
        left join plan_figures($6) f on f.icb_id = i.icb_id and f.programme_year_id = y.programme_year_id
        left join plan_assurance a on a.plan_id = f.plan_id and a.icb_id = f.icb_id
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
            Cell::money(r.requirement),
            Cell::money(r.gap),
            Cell::money(r.recurrent),
            Cell::money(r.non_recurrent),
            Cell::money(r.cash_releasing),
            Cell::money(r.cost_avoidance),
            Cell::money(r.primary_care),
            Cell::money(r.secondary_care),
            Cell::money(r.system),
            Cell::money(r.investment),
            Cell::money(r.net_target),
            Cell::money(r.full_year_effect),
            Cell::money(r.likely_outturn),
            Cell::money(r.risk_adjusted),
            count(r.without_forecast),
            Cell::money(r.carried_forward),
            count(r.open_risks),
            count(r.rag_differs),
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
        col(
            "saving_type",
            "text",
            "recurrent or non_recurrent; empty until recorded",
        ),
        col(
            "benefit_type",
            "text",
            "cash_releasing or cost_avoidance; empty until recorded",
        ),
        col(
            "setting",
            "text",
            "Where the saving falls: primary_care, secondary_care or system; empty until recorded",
        ),
        col(
            "investment_gbp",
            "money (pounds)",
            "What delivering the saving costs in the year (staff, switches, rebates forgone)",
        ),
        col(
            "net_target_gbp",
            "money (pounds)",
            "annual_target_gbp minus investment_gbp (negative when the investment exceeds the target)",
        ),
        col(
            "full_year_effect_gbp",
            "money (pounds)",
            "For a recurrent saving: the saving a full year would deliver, as set by the lead or else 12 times the average monthly saving from the first month with a saving to the latest month reported (once that is two months or more); empty otherwise",
        ),
        col(
            "full_year_effect_source",
            "text",
            "lead (set by the lead) or run_rate (from the actuals); empty when there is none",
        ),
        col(
            "forecast_month",
            "date",
            "First day of the month of the latest forecast in the year; empty if none",
        ),
        col(
            "likely_outturn_gbp",
            "money (pounds)",
            "The lead's likely outturn for the year in that forecast",
        ),
        col(
            "confidence",
            "text",
            "high, medium or low: the lead's confidence in it",
        ),
        col(
            "risk_adjusted_forecast_gbp",
            "money (pounds)",
            "actual_to_date_gbp plus the confidence's weight (set per year; by default high 100%, medium 75%, low 50%) times the rest of the likely outturn; the likely outturn itself when it is not above the actual to date; empty without a forecast",
        ),
        col(
            "suggested_rag",
            "text",
            "red, amber or green as the figures suggest: the workstream's actual as a whole percentage of its phased target from April to its latest reported month, against the year's thresholds (by default green from 95%, amber from 80%); empty until that target is above zero",
        ),
        col(
            "rag_reason",
            "text",
            "The lead's reason, with the latest RAG update, for a RAG that differs from the suggested one",
        ),
        col(
            "carried_forward_gbp",
            "money (pounds)",
            "Part of annual_target_gbp secured from the previous year's workstream (its full-year effect)",
        ),
        col(
            "open_risks",
            "integer",
            "Open risks in the workstream's risk log",
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
               u.created_at as "update_at?", u.narrative as "update?", u.rag_reason as "rag_reason?",
               w.saving_type as "saving_type: SavingType", w.benefit_type as "benefit_type: BenefitType",
               w.setting as "setting: Setting", w.investment_pence,
               a.net_target_pence as "net_target!", a.full_year_effect_pence as full_year_effect,
               a.full_year_effect_source as effect_source, a.forecast_month,
               a.likely_outturn_pence as likely_outturn, a.confidence as "confidence: Confidence",
               a.risk_adjusted_forecast_pence as risk_adjusted,
               a.suggested_rag as "suggested: Rag", w.carried_forward_pence,
               a.open_risks as "open_risks!"
        from workstream w
        join workstream_assurance a on a.workstream_id = w.workstream_id and a.icb_id = w.icb_id
        join plan p on p.plan_id = w.plan_id and p.icb_id = w.icb_id
        join programme_year y on y.programme_year_id = p.programme_year_id
        join icb i on i.icb_id = w.icb_id
        join region r on r.region_id = i.region_id
        join workstream_figures($6) wf on wf.workstream_id = w.workstream_id and wf.icb_id = w.icb_id
        left join opportunity o on o.opportunity_id = w.opportunity_id
        left join lateral (
            select created_at, narrative, rag_reason from workstream_update
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
            Cell::text(r.saving_type.map(SavingType::key)),
            Cell::text(r.benefit_type.map(BenefitType::key)),
            Cell::text(r.setting.map(Setting::key)),
            Cell::Money(Pence(r.investment_pence)),
            Cell::Money(Pence(r.net_target)),
            Cell::money(r.full_year_effect),
            Cell::text(r.effect_source.as_deref()),
            Cell::date(r.forecast_month),
            Cell::money(r.likely_outturn),
            Cell::text(r.confidence.map(Confidence::key)),
            Cell::money(r.risk_adjusted),
            Cell::text(rag_text(r.suggested)),
            Cell::text(r.rag_reason.as_deref().filter(|s| !s.is_empty())),
            Cell::Money(Pence(r.carried_forward_pence)),
            Cell::Int(i64::from(r.open_risks)),
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
