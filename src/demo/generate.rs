//! The pure generator: from a [`DemoSpec`], the ICBs, each year's catalogue and today's date,
//! the plans to write. No I/O, so it is unit-tested directly and the same seed always gives
//! the same data.
//!
//! Every plan draws from its own random stream, seeded from the spec's seed, the ICB's ODS
//! code and the year, and each ICB's traits (how well it performs, whether it reports late)
//! from a stream of its own. Skipping a plan (it exists already) therefore changes no other.

use std::collections::{BTreeMap, HashSet};
use std::ops::RangeInclusive;

use chrono::{DateTime, Days, Months, NaiveDate, NaiveTime, Utc};
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom, index};
use rand::{Rng, SeedableRng};

use super::DemoSpec;
use super::text::{self, MeasureTemplate};
use crate::domain::{FinancialYear, Pence, even_split};
use crate::icbs::PlanStatus;
use crate::plans::workstreams::Rag;

/// An ICB as the generator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoIcb {
    pub icb_id: i32,
    pub ods_code: String,
    /// ODS code of its region.
    pub region_code: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

impl DemoIcb {
    /// Whether the ICB existed for any part of `year` (only those get a plan for it).
    pub fn existed_in(&self, year: FinancialYear) -> bool {
        self.valid_from <= year.ends_on() && self.valid_to.is_none_or(|to| to >= year.starts_on())
    }
}

/// A national opportunity of a year's catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOpportunity {
    pub number: i16,
    /// NHS England's title, or a working title while it is unconfirmed.
    pub title: String,
    pub slug: String,
}

/// Each programme year's catalogue.
pub type Catalogues = BTreeMap<FinancialYear, Vec<DemoOpportunity>>;

/// One plan to write.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanData {
    pub icb_id: i32,
    pub ods_code: String,
    pub year: FinancialYear,
    pub status: PlanStatus,
    pub review_comment: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub workstreams: Vec<WorkstreamData>,
}

impl PlanData {
    /// How many of its workstreams are national opportunities.
    pub fn national_count(&self) -> usize {
        self.workstreams
            .iter()
            .filter(|w| w.opportunity.is_some())
            .count()
    }
}

/// One workstream to write: a national opportunity (by catalogue number) or a local priority.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkstreamData {
    /// The opportunity's catalogue number; `None` for a local priority.
    pub opportunity: Option<i16>,
    /// A local priority's title (`None` for national opportunities).
    pub title: Option<String>,
    pub description: String,
    pub lead_name: String,
    pub summary: String,
    pub objectives: Vec<&'static str>,
    pub annual_target_pence: i64,
    /// Twelve months once a target is set (their plan sums to it), none before.
    pub months: Vec<MonthData>,
    /// The latest update's status.
    pub rag: Option<Rag>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Oldest first.
    pub updates: Vec<UpdateData>,
    pub measures: Vec<MeasureData>,
}

/// A workstream-month: the phased target and the actual saving, if reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthData {
    pub month: NaiveDate,
    pub planned_pence: i64,
    pub actual_pence: Option<i64>,
}

/// A dated RAG update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateData {
    pub rag: Rag,
    pub narrative: &'static str,
    pub author_name: String,
    pub created_at: DateTime<Utc>,
}

/// An outcome measure with its monthly values.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasureData {
    pub name: &'static str,
    pub unit: &'static str,
    pub higher_is_better: bool,
    pub baseline_value: f64,
    pub baseline_month: NaiveDate,
    pub target_value: f64,
    pub target_month: NaiveDate,
    pub values: Vec<(NaiveDate, f64)>,
    pub created_at: DateTime<Utc>,
}

/// Plans every ICB-year of `spec` that is not in `skip`: each ICB that existed in the year
/// and whose year has a catalogue. `today` decides which months have actuals (those that
/// ended before it) and bounds every timestamp.
pub fn generate(
    spec: &DemoSpec,
    icbs: &[DemoIcb],
    catalogues: &Catalogues,
    skip: &HashSet<(i32, FinancialYear)>,
    today: NaiveDate,
) -> Vec<PlanData> {
    let mut years: Vec<FinancialYear> = spec.years.clone();
    years.sort();
    years.dedup();
    let started: Vec<FinancialYear> = years
        .iter()
        .copied()
        .filter(|y| y.starts_on() <= today)
        .collect();
    let latest_started = started.last().copied();
    let latest_reporting = years
        .iter()
        .copied()
        .filter(|y| reportable_months(*y, today) > 0)
        .max();
    let mut plans = Vec::new();
    for year in years {
        let Some(catalogue) = catalogues.get(&year).filter(|c| !c.is_empty()) else {
            continue;
        };
        let ctx = YearContext {
            year,
            catalogue,
            today,
            reportable: reportable_months(year, today),
            latest: Some(year) == latest_started,
            late_reporting_year: spec.late_reporting && Some(year) == latest_reporting,
            reviewer_showcase: reviewer_showcase(spec, icbs, year),
        };
        for icb in icbs.iter().filter(|i| i.existed_in(year)) {
            if !skip.contains(&(icb.icb_id, year)) {
                plans.push(plan_for(spec, &ctx, icb));
            }
        }
    }
    plans
}

