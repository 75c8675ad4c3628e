//! Counts in words, as the content style guide writes them: "1 plan is waiting", "3 plans are
//! waiting", "no plans are waiting" — never "1 plans" or "0 of 0 ICBs".

/// `1 plan`, `3 plans`, `no plans` (`one` and `many` are the singular and plural nouns).
pub fn count(n: i64, one: &str, many: &str) -> String {
    match n {
        0 => format!("no {many}"),
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

/// The verb that agrees with `n` things: `singular` for one, `plural` otherwise ("is", "are").
pub fn agree<'a>(n: i64, singular: &'a str, plural: &'a str) -> &'a str {
    if n == 1 { singular } else { plural }
}

/// Upper-cases the first letter (for a count that starts a sentence: "No plans are …").
pub fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agree_with_their_nouns_and_verbs() {
        let waiting = |n: i64| {
            sentence(&format!(
                "{} {} waiting",
                count(n, "plan", "plans"),
                agree(n, "is", "are")
            ))
        };
        assert_eq!(waiting(0), "No plans are waiting");
        assert_eq!(waiting(1), "1 plan is waiting");
        assert_eq!(waiting(7), "7 plans are waiting");
    }
}
