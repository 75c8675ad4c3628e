//! A plan's assurance figures as the database sums them (`plan_assurance`, over
//! `workstream_assurance`), the splits of its workstreams for the dashboard, and the sums of
//! many plans for the roll-ups. Every total here is a sum of the rows beneath it, like the
//! roll-ups' other figures ([`crate::domain::PlanTotals`]).

use std::ops::Add;

use sqlx::PgConnection;

use crate::auth::scope::{IcbAccess, NationalAccess, RegionAccess};
use crate::domain::Pence;
use crate::domain::assurance::{BenefitType, Choice, SavingType, Setting};
use crate::plans::context::PlanYear;

/// One plan's assurance figures, or the sum of several.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssuranceTotals {
    /// Plans with a savings requirement recorded (1 or 0 for one plan).
    pub with_requirement: i64,
    pub requirement: Pence,
    /// The requirement less the targets, over the plans with a requirement.
    pub gap: Pence,
    pub annual_target: Pence,
    pub recurrent: Pence,
    pub non_recurrent: Pence,
    pub cash_releasing: Pence,
    pub cost_avoidance: Pence,
    pub primary_care: Pence,
    pub secondary_care: Pence,
    pub system: Pence,
    pub investment: Pence,
    pub net_target: Pence,
    pub actual_to_date: Pence,
    pub full_year_effect: Pence,
    pub recurrent_without_effect: i64,
    pub likely_outturn: Pence,
    pub risk_adjusted: Pence,
    pub without_forecast: i64,
    pub workstreams: i64,
    pub carried_forward: Pence,
    pub investment_above_target: i64,
    pub rag_differs: i64,
    pub open_risks: i64,
}

impl AssuranceTotals {
    /// The target not yet classified as recurrent or not.
    pub fn saving_type_unclassified(&self) -> Pence {
        self.annual_target - self.recurrent - self.non_recurrent
    }

    /// The target not yet classified as cash-releasing or not.
    pub fn benefit_unclassified(&self) -> Pence {
        self.annual_target - self.cash_releasing - self.cost_avoidance
    }

    /// The target whose setting is not recorded.
    pub fn setting_unclassified(&self) -> Pence {
        self.annual_target - self.primary_care - self.secondary_care - self.system
    }

    /// The savings not carried from last year.
    pub fn new_savings(&self) -> Pence {
        self.annual_target - self.carried_forward
    }

    /// The gap, when there is a requirement to measure it against.
    pub fn gap(&self) -> Option<Pence> {
        (self.with_requirement > 0).then_some(self.gap)
    }

    /// The requirement, when one is recorded.
    pub fn requirement(&self) -> Option<Pence> {
        (self.with_requirement > 0).then_some(self.requirement)
    }
}

impl Add for AssuranceTotals {
    type Output = Self;

    fn add(self, o: Self) -> Self {
        Self {
            with_requirement: self.with_requirement + o.with_requirement,
            requirement: self.requirement + o.requirement,
            gap: self.gap + o.gap,
            annual_target: self.annual_target + o.annual_target,
            recurrent: self.recurrent + o.recurrent,
            non_recurrent: self.non_recurrent + o.non_recurrent,
            cash_releasing: self.cash_releasing + o.cash_releasing,
            cost_avoidance: self.cost_avoidance + o.cost_avoidance,
            primary_care: self.primary_care + o.primary_care,
            secondary_care: self.secondary_care + o.secondary_care,
            system: self.system + o.system,
            investment: self.investment + o.investment,
            net_target: self.net_target + o.net_target,
            actual_to_date: self.actual_to_date + o.actual_to_date,
            full_year_effect: self.full_year_effect + o.full_year_effect,
            recurrent_without_effect: self.recurrent_without_effect + o.recurrent_without_effect,
            likely_outturn: self.likely_outturn + o.likely_outturn,
            risk_adjusted: self.risk_adjusted + o.risk_adjusted,
            without_forecast: self.without_forecast + o.without_forecast,
            workstreams: self.workstreams + o.workstreams,
            carried_forward: self.carried_forward + o.carried_forward,
            investment_above_target: self.investment_above_target + o.investment_above_target,
            rag_differs: self.rag_differs + o.rag_differs,
            open_risks: self.open_risks + o.open_risks,
        }
    }
}