/// What every plan of one year shares.
struct YearContext<'a> {
    year: FinancialYear,
    catalogue: &'a [DemoOpportunity],
    today: NaiveDate,
    /// Months (from April) that ended before today.
    reportable: usize,
    /// The latest year of the spec that has started: its plans are in every state.
    latest: bool,
    /// Some ICBs are late with this year's latest months.
    late_reporting_year: bool,
    /// The ICB whose plan is left with the reviewer this year (the demo reviewer's region).
    reviewer_showcase: Option<i32>,
}

/// How many of `year`'s months ended before `today` (0 to 12).
fn reportable_months(year: FinancialYear, today: NaiveDate) -> usize {
    year.months()
        .iter()
        .filter(|m| {
            m.checked_add_months(Months::new(1))
                .is_some_and(|next| next <= today)
        })
        .count()
}

/// In the demo accounts' region, one other ICB's latest plan waits for the reviewer.
fn reviewer_showcase(spec: &DemoSpec, icbs: &[DemoIcb], year: FinancialYear) -> Option<i32> {
    let own = spec.accounts_icb.as_deref()?;
    let region = &icbs.iter().find(|i| i.ods_code == own)?.region_code;
    icbs.iter()
        .filter(|i| &i.region_code == region && i.ods_code != own && i.existed_in(year))
        .min_by(|a, b| a.ods_code.cmp(&b.ods_code))
        .map(|i| i.icb_id)
}

/// A random stream for `parts` under `seed`. FNV-1a rather than std's hasher, whose output
/// may change between Rust releases.
fn stream(seed: u64, parts: &[&[u8]]) -> StdRng {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.iter().chain([&0xff]) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    StdRng::seed_from_u64(seed ^ hash)
}

/// What an ICB is like across years.
struct IcbTraits {
    /// Savings achieved against plan: most near 1, some behind.
    performance: f64,
    late_reporter: bool,
}

/// Most ICBs save about what they planned, some are a little behind, a few well behind; the
/// showcase ICB (the demo accounts') is on track, so its dashboard shows mostly green.
fn icb_traits(spec: &DemoSpec, icb: &DemoIcb, showcase: bool) -> IcbTraits {
    let mut rng = stream(spec.seed, &[b"icb", icb.ods_code.as_bytes()]);
    let tier: f64 = if showcase { 0.0 } else { rng.random() };
    let performance = if tier < 0.7 {
        rng.random_range(0.97..1.15)
    } else if tier < 0.9 {
        rng.random_range(0.8..0.95)
    } else {
        rng.random_range(0.5..0.72)
    };
    IcbTraits {
        performance,
        late_reporter: rng.random_bool(0.15),
    }
}

fn plan_for(spec: &DemoSpec, ctx: &YearContext<'_>, icb: &DemoIcb) -> PlanData {
    let year_bytes = ctx.year.start_year().to_be_bytes();
    let mut rng = stream(spec.seed, &[b"plan", icb.ods_code.as_bytes(), &year_bytes]);
    let showcase = spec.accounts_icb.as_deref() == Some(icb.ods_code.as_str());
    let traits = icb_traits(spec, icb, showcase);
    let status = if ctx.latest && ctx.reviewer_showcase == Some(icb.icb_id) {
        PlanStatus::Submitted
    } else if showcase && ctx.year.starts_on() <= ctx.today {
        PlanStatus::Agreed
    } else {
        status_for(&mut rng, ctx)
    };
    let incomplete =
        spec.incomplete_drafts && status == PlanStatus::Draft && !showcase && rng.random_bool(0.5);

    let start = ctx.year.starts_on();
    let opened = if start <= ctx.today {
        start + Days::new(rng.random_range(0..=20))
    } else {
        // A plan for a year that has not begun is being drafted now.
        ctx.today - Days::new(rng.random_range(1..=14))
    };
    let clock = Clock::new(ctx.today);
    let created_at = clock.at(&mut rng, opened);
    let (submitted_at, reviewed_at) = review_dates(&mut rng, ctx, &clock, status, created_at);
    let review_comment = match status {
        PlanStatus::Returned => text::RETURN_COMMENTS.choose(&mut rng).copied(),
        PlanStatus::Agreed if rng.random_bool(0.3) => {
            text::AGREE_COMMENTS.choose(&mut rng).copied()
        }
        _ => None,
    }
    .map(str::to_owned);
    let updated_at = reviewed_at.or(submitted_at).unwrap_or(created_at);

    let mut reported = if incomplete { 0 } else { ctx.reportable };
    if ctx.late_reporting_year && traits.late_reporter && !showcase {
        reported = reported.saturating_sub(rng.random_range(1..=2));
    }
    let plan_performance = traits.performance * rng.random_range(0.95..1.05);
    let shape = PlanShape {
        incomplete,
        reported,
        performance: plan_performance,
        created_at,
        ragged_latest_month: ctx.late_reporting_year && !showcase,
    };
    let workstreams = workstreams_for(spec, ctx, &shape, &clock, &mut rng);
    PlanData {
        icb_id: icb.icb_id,
        ods_code: icb.ods_code.clone(),
        year: ctx.year,
        status,
        review_comment,
        created_at,
        updated_at,
        submitted_at,
        reviewed_at,
        workstreams,
    }
}

