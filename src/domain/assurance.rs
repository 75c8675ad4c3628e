//! Savings assurance arithmetic, pure: what finance leads judge a saving by beyond its target.
//!
//! - the **net target** is the gross target less the investment it takes to deliver;
//! - the **full-year effect** of a recurrent saving is the lead's figure or, once the saving
//!   has run for two months, 12 times its average monthly saving since it started;
//! - the **risk-adjusted forecast** counts what has been reported in full and the rest of the
//!   lead's likely outturn at the weight of their confidence (the year's weights);
//! - the **suggested RAG** compares the percentage of the target to date with the year's
//!   thresholds;
//! - the **unidentified gap** is the ICB's savings requirement less its workstreams' targets.
//!
//! The SQL views `workstream_assurance` and `plan_assurance` compute the same figures for the
//! dashboard, roll-ups and exports; the app tests check the two agree.

use chrono::NaiveDate;

use super::{FinancialYear, Month, MonthFigures, Pence};

/// Whether a saving recurs in later years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, serde::Serialize, serde::Deserialize)]
#[sqlx(type_name = "saving_type", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum SavingType {
    Recurrent,
    NonRecurrent,
}

/// Whether a saving releases cash or avoids a cost that would have arisen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, serde::Serialize, serde::Deserialize)]
#[sqlx(type_name = "benefit_type", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum BenefitType {
    CashReleasing,
    CostAvoidance,
}

/// Where in the system a saving falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, serde::Serialize, serde::Deserialize)]
#[sqlx(type_name = "saving_setting", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Setting {
    PrimaryCare,
    SecondaryCare,
    System,
}

/// How confident a lead is in their likely outturn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, serde::Serialize, serde::Deserialize)]
#[sqlx(type_name = "forecast_confidence", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    High,
    Medium,
    Low,
}

/// Where a risk stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, serde::Serialize, serde::Deserialize)]
#[sqlx(type_name = "risk_status", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum RiskStatus {
    Open,
    Mitigated,
    Closed,
}

/// A choice written in forms and files as a key and shown to people as words.
pub trait Choice: Copy + PartialEq + 'static {
    /// Every value, in the order forms list them.
    const ALL: &'static [Self];
    /// As written in forms, files and exports (`non_recurrent`).
    fn key(self) -> &'static str;
    /// In words (`Non-recurrent`).
    fn label(self) -> &'static str;
    /// From a key, ignoring case and surrounding spaces.
    fn from_key(key: &str) -> Option<Self> {
        let key = key.trim().to_ascii_lowercase();
        Self::ALL.iter().copied().find(|c| c.key() == key)
    }
}

/// Implements [`Choice`], and the same `key` and `label` as inherent methods (so templates
/// call them without the trait in scope).
macro_rules! choice {
    ($type:ty, $( $variant:ident => $key:literal, $label:literal; )+) => {
        impl $type {
            /// As written in forms, files and exports.
            pub fn key(self) -> &'static str {
                match self { $( <$type>::$variant => $key ),+ }
            }
            /// In words.
            pub fn label(self) -> &'static str {
                match self { $( <$type>::$variant => $label ),+ }
            }
        }
        impl Choice for $type {
            const ALL: &'static [Self] = &[$( <$type>::$variant ),+];
            fn key(self) -> &'static str {
                <$type>::key(self)
            }
            fn label(self) -> &'static str {
                <$type>::label(self)
            }
        }
    };
}

choice!(SavingType,
    Recurrent => "recurrent", "Recurrent";
    NonRecurrent => "non_recurrent", "Non-recurrent";
);
choice!(BenefitType,
    CashReleasing => "cash_releasing", "Cash-releasing";
    CostAvoidance => "cost_avoidance", "Cost avoidance";
);
choice!(Setting,
    PrimaryCare => "primary_care", "Primary care";
    SecondaryCare => "secondary_care", "Secondary care";
    System => "system", "System-wide";
);
choice!(Confidence,
    High => "high", "High";
    Medium => "medium", "Medium";
    Low => "low", "Low";
);
choice!(RiskStatus,
    Open => "open", "Open";
    Mitigated => "mitigated", "Mitigated";
    Closed => "closed", "Closed";
);

/// The percentages a confidence counts for, set per programme year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfidenceWeights {
    pub high: i16,
    pub medium: i16,
    pub low: i16,
}

impl Default for ConfidenceWeights {
    fn default() -> Self {
        Self {
            high: 100,
            medium: 75,
            low: 50,
        }
    }
}

impl ConfidenceWeights {
    /// The weight of `confidence`, a whole percentage.
    pub fn of(self, confidence: Confidence) -> i16 {
        match confidence {
            Confidence::High => self.high,
            Confidence::Medium => self.medium,
            Confidence::Low => self.low,
        }
    }
}

