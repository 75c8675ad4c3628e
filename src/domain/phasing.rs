//! Phasing: how an annual savings target is spread over the twelve months of a financial year.
//!
//! A workstream's months add up to its annual target to the penny, because a plan whose months
//! do not sum to its annual figure would show a variance nobody can explain. [`Target`] is the
//! only way to a target that can be saved: it checks that rule, and that only a cost pressure
//! (a planned spending increase) goes below zero. The database checks the same at commit.

use super::{Month, Pence};

/// An annual target split evenly over the year, April first (index 0) to March (index 11).
///
/// Each month gets the target divided by 12, truncated toward zero to the penny; March takes
/// whatever is left so the twelve always sum exactly to `target`. March therefore differs from
/// the other months by less than 12p (and has the same sign as the remainder).
pub fn even_split(target: Pence) -> [Pence; 12] {
    let month = target.0 / 12;
    let mut phasing = [Pence(month); 12];
    phasing[11] = Pence(target.0 - month * 11);
    phasing
}

/// `target` split evenly over `n` months: each gets the target divided by `n`, truncated
/// toward zero to the penny, and the last takes what is left. `n` of 0 gives nothing.
pub fn split_evenly(target: Pence, n: usize) -> Vec<Pence> {
    let Ok(count) = i64::try_from(n) else {
        return Vec::new();
    };
    if count == 0 {
        return Vec::new();
    }
    let month = target.0 / count;
    let mut phasing = vec![Pence(month); n];
    phasing[n - 1] = Pence(target.0 - month * (count - 1));
    phasing
}

/// Why a target and its phasing cannot be saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhasingError {
    /// A negative annual target on a workstream that is not a cost pressure.
    NegativeTarget,
    /// A negative month on a workstream that is not a cost pressure.
    NegativeMonth(Month),
    /// A month with a target that the ICB does not answer for (before it started, after it
    /// closed).
    OutsideLifetime(Month),
    /// The months do not add up to the annual target.
    DoesNotAddUp { phased: Pence, target: Pence },
}

/// An annual target with its monthly phasing, checked: the months add up to the target, and
/// neither goes below zero unless the workstream is a cost pressure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    annual: Pence,
    months: Vec<(Month, Pence)>,
    cost_pressure: bool,
}

impl Target {
    /// Checks `annual` and `months` (every month of the year, or those sent). `counts(month)`
    /// says whether the ICB answers for a month: months it does not must be zero.
    pub fn new(
        annual: Pence,
        months: Vec<(Month, Pence)>,
        cost_pressure: bool,
        counts: impl Fn(Month) -> bool,
    ) -> Result<Self, Vec<PhasingError>> {
        let mut errors = Vec::new();
        if annual.0 < 0 && !cost_pressure {
            errors.push(PhasingError::NegativeTarget);
        }
        for (month, amount) in &months {
            if amount.0 != 0 && !counts(*month) {
                errors.push(PhasingError::OutsideLifetime(*month));
            } else if amount.0 < 0 && !cost_pressure {
                errors.push(PhasingError::NegativeMonth(*month));
            }
        }
        let phased: Pence = months.iter().map(|(_, p)| *p).sum();
        if errors.is_empty() && phased != annual {
            errors.push(PhasingError::DoesNotAddUp {
                phased,
                target: annual,
            });
        }
        if errors.is_empty() {
            Ok(Self {
                annual,
                months,
                cost_pressure,
            })
        } else {
            Err(errors)
        }
    }

    /// `annual` split evenly over the months the ICB answers for (`months`), the rest zero.
    pub fn split(
        annual: Pence,
        year_months: &[Month],
        cost_pressure: bool,
        counts: impl Fn(Month) -> bool,
    ) -> Result<Self, Vec<PhasingError>> {
        let counted: Vec<Month> = year_months.iter().copied().filter(|m| counts(*m)).collect();
        let mut split = split_evenly(annual, counted.len()).into_iter();
        let months = year_months
            .iter()
            .map(|m| {
                let amount = if counted.contains(m) {
                    split.next().unwrap_or_default()
                } else {
                    Pence(0)
                };
                (*m, amount)
            })
            .collect();
        Self::new(annual, months, cost_pressure, counts)
    }

    /// The annual target.
    pub fn annual(&self) -> Pence {
        self.annual
    }

    /// The months with their phased target.
    pub fn months(&self) -> &[(Month, Pence)] {
        &self.months
    }

    /// Whether the workstream is a cost pressure.
    pub fn cost_pressure(&self) -> bool {
        self.cost_pressure
    }
}

