//! Phasing: how an annual savings target is spread over the twelve months of a financial year.
//!
//! The default is an even split whose months add up to the target to the penny, because a plan
//! whose months do not sum to its annual figure would show a variance nobody can explain.

use super::Pence;

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

    proptest! {
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