/// When a plan was submitted and reviewed, as people work: a plan with the reviewer was sent
/// days to a few weeks ago (a review does not wait months); one returned in the latest year
/// came back a few weeks ago and is being revised; other plans were submitted a few weeks
/// after they were opened and reviewed within a few weeks of that.
fn review_dates(
    rng: &mut StdRng,
    ctx: &YearContext<'_>,
    clock: &Clock,
    status: PlanStatus,
    created_at: DateTime<Utc>,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let days_ago = |rng: &mut StdRng, days: RangeInclusive<u64>| {
        let day = ctx.today - Days::new(rng.random_range(days));
        clock.at(rng, day).max(created_at)
    };
    match status {
        PlanStatus::Draft => (None, None),
        PlanStatus::Submitted => (Some(days_ago(rng, 1..=21)), None),
        PlanStatus::Returned if ctx.latest => {
            let submitted = days_ago(rng, 15..=50);
            (Some(submitted), Some(clock.after(rng, submitted, 3..=12)))
        }
        PlanStatus::Returned | PlanStatus::Agreed => {
            let submitted = clock.after(rng, created_at, 20..=55);
            (Some(submitted), Some(clock.after(rng, submitted, 4..=20)))
        }
    }
}

/// Where a plan is: drafts for a year not yet begun, mostly drafts and submissions early in
/// a year, mostly agreed once it is under way, nearly all agreed in earlier years (where none
/// is still with the reviewer: reviews take weeks, not years).
fn status_for(rng: &mut StdRng, ctx: &YearContext<'_>) -> PlanStatus {
    use PlanStatus::{Agreed, Draft, Returned, Submitted};
    let start = ctx.year.starts_on();
    // (draft, submitted, returned, agreed) out of 100
    let weights: [(PlanStatus, u32); 4] = if ctx.today < start {
        [(Draft, 90), (Submitted, 10), (Returned, 0), (Agreed, 0)]
    } else if ctx.today < start + Days::new(60) {
        [(Draft, 45), (Submitted, 35), (Returned, 10), (Agreed, 10)]
    } else if ctx.latest {
        [(Draft, 14), (Submitted, 10), (Returned, 11), (Agreed, 65)]
    } else {
        [(Draft, 4), (Submitted, 0), (Returned, 4), (Agreed, 92)]
    };
    let mut roll = rng.random_range(0..100);
    for (status, weight) in weights {
        if roll < weight {
            return status;
        }
        roll -= weight;
    }
    Agreed
}

/// What a plan's workstreams share.
struct PlanShape {
    /// A draft that has not yet chosen five opportunities: fewer workstreams, few figures.
    incomplete: bool,
    /// Months reported so far (from April).
    reported: usize,
    performance: f64,
    created_at: DateTime<Utc>,
    /// Some workstreams lack the latest month (their lead reports late).
    ragged_latest_month: bool,
}

fn workstreams_for(
    spec: &DemoSpec,
    ctx: &YearContext<'_>,
    shape: &PlanShape,
    clock: &Clock,
    rng: &mut StdRng,
) -> Vec<WorkstreamData> {
    let national = if shape.incomplete {
        rng.random_range(2..=4)
    } else {
        pick(rng, &spec.national_per_plan)
    }
    .min(ctx.catalogue.len());
    let mut chosen: Vec<&DemoOpportunity> = index::sample(rng, ctx.catalogue.len(), national)
        .into_iter()
        .map(|i| &ctx.catalogue[i])
        .collect();
    chosen.sort_by_key(|o| o.number);
    let local = pick(rng, &spec.local_per_plan).min(text::LOCAL_PRIORITIES.len());
    let locals = index::sample(rng, text::LOCAL_PRIORITIES.len(), local);

    let mut out = Vec::with_capacity(national + local);
    for opportunity in chosen {
        let kind = Kind::National(opportunity);
        out.push(workstream(spec, ctx, shape, clock, rng, kind));
    }
    for i in locals {
        let kind = Kind::Local(text::LOCAL_PRIORITIES[i]);
        out.push(workstream(spec, ctx, shape, clock, rng, kind));
    }
    out
}

