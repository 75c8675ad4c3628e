//! The month page as saved ([`build`]), which the save re-renders with its messages or
//! conflict, and the `GET` handler. [`load`] reads the month's stored figures, which the save
//! also checks the form against.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Query;
use chrono::{Days, NaiveDate};
use sqlx::PgConnection;

use crate::auth::CurrentUser;
use crate::domain::{Month, Pence};
use crate::error::AppResult;
use crate::forms::FieldErrors;
use crate::page::Layout;
use crate::plans::changes::Change;
use crate::plans::context::{IcbYear, PlanHeader};
use crate::plans::measures::{Direction, show_value};
use crate::plans::plan_page::NoticeQuery;
use crate::plans::request::{MonthPath, PlanView};
use crate::plans::workstreams::{self, Workstream};

/// A measure's value for the month, as stored.
#[derive(Debug, Clone)]
pub struct MonthMeasure {
    pub measure_id: i32,
    pub name: String,
    pub unit: String,
    pub direction: Direction,
    /// "80 by March 2025", or empty.
    pub target: String,
    pub version: i32,
    pub value: Option<f64>,
    /// What the field shows: the value saved, or as typed when the save was refused.
    pub input: String,
}

impl MonthMeasure {
    /// `m{id}_value`: the field's name and id.
    pub fn field(&self) -> String {
        format!("m{}_value", self.measure_id)
    }

    /// The value as shown, or "Not recorded".
    pub fn shown(&self) -> String {
        self.value
            .map_or_else(|| "Not recorded".to_owned(), show_value)
    }
}

/// A workstream's figures for the month, as stored.
#[derive(Debug, Clone)]
pub struct MonthRow {
    pub ws: Workstream,
    pub planned: Pence,
    pub actual: Option<Pence>,
    /// What the actual field shows (see [`MonthMeasure::input`]).
    pub input: String,
    pub measures: Vec<MonthMeasure>,
}

impl MonthRow {
    /// `ws{id}_actual`: the field's name and id.
    pub fn field(&self) -> String {
        format!("ws{}_actual", self.ws.workstream_id)
    }

    /// Actual minus planned, when there is an actual.
    pub fn variance(&self) -> Option<Pence> {
        self.actual.map(|a| a - self.planned)
    }
}

/// A neighbouring month's link.
pub struct MonthLink {
    pub href: String,
    pub label: String,
}

/// A stale save: whose figures changed since the page was opened, and where what was sent
/// differs from what is saved now.
pub struct MonthConflict {
    pub changed: Vec<String>,
    pub rows: Vec<Change>,
}

/// `/icbs/{icb}/{year}/months/{month}`
#[derive(Template, WebTemplate)]
#[template(path = "plans/month.html")]
pub struct MonthPage {
    pub layout: Layout,
    pub header: PlanHeader,
    pub month_label: String,
    /// The page's own address (the form posts to it).
    pub path: String,
    pub previous: Option<MonthLink>,
    pub next: Option<MonthLink>,
    pub rows: Vec<MonthRow>,
    pub planned_total: Pence,
    pub actual_total: Pence,
    pub reported: usize,
    /// When the month's figures are due, in words.
    pub due: String,
    /// Why the figures cannot be changed here, if they cannot (then they are shown as tables).
    pub locked: Option<String>,
    pub notice: Option<&'static str>,
    pub conflict: Option<MonthConflict>,
    pub errors: FieldErrors,
}

impl MonthPage {
    /// Whether any workstream has a measure.
    pub fn has_measures(&self) -> bool {
        self.rows.iter().any(|r| !r.measures.is_empty())
    }

    /// The actual total minus the planned total of the workstreams reported.
    pub fn reported_planned(&self) -> Pence {
        self.rows
            .iter()
            .filter(|r| r.actual.is_some())
            .map(|r| r.planned)
            .sum()
    }
}

