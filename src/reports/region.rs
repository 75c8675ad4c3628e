//! `/regions/{region}/{year}/report`: a region's programme for its assurance meeting. The
//! figures, chart and tables are the regional roll-up's ([`crate::rollups::region::show`]);
//! this adds the risks (workstreams rated red or amber, with their latest narrative) and the
//! outcome measures of the region's ICBs, read in the caller's scoped transaction.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use chrono::NaiveDate;
use sqlx::PgConnection;

use super::long_date;
use crate::AppState;
use crate::auth::CurrentUser;
use crate::auth::scope::{self, RegionAccess};
use crate::domain::Month;
use crate::error::AppResult;
use crate::figures::FiguresQuery;
use crate::page::{Layout, YearLink};
use crate::plans::context::PlanYear;
use crate::plans::measures::show_value;
use crate::plans::workstreams::Rag;
use crate::rollups::OpportunityFigures;
use crate::rollups::region::{self as rollup, RegionRollupPage};
use crate::rollups::short_icb_name;
use crate::rollups::sorting::SortQuery;

/// A workstream rated red or amber.
pub struct Risk {
    pub icb: String,
    pub workstream: String,
    pub rag: Rag,
    pub narrative: Option<String>,
    pub on: Option<String>,
}

/// An outcome measure of one of the region's ICBs.
pub struct MeasureRow {
    pub icb: String,
    pub workstream: String,
    pub name: String,
    pub unit: String,
    pub baseline: String,
    pub target: String,
    pub latest: String,
}

/// `/regions/{region}/{year}/report`
#[derive(Template, WebTemplate)]
#[template(path = "reports/region.html")]
pub struct RegionReportPage {
    pub layout: Layout,
    /// The year switcher, to this report for each year.
    pub years: Vec<YearLink>,
    pub year_label: String,
    pub opportunities: Vec<OpportunityFigures>,
    pub rollup: RegionRollupPage,
    /// The table by opportunity's local priorities line and total (its shared template reads it).
    pub assurance: crate::assurance::rollup::RegionSection,
    pub as_at: String,
    pub risks: Vec<Risk>,
    pub measures: Vec<MeasureRow>,
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    region: RegionAccess,
    Path((code, slug)): Path<(String, String)>,
) -> AppResult<RegionReportPage> {
    let (_, mut rollup) = rollup::show(
        State(state.clone()),
        user.clone(),
        region.clone(),
        Path((code, slug.clone())),
        Query(SortQuery::default()),
        Query(FiguresQuery::default()),
    )
    .await?;
    let mut tx = scope::begin(&state, &user.scope()).await?;
    let year = PlanYear::from_slug(&mut tx, &slug).await?;
    let risks = risks(&mut tx, &region, &year).await?;
    let measures = measures(&mut tx, &region, &year).await?;
    tx.commit().await?;
    Ok(RegionReportPage {
        layout: rollup.layout.clone(),
        years: rollup
            .years
            .iter()
            .map(|y| YearLink {
                href: format!("{}/report", y.href),
                ..y.clone()
            })
            .collect(),
        year_label: rollup.year_label.clone(),
        opportunities: std::mem::take(&mut rollup.opportunities),
        assurance: rollup.assurance.clone(),
        rollup,
        as_at: long_date(state.clock().today()),
        risks,
        measures,
    })
}

/// `4. Title`, a local priority's own title, or the number with "title to be confirmed".
fn workstream_title(number: Option<i16>, title: Option<String>) -> String {
    let title = title.unwrap_or_else(|| "Title to be confirmed".into());
    match number {
        Some(n) => format!("{n}. {title}"),
        None => title,
    }
}

/// The live workstreams of the region's plans for the year rated red or amber, red first,
/// with their latest update.
async fn risks(
    conn: &mut PgConnection,
    region: &RegionAccess,
    year: &PlanYear,
) -> sqlx::Result<Vec<Risk>> {
    let rows = sqlx::query!(
        r#"
        select i.name as icb_name, o.number as "number?", coalesce(w.title, o.title) as title,
               w.rag as "rag!: Rag", u.narrative as "narrative?", u.created_at as "created_at?"
        from workstream w
        join plan p on p.plan_id = w.plan_id and p.icb_id = w.icb_id
        join icb i on i.icb_id = w.icb_id
        left join opportunity o on o.opportunity_id = w.opportunity_id
        left join lateral (
            select narrative, created_at from workstream_update u
            where u.workstream_id = w.workstream_id and u.icb_id = w.icb_id
            order by u.created_at desc, u.workstream_update_id desc
            limit 1
        ) u on true
        where i.region_id = $1 and p.programme_year_id = $2 and w.removed_at is null
          and w.rag in ('red', 'amber')
        order by w.rag = 'amber', i.name, o.number nulls last, w.workstream_id
        "#,
        region.region_id(),
        year.programme_year_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Risk {
            icb: short_icb_name(&r.icb_name).to_owned(),
            workstream: workstream_title(r.number, r.title),
            rag: r.rag,
            narrative: r.narrative,
            on: r.created_at.map(|at| long_date(at.date_naive())),
        })
        .collect())
}

/// The measures of the region's live workstreams for the year, with their latest value.
async fn measures(
    conn: &mut PgConnection,
    region: &RegionAccess,
    year: &PlanYear,
) -> sqlx::Result<Vec<MeasureRow>> {
    let rows = sqlx::query!(
        r#"
        select i.name as icb_name, o.number as "number?", coalesce(w.title, o.title) as title,
               m.name, m.unit, m.baseline_value, m.baseline_month, m.target_value, m.target_month,
               v.value as "latest_value?", v.month as "latest_month?"
        from measure m
        join workstream w on w.workstream_id = m.workstream_id and w.icb_id = m.icb_id
        join plan p on p.plan_id = w.plan_id and p.icb_id = w.icb_id
        join icb i on i.icb_id = w.icb_id
        left join opportunity o on o.opportunity_id = w.opportunity_id
        left join lateral (
            select value, month from measure_value mv
            where mv.measure_id = m.measure_id and mv.icb_id = m.icb_id
            order by mv.month desc limit 1
        ) v on true
        where i.region_id = $1 and p.programme_year_id = $2
          and w.removed_at is null and m.removed_at is null
        order by i.name, o.number nulls last, w.workstream_id, m.measure_id
        "#,
        region.region_id(),
        year.programme_year_id
    )
    .fetch_all(conn)
    .await?;
    let point = |value: Option<f64>, month: Option<NaiveDate>| match (value, month) {
        (Some(v), Some(m)) => format!("{} in {}", show_value(v), Month::containing(m).label()),
        (Some(v), None) => show_value(v),
        _ => "Not set".to_owned(),
    };
    Ok(rows
        .into_iter()
        .map(|r| MeasureRow {
            icb: short_icb_name(&r.icb_name).to_owned(),
            workstream: workstream_title(r.number, r.title),
            baseline: point(r.baseline_value, r.baseline_month),
            target: point(r.target_value, r.target_month),
            latest: point(r.latest_value, r.latest_month),
            name: r.name,
            unit: r.unit,
        })
        .collect())
}