/// The percentages of the target to date at which the suggested RAG turns amber and green.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RagThresholds {
    pub green: i16,
    pub amber: i16,
}

impl Default for RagThresholds {
    fn default() -> Self {
        Self {
            green: 95,
            amber: 80,
        }
    }
}

/// A programme year's assurance settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct YearSettings {
    pub weights: ConfidenceWeights,
    pub thresholds: RagThresholds,
}

impl YearSettings {
    /// What is wrong with the settings, by field (`weight_high`, `weight_medium`,
    /// `weight_low`, `rag_green`, `rag_amber`), in the words the form shows.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        let w = self.weights;
        for (field, name, value) in [
            ("weight_high", "high", w.high),
            ("weight_medium", "medium", w.medium),
            ("weight_low", "low", w.low),
        ] {
            if !(0..=100).contains(&value) {
                problems.push((
                    field,
                    format!("Enter the weight of {name} confidence as a percentage from 0 to 100"),
                ));
            }
        }
        if problems.is_empty() {
            if w.medium > w.high {
                problems.push((
                    "weight_medium",
                    "Medium confidence cannot count for more than high confidence".to_owned(),
                ));
            }
            if w.low > w.medium {
                problems.push((
                    "weight_low",
                    "Low confidence cannot count for more than medium confidence".to_owned(),
                ));
            }
        }
        let t = self.thresholds;
        if !(1..=200).contains(&t.green) {
            problems.push((
                "rag_green",
                "Enter the green threshold as a percentage from 1 to 200".to_owned(),
            ));
        }
        if !(0..=200).contains(&t.amber) {
            problems.push((
                "rag_amber",
                "Enter the amber threshold as a percentage from 0 to 200".to_owned(),
            ));
        } else if t.amber > t.green {
            problems.push((
                "rag_amber",
                "The amber threshold must be at or below the green threshold".to_owned(),
            ));
        }
        problems
    }
}

/// A RAG band the figures suggest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Band {
    Red,
    Amber,
    Green,
}

/// The RAG the figures suggest for a percentage of the target to date (as shown: a whole
/// number); `None` when there is no percentage (nothing reported, or no target to date).
pub fn suggested_band(percent_of_target: Option<i64>, thresholds: RagThresholds) -> Option<Band> {
    let percent = percent_of_target?;
    Some(if percent >= i64::from(thresholds.green) {
        Band::Green
    } else if percent >= i64::from(thresholds.amber) {
        Band::Amber
    } else {
        Band::Red
    })
}

/// The gross target less the investment.
pub fn net_target(gross: Pence, investment: Pence) -> Pence {
    gross - investment
}

/// The savings requirement less the workstreams' targets; `None` until a requirement is set.
/// Negative when the workstreams add up to more than the requirement.
pub fn unidentified_gap(requirement: Option<Pence>, targets: Pence) -> Option<Pence> {
    requirement.map(|r| r - targets)
}

/// Where a full-year effect comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EffectSource {
    /// The lead set it.
    Lead,
    /// Derived from the actuals: 12 times the average monthly saving since it started.
    RunRate,
}

impl EffectSource {
    /// As written in exports: `lead`, `run_rate`.
    pub fn key(self) -> &'static str {
        match self {
            EffectSource::Lead => "lead",
            EffectSource::RunRate => "run_rate",
        }
    }
}

/// 12 times the average monthly saving of `year` from the first month with a non-zero actual
/// to the latest month with any actual (a month between with none counts as nothing), rounded
/// to the penny half away from zero; `None` until that span is two months or more. Months
/// outside the year are ignored; a month listed twice is added up.
pub fn run_rate_effect(year: FinancialYear, months: &[MonthFigures]) -> Option<Pence> {
    let mut actual: [Option<i64>; 12] = [None; 12];
    for m in months {
        if let (Some(i), Some(a)) = (year.month_index(m.month), m.actual) {
            actual[i] = Some(actual[i].unwrap_or(0).saturating_add(a.0));
        }
    }
    let first = actual.iter().position(|a| a.is_some_and(|a| a != 0))?;
    let latest = actual.iter().rposition(Option::is_some)?;
    let span = latest.checked_sub(first)? + 1;
    if span < 2 {
        return None;
    }
    let sum: i128 = actual[first..=latest]
        .iter()
        .map(|a| i128::from(a.unwrap_or(0)))
        .sum();
    Some(Pence(clamp(divide_half_away(sum * 12, span as i128))))
}

/// A saving's full-year effect and where it comes from: only a recurrent saving has one; the
/// lead's figure wins over the run rate.
pub fn full_year_effect(
    saving_type: Option<SavingType>,
    lead: Option<Pence>,
    year: FinancialYear,
    months: &[MonthFigures],
) -> Option<(Pence, EffectSource)> {
    if saving_type != Some(SavingType::Recurrent) {
        return None;
    }
    match lead {
        Some(effect) => Some((effect, EffectSource::Lead)),
        None => run_rate_effect(year, months).map(|effect| (effect, EffectSource::RunRate)),
    }
}

