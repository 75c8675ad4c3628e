//! The independent computation every figures test compares the pages and exports with: the
//! stored rows read with plain queries, and the rules of the README's "Figures" section applied
//! here in Rust, month by month, without the application's view or functions.

use std::collections::BTreeMap;
use std::ops::Add;

use chrono::{Datelike, Months, NaiveDate};
use sqlx::PgPool;

#[derive(Debug, Clone)]
pub struct Icb {
    pub code: String,
    pub region: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct Workstream {
    pub id: i32,
    pub plan_id: i32,
    pub opportunity: Option<i16>,
    pub annual_target: i64,
    pub removed: bool,
}

/// Every stored row the figures are made from.
#[derive(Debug, Clone, Default)]
pub struct Stored {
    pub icbs: BTreeMap<i32, Icb>,
    /// plan id → (ICB id, year's start year).
    pub plans: BTreeMap<i32, (i32, i32)>,
    pub workstreams: Vec<Workstream>,
    /// (workstream, month) → (planned, actual).
    pub months: BTreeMap<(i32, NaiveDate), (i64, Option<i64>)>,
    /// (predecessor, successor, effective from).
    pub successions: Vec<(i32, i32, NaiveDate)>,
}

/// A plan's (or workstream's, or a total's) expected figures, in pence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Expected {
    pub annual: i64,
    pub planned_total: i64,
    pub target_to_date: i64,
    pub reported_target: i64,
    pub actual: i64,
    pub planned_after: i64,
    pub due: i64,
    pub reported: i64,
    pub months_overdue: i64,
    /// Summed over plans (each plan's own run rate).
    pub run_rate: Option<i64>,
}

impl Add for Expected {
    type Output = Expected;
    fn add(self, o: Expected) -> Expected {
        Expected {
            annual: self.annual + o.annual,
            planned_total: self.planned_total + o.planned_total,
            target_to_date: self.target_to_date + o.target_to_date,
            reported_target: self.reported_target + o.reported_target,
            actual: self.actual + o.actual,
            planned_after: self.planned_after + o.planned_after,
            due: self.due + o.due,
            reported: self.reported + o.reported,
            months_overdue: self.months_overdue + o.months_overdue,
            run_rate: match (self.run_rate, o.run_rate) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            },
        }
    }
}

impl std::iter::Sum for Expected {
    fn sum<I: Iterator<Item = Expected>>(iter: I) -> Expected {
        iter.fold(Expected::default(), Add::add)
    }
}

/// `n / d` rounded to the nearest whole number, halves away from zero (`d` > 0).
pub fn round_div(n: i128, d: i128) -> i64 {
    let q = n / d;
    let r = n % d;
    let q = if r.abs() * 2 >= d { q + n.signum() } else { q };
    i64::try_from(q).unwrap()
}

/// Pence as whole pounds, as pages show them.
pub fn pounds(pence: i64) -> i64 {
    round_div(i128::from(pence), 100)
}

impl Expected {
    pub fn variance(&self) -> i64 {
        self.actual - self.reported_target
    }
    pub fn not_reported(&self) -> i64 {
        self.target_to_date - self.reported_target
    }
    pub fn forecast(&self) -> i64 {
        self.actual + self.planned_after
    }
    pub fn percent(&self) -> Option<i64> {
        (self.reported_target != 0).then(|| {
            let (n, d) = (
                i128::from(self.actual) * 100,
                i128::from(self.reported_target),
            );
            if d < 0 {
                round_div(-n, -d)
            } else {
                round_div(n, d)
            }
        })
    }
    pub fn percent_of_annual(&self) -> Option<i64> {
        (self.annual != 0).then(|| {
            let (n, d) = (i128::from(self.actual) * 100, i128::from(self.annual));
            if d < 0 {
                round_div(-n, -d)
            } else {
                round_div(n, d)
            }
        })
    }
}

/// April of `year` plus `i` months.
pub fn month(year: i32, i: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 4, 1).unwrap() + Months::new(i)
}

pub fn first_of(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap()
}

