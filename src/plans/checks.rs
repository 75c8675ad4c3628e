//! What a plan must satisfy before it goes to review, in one place: submitting refuses a plan
//! that fails any check (with the reasons by the submit button), and the plan page shows the
//! same list to the editor before they submit and to the reviewer beside the review form.
//!
//! - at least five national opportunities are chosen;
//! - every workstream has a savings target other than zero, or is marked as a cost pressure (a
//!   planned spending increase);
//! - every workstream's monthly phasing adds up to its annual target, and is not negative
//!   unless it is a cost pressure (saves since these rules can no longer break them, but a
//!   plan stored before them can).

use sqlx::PgConnection;

use super::plan_page::MIN_NATIONAL_OPPORTUNITIES;
use crate::auth::scope::IcbAccess;

/// One check, passed or not, with what fails it.
#[derive(Debug, Clone)]
pub struct Check {
    /// For the page: `national`, `targets`, `phasing`.
    pub key: &'static str,
    pub label: &'static str,
    pub passed: bool,
    /// What to do, when it fails.
    pub problem: Option<String>,
}

/// Every check of a plan.
#[derive(Debug, Clone, Default)]
pub struct PlanChecks {
    pub checks: Vec<Check>,
    /// How many national opportunities are chosen.
    pub national_chosen: i64,
}

impl PlanChecks {
    /// The checks of the plan `plan_id` of `icb` as it is stored.
    pub async fn load(
        conn: &mut PgConnection,
        icb: &IcbAccess,
        plan_id: i32,
    ) -> sqlx::Result<Self> {
        let rows = sqlx::query!(
            r#"
            select o.number as "number?", coalesce(w.title, o.title) as title,
                   w.annual_target_pence, w.cost_pressure,
                   coalesce(m.phased, 0)::bigint as "phased!", coalesce(m.negative, false) as "negative!"
            from workstream w
            left join opportunity o on o.opportunity_id = w.opportunity_id
            left join lateral (
                select sum(planned_pence) as phased, bool_or(planned_pence < 0) as negative
                from workstream_month
                where workstream_id = w.workstream_id and icb_id = w.icb_id
            ) m on true
            where w.icb_id = $1 and w.plan_id = $2 and w.removed_at is null
            order by o.number nulls last, w.workstream_id
            "#,
            icb.icb_id(),
            plan_id
        )
        .fetch_all(conn)
        .await?;
        let name = |number: Option<i16>, title: &Option<String>| {
            let title = title.as_deref().unwrap_or("Title to be confirmed");
            number.map_or_else(|| title.to_owned(), |n| format!("{n}. {title}"))
        };
        let national = rows.iter().filter(|r| r.number.is_some()).count() as i64;
        let no_target: Vec<String> = rows
            .iter()
            .filter(|r| r.annual_target_pence == 0 && !r.cost_pressure)
            .map(|r| name(r.number, &r.title))
            .collect();
        let bad_phasing: Vec<String> = rows
            .iter()
            .filter(|r| r.phased != r.annual_target_pence || (r.negative && !r.cost_pressure))
            .map(|r| name(r.number, &r.title))
            .collect();
        let min = MIN_NATIONAL_OPPORTUNITIES as i64;
        Ok(PlanChecks {
            national_chosen: national,
            checks: vec![
                Check {
                    key: "national",
                    label: "At least 5 national opportunities are chosen",
                    passed: national >= min,
                    problem: (national < min).then(|| {
                        format!("choose at least {min} national opportunities: you have chosen {national}")
                    }),
                },
                Check {
                    key: "targets",
                    label: "Every workstream has a savings target, or is marked as a cost pressure",
                    passed: no_target.is_empty(),
                    problem: (!no_target.is_empty()).then(|| {
                        format!(
                            "set a savings target (or mark as a cost pressure): {}",
                            no_target.join("; ")
                        )
                    }),
                },
                Check {
                    key: "phasing",
                    label: "Every workstream's monthly phasing adds up to its annual target",
                    passed: bad_phasing.is_empty(),
                    problem: (!bad_phasing.is_empty()).then(|| {
                        format!(
                            "make the monthly phasing add up to the annual target: {}",
                            bad_phasing.join("; ")
                        )
                    }),
                },
            ],
        })
    }

    /// Whether every check passes.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// Why the plan cannot be submitted, as one message, if it cannot.
    pub fn problem(&self) -> Option<String> {
        let problems: Vec<&str> = self
            .checks
            .iter()
            .filter_map(|c| c.problem.as_deref())
            .collect();
        (!problems.is_empty())
            .then(|| format!("Before you submit the plan, {}", problems.join("; and ")))
    }
}