/// The risk-adjusted forecast of a likely outturn: the actual to date counts in full, the rest
/// of the likely outturn at `weight` percent (rounded to the penny, half away from zero). A
/// likely outturn at or below the actual to date is taken as it is.
pub fn risk_adjusted(actual_to_date: Pence, likely_outturn: Pence, weight: i16) -> Pence {
    if likely_outturn <= actual_to_date {
        return likely_outturn;
    }
    let rest = i128::from(likely_outturn.0) - i128::from(actual_to_date.0);
    let weighted = divide_half_away(rest * i128::from(weight), 100);
    Pence(clamp(i128::from(actual_to_date.0) + weighted))
}

/// What next year's copy of a workstream starts with: the part of its saving already secured
/// (a recurrent saving's full-year effect; nothing otherwise), which is also its first target.
pub fn carried_forward(saving_type: Option<SavingType>, full_year_effect: Option<Pence>) -> Pence {
    match saving_type {
        Some(SavingType::Recurrent) => full_year_effect.unwrap_or_default().max(Pence(0)),
        _ => Pence(0),
    }
}

/// When a measure copied into `next` should reach its target: the month it had if that falls
/// in or after `next`, otherwise `next`'s last month.
pub fn next_target_month(target: Option<NaiveDate>, next: FinancialYear) -> Month {
    let last = Month::containing(next.ends_on());
    target
        .map(Month::containing)
        .filter(|m| m.first_day() >= next.starts_on())
        .unwrap_or(last)
}

/// `numerator / denominator` to the nearest integer, halves away from zero (`denominator` ≠ 0).
fn divide_half_away(numerator: i128, denominator: i128) -> i128 {
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    if remainder.abs() * 2 >= denominator.abs() {
        quotient + numerator.signum() * denominator.signum()
    } else {
        quotient
    }
}