impl std::iter::Sum for AssuranceTotals {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::default(), Add::add)
    }
}

impl<'a> std::iter::Sum<&'a AssuranceTotals> for AssuranceTotals {
    fn sum<I: Iterator<Item = &'a AssuranceTotals>>(iter: I) -> Self {
        iter.copied().sum()
    }
}

/// Builds totals from a `plan_assurance`-shaped row (every column optional: no plan is zero).
macro_rules! totals_from {
    ($r:expr) => {{
        let r = $r;
        let p = |v: Option<i64>| Pence(v.unwrap_or(0));
        let n = |v: Option<i64>| v.unwrap_or(0);
        AssuranceTotals {
            with_requirement: n(r.with_requirement),
            requirement: p(r.requirement),
            gap: p(r.gap),
            annual_target: p(r.annual_target),
            recurrent: p(r.recurrent),
            non_recurrent: p(r.non_recurrent),
            cash_releasing: p(r.cash_releasing),
            cost_avoidance: p(r.cost_avoidance),
            primary_care: p(r.primary_care),
            secondary_care: p(r.secondary_care),
            system: p(r.system),
            investment: p(r.investment),
            net_target: p(r.net_target),
            actual_to_date: p(r.actual_to_date),
            full_year_effect: p(r.full_year_effect),
            recurrent_without_effect: n(r.recurrent_without_effect),
            likely_outturn: p(r.likely_outturn),
            risk_adjusted: p(r.risk_adjusted),
            without_forecast: n(r.without_forecast),
            workstreams: n(r.workstreams),
            carried_forward: p(r.carried_forward),
            investment_above_target: n(r.investment_above_target),
            rag_differs: n(r.rag_differs),
            open_risks: n(r.open_risks),
        }
    }};
}

/// The plan's assurance figures.
pub async fn plan(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    plan_id: i32,
) -> sqlx::Result<AssuranceTotals> {
    let row = sqlx::query!(
        r#"
        select (a.savings_requirement_pence is not null)::integer::bigint as with_requirement,
               a.savings_requirement_pence as requirement, a.unidentified_gap_pence as gap,
               a.annual_target_pence as annual_target, a.recurrent_target_pence as recurrent,
               a.non_recurrent_target_pence as non_recurrent,
               a.cash_releasing_target_pence as cash_releasing,
               a.cost_avoidance_target_pence as cost_avoidance,
               a.primary_care_target_pence as primary_care,
               a.secondary_care_target_pence as secondary_care, a.system_target_pence as system,
               a.investment_pence as investment, a.net_target_pence as net_target,
               a.actual_to_date_pence as actual_to_date, a.full_year_effect_pence as full_year_effect,
               a.recurrent_without_full_year_effect::bigint as recurrent_without_effect,
               a.likely_outturn_pence as likely_outturn,
               a.risk_adjusted_forecast_pence as risk_adjusted,
               a.workstreams_without_forecast::bigint as without_forecast,
               a.workstreams::bigint as workstreams, a.carried_forward_pence as carried_forward,
               a.investment_above_target::bigint as investment_above_target,
               a.rag_differs::bigint as rag_differs, a.open_risks::bigint as open_risks
        from plan_assurance a where a.icb_id = $1 and a.plan_id = $2
        "#,
        icb.icb_id(),
        plan_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| totals_from!(r)).unwrap_or_default())
}

/// One line of a split: a category's workstreams summed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitLine {
    /// The category in words ("Not classified yet" for workstreams without one).
    pub label: String,
    /// As in exports (`recurrent`), empty for the unclassified line.
    pub key: &'static str,
    pub workstreams: i64,
    pub annual_target: Pence,
    pub investment: Pence,
    pub net_target: Pence,
    pub actual_to_date: Pence,
    pub risk_adjusted: Pence,
}

/// The plan's live workstreams split three ways: by saving type, by benefit and by setting.
/// Each split's lines add up to the plan's totals.
#[derive(Debug, Clone, Default)]
pub struct Splits {
    pub saving_type: Vec<SplitLine>,
    pub benefit: Vec<SplitLine>,
    pub setting: Vec<SplitLine>,
}

