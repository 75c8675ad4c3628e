//! `/icbs/{icb}/{year}/report`: an ICB's programme for its board. The figures and chart are
//! the dashboard's ([`crate::plans::dashboard::build`]); this adds each workstream's latest
//! narrative and its outcome measures ([`crate::plans::measures::list`]).

use askama::Template;
use askama_web::WebTemplate;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::long_date;
use crate::domain::Pence;
use crate::error::AppResult;
use crate::figures::PlanFigures;
use crate::figures::{Cut, FiguresQuery};
use crate::page::Layout;
use crate::plans::context::{IcbYear, PlanHeader};
use crate::plans::dashboard::{self, ChartRow};
use crate::plans::measures::{self, MeasureView};
use crate::plans::request::PlanView;
use crate::plans::workstreams::{Rag, Workstream};

/// A workstream's latest update's narrative.
pub struct Narrative {
    pub text: String,
    /// `4 November 2024`
    pub on: String,
}

/// One workstream of the report.
pub struct ReportRow {
    pub ws: Workstream,
    pub target_to_date: Pence,
    pub actual_to_date: Pence,
    pub latest: Option<Narrative>,
    pub measures: Vec<MeasureView>,
}

/// `/icbs/{icb}/{year}/report`
#[derive(Template, WebTemplate)]
#[template(path = "reports/icb.html")]
pub struct IcbReportPage {
    pub layout: Layout,
    pub header: PlanHeader,
    pub as_at: String,
    pub has_plan: bool,
    pub figures: PlanFigures,
    pub national_count: usize,
    pub min_required: usize,
    pub rows: Vec<ReportRow>,
    pub chart: String,
    pub chart_rows: Vec<ChartRow>,
}

impl IcbReportPage {
    /// The latest reported month in words.
    pub fn latest_month(&self) -> String {
        self.figures
            .latest_month
            .map_or_else(|| "None yet".to_owned(), |m| m.format("%B %Y").to_string())
    }

    /// The workstreams rated red, then amber.
    pub fn risks(&self) -> Vec<&ReportRow> {
        [Rag::Red, Rag::Amber]
            .into_iter()
            .flat_map(|rag| self.rows.iter().filter(move |r| r.ws.rag == Some(rag)))
            .collect()
    }

    /// Whether any workstream has a measure.
    pub fn has_measures(&self) -> bool {
        self.rows.iter().any(|r| !r.measures.is_empty())
    }
}

pub async fn show(PlanView { mut tx, ctx, user }: PlanView) -> AppResult<IcbReportPage> {
    let cut = Cut::resolve(&FiguresQuery::default(), ctx.year.year, ctx.clock.today());
    let page = dashboard::build(&mut tx, &user, &ctx, cut).await?;
    let mut latest = match &ctx.plan {
        Some(plan) => latest_updates(&mut tx, &ctx, plan.plan_id).await?,
        None => Vec::new(),
    };
    let months = ctx.year.year.reporting_months();
    let mut rows = Vec::with_capacity(page.rows.len());
    for row in page.rows {
        let measures = measures::list(&mut tx, &ctx.icb, row.ws.workstream_id, &months).await?;
        let at = latest
            .iter()
            .position(|(id, _)| *id == row.ws.workstream_id);
        rows.push(ReportRow {
            latest: at.map(|i| latest.swap_remove(i).1),
            measures,
            target_to_date: row.figures.totals.target_to_date,
            actual_to_date: row.figures.totals.actual_to_date,
            ws: row.ws,
        });
    }
    tx.commit().await?;
    Ok(IcbReportPage {
        layout: page.layout,
        header: ctx.header("/report"),
        as_at: long_date(ctx.clock.today()),
        has_plan: page.has_plan,
        figures: page.figures,
        national_count: page.national_count,
        min_required: page.min_required,
        rows,
        chart: page.chart,
        chart_rows: page.chart_rows,
    })
}

/// Each live workstream's latest update.
async fn latest_updates(
    conn: &mut PgConnection,
    ctx: &IcbYear,
    plan_id: i32,
) -> sqlx::Result<Vec<(i32, Narrative)>> {
    let rows = sqlx::query!(
        r#"
        select distinct on (u.workstream_id)
               u.workstream_id, u.narrative, u.created_at
        from workstream_update u
        join workstream w on w.workstream_id = u.workstream_id and w.icb_id = u.icb_id
        where u.icb_id = $1 and w.plan_id = $2 and w.removed_at is null
        order by u.workstream_id, u.created_at desc, u.workstream_update_id desc
        "#,
        ctx.icb.icb_id(),
        plan_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let at: DateTime<Utc> = r.created_at;
            (
                r.workstream_id,
                Narrative {
                    text: r.narrative,
                    on: long_date(at.date_naive()),
                },
            )
        })
        .collect())
}
