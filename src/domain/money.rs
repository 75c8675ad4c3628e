//! Money is held as integer pence and shown as whole pounds (`£1,234,567`), the way ICB
//! finance reports show it. Never a float: sums of many months must be exact.
//!
//! This module also owns the one way amounts are typed in ([`Pence::parse`]) and shown back in
//! a form ([`Pence::input_value`]), so that what a user sees always parses to what was stored.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::str::FromStr;

/// An amount of money in pence. Negative amounts (overspends, negative variance) are allowed.
///
/// Arithmetic (`+`, `-`, `+=`, `-=`, unary `-`, `sum()`) saturates at the `i64` bounds instead
/// of panicking or wrapping. Amounts that came through [`Pence::parse`] are at most
/// £100 billion, so it takes about 92,000 of them at the limit to get there: saturation only
/// keeps a corrupt total from turning into a plausible-looking wrapped one.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Pence(pub i64);

/// Why typed text is not an amount of money. The messages are written to sit next to the form
/// field (NHS.UK error message pattern), so they say what to do, not what went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseMoneyError {
    /// Nothing (or only spaces) was typed.
    #[error("Enter an amount in pounds")]
    Empty,
    /// Not a number of pounds: letters, a lone `£`, two minus signs, spaces inside, `1e5`.
    #[error("Enter an amount in pounds, like 12,500 or £12,500.50")]
    Invalid,
    /// Commas that are not thousands separators (`1,23`, `12,34`, `1,,000`), or in the pence.
    #[error("Use commas only between groups of 3 digits, like 1,234,567")]
    MisplacedComma,
    /// More than two digits after the decimal point.
    #[error("Enter no more than 2 decimal places (pence)")]
    TooManyDecimalPlaces,
    /// £100,000,000,000 or more.
    #[error("Enter an amount below £100,000,000,000")]
    TooLarge,
    /// -£100,000,000,000 or less.
    #[error("Enter an amount above -£100,000,000,000")]
    TooSmall,
}

impl Pence {
    /// The largest amount [`Pence::parse`] accepts: £99,999,999,999.99 (and its negative).
    /// Far beyond any ICB budget, so a bigger number is a typing mistake; and far enough below
    /// `i64::MAX` that sums of thousands of entered amounts cannot overflow.
    pub const MAX_INPUT: Pence = Pence(100_000_000_000 * 100 - 1);

