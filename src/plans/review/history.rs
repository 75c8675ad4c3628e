//! The plan's review history (`plan_review_event`): every submission, decision and reopening,
//! dated, with the cover note or the reviewer's comments and the plan's content at that
//! moment. [`super::super::workflow`] records a step in the transaction of the status change
//! itself; the review page reads them back.
//!
//! Writing takes the proof of the side whose step it is ([`IcbEditor`] for a submission or a
//! reopening, [`IcbReviewer`] for a decision), and row-level security checks the same.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::snapshot::PlanSnapshot;
use crate::audit::Actor;
use crate::auth::scope::{IcbAccess, IcbEditor, IcbReviewer};

/// What happened to the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "plan_review_action", rename_all = "snake_case")]
pub enum ReviewAction {
    Submitted,
    Agreed,
    Returned,
    Reopened,
}

impl ReviewAction {
    /// In words, for the history.
    pub fn label(self) -> &'static str {
        match self {
            ReviewAction::Submitted => "Submitted for review",
            ReviewAction::Agreed => "Agreed",
            ReviewAction::Returned => "Returned with comments",
            ReviewAction::Reopened => "Back to draft after a change to the agreed plan",
        }
    }

    /// What its note is.
    pub fn note_label(self) -> &'static str {
        match self {
            ReviewAction::Submitted => "Cover note",
            ReviewAction::Agreed | ReviewAction::Returned => "Comments",
            ReviewAction::Reopened => "Note",
        }
    }

    /// NHS.UK tag colour, as the plan's status shows it.
    pub fn tag_class(self) -> &'static str {
        match self {
            ReviewAction::Submitted => "nhsuk-tag--blue",
            ReviewAction::Agreed => "nhsuk-tag--green",
            ReviewAction::Returned => "nhsuk-tag--orange",
            ReviewAction::Reopened => "nhsuk-tag--grey",
        }
    }
}

/// A step to record, with the proof of who may take it.
pub enum Step<'a> {
    /// An ICB editor submitted the plan with this cover note.
    Submitted(&'a IcbEditor, &'a str),
    /// An ICB editor's change put the agreed plan back to draft.
    Reopened(&'a IcbEditor),
    /// A reviewer agreed the plan, with these comments (maybe empty).
    Agreed(&'a IcbReviewer, &'a str),
    /// A reviewer returned the plan with these comments.
    Returned(&'a IcbReviewer, &'a str),
}

/// Records `step` of plan `plan_id`, with the plan's content as it is now.
pub async fn record(
    conn: &mut PgConnection,
    plan_id: i32,
    actor: &Actor,
    step: Step<'_>,
) -> sqlx::Result<()> {
    let (icb_id, action, note) = match step {
        Step::Submitted(editor, note) => (editor.icb_id(), ReviewAction::Submitted, note),
        Step::Reopened(editor) => (editor.icb_id(), ReviewAction::Reopened, ""),
        Step::Agreed(reviewer, note) => (reviewer.icb_id(), ReviewAction::Agreed, note),
        Step::Returned(reviewer, note) => (reviewer.icb_id(), ReviewAction::Returned, note),
    };
    sqlx::query!(
        r#"
        insert into plan_review_event (plan_id, icb_id, action, note, plan_snapshot, actor_user_id,
                                       actor_name)
        values ($1, $2, $3, $4, medopt_plan_snapshot($1), $5,
                coalesce((select name from app_user where user_id = $5), 'Unknown'))
        "#,
        plan_id,
        icb_id,
        action as ReviewAction,
        note,
        actor.user_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// One step of the history.
#[derive(Debug, Clone)]
pub struct ReviewEvent {
    pub action: ReviewAction,
    pub note: String,
    pub actor_name: String,
    pub occurred_at: DateTime<Utc>,
}

/// The plan's review history, oldest first.
pub async fn list(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    plan_id: i32,
) -> sqlx::Result<Vec<ReviewEvent>> {
    sqlx::query_as!(
        ReviewEvent,
        r#"
        select action as "action: ReviewAction", note, actor_name, occurred_at
        from plan_review_event where icb_id = $1 and plan_id = $2
        order by occurred_at, plan_review_event_id
        "#,
        icb.icb_id(),
        plan_id
    )
    .fetch_all(conn)
    .await
}

/// The plan's content as it was last agreed, with when: `None` if it has never been agreed
/// (or was agreed before snapshots were kept).
pub async fn last_agreed(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    plan_id: i32,
) -> sqlx::Result<Option<(DateTime<Utc>, PlanSnapshot)>> {
    let row = sqlx::query!(
        r#"
        select occurred_at, plan_snapshot as "snapshot!" from plan_review_event
        where icb_id = $1 and plan_id = $2 and action = 'agreed' and plan_snapshot is not null
        order by occurred_at desc, plan_review_event_id desc
        limit 1
        "#,
        icb.icb_id(),
        plan_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(|r| {
        let snapshot = decode(r.snapshot)?;
        Some((r.occurred_at, snapshot))
    }))
}

/// The plan's content now.
pub async fn current(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    plan_id: i32,
) -> sqlx::Result<PlanSnapshot> {
    // The ICB in the proof must own the plan, or there is nothing to show.
    let json = sqlx::query_scalar!(
        r#"
        select medopt_plan_snapshot(plan_id) as "snapshot!" from plan
        where icb_id = $1 and plan_id = $2
        "#,
        icb.icb_id(),
        plan_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(json.and_then(decode).unwrap_or_default())
}

/// A stored snapshot read back. One that does not read (it cannot happen while
/// `medopt_plan_snapshot` and [`PlanSnapshot`] agree) is logged, and the page says the plan
/// has no agreed content to compare with rather than failing.
fn decode(json: serde_json::Value) -> Option<PlanSnapshot> {
    serde_json::from_value(json)
        .inspect_err(|error| tracing::error!(%error, "a plan snapshot could not be read"))
        .ok()
}
