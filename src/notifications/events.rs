//! The messages a plan's status changes cause, written by [`crate::plans::workflow`] in the
//! transaction of the change itself: the plan's submission (to the region's reviewers) and
//! the reviewer's decision (to the ICB's editors, with the comment).

use sqlx::PgConnection;

use super::message::{Message, PlanEvent, PlanRef};
use super::outbox::{self, Audience, Outgoing};
use crate::plans::context::IcbYear;

fn plan_ref(ctx: &IcbYear) -> PlanRef {
    PlanRef {
        icb_name: ctx.icb.name().to_owned(),
        ods_code: ctx.icb.ods_code().to_owned(),
        year_label: ctx.year.year.to_string(),
        year_slug: ctx.year.year.slug(),
    }
}

/// The plan was submitted: tell the region's reviewers.
pub async fn plan_submitted(conn: &mut PgConnection, ctx: &IcbYear) -> sqlx::Result<u64> {
    let message = Message::PlanSubmitted(PlanEvent {
        plan: plan_ref(ctx),
        comment: None,
    });
    outbox::enqueue(
        conn,
        Outgoing {
            message: &message,
            audience: Audience::RegionReviewers {
                region_id: ctx.icb.region_id(),
            },
            icb_id: Some(ctx.icb.icb_id()),
            region_id: ctx.icb.region_id(),
            dedupe_key: None,
        },
    )
    .await
}

/// The reviewer agreed the plan (`agreed`) or returned it: tell the ICB's editors, with the
/// comment.
pub async fn plan_decided(
    conn: &mut PgConnection,
    ctx: &IcbYear,
    agreed: bool,
    comment: Option<&str>,
) -> sqlx::Result<u64> {
    let event = PlanEvent {
        plan: plan_ref(ctx),
        comment: comment.map(str::to_owned),
    };
    let message = if agreed {
        Message::PlanAgreed(event)
    } else {
        Message::PlanReturned(event)
    };
    outbox::enqueue(
        conn,
        Outgoing {
            message: &message,
            audience: Audience::IcbEditors {
                icb_id: ctx.icb.icb_id(),
            },
            icb_id: Some(ctx.icb.icb_id()),
            region_id: ctx.icb.region_id(),
            dedupe_key: None,
        },
    )
    .await
}
