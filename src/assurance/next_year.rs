//! `/icbs/{icb}/{year}/next-year`: "Start 2027/28 from 2026/27". The page previews what would
//! be copied into next year's plan, and nothing is copied until the editor confirms it:
//!
//! - each chosen national opportunity (matched in next year's catalogue by its slug; one
//!   next year no longer has becomes a local priority) and each local priority, with its lead,
//!   summary, objectives and classification;
//! - a recurrent workstream's full-year effect, as the part of next year's saving already
//!   secured (`carried_forward`), which is also its first target, phased evenly; a
//!   non-recurrent one starts with no target;
//! - its outcome measures, each with its latest value as the new baseline.
//!
//! Next year's programme year must exist and be open, the ICB must exist in it, and its plan
//! (if started) must not be with the reviewer; the page says which, when one is not so. The
//! confirm form carries both plans' versions: a change to either after the preview is refused
//! (409) with the preview as it is now. Both plans are locked (this year's first), so two
//! confirmations cannot both copy.

use std::collections::BTreeSet;

use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use crate::audit::{self, AuditEvent};
use crate::auth::CurrentUser;
use crate::auth::scope::IcbEditor;
use crate::domain::assurance::{self as rules, BenefitType, Choice, SavingType, Setting};
use crate::domain::{FinancialYear, Month, Pence, even_split};
use crate::error::{AppError, AppResult};
use crate::forms::{FieldErrors, Form};
use crate::icbs::{Existence, PlanStatus};
use crate::page::Layout;
use crate::plans::context::{IcbYear, PlanHeader};
use crate::plans::measures::{Direction, show_value};
use crate::plans::request::{PlanEdit, PlanView};
use crate::plans::workflow;

/// What happens to a workstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Copied as it is.
    Copy,
    /// Its opportunity is not in next year's catalogue: copied as a local priority.
    CopyAsLocal,
    /// Next year's plan has it already.
    AlreadyThere,
    /// Next year's plan had it and it was removed: choose it again on the plan page.
    RemovedThere,
}

impl Fate {
    /// Whether it can be copied.
    pub fn copyable(self) -> bool {
        matches!(self, Fate::Copy | Fate::CopyAsLocal)
    }
}

/// A measure as it would start next year.
#[derive(Debug, Clone)]
pub struct MeasureCarry {
    pub name: String,
    pub unit: String,
    pub direction: Direction,
    pub baseline: Option<(f64, Month)>,
    pub target_value: Option<f64>,
    pub target_month: Month,
}

impl MeasureCarry {
    /// "42 (June 2026)", or "No value recorded".
    pub fn baseline_text(&self) -> String {
        self.baseline.map_or_else(
            || "No value recorded".to_owned(),
            |(v, m)| format!("{} {} ({})", show_value(v), self.unit, m.label()),
        )
    }
}

/// A workstream of this year's plan and what would become of it.
#[derive(Debug, Clone)]
pub struct Item {
    pub workstream_id: i32,
    /// `4. Title` or the local title, as this year shows it.
    pub title: String,
    /// The title next year would give it (a local priority's, or the catalogue's).
    pub new_title: String,
    pub local: bool,
    pub fate: Fate,
    /// Next year's opportunity, for a national one that stays national.
    pub next_opportunity: Option<i32>,
    pub saving_type: Option<SavingType>,
    pub benefit_type: Option<BenefitType>,
    pub setting: Option<Setting>,
    pub full_year_effect: Option<Pence>,
    /// The saving already secured next year.
    pub carried: Pence,
    pub measures: Vec<MeasureCarry>,
    pub description: String,
    pub lead_name: String,
    pub summary: String,
    pub objectives: Vec<String>,
    pub ticked: bool,
}

impl Item {
    /// What happens to it, in words.
    pub fn fate_text(&self, next: &str) -> String {
        match self.fate {
            Fate::Copy => format!("Copied into {next}"),
            Fate::CopyAsLocal => format!("Not in the {next} catalogue: copied as a local priority"),
            Fate::AlreadyThere => format!("Already in the {next} plan"),
            Fate::RemovedThere => {
                format!("Removed from the {next} plan earlier: choose it again on that plan's page")
            }
        }
    }

    /// The saving type in words.
    pub fn saving_type_text(&self) -> &'static str {
        self.saving_type.map_or("Not recorded", Choice::label)
    }
}

