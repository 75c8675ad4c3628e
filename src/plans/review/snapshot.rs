//! A plan's content as a reviewer agrees it (the workstreams, their targets and phasing), and
//! what changed between two such snapshots.
//!
//! The database builds a snapshot (`medopt_plan_snapshot`, one definition for what is stored
//! with each review step and for the plan as it is now), so the two sides of a comparison
//! always have the same shape; the comparison itself is pure and tested here.

use serde::Deserialize;

use crate::domain::{Month, Pence};

/// The plan's content at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct PlanSnapshot {
    pub workstreams: Vec<SnapshotWorkstream>,
}

/// One workstream in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SnapshotWorkstream {
    pub id: i32,
    /// The national opportunity's number; `None` for a local priority.
    pub number: Option<i16>,
    /// `None` while a national opportunity's title is unconfirmed.
    pub title: Option<String>,
    #[serde(default)]
    pub description: String,
    pub annual_target_pence: i64,
    /// April to March.
    #[serde(default)]
    pub planned_pence: Vec<i64>,
}

impl SnapshotWorkstream {
    /// As pages name it: `4. Title` or the local priority's title.
    pub fn display_title(&self) -> String {
        let title = self.title.as_deref().unwrap_or("Title to be confirmed");
        match self.number {
            Some(n) => format!("{n}. {title}"),
            None => title.to_owned(),
        }
    }

    /// The annual target.
    pub fn annual_target(&self) -> Pence {
        Pence(self.annual_target_pence)
    }

    /// The phasing summed over the year.
    pub fn phased_total(&self) -> Pence {
        self.planned_pence.iter().copied().map(Pence).sum()
    }

    /// The phasing of month `i` (0: April).
    pub fn planned(&self, i: usize) -> Pence {
        Pence(self.planned_pence.get(i).copied().unwrap_or_default())
    }
}

/// One difference between the agreed plan and the plan now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentChange {
    /// The workstream it is about.
    pub workstream: String,
    /// What changed: "Added", "Removed", "Annual target", "Phasing, June 2024", …
    pub what: String,
    pub agreed: String,
    pub now: String,
}

/// What changed from `agreed` to `now`, workstream by workstream in `now`'s order (those
/// removed since last). `months` names the phasing's months, April first.
pub fn changes(agreed: &PlanSnapshot, now: &PlanSnapshot, months: &[Month]) -> Vec<ContentChange> {
    let mut out = Vec::new();
    let change = |ws: &SnapshotWorkstream, what: &str, agreed: String, now: String| ContentChange {
        workstream: ws.display_title(),
        what: what.to_owned(),
        agreed,
        now,
    };
    for ws in &now.workstreams {
        let Some(before) = agreed.workstreams.iter().find(|w| w.id == ws.id) else {
            out.push(change(
                ws,
                "Added to the plan",
                "Not in the plan".into(),
                format!("Annual target {}", ws.annual_target().exact_display()),
            ));
            continue;
        };
        // A national opportunity's title is the catalogue's: only a local priority's is the ICB's.
        if ws.number.is_none() && before.title != ws.title {
            out.push(change(
                ws,
                "Title",
                before.display_title(),
                ws.display_title(),
            ));
        }
        if before.description != ws.description {
            out.push(change(
                ws,
                "Description",
                before.description.clone(),
                ws.description.clone(),
            ));
        }
        if before.annual_target_pence != ws.annual_target_pence {
            out.push(change(
                ws,
                "Annual target",
                before.annual_target().exact_display(),
                ws.annual_target().exact_display(),
            ));
        }
        for (i, month) in months.iter().enumerate() {
            if before.planned(i) != ws.planned(i) {
                out.push(change(
                    ws,
                    &format!("Phasing, {}", month.label()),
                    before.planned(i).exact_display(),
                    ws.planned(i).exact_display(),
                ));
            }
        }
    }
    for ws in &agreed.workstreams {
        if !now.workstreams.iter().any(|w| w.id == ws.id) {
            out.push(change(
                ws,
                "Removed from the plan",
                format!("Annual target {}", ws.annual_target().exact_display()),
                "Not in the plan".into(),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FinancialYear;

    fn ws(id: i32, number: Option<i16>, title: &str, target: i64) -> SnapshotWorkstream {
        SnapshotWorkstream {
            id,
            number,
            title: Some(title.to_owned()),
            description: String::new(),
            annual_target_pence: target,
            planned_pence: vec![target / 12; 12],
        }
    }

    fn months() -> [Month; 12] {
        FinancialYear::starting(2024).unwrap().reporting_months()
    }

    #[test]
    fn the_same_content_has_no_changes() {
        let plan = PlanSnapshot {
            workstreams: vec![ws(1, Some(4), "DOACs", 120_000)],
        };
        assert!(changes(&plan, &plan.clone(), &months()).is_empty());
    }

    #[test]
    fn additions_removals_targets_and_phasing_are_named() {
        let agreed = PlanSnapshot {
            workstreams: vec![
                ws(1, Some(4), "DOACs", 120_000),
                ws(2, Some(9), "Biologics", 240_000),
                ws(3, None, "Care homes", 12_000),
            ],
        };
        let mut doacs = ws(1, Some(4), "DOACs", 150_000);
        doacs.planned_pence = vec![10_000; 12];
        doacs.planned_pence[2] = 40_000;
        let mut local = ws(3, None, "Care home reviews", 12_000);
        local.description = "Every home visited".into();
        let now = PlanSnapshot {
            workstreams: vec![doacs, ws(5, Some(1), "Polypharmacy", 60_000), local],
        };
        let found: Vec<(String, String, String, String)> = changes(&agreed, &now, &months())
            .into_iter()
            .map(|c| (c.workstream, c.what, c.agreed, c.now))
            .collect();
        let row = |a: &str, b: &str, c: &str, d: &str| {
            (a.to_owned(), b.to_owned(), c.to_owned(), d.to_owned())
        };
        assert_eq!(
            found,
            [
                row("4. DOACs", "Annual target", "£1,200", "£1,500"),
                row("4. DOACs", "Phasing, June 2024", "£100", "£400"),
                row(
                    "1. Polypharmacy",
                    "Added to the plan",
                    "Not in the plan",
                    "Annual target £600"
                ),
                row(
                    "Care home reviews",
                    "Title",
                    "Care homes",
                    "Care home reviews"
                ),
                row("Care home reviews", "Description", "", "Every home visited"),
                row(
                    "9. Biologics",
                    "Removed from the plan",
                    "Annual target £2,400",
                    "Not in the plan"
                ),
            ]
        );
    }

    #[test]
    fn a_national_opportunitys_title_is_not_the_icbs_change() {
        let agreed = PlanSnapshot {
            workstreams: vec![ws(1, Some(12), "Old catalogue title", 0)],
        };
        let now = PlanSnapshot {
            workstreams: vec![ws(1, Some(12), "Confirmed title", 0)],
        };
        assert!(changes(&agreed, &now, &months()).is_empty());
    }

    #[test]
    fn snapshots_read_what_the_database_writes() {
        let json = r#"{"workstreams": [{"id": 7, "number": null, "title": "Care homes",
            "description": "", "annual_target_pence": 1200, "planned_pence": [100,100,100,100,100,100,100,100,100,100,100,100]}]}"#;
        let snapshot: PlanSnapshot = serde_json::from_str(json).unwrap();
        assert_eq!(snapshot.workstreams[0].phased_total(), Pence(1200));
        assert_eq!(snapshot.workstreams[0].display_title(), "Care homes");
    }
}