    /// Parses an amount of pounds as people type it. After trimming surrounding whitespace it
    /// accepts an optional minus sign and an optional `£` in either order (`-£500`, `£-500`),
    /// whole pounds with or without correct thousands commas (`1234`, `1,234,567`), and up to
    /// two decimal places (`12.5` is £12.50). A leading point is allowed (`.50` is 50p) but a
    /// trailing one is not (`12.` looks like an unfinished entry). Spaces inside, `+`,
    /// exponents, and amounts beyond [`Pence::MAX_INPUT`] are refused.
    pub fn parse(input: &str) -> Result<Pence, ParseMoneyError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(ParseMoneyError::Empty);
        }
        let (negative, unsigned) = strip_sign_and_symbol(text);
        let (pounds_text, pence_text) = match unsigned.split_once('.') {
            Some((pounds, pence)) => (pounds, Some(pence)),
            None => (unsigned, None),
        };

        let pence = match pence_text {
            None => 0,
            Some(digits) => {
                if digits.contains(',') {
                    return Err(ParseMoneyError::MisplacedComma);
                }
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ParseMoneyError::Invalid);
                }
                match digits.as_bytes() {
                    [tens] => i64::from(tens - b'0') * 10,
                    [tens, units] => i64::from(tens - b'0') * 10 + i64::from(units - b'0'),
                    _ => return Err(ParseMoneyError::TooManyDecimalPlaces),
                }
            }
        };

        if pounds_text.is_empty() && pence_text.is_none() {
            return Err(ParseMoneyError::Invalid);
        }
        if !pounds_text.bytes().all(|b| b.is_ascii_digit() || b == b',') {
            return Err(ParseMoneyError::Invalid);
        }
        if pounds_text.contains(',') && !correctly_grouped(pounds_text) {
            return Err(ParseMoneyError::MisplacedComma);
        }

        let out_of_range = if negative {
            ParseMoneyError::TooSmall
        } else {
            ParseMoneyError::TooLarge
        };
        let mut total: i64 = 0;
        for digit in pounds_text.bytes().filter(u8::is_ascii_digit) {
            total = total
                .checked_mul(10)
                .and_then(|t| t.checked_add(i64::from(digit - b'0')))
                .ok_or(out_of_range)?;
        }
        let total = total
            .checked_mul(100)
            .and_then(|t| t.checked_add(pence))
            .ok_or(out_of_range)?;
        if total > Self::MAX_INPUT.0 {
            return Err(out_of_range);
        }
        Ok(Pence(if negative { -total } else { total }))
    }

    /// What a form field shows when an amount is edited again: plain digits that
    /// [`Pence::parse`] reads back exactly: `1234.56`, `1234`, `-500`, `0.05`. No `£` and no
    /// commas (they get in the way when editing); pence only when there are some.
    pub fn input_value(self) -> String {
        let (sign, pounds, pence) = self.parts();
        if pence == 0 {
            format!("{sign}{pounds}")
        } else {
            format!("{sign}{pounds}.{pence:02}")
        }
    }

    /// The exact amount for reading: `£1,234.56`, `-£0.05`, `£1,234` (pence only when there
    /// are some). Use where whole pounds would hide a difference, such as a confirmation page.
    pub fn exact_display(self) -> String {
        let (sign, pounds, pence) = self.parts();
        let grouped = group_thousands(pounds);
        if pence == 0 {
            format!("{sign}£{grouped}")
        } else {
            format!("{sign}£{grouped}.{pence:02}")
        }
    }

    /// Pounds with exactly two decimals and no symbol or separators, for data files:
    /// `1234.56`, `-0.05`, `0.00`. Spreadsheets read it as a number.
    pub fn decimal_pounds(self) -> String {
        let (sign, pounds, pence) = self.parts();
        format!("{sign}{pounds}.{pence:02}")
    }

    /// Whole pounds, rounded half away from zero, formatted with thousands separators:
    /// `£1,234,567`, `-£2,500`.
    pub fn pounds_display(self) -> String {
        let pounds = (self.0.unsigned_abs() + 50) / 100;
        let sign = if self.0 < 0 && pounds > 0 { "-" } else { "" };
        format!("{sign}£{}", group_thousands(pounds))
    }

    /// Sign (`""` or `"-"`), whole pounds and remaining pence of the magnitude.
    fn parts(self) -> (&'static str, u64, u64) {
        let magnitude = self.0.unsigned_abs();
        let sign = if self.0 < 0 { "-" } else { "" };
        (sign, magnitude / 100, magnitude % 100)
    }
}

/// Splits off a leading `-` and `£` in either order, at most one of each.
fn strip_sign_and_symbol(text: &str) -> (bool, &str) {
    if let Some(rest) = text.strip_prefix('-') {
        (true, rest.strip_prefix('£').unwrap_or(rest))
    } else if let Some(rest) = text.strip_prefix('£') {
        match rest.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, rest),
        }
    } else {
        (false, text)
    }
}

/// Whether `digits` (ASCII digits and commas) has commas exactly every three digits from the
/// right, with one to three digits before the first.
fn correctly_grouped(digits: &str) -> bool {
    let mut groups = digits.split(',');
    let first_ok = groups.next().is_some_and(|g| (1..=3).contains(&g.len()));
    first_ok && groups.all(|g| g.len() == 3)
}

/// `1234567` as `1,234,567`.
fn group_thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    grouped
}

impl fmt::Display for Pence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pounds_display())
    }
}

/// See [`Pence::parse`].
impl FromStr for Pence {
    type Err = ParseMoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Pence::parse(s)
    }
}

/// Saturating; see [`Pence`].
impl Add for Pence {
    type Output = Pence;

    fn add(self, rhs: Pence) -> Pence {
        Pence(self.0.saturating_add(rhs.0))
    }
}

/// Saturating; see [`Pence`].
impl Sub for Pence {
    type Output = Pence;

    fn sub(self, rhs: Pence) -> Pence {
        Pence(self.0.saturating_sub(rhs.0))
    }
}

/// Saturating; see [`Pence`].
impl AddAssign for Pence {
    fn add_assign(&mut self, rhs: Pence) {
        *self = *self + rhs;
    }
}