/// `/icbs/{icb}/{year}/next-year`
#[derive(Template, WebTemplate)]
#[template(path = "assurance/next_year.html")]
pub struct NextYearPage {
    pub layout: Layout,
    pub header: PlanHeader,
    pub from_label: String,
    pub to_label: String,
    /// Why nothing can be copied now.
    pub blocked: Option<String>,
    pub items: Vec<Item>,
    pub source_version: i32,
    /// The next plan's version, or `none` when it has not been started.
    pub target_version: String,
    pub target_exists: bool,
    pub target_reopens: bool,
    pub errors: FieldErrors,
    pub conflict: bool,
}

impl NextYearPage {
    /// The secured saving of the ticked items.
    pub fn carried_total(&self) -> Pence {
        self.items
            .iter()
            .filter(|i| i.fate.copyable())
            .map(|i| i.carried)
            .sum()
    }

    /// Whether anything can be copied.
    pub fn any_copyable(&self) -> bool {
        self.items.iter().any(|i| i.fate.copyable())
    }
}

/// The confirm form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CarryForm {
    source_version: String,
    target_version: String,
    workstream: Vec<String>,
}

/// Next year, loaded (its plan locked for a write), or why not.
enum Next {
    Ready(Box<IcbYear>),
    Blocked(String),
}

/// Next year for this ICB, or why a plan for it cannot be started from this one.
async fn next_year(
    conn: &mut PgConnection,
    ctx: &IcbYear,
    for_write: bool,
) -> AppResult<(FinancialYear, Next)> {
    let this = ctx.year.year;
    let next = FinancialYear::starting(this.start_year() + 1).ok_or(AppError::NotFound)?;
    let exists = sqlx::query!(
        "select open_for_editing from programme_year where starts_on = $1",
        next.starts_on()
    )
    .fetch_optional(&mut *conn)
    .await?;
    let blocked = match exists {
        None => Some(format!(
            "{next} has not been set up yet, so there is no {next} plan to start. An administrator creates it under Administration, Opportunity catalogue, by copying {this}'s catalogue. Come back here once it exists."
        )),
        Some(y) if !y.open_for_editing => Some(format!(
            "{next} is closed for editing, so a plan for it cannot be started from this one."
        )),
        Some(_) => None,
    };
    if let Some(reason) = blocked {
        return Ok((next, Next::Blocked(reason)));
    }
    let dates = sqlx::query!(
        "select valid_from, valid_to from icb where icb_id = $1",
        ctx.icb.icb_id()
    )
    .fetch_one(&mut *conn)
    .await?;
    let day = |d: NaiveDate| d.format("%-d %B %Y").to_string();
    match Existence::of(dates.valid_from, dates.valid_to, next) {
        Existence::Existed => {}
        Existence::AfterClosed => {
            return Ok((
                next,
                Next::Blocked(format!(
                    "{} closed on {}, so it has no {next} plan to start.",
                    ctx.icb.name(),
                    dates.valid_to.map(day).unwrap_or_default()
                )),
            ));
        }
        Existence::BeforeFormed => {
            return Ok((
                next,
                Next::Blocked(format!("{} does not exist in {next}.", ctx.icb.name())),
            ));
        }
    }
    let loaded = IcbYear::load(conn, ctx.icb.clone(), next, ctx.clock, for_write).await?;
    if loaded.plan.as_ref().map(|p| p.status) == Some(PlanStatus::Submitted) {
        return Ok((
            next,
            Next::Blocked(format!(
                "The {next} plan is with the regional team for review. Copy into it when they agree or return it."
            )),
        ));
    }
    Ok((next, Next::Ready(Box::new(loaded))))
}