/// A count from `range` (its start if it is empty, rather than a panic).
fn pick(rng: &mut StdRng, range: &RangeInclusive<usize>) -> usize {
    if range.is_empty() {
        *range.start()
    } else {
        rng.random_range(range.clone())
    }
}

/// A national opportunity or a local priority (title, description).
enum Kind<'a> {
    National(&'a DemoOpportunity),
    Local((&'static str, &'static str)),
}

fn workstream(
    spec: &DemoSpec,
    ctx: &YearContext<'_>,
    shape: &PlanShape,
    clock: &Clock,
    rng: &mut StdRng,
    kind: Kind<'_>,
) -> WorkstreamData {
    let lead_name = (*text::LEADS.choose(rng).unwrap_or(&"Lead pharmacist")).to_owned();
    let summary = (*text::SUMMARIES.choose(rng).unwrap_or(&"")).to_owned();
    let local = matches!(kind, Kind::Local(_));
    let created_at = if local {
        clock.after(rng, shape.created_at, 2..=30)
    } else {
        clock.after(rng, shape.created_at, 0..=3)
    };
    let objectives = objectives(rng, local);
    let has_target = !shape.incomplete || rng.random_bool(0.5);
    let target = if has_target { annual_target(rng) } else { 0 };
    let ws_performance = shape.performance * rng.random_range(0.85..1.2);
    let mut reported = shape.reported;
    if shape.ragged_latest_month && reported > 0 && rng.random_bool(0.1) {
        reported -= 1;
    }
    let months = if has_target {
        months(rng, ctx.year, target, reported, ws_performance)
    } else {
        Vec::new()
    };
    let updates = if shape.incomplete {
        Vec::new()
    } else {
        updates(rng, ctx, clock, &months, created_at, &lead_name)
    };
    let measure_count = if shape.incomplete {
        0
    } else {
        pick(rng, &spec.measures_per_workstream)
    };
    let slug = match &kind {
        Kind::National(o) => o.slug.as_str(),
        Kind::Local(_) => "",
    };
    let pace = MeasurePace {
        reported,
        performance: ws_performance,
        created_at,
    };
    let measures = measures(rng, ctx.year, clock, slug, measure_count, &pace);
    let updated_at = updates.last().map_or(created_at, |u| u.created_at);
    let (opportunity, title, description) = match kind {
        Kind::National(o) => (Some(o.number), None, String::new()),
        Kind::Local((title, description)) => (None, Some(title.to_owned()), description.to_owned()),
    };
    WorkstreamData {
        opportunity,
        title,
        description,
        lead_name,
        summary,
        objectives,
        annual_target_pence: target,
        rag: updates.last().map(|u| u.rag),
        months,
        created_at,
        updated_at,
        updates,
        measures,
    }
}

/// The ICS aims a workstream serves, in the schema's order; national ones all serve value.
fn objectives(rng: &mut StdRng, local: bool) -> Vec<&'static str> {
    let chances = if local {
        [0.7, 0.3, 0.6, 0.1]
    } else {
        [0.6, 0.25, 1.0, 0.05]
    };
    let keys = ["outcomes", "inequalities", "value", "social_economic"];
    let mut chosen: Vec<&'static str> = keys
        .iter()
        .zip(chances)
        .filter(|(_, chance)| rng.random_bool(*chance))
        .map(|(key, _)| *key)
        .collect();
    if chosen.is_empty() {
        chosen.push("value");
    }
    chosen
}

/// £50,000 to £2,000,000 in whole thousands, smaller ones likelier (log-uniform), in pence.
fn annual_target(rng: &mut StdRng) -> i64 {
    let pounds = (50_000f64.ln() + rng.random::<f64>() * (2_000_000f64 / 50_000f64).ln()).exp();
    let thousands = (pounds / 1_000.0).round() as i64;
    thousands.clamp(50, 2_000) * 1_000 * 100
}