/// The sum of a phasing (any number of months). Saturating, like all [`Pence`] arithmetic.
pub fn total(phasing: &[Pence]) -> Pence {
    phasing.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn gives_march_the_remainder() {
        let phasing = even_split(Pence(100_000));
        assert_eq!(phasing[..11], [Pence(8_333); 11]);
        assert_eq!(phasing[11], Pence(8_337));
        assert_eq!(total(&phasing), Pence(100_000));
    }

    #[test]
    fn splits_exact_multiples_evenly() {
        assert_eq!(even_split(Pence(1_200)), [Pence(100); 12]);
        assert_eq!(even_split(Pence(0)), [Pence(0); 12]);
    }

    #[test]
    fn handles_small_and_negative_targets() {
        let small = even_split(Pence(11));
        assert_eq!(small[..11], [Pence(0); 11]);
        assert_eq!(small[11], Pence(11));

        let negative = even_split(Pence(-100_000));
        assert_eq!(negative[..11], [Pence(-8_333); 11]);
        assert_eq!(negative[11], Pence(-8_337));
    }

    #[test]
    fn handles_the_extremes() {
        for target in [i64::MAX, i64::MIN] {
            assert_eq!(total(&even_split(Pence(target))), Pence(target));
        }
    }

    #[test]
    fn totals_any_number_of_months() {
        assert_eq!(total(&[]), Pence(0));
        assert_eq!(total(&[Pence(5), Pence(-2)]), Pence(3));
    }

    fn months() -> Vec<Month> {
        crate::domain::FinancialYear::starting(2024)
            .unwrap()
            .reporting_months()
            .to_vec()
    }

    #[test]
    fn a_target_adds_up_and_stays_positive_unless_a_cost_pressure() {
        let all = |_: Month| true;
        let even = |p: i64| {
            months()
                .into_iter()
                .zip(even_split(Pence(p)))
                .collect::<Vec<_>>()
        };
        assert!(Target::new(Pence(1_200), even(1_200), false, all).is_ok());
        let mut short = even(1_200);
        short[0].1 = Pence(0);
        assert_eq!(
            Target::new(Pence(1_200), short, false, all),
            Err(vec![PhasingError::DoesNotAddUp {
                phased: Pence(1_100),
                target: Pence(1_200)
            }])
        );
        assert_eq!(
            Target::new(Pence(-1_200), even(-1_200), false, all)
                .unwrap_err()
                .first(),
            Some(&PhasingError::NegativeTarget)
        );
        assert!(Target::new(Pence(-1_200), even(-1_200), true, all).is_ok());
        let mut mixed = even(1_200);
        mixed[0].1 = Pence(-100);
        mixed[1].1 = Pence(300);
        assert_eq!(
            Target::new(Pence(1_200), mixed, false, all),
            Err(vec![PhasingError::NegativeMonth(months()[0])])
        );
    }

    #[test]
    fn a_split_covers_only_the_months_the_icb_answers_for() {
        let from_october = |m: Month| m >= months()[6];
        let target = Target::split(Pence(600), &months(), false, from_october).unwrap();
        let amounts: Vec<i64> = target.months().iter().map(|(_, p)| p.0).collect();
        assert_eq!(amounts, [0, 0, 0, 0, 0, 0, 100, 100, 100, 100, 100, 100]);
        let mut outside = target.months().to_vec();
        outside[0].1 = Pence(1);
        outside[6].1 = Pence(99);
        assert_eq!(
            Target::new(Pence(600), outside, false, from_october),
            Err(vec![PhasingError::OutsideLifetime(months()[0])])
        );
        assert_eq!(split_evenly(Pence(100), 0), Vec::<Pence>::new());
        assert_eq!(
            split_evenly(Pence(100), 3),
            [Pence(33), Pence(33), Pence(34)]
        );
    }

    proptest! {
        #[test]
        fn an_even_split_over_any_months_sums_to_the_target(target in -1_000_000_000_000i64..1_000_000_000_000, n in 1usize..=12) {
            prop_assert_eq!(total(&split_evenly(Pence(target), n)), Pence(target));
        }

        #[test]
        fn sums_to_the_target(target: i64) {
            prop_assert_eq!(total(&even_split(Pence(target))), Pence(target));
        }

        #[test]
        fn first_eleven_months_are_equal(target: i64) {
            let phasing = even_split(Pence(target));
            prop_assert!(phasing[..11].iter().all(|m| *m == phasing[0]));
        }

        #[test]
        fn march_is_within_12p_of_the_others(target: i64) {
            let phasing = even_split(Pence(target));
            prop_assert!((phasing[11].0 - phasing[0].0).abs() < 12);
        }
    }
}