/// Saturating; see [`Pence`].
impl SubAssign for Pence {
    fn sub_assign(&mut self, rhs: Pence) {
        *self = *self - rhs;
    }
}

/// Saturating (`-Pence(i64::MIN)` is `Pence(i64::MAX)`); see [`Pence`].
impl Neg for Pence {
    type Output = Pence;

    fn neg(self) -> Pence {
        Pence(self.0.saturating_neg())
    }
}

/// Saturating; see [`Pence`].
impl Sum for Pence {
    fn sum<I: Iterator<Item = Pence>>(iter: I) -> Pence {
        iter.fold(Pence(0), Add::add)
    }
}

/// Saturating; see [`Pence`].
impl<'a> Sum<&'a Pence> for Pence {
    fn sum<I: Iterator<Item = &'a Pence>>(iter: I) -> Pence {
        iter.copied().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shows_whole_pounds_with_separators() {
        assert_eq!(Pence(0).to_string(), "£0");
        assert_eq!(Pence(99_900).to_string(), "£999");
        assert_eq!(Pence(100_000).to_string(), "£1,000");
        assert_eq!(Pence(123_456_700).to_string(), "£1,234,567");
        assert_eq!(Pence(-250_000).to_string(), "-£2,500");
    }

    #[test]
    fn decimal_pounds_for_data_files() {
        assert_eq!(Pence(0).decimal_pounds(), "0.00");
        assert_eq!(Pence(5).decimal_pounds(), "0.05");
        assert_eq!(Pence(-5).decimal_pounds(), "-0.05");
        assert_eq!(Pence(123_456).decimal_pounds(), "1234.56");
        assert_eq!(Pence(-100_000).decimal_pounds(), "-1000.00");
        assert_eq!(
            Pence::parse(&Pence(-98_765).decimal_pounds()),
            Ok(Pence(-98_765))
        );
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
        assert_eq!(
            Pence(i64::MIN).exact_display(),
            "-£92,233,720,368,547,758.08"
        );
        assert_eq!(Pence(i64::MIN).input_value(), "-92233720368547758.08");
    }

    #[test]
    fn parses_what_people_type() {
        for (text, pence) in [
            ("1234", 123_400),
            ("1,234.56", 123_456),
            ("£1,234.56", 123_456),
            ("1,234,567", 123_456_700),
            ("-500", -50_000),
            ("-£500", -50_000),
            ("£-500", -50_000),
            ("12.5", 1_250),
            ("12.05", 1_205),
            (".50", 50),
            (".5", 50),
            ("0", 0),
            ("-0", 0),
            ("0.05", 5),
            ("007", 700),
            ("  £12,500.50\t", 1_250_050),
            ("99999999999.99", Pence::MAX_INPUT.0),
            ("-£99,999,999,999.99", -Pence::MAX_INPUT.0),
        ] {
            assert_eq!(Pence::parse(text), Ok(Pence(pence)), "{text:?}");
            assert_eq!(text.parse::<Pence>(), Ok(Pence(pence)), "{text:?}");
        }
    }

    #[test]
    fn refuses_what_is_not_money() {
        use ParseMoneyError::*;
        for (text, error) in [
            ("", Empty),
            ("   ", Empty),
            ("abc", Invalid),
            ("£", Invalid),
            ("-", Invalid),
            ("-£", Invalid),
            ("--5", Invalid),
            ("-£-5", Invalid),
            ("££5", Invalid),
            ("+5", Invalid),
            ("1e5", Invalid),
            ("1 000", Invalid),
            ("£ 500", Invalid),
            ("12.", Invalid),
            ("1.2.3", Invalid),
            ("1.a", Invalid),
            ("1.-5", Invalid),
            ("5-", Invalid),
            ("five", Invalid),
            ("1,23", MisplacedComma),
            ("12,34", MisplacedComma),
            ("1,2345", MisplacedComma),
            (",123", MisplacedComma),
            ("1,,234", MisplacedComma),
            ("1234,567", MisplacedComma),
            ("1,234,", MisplacedComma),
            ("1.2,3", MisplacedComma),
            ("1.234", TooManyDecimalPlaces),
            ("0.001", TooManyDecimalPlaces),
            ("100000000000", TooLarge),
            ("£100,000,000,000.00", TooLarge),
            ("-100000000000", TooSmall),
            ("99999999999999999999999999", TooLarge),
            ("-99999999999999999999999999", TooSmall),
        ] {
            assert_eq!(Pence::parse(text), Err(error), "{text:?}");
        }
    }