/// The month's figures of the plan's live workstreams (national by number, then local).
pub async fn load(
    conn: &mut PgConnection,
    ctx: &IcbYear,
    plan_id: i32,
    month: Month,
) -> AppResult<Vec<MonthRow>> {
    let workstreams = workstreams::list(conn, &ctx.icb, plan_id).await?;
    let figures = sqlx::query!(
        r#"
        select m.workstream_id, m.planned_pence, m.actual_pence
        from workstream_month m
        join workstream w on w.workstream_id = m.workstream_id and w.icb_id = m.icb_id
        where m.icb_id = $1 and w.plan_id = $2 and m.month = $3 and w.removed_at is null
        "#,
        ctx.icb.icb_id(),
        plan_id,
        month as Month
    )
    .fetch_all(&mut *conn)
    .await?;
    let measures = sqlx::query!(
        r#"
        select me.measure_id, me.workstream_id, me.name, me.unit,
               me.direction as "direction: Direction", me.target_value, me.target_month,
               me.version, v.value as "value?"
        from measure me
        join workstream w on w.workstream_id = me.workstream_id and w.icb_id = me.icb_id
        left join measure_value v
               on v.measure_id = me.measure_id and v.icb_id = me.icb_id and v.month = $3
        where me.icb_id = $1 and w.plan_id = $2 and w.removed_at is null
          and me.removed_at is null
        order by me.measure_id
        "#,
        ctx.icb.icb_id(),
        plan_id,
        month as Month
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(workstreams
        .into_iter()
        .map(|ws| {
            let saved = figures.iter().find(|f| f.workstream_id == ws.workstream_id);
            let actual = saved.and_then(|f| f.actual_pence).map(Pence);
            MonthRow {
                planned: Pence(saved.map_or(0, |f| f.planned_pence)),
                input: actual.map(Pence::input_value).unwrap_or_default(),
                actual,
                measures: measures
                    .iter()
                    .filter(|m| m.workstream_id == ws.workstream_id)
                    .map(|m| MonthMeasure {
                        measure_id: m.measure_id,
                        name: m.name.clone(),
                        unit: m.unit.clone(),
                        direction: m.direction,
                        target: match (m.target_value, m.target_month) {
                            (Some(v), Some(at)) => {
                                format!("{} by {}", show_value(v), Month::containing(at).label())
                            }
                            (Some(v), None) => show_value(v),
                            _ => String::new(),
                        },
                        version: m.version,
                        value: m.value,
                        input: m.value.map(show_value).unwrap_or_default(),
                    })
                    .collect(),
                ws,
            }
        })
        .collect())
}

/// `/icbs/{ods}/{year}/months/{2024-06}`
pub fn month_path(ctx: &IcbYear, month: Month) -> String {
    format!("{}/months/{}", ctx.base_path(), month.key())
}

/// The last day `month`'s figures are due: the end of the month after.
fn deadline(month: Month) -> NaiveDate {
    month.next().next().first_day() - Days::new(1)
}

/// Why the month's figures cannot be recorded here now, if they cannot.
pub fn locked(ctx: &IcbYear, month: Month) -> Option<String> {
    ctx.progress_locked().or_else(|| {
        (month > ctx.clock.this_month()).then(|| {
            format!(
                "{} has not started yet, so its actual savings and measure values cannot be recorded until {}.",
                month.label(),
                month.first_day().format("%-d %B %Y")
            )
        })
    })
}

/// The page as saved.
pub async fn build(
    conn: &mut PgConnection,
    user: &CurrentUser,
    ctx: &IcbYear,
    month: Month,
) -> AppResult<MonthPage> {
    let plan_id = ctx.require_plan()?.plan_id;
    let rows = load(conn, ctx, plan_id, month).await?;
    let year = ctx.year.year;
    let link = |m: Month| {
        year.has_month(m).then(|| MonthLink {
            href: month_path(ctx, m),
            label: m.label(),
        })
    };
    let due_by = deadline(month);
    let due = if ctx.clock.today() > due_by {
        format!(
            "{}'s figures were due by {}.",
            month.label(),
            due_by.format("%-d %B %Y")
        )
    } else {
        format!(
            "{}'s figures are due by {}.",
            month.label(),
            due_by.format("%-d %B %Y")
        )
    };
    Ok(MonthPage {
        layout: user.layout(),
        header: ctx.header(""),
        month_label: month.label(),
        path: month_path(ctx, month),
        previous: link(month.previous()),
        next: link(month.next()),
        planned_total: rows.iter().map(|r| r.planned).sum(),
        actual_total: rows.iter().filter_map(|r| r.actual).sum(),
        reported: rows.iter().filter(|r| r.actual.is_some()).count(),
        rows,
        due,
        locked: locked(ctx, month),
        notice: None,
        conflict: None,
        errors: FieldErrors::default(),
    })
}

/// The notices after a save.
fn notice(key: Option<&str>) -> Option<&'static str> {
    match key? {
        "saved" => Some("The month's figures have been saved."),
        "unchanged" => Some("Nothing had changed, so nothing was saved."),
        _ => None,
    }
}

pub async fn show(
    PlanView { mut tx, ctx, user }: PlanView,
    path: MonthPath,
    Query(query): Query<NoticeQuery>,
) -> AppResult<MonthPage> {
    let mut page = build(&mut tx, &user, &ctx, path.month).await?;
    page.notice = notice(query.notice.as_deref());
    Ok(page)
}
