//! Money is held as integer pence and shown as whole pounds (`£1,234,567`), the way ICB
//! finance reports show it. Never a float: sums of many months must be exact.

use std::fmt;

/// An amount of money in pence. Negative amounts (overspends, negative variance) are allowed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pence(pub i64);

impl Pence {
    /// Whole pounds, rounded half away from zero, formatted with thousands separators:
    /// `£1,234,567`, `-£2,500`.
    pub fn pounds_display(self) -> String {
        let pounds = (self.0.unsigned_abs() + 50) / 100;
        let digits = pounds.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        let sign = if self.0 < 0 && pounds > 0 { "-" } else { "" };
        format!("{sign}£{grouped}")
    }
}

impl fmt::Display for Pence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pounds_display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_whole_pounds_with_separators() {
        assert_eq!(Pence(0).to_string(), "£0");
        assert_eq!(Pence(99_900).to_string(), "£999");
        assert_eq!(Pence(100_000).to_string(), "£1,000");
        assert_eq!(Pence(123_456_700).to_string(), "£1,234,567");
        assert_eq!(Pence(-250_000).to_string(), "-£2,500");
    }

    #[test]
    fn rounds_half_pounds_away_from_zero() {
        assert_eq!(Pence(149).to_string(), "£1");
        assert_eq!(Pence(150).to_string(), "£2");
        assert_eq!(Pence(-150).to_string(), "-£2");
        assert_eq!(Pence(-49).to_string(), "£0");
    }

    #[test]
    fn handles_the_extremes() {
        assert_eq!(Pence(i64::MAX).to_string(), "£92,233,720,368,547,758");
        assert_eq!(Pence(i64::MIN).to_string(), "-£92,233,720,368,547,758");
    }
}