    #[test]
    fn error_messages_read_as_instructions() {
        assert_eq!(
            ParseMoneyError::Invalid.to_string(),
            "Enter an amount in pounds, like 12,500 or £12,500.50"
        );
        assert_eq!(
            ParseMoneyError::TooManyDecimalPlaces.to_string(),
            "Enter no more than 2 decimal places (pence)"
        );
        assert_eq!(
            ParseMoneyError::TooLarge.to_string(),
            "Enter an amount below £100,000,000,000"
        );
    }

    #[test]
    fn shows_values_for_editing() {
        assert_eq!(Pence(123_456).input_value(), "1234.56");
        assert_eq!(Pence(123_400).input_value(), "1234");
        assert_eq!(Pence(-50_000).input_value(), "-500");
        assert_eq!(Pence(5).input_value(), "0.05");
        assert_eq!(Pence(-5).input_value(), "-0.05");
        assert_eq!(Pence(0).input_value(), "0");
    }

    #[test]
    fn shows_exact_amounts() {
        assert_eq!(Pence(123_456).exact_display(), "£1,234.56");
        assert_eq!(Pence(-5).exact_display(), "-£0.05");
        assert_eq!(Pence(123_400).exact_display(), "£1,234");
        assert_eq!(Pence(0).exact_display(), "£0");
        assert_eq!(Pence(123_456_789).exact_display(), "£1,234,567.89");
    }

    #[test]
    fn arithmetic_is_exact_and_saturates_at_the_ends() {
        let mut total = Pence(150) + Pence(250) - Pence(100);
        assert_eq!(total, Pence(300));
        total += Pence(5);
        total -= Pence(10);
        assert_eq!(total, Pence(295));
        assert_eq!(-total, Pence(-295));
        assert_eq!(
            [Pence(1), Pence(2), Pence(3)].iter().sum::<Pence>(),
            Pence(6)
        );
        assert_eq!(Vec::<Pence>::new().into_iter().sum::<Pence>(), Pence(0));
        assert_eq!(Pence(i64::MAX) + Pence(1), Pence(i64::MAX));
        assert_eq!(Pence(i64::MIN) - Pence(1), Pence(i64::MIN));
        assert_eq!(-Pence(i64::MIN), Pence(i64::MAX));
    }

    fn within_limit() -> impl Strategy<Value = Pence> {
        (-Pence::MAX_INPUT.0..=Pence::MAX_INPUT.0).prop_map(Pence)
    }

    proptest! {
        #[test]
        fn input_value_round_trips(p in within_limit()) {
            prop_assert_eq!(Pence::parse(&p.input_value()), Ok(p));
        }

        #[test]
        fn exact_display_round_trips(p in within_limit()) {
            prop_assert_eq!(Pence::parse(&p.exact_display()), Ok(p));
        }

        #[test]
        fn comma_grouped_input_round_trips(p in within_limit(), pound_sign: bool) {
            let (sign, pounds, pence) = p.parts();
            let symbol = if pound_sign { "£" } else { "" };
            let text = format!("{symbol}{sign}{}.{pence:02}", group_thousands(pounds));
            prop_assert_eq!(Pence::parse(&text), Ok(p));
        }

        #[test]
        fn whole_pounds_display_parses_to_the_rounded_amount(p in within_limit()) {
            let rounded = (p.0.abs() + 50) / 100 * 100 * p.0.signum();
            prop_assert_eq!(Pence::parse(&p.pounds_display()), Ok(Pence(rounded)));
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,24}") {
            let _ = Pence::parse(&text);
        }

        #[test]
        fn parses_generated_decimals(
            negative: bool,
            pounds in 0i64..100_000_000_000,
            pence in 0i64..100,
        ) {
            let text = format!("{}{pounds}.{pence:02}", if negative { "-" } else { "" });
            let value = pounds * 100 + pence;
            prop_assert_eq!(Pence::parse(&text), Ok(Pence(if negative { -value } else { value })));
        }
    }
}
