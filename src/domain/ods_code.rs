//! ODS codes name NHS organisations: regions (`Y56`), ICBs (`QE1`, and since April 2026 the
//! five-character form `S1Y5D`). Typed once where a code enters (a web address, a form, a
//! file), so everything after can trust its shape.

use std::fmt;

/// An organisation's ODS code: 3 or 5 letters and digits, upper case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OdsCode(String);

impl OdsCode {
    /// Reads a code as people write it (any case, surrounding spaces ignored); `None` unless
    /// it has the shape of an ODS code.
    pub fn parse(text: &str) -> Option<Self> {
        let code = text.trim().to_ascii_uppercase();
        let shape = matches!(code.len(), 3 | 5) && code.bytes().all(|b| b.is_ascii_alphanumeric());
        shape.then_some(Self(code))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OdsCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for OdsCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_both_forms_and_nothing_else() {
        assert_eq!(OdsCode::parse("qe1").unwrap().as_str(), "QE1");
        assert_eq!(OdsCode::parse("S1Y5D").unwrap().as_str(), "S1Y5D");
        assert_eq!(OdsCode::parse(" Y56 ").unwrap().as_str(), "Y56");
        for bad in [
            "", "Q", "QE", "QE1X", "QE1XYZ", "Q\0E", "QE\u{0}1", "Q-1", "ÉE1", "Q E",
        ] {
            assert_eq!(OdsCode::parse(bad), None, "{bad:?}");
        }
    }
}
