//! The preview of next year's plan: whether next year can be started from this one (and why
//! not), and what would become of each of this year's workstreams, with the saving it would
//! carry and its measures' new baselines.

use chrono::NaiveDate;
use sqlx::PgConnection;

use crate::domain::assurance::{self as rules, BenefitType, Choice, SavingType, Setting};
use crate::domain::{FinancialYear, Month, Pence};
use crate::error::{AppError, AppResult};
use crate::icbs::{Existence, PlanStatus};
use crate::plans::context::IcbYear;
use crate::plans::measures::{Direction, show_value};

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

/// Next year, loaded (its plan locked for a write), or why not.
pub enum Next {
    Ready(Box<IcbYear>),
    Blocked(String),
}

/// Next year for this ICB, or why a plan for it cannot be started from this one.
pub async fn next_year(
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
pub async fn items(
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