fn clamp(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn year() -> FinancialYear {
        FinancialYear::starting(2026).unwrap()
    }

    /// Actual pence by month from April (`None`: not reported).
    fn months(actuals: &[Option<i64>]) -> Vec<MonthFigures> {
        year()
            .months()
            .into_iter()
            .zip(actuals)
            .map(|(month, a)| MonthFigures {
                month,
                planned: Pence(0),
                actual: a.map(Pence),
            })
            .collect()
    }

    #[test]
    fn choices_round_trip_through_their_keys() {
        for t in SavingType::ALL {
            assert_eq!(SavingType::from_key(t.key()), Some(*t));
        }
        assert_eq!(
            Setting::from_key(" Secondary_Care "),
            Some(Setting::SecondaryCare)
        );
        assert_eq!(Confidence::from_key("certain"), None);
        assert_eq!(BenefitType::CostAvoidance.label(), "Cost avoidance");
    }

    #[test]
    fn a_saving_that_starts_in_october_has_the_full_year_of_its_monthly_rate() {
        // Nothing April to September, then £10,000 a month.
        let mut actuals = vec![Some(0); 6];
        actuals.push(Some(1_000_000));
        assert_eq!(
            run_rate_effect(year(), &months(&actuals)),
            None,
            "one month"
        );
        actuals.push(Some(1_000_000));
        assert_eq!(
            run_rate_effect(year(), &months(&actuals)),
            Some(Pence(12_000_000))
        );
        // A month not reported between counts as nothing.
        actuals.push(None);
        actuals.push(Some(1_000_000));
        assert_eq!(
            run_rate_effect(year(), &months(&actuals)),
            Some(Pence(9_000_000))
        );
    }

    #[test]
    fn run_rate_effect_needs_a_saving() {
        assert_eq!(run_rate_effect(year(), &months(&[Some(0), Some(0)])), None);
        assert_eq!(run_rate_effect(year(), &months(&[])), None);
        // Rounded half away from zero: 100p over 7 months is 171.43p a year.
        assert_eq!(
            run_rate_effect(
                year(),
                &months(&[
                    Some(100),
                    Some(0),
                    Some(0),
                    Some(0),
                    Some(0),
                    Some(0),
                    Some(0)
                ])
            ),
            Some(Pence(171))
        );
        assert_eq!(
            run_rate_effect(year(), &months(&[Some(-1), Some(0), Some(0), Some(0)])),
            Some(Pence(-3))
        );
    }

    #[test]
    fn only_a_recurrent_saving_has_a_full_year_effect() {
        let m = months(&[Some(500), Some(500)]);
        assert_eq!(
            full_year_effect(Some(SavingType::Recurrent), None, year(), &m),
            Some((Pence(6_000), EffectSource::RunRate))
        );
        assert_eq!(
            full_year_effect(Some(SavingType::Recurrent), Some(Pence(9)), year(), &m),
            Some((Pence(9), EffectSource::Lead))
        );
        assert_eq!(
            full_year_effect(Some(SavingType::NonRecurrent), Some(Pence(9)), year(), &m),
            None
        );
        assert_eq!(full_year_effect(None, None, year(), &m), None);
    }

    #[test]
    fn the_reported_saving_counts_in_full_and_the_rest_at_its_weight() {
        // £40,000 reported, £100,000 likely: £40,000 + 75% of £60,000.
        assert_eq!(
            risk_adjusted(Pence(4_000_000), Pence(10_000_000), 75),
            Pence(8_500_000)
        );
        assert_eq!(
            risk_adjusted(Pence(0), Pence(10_000_000), 50),
            Pence(5_000_000)
        );
        assert_eq!(
            risk_adjusted(Pence(0), Pence(3), 50),
            Pence(2),
            "1.5p rounds up"
        );
        assert_eq!(risk_adjusted(Pence(500), Pence(400), 50), Pence(400));
        assert_eq!(risk_adjusted(Pence(-500), Pence(-100), 0), Pence(-500));
    }

    #[test]
    fn suggested_rag_uses_the_thresholds() {
        let t = RagThresholds::default();
        assert_eq!(suggested_band(Some(95), t), Some(Band::Green));
        assert_eq!(suggested_band(Some(94), t), Some(Band::Amber));
        assert_eq!(suggested_band(Some(80), t), Some(Band::Amber));
        assert_eq!(suggested_band(Some(79), t), Some(Band::Red));
        assert_eq!(suggested_band(Some(-20), t), Some(Band::Red));
        assert_eq!(suggested_band(None, t), None);
    }

    #[test]
    fn gap_and_net() {
        assert_eq!(net_target(Pence(100), Pence(150)), Pence(-50));
        assert_eq!(unidentified_gap(None, Pence(100)), None);
        assert_eq!(
            unidentified_gap(Some(Pence(300)), Pence(100)),
            Some(Pence(200))
        );
        assert_eq!(
            unidentified_gap(Some(Pence(50)), Pence(100)),
            Some(Pence(-50))
        );
    }

    #[test]
    fn what_next_year_starts_with() {
        assert_eq!(
            carried_forward(Some(SavingType::Recurrent), Some(Pence(7))),
            Pence(7)
        );
        assert_eq!(carried_forward(Some(SavingType::Recurrent), None), Pence(0));
        assert_eq!(
            carried_forward(Some(SavingType::NonRecurrent), Some(Pence(7))),
            Pence(0)
        );
        let next = FinancialYear::starting(2027).unwrap();
        let date = |y, m| NaiveDate::from_ymd_opt(y, m, 1).unwrap();
        assert_eq!(
            next_target_month(Some(date(2027, 3)), next).key(),
            "2028-03"
        );
        assert_eq!(
            next_target_month(Some(date(2027, 9)), next).key(),
            "2027-09"
        );
        assert_eq!(next_target_month(None, next).key(), "2028-03");
    }

    #[test]
    fn settings_are_checked_by_field() {
        assert!(YearSettings::default().problems().is_empty());
        let mut s = YearSettings::default();
        s.weights.medium = 101;
        s.thresholds.amber = 96;
        let fields: Vec<_> = s.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["weight_medium", "rag_amber"]);
        let mut s = YearSettings::default();
        s.weights.low = 80;
        assert_eq!(s.problems()[0].0, "weight_low");
        s.thresholds.green = 0;
        assert!(s.problems().iter().any(|(f, _)| *f == "rag_green"));
    }

    proptest! {
        #[test]
        fn risk_adjusted_lies_between_the_actual_and_the_likely_outturn(
            actual in -1_000_000_000i64..1_000_000_000,
            likely in -1_000_000_000i64..1_000_000_000,
            weight in 0i16..=100,
        ) {
            let r = risk_adjusted(Pence(actual), Pence(likely), weight);
            if likely <= actual {
                prop_assert_eq!(r, Pence(likely));
            } else {
                prop_assert!(Pence(actual) <= r && r <= Pence(likely));
            }
            prop_assert_eq!(risk_adjusted(Pence(actual), Pence(likely), 100), Pence(likely));
        }

        #[test]
        fn a_steady_saving_has_its_own_full_year_effect(
            start in 0usize..11, monthly in 1i64..100_000_000, len in 2usize..12,
        ) {
            let end = (start + len).min(12);
            prop_assume!(end - start >= 2);
            let actuals: Vec<Option<i64>> = (0..end)
                .map(|i| Some(if i < start { 0 } else { monthly }))
                .collect();
            prop_assert_eq!(run_rate_effect(year(), &months(&actuals)), Some(Pence(monthly * 12)));
        }
    }
}