/// This year's live workstreams and what would become of each in next year's plan.
async fn items(
    conn: &mut PgConnection,
    ctx: &IcbYear,
    next: Option<&IcbYear>,
) -> AppResult<Vec<Item>> {
    let plan_id = ctx.require_plan()?.plan_id;
    let next_plan = next.and_then(|n| n.plan.as_ref()).map(|p| p.plan_id);
    let next_year_id = next.map(|n| n.year.programme_year_id);
    let rows = sqlx::query!(
        r#"
        select w.workstream_id, o.number as "number?", coalesce(w.title, o.title) as "title!",
               w.opportunity_id, w.description, w.lead_name, w.summary, w.objectives,
               w.saving_type as "saving_type: SavingType", w.benefit_type as "benefit_type: BenefitType",
               w.setting as "setting: Setting", a.full_year_effect_pence as full_year_effect,
               n.opportunity_id as "next_opportunity?",
               exists (select 1 from workstream t
                       where t.plan_id = $3 and t.icb_id = w.icb_id and t.removed_at is null
                         and (t.carried_from_workstream_id = w.workstream_id
                              or (n.opportunity_id is not null and t.opportunity_id = n.opportunity_id)
                              or (w.opportunity_id is null and t.opportunity_id is null
                                  and lower(t.title) = lower(w.title)))) as "already!",
               exists (select 1 from workstream t
                       where t.plan_id = $3 and t.icb_id = w.icb_id and t.removed_at is not null
                         and n.opportunity_id is not null and t.opportunity_id = n.opportunity_id)
                   as "removed_there!"
        from workstream w
        join workstream_assurance a on a.workstream_id = w.workstream_id and a.icb_id = w.icb_id
        left join opportunity o on o.opportunity_id = w.opportunity_id
        left join opportunity n on n.programme_year_id = $4 and n.slug = o.slug
        where w.icb_id = $1 and w.plan_id = $2 and w.removed_at is null
        order by o.number nulls last, w.workstream_id
        "#,
        ctx.icb.icb_id(),
        plan_id,
        next_plan,
        next_year_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let ids: Vec<i32> = rows.iter().map(|r| r.workstream_id).collect();
    let measures = sqlx::query_as!(
        StoredMeasure,
        r#"
        select m.workstream_id, m.name, m.unit, m.direction as "direction: Direction",
               m.baseline_value, m.baseline_month, m.target_value, m.target_month,
               v.value as "latest_value?", v.month as "latest_month?"
        from measure m
        left join lateral (
            select value, month from measure_value
            where measure_id = m.measure_id and icb_id = m.icb_id
            order by month desc limit 1
        ) v on true
        where m.icb_id = $1 and m.workstream_id = any($2) and m.removed_at is null
        order by m.measure_id
        "#,
        ctx.icb.icb_id(),
        &ids
    )
    .fetch_all(&mut *conn)
    .await?;
    let next_fy = next.map(|n| n.year.year);
    Ok(rows
        .into_iter()
        .map(|r| {
            let local = r.opportunity_id.is_none();
            let fate = if r.already {
                Fate::AlreadyThere
            } else if r.removed_there {
                Fate::RemovedThere
            } else if local || r.next_opportunity.is_some() {
                Fate::Copy
            } else {
                Fate::CopyAsLocal
            };
            let full_year_effect = r.full_year_effect.map(Pence);
            Item {
                workstream_id: r.workstream_id,
                title: match r.number {
                    Some(n) => format!("{n}. {}", r.title),
                    None => r.title.clone(),
                },
                new_title: r.title,
                local,
                fate,
                next_opportunity: r.next_opportunity,
                carried: rules::carried_forward(r.saving_type, full_year_effect),
                saving_type: r.saving_type,
                benefit_type: r.benefit_type,
                setting: r.setting,
                full_year_effect,
                measures: measures
                    .iter()
                    .filter(|m| m.workstream_id == r.workstream_id)
                    .map(|m| measure_carry(m, next_fy))
                    .collect(),
                description: r.description,
                lead_name: r.lead_name,
                summary: r.summary,
                objectives: r.objectives,
                ticked: fate.copyable(),
            }
        })
        .collect())
}

/// A live measure of this year's plan, with its latest value.
struct StoredMeasure {
    workstream_id: i32,
    name: String,
    unit: String,
    direction: Direction,
    baseline_value: Option<f64>,
    baseline_month: Option<NaiveDate>,
    target_value: Option<f64>,
    target_month: Option<NaiveDate>,
    latest_value: Option<f64>,
    latest_month: Option<NaiveDate>,
}

/// A stored measure as it would start next year: its latest value (or else its baseline) as
/// the baseline, the same target, by a month in or after next year.
fn measure_carry(m: &StoredMeasure, next: Option<FinancialYear>) -> MeasureCarry {
    let point = |v: Option<f64>, month: Option<NaiveDate>| {
        v.zip(month).map(|(v, month)| (v, Month::containing(month)))
    };
    MeasureCarry {
        name: m.name.clone(),
        unit: m.unit.clone(),
        direction: m.direction,
        baseline: point(m.latest_value, m.latest_month)
            .or_else(|| point(m.baseline_value, m.baseline_month)),
        target_value: m.target_value,
        target_month: match next {
            Some(next) => rules::next_target_month(m.target_month, next),
            None => Month::containing(m.target_month.unwrap_or_default()),
        },
    }
}

/// Builds the page: the preview of what would be copied, or why nothing can be.
async fn page(
    conn: &mut PgConnection,
    user: &CurrentUser,
    ctx: &IcbYear,
    for_write: bool,
) -> AppResult<(NextYearPage, Option<Box<IcbYear>>)> {
    let (next, loaded) = next_year(conn, ctx, for_write).await?;
    let (blocked, next_ctx) = match loaded {
        Next::Ready(n) => (None, Some(n)),
        Next::Blocked(reason) => (Some(reason), None),
    };
    let items = items(conn, ctx, next_ctx.as_deref()).await?;
    let target_plan = next_ctx.as_ref().and_then(|n| n.plan.as_ref());
    let page = NextYearPage {
        layout: user.layout(),
        header: ctx.header("/next-year"),
        from_label: ctx.year.year.to_string(),
        to_label: next.to_string(),
        blocked,
        items,
        source_version: ctx.plan.as_ref().map_or(0, |p| p.version),
        target_version: target_plan.map_or_else(|| "none".to_owned(), |p| p.version.to_string()),
        target_exists: target_plan.is_some(),
        target_reopens: target_plan.is_some_and(|p| p.status == PlanStatus::Agreed),
        errors: FieldErrors::default(),
        conflict: false,
    };
    Ok((page, next_ctx))
}

pub async fn show(PlanView { mut tx, ctx, user }: PlanView) -> AppResult<NextYearPage> {
    ctx.icb.editor()?;
    ctx.require_plan()?;
    Ok(page(&mut tx, &user, &ctx, false).await?.0)
}

pub async fn carry_forward(
    PlanEdit {
        mut tx,
        ctx,
        user,
        editor,
    }: PlanEdit,
    Form(form): Form<CarryForm>,
) -> AppResult<Response> {
    ctx.require_plan()?;
    let (mut page, next_ctx) = page(&mut tx, &user, &ctx, true).await?;
    let ticked: BTreeSet<i32> = form
        .workstream
        .iter()
        .filter_map(|id| id.trim().parse().ok())
        .collect();
    for item in &mut page.items {
        item.ticked = item.fate.copyable() && ticked.contains(&item.workstream_id);
    }
    let Some(next_ctx) = next_ctx.filter(|_| page.blocked.is_none()) else {
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    if form.source_version.trim() != page.source_version.to_string()
        || form.target_version.trim() != page.target_version
    {
        for item in &mut page.items {
            item.ticked = item.fate.copyable();
        }
        page.conflict = true;
        return Ok((StatusCode::CONFLICT, page).into_response());
    }
    let chosen: Vec<Item> = page.items.iter().filter(|i| i.ticked).cloned().collect();
    if chosen.is_empty() {
        page.errors.add(
            "workstreams",
            format!(
                "Choose at least one workstream to copy into {}",
                page.to_label
            ),
        );
        if let Some(first) = page.items.iter().find(|i| i.fate.copyable()) {
            page.errors
                .link_to("workstreams", format!("workstream-{}", first.workstream_id));
        }
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let next_ctx = start_plan(&mut tx, &user, &editor, &ctx, *next_ctx).await?;
    let next_plan = next_ctx.require_plan()?.plan_id;
    for item in &chosen {
        copy(&mut tx, &editor, &user, &ctx, &next_ctx, next_plan, item).await?;
    }
    workflow::content_changed(&mut tx, &editor, &user.actor(), &next_ctx, true).await?;
    let carried: Pence = chosen.iter().map(|i| i.carried).sum();
    let event = AuditEvent::new("plan.carried_forward")
        .object(
            "plan",
            format!("{}/{}", ctx.icb.ods_code(), next_ctx.year.year.slug()),
        )
        .organisation(Some(ctx.icb.ods_code()))
        .details(json!({
            "from": ctx.year.year.to_string(),
            "workstreams": chosen.len(),
            "measures": chosen.iter().map(|i| i.measures.len()).sum::<usize>(),
            "carried_forward": carried.exact_display(),
        }));
    audit::record(&mut tx, &user.actor(), event).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "{}/assurance?notice=carried",
        next_ctx.base_path()
    ))
    .into_response())
}

/// Next year's plan, started if it was not (audited like a plan started on its page), and
/// locked.
async fn start_plan(
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
