//! The scheduled messages, written by the background worker on each pass (and so as often as
//! it runs, however many instances run it): idempotent, because each carries a key — per
//! ICB, month and kind for reminders, per region and ISO week for digests — that the outbox
//! holds unique per recipient.
//!
//! - **Figures due**: a month's figures are due by the end of the following month; in the
//!   last [`REMINDER_DAYS`] days before that, the editors of each ICB whose plan has no
//!   figures for the month yet get one reminder.
//! - **Figures overdue**: after that day, the editors of each ICB still without them get one
//!   reminder for the latest month that is overdue (so at most one a month).
//! - **Review digest**: each week in which plans of a region have been waiting for review since
//!   before the week began, its reviewers get the list of every plan waiting.
//!
//! "Figures for the month" means what the dashboards mean: the plan's latest month with
//! actual savings (the `plan_figures` view) is that month or later. Only plans with
//! workstreams, of years open for editing, of ICBs not closed, are reminded.
//!
//! Today's date comes from the state's clock, so tests can run the schedule on any day. Each
//! step runs in a transaction scoped as a request would be (`medopt_app`, with row-level
//! security): reminders with national read scope, a region's digest with that region's scope,
//! so a digest cannot list another region's plans.

use chrono::{Datelike, Days, NaiveDate, NaiveTime};

use super::message::{Digest, Message, PlanRef, Reminder, WaitingPlan};
use super::outbox::{self, Audience, Outgoing};
use crate::AppState;
use crate::auth::scope::{self, Scope};
use crate::domain::{FinancialYear, Month};

/// Days before the due date that the "figures due" reminder goes out.
pub const REMINDER_DAYS: i64 = 7;

/// The last day to report `month`'s figures: the end of the following month.
pub fn due_on(month: Month) -> NaiveDate {
    month
        .next()
        .next()
        .first_day()
        .pred_opt()
        .unwrap_or(month.first_day())
}

/// The reminders due `today`: `(kind is overdue, month)`. The latest overdue month always; the
/// month due at the end of this month when that is at most [`REMINDER_DAYS`] away.
pub fn reminders_due(today: NaiveDate) -> Vec<(bool, Month)> {
    let due_this_month = Month::containing(today).previous();
    let mut reminders = vec![(true, due_this_month.previous())];
    if (due_on(due_this_month) - today).num_days() <= REMINDER_DAYS {
        reminders.push((false, due_this_month));
    }
    reminders
}

/// `2024-W45`: the ISO week of `date`.
pub fn iso_week(date: NaiveDate) -> String {
    let week = date.iso_week();
    format!("{}-W{:02}", week.year(), week.week())
}

/// Writes the reminders and digests due today; returns how many messages were written.
pub async fn run(state: &AppState) -> anyhow::Result<u64> {
    let today = state.clock().today();
    let mut written = 0;
    for (overdue, month) in reminders_due(today) {
        written += reminders(state, today, overdue, month).await?;
    }
    written += digests(state, today).await?;
    Ok(written)
}