/// Twelve months: the phasing (mostly even, some seasonal; always summing to `target`) and
/// actuals for the first `reported` months, around the plan times `performance`.
fn months(
    rng: &mut StdRng,
    year: FinancialYear,
    target: i64,
    reported: usize,
    performance: f64,
) -> Vec<MonthData> {
    let planned = phasing(rng, target);
    let ramp_up = rng.random_bool(0.3);
    year.months()
        .iter()
        .zip(planned)
        .enumerate()
        .map(|(i, (&month, planned_pence))| {
            let actual_pence = (i < reported).then(|| {
                let mut factor = performance * rng.random_range(0.7..1.3);
                if ramp_up && i < 2 {
                    factor *= [0.4, 0.7][i];
                }
                if rng.random_bool(0.01) {
                    // a price rise or a switch back: the month cost money
                    factor = -rng.random_range(0.05..0.3);
                }
                whole_pounds(planned_pence as f64 * factor)
            });
            MonthData {
                month,
                planned_pence,
                actual_pence,
            }
        })
        .collect()
}

/// Rounds pence to whole pounds.
fn whole_pounds(pence: f64) -> i64 {
    (pence / 100.0).round() as i64 * 100
}

/// Winter-heavy (respiratory, antibiotics) and ramp-up profiles, April to March.
const SEASONAL: [[u32; 12]; 2] = [
    [6, 6, 7, 8, 9, 10, 12, 13, 14, 13, 12, 10],
    [3, 5, 7, 9, 10, 11, 11, 12, 12, 13, 13, 14],
];

/// Most plans split the target evenly (the app's default); some follow a seasonal profile.
/// Either way the months sum to `target` exactly.
fn phasing(rng: &mut StdRng, target: i64) -> [i64; 12] {
    if rng.random_bool(0.85) {
        return even_split(Pence(target)).map(|p| p.0);
    }
    let weights = SEASONAL.choose(rng).copied().unwrap_or([1; 12]);
    weighted_split(target, &weights)
}

/// Splits `target` in proportion to `weights`, rounding the running total so the parts sum
/// to `target` exactly.
fn weighted_split(target: i64, weights: &[u32; 12]) -> [i64; 12] {
    let total: i128 = weights.iter().map(|w| i128::from(*w)).sum::<i128>().max(1);
    let mut cumulative_weight: i128 = 0;
    let mut previous: i64 = 0;
    std::array::from_fn(|i| {
        cumulative_weight += i128::from(weights[i]);
        let running = (i128::from(target) * cumulative_weight / total) as i64;
        let month = running - previous;
        previous = running;
        month
    })
}

/// One to three updates at quarter ends among the reported months, each with the RAG of the
/// savings to that point; before any month is reported, one update saying work has begun.
fn updates(
    rng: &mut StdRng,
    ctx: &YearContext<'_>,
    clock: &Clock,
    months: &[MonthData],
    created_at: DateTime<Utc>,
    author: &str,
) -> Vec<UpdateData> {
    let reported = months.iter().filter(|m| m.actual_pence.is_some()).count();
    let update = |rag, narrative, created_at| UpdateData {
        rag,
        narrative,
        author_name: author.to_owned(),
        created_at,
    };
    if reported == 0 {
        if ctx.today < ctx.year.starts_on() + Days::new(21) {
            return Vec::new();
        }
        let rag = if rng.random_bool(0.7) {
            Rag::Green
        } else {
            Rag::Amber
        };
        let narrative = text::STARTING
            .choose(rng)
            .copied()
            .unwrap_or("Work has begun.");
        return vec![update(
            rag,
            narrative,
            clock.after(rng, created_at, 10..=30),
        )];
    }
    let mut checkpoints: Vec<usize> = [2, 5, 8, 11]
        .into_iter()
        .filter(|&k| k < reported)
        .collect();
    if checkpoints.is_empty() {
        checkpoints.push(reported - 1);
    }
    let keep = rng.random_range(1..=3).min(checkpoints.len());
    let mut used: Vec<&'static str> = Vec::new();
    checkpoints[checkpoints.len() - keep..]
        .iter()
        .map(|&k| {
            let rag = rag_to(months, k);
            let narrative = fresh_narrative(rng, rag, &mut used);
            let reported_in = months[k]
                .month
                .checked_add_months(Months::new(1))
                .unwrap_or(months[k].month);
            let day = reported_in + Days::new(rng.random_range(7..=24));
            update(rag, narrative, clock.at(rng, day).max(created_at))
        })
        .collect()
}

/// Green from 90% of the plan to date, amber from 75%, red below.
fn rag_to(months: &[MonthData], through: usize) -> Rag {
    let (planned, actual) = months[..=through].iter().fold((0i64, 0i64), |(p, a), m| {
        (p + m.planned_pence, a + m.actual_pence.unwrap_or(0))
    });
    if planned <= 0 {
        return Rag::Green;
    }
    let ratio = actual as f64 / planned as f64;
    if ratio >= 0.9 {
        Rag::Green
    } else if ratio >= 0.75 {
        Rag::Amber
    } else {
        Rag::Red
    }
}