/// The plan's splits (one grouping-sets aggregate).
pub async fn splits(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    plan_id: i32,
) -> sqlx::Result<Splits> {
    let rows = sqlx::query!(
        r#"
        select grouping(a.saving_type) = 0 as "by_type!", grouping(a.benefit_type) = 0 as "by_benefit!",
               a.saving_type as "saving_type: SavingType", a.benefit_type as "benefit_type: BenefitType",
               a.setting as "setting: Setting",
               count(*) as "workstreams!",
               coalesce(sum(a.annual_target_pence), 0)::bigint as "annual_target!",
               coalesce(sum(a.investment_pence), 0)::bigint as "investment!",
               coalesce(sum(a.net_target_pence), 0)::bigint as "net_target!",
               coalesce(sum(a.actual_to_date_pence), 0)::bigint as "actual_to_date!",
               coalesce(sum(a.risk_adjusted_forecast_pence), 0)::bigint as "risk_adjusted!"
        from workstream_assurance a
        where a.icb_id = $1 and a.plan_id = $2 and a.removed_at is null
        group by grouping sets ((a.saving_type), (a.benefit_type), (a.setting))
        "#,
        icb.icb_id(),
        plan_id
    )
    .fetch_all(conn)
    .await?;
    let mut splits = Splits {
        saving_type: lines(SavingType::ALL),
        benefit: lines(BenefitType::ALL),
        setting: lines(Setting::ALL),
    };
    for r in rows {
        let (split, key) = if r.by_type {
            (&mut splits.saving_type, r.saving_type.map(Choice::key))
        } else if r.by_benefit {
            (&mut splits.benefit, r.benefit_type.map(Choice::key))
        } else {
            (&mut splits.setting, r.setting.map(Choice::key))
        };
        if let Some(line) = split.iter_mut().find(|l| l.key == key.unwrap_or("")) {
            line.workstreams = r.workstreams;
            line.annual_target = Pence(r.annual_target);
            line.investment = Pence(r.investment);
            line.net_target = Pence(r.net_target);
            line.actual_to_date = Pence(r.actual_to_date);
            line.risk_adjusted = Pence(r.risk_adjusted);
        }
    }
    Ok(splits)
}

/// A line per category, and one for the unclassified, all zero.
fn lines<C: Choice>(all: &'static [C]) -> Vec<SplitLine> {
    all.iter()
        .map(|c| (c.label().to_owned(), c.key()))
        .chain(std::iter::once(("Not classified yet".to_owned(), "")))
        .map(|(label, key)| SplitLine {
            label,
            key,
            workstreams: 0,
            annual_target: Pence(0),
            investment: Pence(0),
            net_target: Pence(0),
            actual_to_date: Pence(0),
            risk_adjusted: Pence(0),
        })
        .collect()
}

/// One ICB's assurance figures for a year (zero when it has no plan).
#[derive(Debug, Clone)]
pub struct IcbAssurance {
    pub ods_code: String,
    pub name: String,
    pub has_plan: bool,
    pub totals: AssuranceTotals,
}

