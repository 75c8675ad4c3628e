//! Every change of a plan's status, in one place: submit, agree, return and the reopening of
//! an agreed plan whose content changed. Each is one conditional statement (`where version =
//! … and status = …`) run while the plan's row is locked, and each writes its audit event in
//! the same transaction, so a status never changes unaudited and two requests can never both
//! apply. Submitting and deciding also write their e-mails to the outbox in that transaction
//! ([`crate::notifications::events`]).

use serde_json::json;
use sqlx::PgConnection;

use super::context::IcbYear;
use super::review::history::{self, Step};
use crate::audit::{self, Actor, AuditEvent};
use crate::auth::scope::{IcbEditor, IcbReviewer};
use crate::error::AppResult;
use crate::forms::Version;
use crate::icbs::PlanStatus;
use crate::notifications;

/// A reviewer's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Agree,
    Return,
}

impl Decision {
    /// From the form's `decision` field.
    pub fn from_key(key: &str) -> Option<Self> {
        match key {
            "agree" => Some(Decision::Agree),
            "return" => Some(Decision::Return),
            _ => None,
        }
    }

    /// The status it leads to.
    pub fn status(self) -> PlanStatus {
        match self {
            Decision::Agree => PlanStatus::Agreed,
            Decision::Return => PlanStatus::Returned,
        }
    }

    fn action(self) -> &'static str {
        match self {
            Decision::Agree => "plan.agreed",
            Decision::Return => "plan.returned",
        }
    }
}

/// `QE1/2024-25`: how a plan is named in the audit log.
fn plan_object(ctx: &IcbYear) -> String {
    format!("{}/{}", ctx.icb.ods_code(), ctx.year.year.slug())
}

fn status_event(
    action: &'static str,
    ctx: &IcbYear,
    from: PlanStatus,
    to: PlanStatus,
) -> AuditEvent {
    AuditEvent::new(action)
        .object("plan", plan_object(ctx))
        .organisation(Some(ctx.icb.ods_code()))
        .details(json!({ "before": { "status": from.label() }, "after": { "status": to.label() } }))
}

/// Submits the plan with the ICB's `cover_note` if it is still at `version` and a draft or
/// returned. Returns whether it did (no: someone changed it since the form was opened).
pub async fn submit(
    conn: &mut PgConnection,
    editor: &IcbEditor,
    actor: &Actor,
    ctx: &IcbYear,
    version: Version,
    national_opportunities: i64,
    cover_note: &str,
) -> AppResult<bool> {
    let Some(plan) = &ctx.plan else {
        return Ok(false);
    };
    let before = sqlx::query_scalar!(
        r#"
        update plan p set status = 'submitted', submitted_at = now(), version = p.version + 1,
               updated_at = now(), cover_note = $4
        from plan old
        where p.plan_id = $1 and p.icb_id = $2 and p.version = $3
          and p.status in ('draft', 'returned') and old.plan_id = p.plan_id
        returning old.status as "status: PlanStatus"
        "#,
        plan.plan_id,
        editor.icb_id(),
        version.0,
        cover_note
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(before) = before else {
        return Ok(false);
    };
    let mut event = status_event("plan.submitted", ctx, before, PlanStatus::Submitted);
    event.details["national_opportunities"] = json!(national_opportunities);
    audit::record(&mut *conn, actor, event).await?;
    let step = Step::Submitted(editor, cover_note);
    notifications::events::plan_submitted(&mut *conn, ctx).await?;
    history::record(conn, plan.plan_id, actor, step).await?;
    Ok(true)
}

/// Records a reviewer's decision on a submitted plan still at `version`. Returns whether it
/// did.
pub async fn decide(
    conn: &mut PgConnection,
    reviewer: &IcbReviewer,
    actor: &Actor,
    ctx: &IcbYear,
    version: Version,
    decision: Decision,
    comment: Option<&str>,
) -> AppResult<bool> {
    let Some(plan) = &ctx.plan else {
        return Ok(false);
    };
    let before = sqlx::query!(
        r#"
        update plan p set status = $4, review_comment = $5, reviewed_at = now(), reviewed_by = $6,
               version = p.version + 1, updated_at = now()
        from plan old
        where p.plan_id = $1 and p.icb_id = $2 and p.version = $3 and p.status = 'submitted'
          and old.plan_id = p.plan_id
        returning old.review_comment
        "#,
        plan.plan_id,
        reviewer.icb_id(),
        version.0,
        decision.status() as PlanStatus,
        comment,
        actor.user_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(before) = before else {
        return Ok(false);
    };
    let event = AuditEvent::new(decision.action())
        .object("plan", plan_object(ctx))
        .organisation(Some(ctx.icb.ods_code()))
        .details(json!({
            "before": { "status": PlanStatus::Submitted.label(), "comment": before.review_comment },
            "after": { "status": decision.status().label(), "comment": comment },
        }));
    audit::record(&mut *conn, actor, event).await?;
    let note = comment.unwrap_or_default();
    let step = match decision {
        Decision::Agree => Step::Agreed(reviewer, note),
        Decision::Return => Step::Returned(reviewer, note),
    };
    notifications::events::plan_decided(&mut *conn, ctx, decision == Decision::Agree, comment)
        .await?;
    history::record(conn, plan.plan_id, actor, step).await?;
    Ok(true)
}

/// The plan's content changed: an agreed plan goes back to draft (audited as
/// `plan.reopened`), and with `bump_version` the plan's version moves on even if it was not
/// agreed (workstreams were added or removed, so a choices or review form opened before is
/// stale). Returns whether the plan was reopened.
pub async fn content_changed(
    conn: &mut PgConnection,
    editor: &IcbEditor,
    actor: &Actor,
    ctx: &IcbYear,
    bump_version: bool,
) -> AppResult<bool> {
    let Some(plan) = &ctx.plan else {
        return Ok(false);
    };
    let reopened = sqlx::query_scalar!(
        r#"
        update plan p set version = p.version + 1, updated_at = now(),
               status = case when p.status = 'agreed' then 'draft'::plan_status else p.status end
        from plan old
        where p.plan_id = $1 and p.icb_id = $2 and old.plan_id = p.plan_id
          and (p.status = 'agreed' or $3)
        returning old.status = 'agreed' as "reopened!"
        "#,
        plan.plan_id,
        editor.icb_id(),
        bump_version
    )
    .fetch_optional(&mut *conn)
    .await?
    .unwrap_or(false);
    if reopened {
        let mut event = status_event("plan.reopened", ctx, PlanStatus::Agreed, PlanStatus::Draft);
        event.details["reason"] = json!("the agreed plan's content was changed");
        audit::record(&mut *conn, actor, event).await?;
        history::record(conn, plan.plan_id, actor, Step::Reopened(editor)).await?;
    }
    Ok(reopened)
}
