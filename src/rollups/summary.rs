//! The sentences above a roll-up's tables: how many ICBs have agreed plans, how many plans
//! wait for review, who has not started, who chose too few opportunities — with counts that
//! agree with their words ("1 plan is waiting"), and no "0 of 0 ICBs" for a year without ICBs.

use crate::wording::{agree, count, sentence};

/// A roll-up's counts.
pub struct Counts {
    pub icbs: i64,
    pub agreed: i64,
    pub waiting: i64,
    pub not_started: i64,
    pub under_minimum: i64,
    pub min_required: usize,
}

/// The summary's sentences; `waiting_for` says for what plans wait ("agreement").
pub fn summary(c: &Counts, waiting_for: &str) -> Vec<String> {
    if c.icbs == 0 {
        return vec!["There were no ICBs here in this year.".into()];
    }
    vec![
        format!(
            "{} of {} {} an agreed plan",
            c.agreed,
            count(c.icbs, "ICB", "ICBs"),
            agree(c.agreed, "has", "have")
        ),
        sentence(&format!(
            "{} {} waiting for {waiting_for}",
            count(c.waiting, "plan", "plans"),
            agree(c.waiting, "is", "are")
        )),
        if c.not_started == 0 {
            "Every ICB has started a plan".into()
        } else {
            format!(
                "{} {} not started a plan",
                count(c.not_started, "ICB", "ICBs"),
                agree(c.not_started, "has", "have")
            )
        },
        sentence(&format!(
            "{} {} fewer than {} national opportunities",
            count(c.under_minimum, "plan", "plans"),
            agree(c.under_minimum, "has", "have"),
            c.min_required
        )),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_of_each_reads_in_the_singular() {
        let counts = Counts {
            icbs: 1,
            agreed: 1,
            waiting: 1,
            not_started: 0,
            under_minimum: 1,
            min_required: 5,
        };
        assert_eq!(
            summary(&counts, "agreement"),
            [
                "1 of 1 ICB has an agreed plan",
                "1 plan is waiting for agreement",
                "Every ICB has started a plan",
                "1 plan has fewer than 5 national opportunities",
            ]
        );
    }

    #[test]
    fn no_icbs_is_said_once() {
        let counts = Counts {
            icbs: 0,
            agreed: 0,
            waiting: 0,
            not_started: 0,
            under_minimum: 0,
            min_required: 5,
        };
        assert_eq!(summary(&counts, "agreement").len(), 1);
    }
}