/// One reminder for `month` to the editors of each ICB that has not reported it.
async fn reminders(
    state: &AppState,
    today: NaiveDate,
    overdue: bool,
    month: Month,
) -> anyhow::Result<u64> {
    let year = month.financial_year();
    let mut tx = scope::begin(state, &Scope::National).await?;
    let plans = sqlx::query!(
        r#"
        select i.icb_id, i.ods_code, i.name, i.region_id, f.latest_month
        from plan p
        join icb i on i.icb_id = p.icb_id
        join programme_year y on y.programme_year_id = p.programme_year_id
        -- the plan's live workstreams, and its latest month with an actual
        cross join lateral (
            select count(*) as workstreams, max(m.month) filter (where m.actual_pence is not null) as latest_month
            from workstream w left join workstream_month m on m.workstream_id = w.workstream_id
            where w.plan_id = p.plan_id and w.removed_at is null
        ) f
        where y.starts_on = $1 and y.open_for_editing
          and i.valid_from <= $2 and (i.valid_to is null or i.valid_to >= $2)
          and f.workstreams > 0
          and (f.latest_month is null or f.latest_month < $3)
        order by i.ods_code
        "#,
        year.starts_on(),
        today,
        month.first_day()
    )
    .fetch_all(&mut *tx)
    .await?;
    let kind = if overdue {
        "figures_overdue"
    } else {
        "figures_due"
    };
    let mut written = 0;
    for plan in plans {
        let reminder = Reminder {
            plan: plan_ref(plan.name, plan.ods_code.clone(), year),
            month_label: month.label(),
            due_on: due_on(month),
            latest_month: plan.latest_month.map(|m| Month::containing(m).label()),
        };
        let message = if overdue {
            Message::FiguresOverdue(reminder)
        } else {
            Message::FiguresDue(reminder)
        };
        written += outbox::enqueue(
            &mut tx,
            Outgoing {
                message: &message,
                audience: Audience::IcbEditors {
                    icb_id: plan.icb_id,
                },
                icb_id: Some(plan.icb_id),
                region_id: plan.region_id,
                dedupe_key: Some(format!("{kind}/{}/{}", plan.ods_code, month.key())),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(written)
}

/// This week's digest for the reviewers of each region with plans waiting since before the
/// week began.
async fn digests(state: &AppState, today: NaiveDate) -> anyhow::Result<u64> {
    let week_began = today
        .checked_sub_days(Days::new(u64::from(today.weekday().num_days_from_monday())))
        .unwrap_or(today)
        .and_time(NaiveTime::MIN)
        .and_utc();
    let regions = sqlx::query!(
        r#"
        select r.region_id, r.ods_code, r.name from region r
        where exists (select 1 from app_user u
                      where u.role = 'region_reviewer' and u.region_id = r.region_id and u.active)
        order by r.ods_code
        "#
    )
    .fetch_all(state.db())
    .await?;
    let mut written = 0;
    for region in regions {
        let mut tx = scope::begin(
            state,
            &Scope::Region {
                region_id: region.region_id,
            },
        )
        .await?;
        let waiting = sqlx::query!(
            r#"
            select i.ods_code, i.name, y.starts_on, p.submitted_at
            from plan p
            join icb i on i.icb_id = p.icb_id
            join programme_year y on y.programme_year_id = p.programme_year_id
            where p.status = 'submitted' and i.region_id = $1
            order by p.submitted_at nulls first, i.name, y.starts_on
            "#,
            region.region_id
        )
        .fetch_all(&mut *tx)
        .await?;
        let waited_all_week = waiting
            .iter()
            .any(|w| w.submitted_at.is_none_or(|at| at < week_began));
        if !waited_all_week {
            continue;
        }
        let digest = Digest {
            region_name: region.name,
            region_code: region.ods_code.clone(),
            plans: waiting
                .into_iter()
                .filter_map(|w| {
                    let year = FinancialYear::from_start_date(w.starts_on)?;
                    let submitted_on = w.submitted_at.map(|at| at.date_naive());
                    Some(WaitingPlan {
                        plan: plan_ref(w.name, w.ods_code, year),
                        submitted_on,
                        days_waiting: submitted_on.map(|on| (today - on).num_days().max(0)),
                    })
                })
                .collect(),
        };
        written += outbox::enqueue(
            &mut tx,
            Outgoing {
                message: &Message::ReviewDigest(digest),
                audience: Audience::RegionReviewers {
                    region_id: region.region_id,
                },
                icb_id: None,
                region_id: region.region_id,
                dedupe_key: Some(format!(
                    "review_digest/{}/{}",
                    region.ods_code,
                    iso_week(today)
                )),
            },
        )
        .await?;
        tx.commit().await?;
    }
    Ok(written)
}

fn plan_ref(icb_name: String, ods_code: String, year: FinancialYear) -> PlanRef {
    PlanRef {
        icb_name,
        ods_code,
        year_label: year.to_string(),
        year_slug: year.slug(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
    }

    fn month(key: &str) -> Month {
        Month::parse_key(key).expect("a month")
    }

    #[test]
    fn a_month_is_due_by_the_end_of_the_next() {
        assert_eq!(due_on(month("2024-06")), date("2024-07-31"));
        assert_eq!(due_on(month("2024-12")), date("2025-01-31"));
        assert_eq!(due_on(month("2024-01")), date("2024-02-29"));
    }

    #[test]
    fn the_due_reminder_starts_seven_days_before_the_end_of_the_month() {
        // June's figures are due by 31 July; May's were due by 30 June.
        assert_eq!(
            reminders_due(date("2024-07-23")),
            [(true, month("2024-05"))]
        );
        assert_eq!(
            reminders_due(date("2024-07-24")),
            [(true, month("2024-05")), (false, month("2024-06"))]
        );
        assert_eq!(
            reminders_due(date("2024-07-31")),
            [(true, month("2024-05")), (false, month("2024-06"))]
        );
        // On 1 August June is overdue.
        assert_eq!(
            reminders_due(date("2024-08-01")),
            [(true, month("2024-06"))]
        );
    }

    #[test]
    fn weeks_are_iso_weeks() {
        assert_eq!(iso_week(date("2024-11-04")), "2024-W45");
        assert_eq!(iso_week(date("2024-12-30")), "2025-W01");
    }
}