/// The month whose figures are last due on `today` (due by the end of the following month).
pub fn reporting_month(today: NaiveDate) -> NaiveDate {
    first_of(today) - Months::new(2)
}

impl Stored {
    /// Reads every row as the database owner (row-level security does not apply).
    pub async fn load(pool: &PgPool) -> Stored {
        let mut s = Stored::default();
        let icbs: Vec<(i32, String, String, NaiveDate, Option<NaiveDate>)> = sqlx::query_as(
            "select i.icb_id, i.ods_code, r.ods_code, i.valid_from, i.valid_to
             from icb i join region r on r.region_id = i.region_id",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        for (id, code, region, valid_from, valid_to) in icbs {
            s.icbs.insert(
                id,
                Icb {
                    code,
                    region,
                    valid_from,
                    valid_to,
                },
            );
        }
        let plans: Vec<(i32, i32, NaiveDate)> = sqlx::query_as(
            "select p.plan_id, p.icb_id, y.starts_on from plan p
             join programme_year y on y.programme_year_id = p.programme_year_id",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        for (plan, icb, starts) in plans {
            s.plans.insert(plan, (icb, starts.year()));
        }
        let ws: Vec<(i32, i32, Option<i16>, i64, bool)> = sqlx::query_as(
            "select w.workstream_id, w.plan_id, o.number, w.annual_target_pence, w.removed_at is not null
             from workstream w left join opportunity o on o.opportunity_id = w.opportunity_id",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        s.workstreams = ws
            .into_iter()
            .map(
                |(id, plan_id, opportunity, annual_target, removed)| Workstream {
                    id,
                    plan_id,
                    opportunity,
                    annual_target,
                    removed,
                },
            )
            .collect();
        let months: Vec<(i32, NaiveDate, i64, Option<i64>)> = sqlx::query_as(
            "select workstream_id, month, planned_pence, actual_pence from workstream_month",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        for (ws, m, planned, actual) in months {
            s.months.insert((ws, m), (planned, actual));
        }
        s.successions = sqlx::query_as(
            "select predecessor_icb_id, successor_icb_id, effective_from from icb_succession",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        s
    }

    pub fn icb_id(&self, code: &str) -> i32 {
        *self
            .icbs
            .iter()
            .find(|(_, i)| i.code == code)
            .unwrap_or_else(|| panic!("no ICB {code}"))
            .0
    }

    /// Whether the ICB answers for `m`: from the month it started to the month it closed.
    pub fn icb_has_month(&self, icb: i32, m: NaiveDate) -> bool {
        let i = &self.icbs[&icb];
        m >= first_of(i.valid_from) && i.valid_to.is_none_or(|to| m <= to)
    }

    pub fn plan_of(&self, code: &str, year: i32) -> Option<i32> {
        let icb = self.icb_id(code);
        self.plans
            .iter()
            .find(|(_, (i, y))| *i == icb && *y == year)
            .map(|(p, _)| *p)
    }

    /// The plan's months that count with their figures, by workstream.
    fn counted(&self, ws: &Workstream) -> Vec<(NaiveDate, i64, Option<i64>)> {
        let (icb, year) = self.plans[&ws.plan_id];
        (0..12)
            .map(|i| month(year, i))
            .filter(|m| self.icb_has_month(icb, *m))
            .filter_map(|m| {
                let (planned, actual) = self.months.get(&(ws.id, m)).copied().unwrap_or((0, None));
                (!ws.removed || actual.is_some()).then_some((m, planned, actual))
            })
            .collect()
    }

    /// The plan's reporting month for the cut-off `to`: its ICB's latest month in the year up
    /// to `to`.
    fn plan_reporting_month(&self, plan: i32, to: NaiveDate) -> Option<NaiveDate> {
        let (icb, year) = self.plans[&plan];
        (0..12)
            .map(|i| month(year, i))
            .filter(|m| *m <= to && self.icb_has_month(icb, *m))
            .max()
    }

    /// One workstream's figures to `to` (no run rate).
    pub fn workstream(&self, id: i32, to: NaiveDate) -> Expected {
        let ws = self.workstreams.iter().find(|w| w.id == id).unwrap();
        let counted = self.counted(ws);
        let p = self.plan_reporting_month(ws.plan_id, to);
        let mut e = Expected::default();
        for (m, planned, actual) in &counted {
            e.planned_total += planned;
            if *m <= to {
                e.target_to_date += planned;
                if let Some(a) = actual {
                    e.reported_target += planned;
                    e.actual += a;
                }
            } else {
                e.planned_after += planned;
            }
            if Some(*m) == p {
                e.due += 1;
                e.reported += i64::from(actual.is_some());
            }
        }
        e.annual = if counted.len() == 12 && !ws.removed {
            ws.annual_target
        } else {
            e.planned_total
        };
        e
    }

    /// The plan `plan`'s figures to `to`.
    pub fn plan(&self, plan: i32, to: NaiveDate) -> Expected {
        let (icb, year) = self.plans[&plan];
        let mine: Vec<&Workstream> = self
            .workstreams
            .iter()
            .filter(|w| w.plan_id == plan)
            .collect();
        let mut e: Expected = mine.iter().map(|w| self.workstream(w.id, to)).sum();
        let mut overdue = std::collections::BTreeSet::new();
        for w in &mine {
            for (m, _, actual) in self.counted(w) {
                if m <= to && actual.is_none() {
                    overdue.insert(m);
                }
            }
        }
        e.months_overdue = overdue.len() as i64;
        let in_year: Vec<NaiveDate> = (0..12)
            .map(|i| month(year, i))
            .filter(|m| self.icb_has_month(icb, *m))
            .collect();
        let to_date = in_year.iter().filter(|m| **m <= to).count() as i128;
        e.run_rate =
            (to_date > 0).then(|| round_div(i128::from(e.actual) * in_year.len() as i128, to_date));
        e
    }

    /// The figures of `code`'s plan for `year` (zero without one).
    pub fn icb(&self, code: &str, year: i32, to: NaiveDate) -> Expected {
        self.plan_of(code, year)
            .map(|p| self.plan(p, to))
            .unwrap_or_default()
    }

    /// Every plan of `year` whose ICB is in `region` (every region: `None`).
    pub fn plans_in(&self, year: i32, region: Option<&str>) -> Vec<i32> {
        self.plans
            .iter()
            .filter(|(_, (icb, y))| *y == year && region.is_none_or(|r| self.icbs[icb].region == r))
            .map(|(p, _)| *p)
            .collect()
    }

    /// The total of a region's (or England's) plans of `year`.
    pub fn total(&self, year: i32, region: Option<&str>, to: NaiveDate) -> Expected {
        self.plans_in(year, region)
            .into_iter()
            .map(|p| self.plan(p, to))
            .sum()
    }

    /// A national opportunity's workstreams summed over the plans of `year` in `region`.
    pub fn opportunity(
        &self,
        number: i16,
        year: i32,
        region: Option<&str>,
        to: NaiveDate,
    ) -> Expected {
        let plans = self.plans_in(year, region);
        self.workstreams
            .iter()
            .filter(|w| w.opportunity == Some(number) && plans.contains(&w.plan_id))
            .map(|w| self.workstream(w.id, to))
            .sum()
    }

    /// The ICBs carrying on `icb`'s work on `today`, following successions.
    pub fn carried_by(&self, icb: i32, today: NaiveDate) -> Vec<i32> {
        let next: Vec<i32> = self
            .successions
            .iter()
            .filter(|(p, _, from)| *p == icb && *from <= today)
            .map(|(_, s, _)| *s)
            .collect();
        if next.is_empty() {
            return vec![icb];
        }
        let mut all: Vec<i32> = next
            .into_iter()
            .flat_map(|s| self.carried_by(s, today))
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// `code` today, restated: the plans of `year` of every ICB whose work it carries on.
    pub fn restated(&self, code: &str, year: i32, to: NaiveDate, today: NaiveDate) -> Expected {
        let id = self.icb_id(code);
        self.plans
            .iter()
            .filter(|(_, (icb, y))| *y == year && self.carried_by(*icb, today).contains(&id))
            .map(|(p, _)| self.plan(*p, to))
            .sum()
    }
}