/// Every ICB of the region that existed in the year, with its plan's assurance figures, in
/// name order (the same ICBs as the regional roll-up's table).
pub async fn region_icbs(
    conn: &mut PgConnection,
    region: &RegionAccess,
    year: &PlanYear,
) -> sqlx::Result<Vec<IcbAssurance>> {
    let rows = sqlx::query!(
        r#"
        select i.ods_code, i.name, a.plan_id as "plan_id?",
               (a.savings_requirement_pence is not null)::integer::bigint as with_requirement,
               a.savings_requirement_pence as "requirement?", a.unidentified_gap_pence as "gap?",
               a.annual_target_pence as "annual_target?", a.recurrent_target_pence as "recurrent?",
               a.non_recurrent_target_pence as "non_recurrent?",
               a.cash_releasing_target_pence as "cash_releasing?",
               a.cost_avoidance_target_pence as "cost_avoidance?",
               a.primary_care_target_pence as "primary_care?",
               a.secondary_care_target_pence as "secondary_care?", a.system_target_pence as "system?",
               a.investment_pence as "investment?", a.net_target_pence as "net_target?",
               a.actual_to_date_pence as "actual_to_date?", a.full_year_effect_pence as "full_year_effect?",
               a.recurrent_without_full_year_effect::bigint as "recurrent_without_effect?",
               a.likely_outturn_pence as "likely_outturn?",
               a.risk_adjusted_forecast_pence as "risk_adjusted?",
               a.workstreams_without_forecast::bigint as "without_forecast?",
               a.workstreams::bigint as "workstreams?", a.carried_forward_pence as "carried_forward?",
               a.investment_above_target::bigint as "investment_above_target?",
               a.rag_differs::bigint as "rag_differs?", a.open_risks::bigint as "open_risks?"
        from icb i
        left join plan_assurance a on a.icb_id = i.icb_id and a.programme_year_id = $2
        where i.region_id = $1
          and i.valid_from <= $4 and (i.valid_to is null or i.valid_to >= $3)
        order by i.name
        "#,
        region.region_id(),
        year.programme_year_id,
        year.year.starts_on(),
        year.year.ends_on()
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| IcbAssurance {
            has_plan: r.plan_id.is_some(),
            ods_code: r.ods_code.clone(),
            name: r.name.clone(),
            totals: totals_from!(r),
        })
        .collect())
}

/// One region's assurance figures for a year.
#[derive(Debug, Clone)]
pub struct RegionAssurance {
    /// `(ODS code, name)`.
    pub region: Option<(String, String)>,
    pub totals: AssuranceTotals,
}

/// The year's assurance figures by region, over the ICBs that existed in the year (as the
/// national roll-up's table).
pub async fn by_region(
    conn: &mut PgConnection,
    _scope: &NationalAccess,
    year: &PlanYear,
) -> sqlx::Result<Vec<RegionAssurance>> {
    let rows = sqlx::query!(
        r#"
        select r.ods_code as "ods_code?", r.name as "name?",
               count(a.savings_requirement_pence) as with_requirement,
               sum(a.savings_requirement_pence)::bigint as requirement,
               sum(a.unidentified_gap_pence)::bigint as gap,
               sum(a.annual_target_pence)::bigint as annual_target,
               sum(a.recurrent_target_pence)::bigint as recurrent,
               sum(a.non_recurrent_target_pence)::bigint as non_recurrent,
               sum(a.cash_releasing_target_pence)::bigint as cash_releasing,
               sum(a.cost_avoidance_target_pence)::bigint as cost_avoidance,
               sum(a.primary_care_target_pence)::bigint as primary_care,
               sum(a.secondary_care_target_pence)::bigint as secondary_care,
               sum(a.system_target_pence)::bigint as system,
               sum(a.investment_pence)::bigint as investment,
               sum(a.net_target_pence)::bigint as net_target,
               sum(a.actual_to_date_pence)::bigint as actual_to_date,
               sum(a.full_year_effect_pence)::bigint as full_year_effect,
               sum(a.recurrent_without_full_year_effect)::bigint as recurrent_without_effect,
               sum(a.likely_outturn_pence)::bigint as likely_outturn,
               sum(a.risk_adjusted_forecast_pence)::bigint as risk_adjusted,
               sum(a.workstreams_without_forecast)::bigint as without_forecast,
               sum(a.workstreams)::bigint as workstreams,
               sum(a.carried_forward_pence)::bigint as carried_forward,
               sum(a.investment_above_target)::bigint as investment_above_target,
               sum(a.rag_differs)::bigint as rag_differs,
               sum(a.open_risks)::bigint as open_risks
        from region r
        join icb i on i.region_id = r.region_id
             and i.valid_from <= $3 and (i.valid_to is null or i.valid_to >= $2)
        left join plan_assurance a on a.icb_id = i.icb_id and a.programme_year_id = $1
        group by r.region_id, r.ods_code, r.name
        order by r.name
        "#,
        year.programme_year_id,
        year.year.starts_on(),
        year.year.ends_on()
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| RegionAssurance {
            region: r.ods_code.clone().zip(r.name.clone()),
            totals: totals_from!(r),
        })
        .collect())
}