/// A narrative for `rag` not yet used on this workstream, if there is one.
fn fresh_narrative(rng: &mut StdRng, rag: Rag, used: &mut Vec<&'static str>) -> &'static str {
    let pool: &[&'static str] = match rag {
        Rag::Green => &text::GREEN,
        Rag::Amber => &text::AMBER,
        Rag::Red => &text::RED,
    };
    let mut candidates: Vec<&'static str> =
        pool.iter().copied().filter(|n| !used.contains(n)).collect();
    if candidates.is_empty() {
        candidates = pool.to_vec();
    }
    let chosen = candidates
        .choose(rng)
        .copied()
        .unwrap_or("Progress reviewed.");
    used.push(chosen);
    chosen
}

/// How a workstream's measures move: values for the first `reported` months, as fast as the
/// savings (`performance`), created some days after the workstream.
struct MeasurePace {
    reported: usize,
    performance: f64,
    created_at: DateTime<Utc>,
}

/// Up to `count` measures (the opportunity's own first, then general ones), baselined in the
/// March before the year, aiming at the March that ends it, with a value for each reported
/// month moving towards the target as fast as the savings do.
fn measures(
    rng: &mut StdRng,
    year: FinancialYear,
    clock: &Clock,
    slug: &str,
    count: usize,
    pace: &MeasurePace,
) -> Vec<MeasureData> {
    if count == 0 {
        return Vec::new();
    }
    let mut own: Vec<MeasureTemplate> = text::national_measures(slug).to_vec();
    own.shuffle(rng);
    let mut general: Vec<MeasureTemplate> = text::GENERAL_MEASURES.to_vec();
    general.shuffle(rng);
    let months = year.months();
    let baseline_month = months[0]
        .checked_sub_months(Months::new(1))
        .unwrap_or(months[0]);
    own.into_iter()
        .chain(general)
        .take(count)
        .map(|t| {
            let baseline = one_decimal(rng.random_range(t.baseline.0..=t.baseline.1));
            let step = rng.random_range(t.improvement.0..=t.improvement.1);
            let target = bounded(
                t.unit,
                if t.higher_is_better {
                    baseline + step
                } else {
                    baseline - step
                },
            );
            let speed = pace.performance.clamp(0.3, 1.2);
            let values = months[..pace.reported]
                .iter()
                .enumerate()
                .map(|(i, &month)| {
                    let progress = (i + 1) as f64 / 12.0 * speed;
                    let noise = rng.random_range(-1.0..1.0) * step * 0.08;
                    (
                        month,
                        bounded(t.unit, baseline + (target - baseline) * progress + noise),
                    )
                })
                .collect();
            MeasureData {
                name: t.name,
                unit: t.unit,
                higher_is_better: t.higher_is_better,
                baseline_value: baseline,
                baseline_month,
                target_value: target,
                target_month: months[11],
                values,
                created_at: clock.after(rng, pace.created_at, 1..=20),
            }
        })
        .collect()
}

fn one_decimal(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// Rounded to one decimal place, not negative, and at most 100 for percentages.
fn bounded(unit: &str, value: f64) -> f64 {
    let upper = if unit == "%" { 100.0 } else { f64::MAX };
    one_decimal(value).clamp(0.0, upper)
}

/// Office-hours timestamps, never later than the start of today.
struct Clock {
    latest: DateTime<Utc>,
}

impl Clock {
    fn new(today: NaiveDate) -> Self {
        Self {
            latest: today.and_time(NaiveTime::MIN).and_utc(),
        }
    }

    /// A time between 08:00 and 18:00 on `day` (or the latest allowed, if earlier).
    fn at(&self, rng: &mut StdRng, day: NaiveDate) -> DateTime<Utc> {
        let seconds = rng.random_range(8 * 3600..18 * 3600);
        let time =
            NaiveTime::from_num_seconds_from_midnight_opt(seconds, 0).unwrap_or(NaiveTime::MIN);
        day.and_time(time).and_utc().min(self.latest)
    }

    /// A working-hours time some days after `earlier` (never before it).
    fn after(
        &self,
        rng: &mut StdRng,
        earlier: DateTime<Utc>,
        days: std::ops::RangeInclusive<u64>,
    ) -> DateTime<Utc> {
        let day = earlier.date_naive() + Days::new(rng.random_range(days));
        self.at(rng, day).max(earlier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// 42 ICBs in 7 regions, the first twelve closing on 31 March 2026, and six formed the
    /// next day, as in the reference data.
    fn icbs() -> Vec<DemoIcb> {
        let old = (0..42).map(|i| DemoIcb {
            icb_id: i + 1,
            ods_code: format!("Q{i:02}"),
            region_code: format!("Y{}", 56 + i % 7),
            valid_from: date(2022, 7, 1),
            valid_to: (i < 12).then(|| date(2026, 3, 31)),
        });
        let new = (0..6).map(|i| DemoIcb {
            icb_id: 100 + i,
            ods_code: format!("N{i}A0B"),
            region_code: format!("Y{}", 56 + i % 7),
            valid_from: date(2026, 4, 1),
            valid_to: None,
        });
        old.chain(new).collect()
    }

    fn catalogues(years: &[FinancialYear]) -> Catalogues {
        let list: Vec<DemoOpportunity> = (1..=16)
            .map(|n| DemoOpportunity {
                number: n,
                title: format!("Opportunity {n}"),
                slug: [
                    "polypharmacy",
                    "af_doac",
                    "inhalers_respiratory_carbon",
                    "other",
                ][n as usize % 4]
                    .to_owned(),
            })
            .collect();
        years.iter().map(|y| (*y, list.clone())).collect()
    }

    fn demo_spec() -> DemoSpec {
        DemoSpec {
            accounts_icb: Some("Q20".into()),
            ..DemoSpec::demo(date(2026, 11, 25))
        }
    }

    fn run(spec: &DemoSpec, today: NaiveDate) -> Vec<PlanData> {
        generate(
            spec,
            &icbs(),
            &catalogues(&spec.years),
            &HashSet::new(),
            today,
        )
    }

    #[test]
    fn the_same_seed_gives_the_same_data_and_another_seed_other_data() {
        let spec = demo_spec();
        let today = date(2026, 11, 25);
        assert_eq!(run(&spec, today), run(&spec, today));
        let other = DemoSpec {
            seed: spec.seed + 1,
            ..spec.clone()
        };
        assert_ne!(run(&spec, today), run(&other, today));
    }

    #[test]
    fn demo_plans_every_icb_in_the_years_it_existed_with_varied_states() {
        let today = date(2026, 11, 25);
        let plans = run(&demo_spec(), today);
        // 2023/24 to 2025/26: the 42 ICBs of 2022; 2026/27: 30 of them and 6 new ones.
        assert_eq!(plans.len(), 42 * 3 + 36);
        let icbs = icbs();
        for plan in &plans {
            let icb = icbs.iter().find(|i| i.icb_id == plan.icb_id).unwrap();
            assert!(icb.existed_in(plan.year), "{} {}", plan.ods_code, plan.year);
        }
        for status in [
            PlanStatus::Draft,
            PlanStatus::Submitted,
            PlanStatus::Returned,
            PlanStatus::Agreed,
        ] {
            assert!(plans.iter().any(|p| p.status == status), "{status:?}");
        }
        assert!(
            plans.iter().any(|p| p.national_count() < 5),
            "a few drafts have fewer than five choices"
        );
        for plan in &plans {
            let national = plan.national_count();
            let local = plan.workstreams.len() - national;
            assert!((1..=3).contains(&local), "{local} local priorities");
            if plan.status == PlanStatus::Draft {
                assert!((2..=9).contains(&national));
            } else {
                assert!((5..=9).contains(&national), "{national} national");
            }
            if plan.review_comment.is_some() {
                assert!(matches!(
                    plan.status,
                    PlanStatus::Returned | PlanStatus::Agreed
                ));
            }
            if plan.status == PlanStatus::Returned {
                assert!(plan.review_comment.is_some());
            }
            assert!(plan.created_at <= plan.updated_at);
            assert!(plan.submitted_at.is_none_or(|s| s >= plan.created_at));
            assert!(
                plan.reviewed_at
                    .is_none_or(|r| Some(r) >= plan.submitted_at)
            );
        }
        let showcase: Vec<&PlanData> = plans.iter().filter(|p| p.ods_code == "Q20").collect();
        assert!(showcase.iter().all(|p| p.status == PlanStatus::Agreed));
    }

    #[test]
    fn plans_wait_for_review_days_or_weeks_and_only_in_the_current_year() {
        let today = date(2026, 11, 25);
        let midnight = today.and_time(NaiveTime::MIN).and_utc();
        let plans = run(&demo_spec(), today);
        let waiting: Vec<&PlanData> = plans
            .iter()
            .filter(|p| p.status == PlanStatus::Submitted)
            .collect();
        assert!(!waiting.is_empty());
        for plan in waiting {
            assert_eq!(plan.year.start_year(), 2026, "{}", plan.ods_code);
            let days = (midnight - plan.submitted_at.unwrap()).num_days();
            assert!(
                (0..=21).contains(&days),
                "{} waited {days} days",
                plan.ods_code
            );
        }
        for plan in plans.iter().filter(|p| p.reviewed_at.is_some()) {
            let took = plan.reviewed_at.unwrap() - plan.submitted_at.unwrap();
            assert!(
                took.num_days() <= 20,
                "{} reviewed in {took}",
                plan.ods_code
            );
        }
    }

    #[test]
    fn phasing_sums_to_the_target_and_targets_are_plausible() {
        for plan in run(&demo_spec(), date(2026, 11, 25)) {
            for ws in &plan.workstreams {
                if ws.months.is_empty() {
                    continue;
                }
                assert_eq!(ws.months.len(), 12);
                let sum: i64 = ws.months.iter().map(|m| m.planned_pence).sum();
                assert_eq!(sum, ws.annual_target_pence);
                assert!((5_000_000..=200_000_000).contains(&ws.annual_target_pence));
                assert!(ws.title.is_some() != ws.opportunity.is_some());
                assert!((1..=3).contains(&ws.updates.len()) || ws.updates.is_empty());
                assert_eq!(ws.rag, ws.updates.last().map(|u| u.rag));
            }
        }
    }

    #[test]
    fn weighted_split_is_exact() {
        for target in [0, 1, 11, 99_999, 123_456_789] {
            for weights in SEASONAL {
                assert_eq!(weighted_split(target, &weights).iter().sum::<i64>(), target);
            }
        }
    }

    #[test]
    fn actuals_stop_at_the_last_complete_month_and_some_icbs_report_late() {
        let today = date(2024, 11, 25);
        let spec = DemoSpec {
            accounts_icb: Some("Q20".into()),
            ..DemoSpec::demo(today)
        };
        let plans = run(&spec, today);
        let latest: Vec<&PlanData> = plans
            .iter()
            .filter(|p| p.year.start_year() == 2024)
            .collect();
        let last_reported = |p: &PlanData| {
            p.workstreams
                .iter()
                .flat_map(|w| &w.months)
                .filter(|m| m.actual_pence.is_some())
                .map(|m| m.month)
                .max()
        };
        let reported: Vec<Option<NaiveDate>> = latest.iter().map(|p| last_reported(p)).collect();
        assert!(
            reported
                .iter()
                .all(|m| m.is_none_or(|m| m <= date(2024, 10, 1)))
        );
        assert!(reported.contains(&Some(date(2024, 10, 1))));
        assert!(
            reported
                .iter()
                .any(|m| m.is_some_and(|m| m < date(2024, 10, 1))),
            "late reporters"
        );
        let ceiling = today.and_time(NaiveTime::MIN).and_utc();
        for plan in &plans {
            for ws in &plan.workstreams {
                assert!(ws.updates.iter().all(|u| u.created_at <= ceiling));
            }
        }
        assert!(
            plans
                .iter()
                .flat_map(|p| &p.workstreams)
                .any(|w| w.rag == Some(Rag::Red)),
            "some workstreams are off track"
        );
    }

    #[test]
    fn national_scale_gives_five_years_of_every_icb_with_twelve_workstreams() {
        let spec = DemoSpec::national_scale();
        assert_eq!(spec.years.len(), 5);
        let icbs = icbs();
        let today = date(2026, 11, 25);
        let plans = run(&spec, today);
        let expected: usize = spec
            .years
            .iter()
            .map(|y| icbs.iter().filter(|i| i.existed_in(*y)).count())
            .sum();
        assert_eq!(plans.len(), expected);
        assert_eq!(expected, 42 * 3 + 36 * 2);
        for plan in &plans {
            assert_eq!(plan.workstreams.len(), 12);
            let reportable = reportable_months(plan.year, today);
            for ws in &plan.workstreams {
                assert_eq!(ws.months.len(), 12);
                let reported = ws
                    .months
                    .iter()
                    .filter(|m| m.actual_pence.is_some())
                    .count();
                assert_eq!(reported, reportable, "every month up to today");
                assert!(!ws.measures.is_empty());
                assert!(ws.measures.iter().all(|m| m.values.len() == reportable));
            }
        }
    }

    #[test]
    fn skipped_plans_change_no_other() {
        let spec = demo_spec();
        let today = date(2026, 11, 25);
        let all = run(&spec, today);
        let skip: HashSet<(i32, FinancialYear)> = [(1, all[0].year)].into_iter().collect();
        let rest = generate(&spec, &icbs(), &catalogues(&spec.years), &skip, today);
        assert_eq!(&all[1..], &rest[..]);
    }
}
