//! The plan's review: the ICB submits it (when it passes the checks of [`super::checks`]: five
//! national opportunities, a target on every workstream, phasing that adds up; with a cover
//! note for the reviewer), the regional reviewer agrees it or returns it with comments
//! on the review page ([`page`]), which shows what they need to decide. Both forms carry the
//! plan's version and run with the plan's row locked; the status change itself is conditional
//! on that version ([`super::workflow`]), so of several requests made on one page exactly one
//! applies. Every step is kept in the plan's review history ([`history`]) with a snapshot of
//! the plan's content ([`snapshot`]), so the page can show what changed since it was agreed.

pub mod history;
mod page;
pub mod snapshot;

pub use page::show;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::checks::PlanChecks;
use super::context::IcbYear;
use super::plan_page::{self, Conflict, PlanPage};
use super::request::{PlanEdit, PlanReview};
use super::workflow::{self, Decision};
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form, Version};
use crate::icbs::PlanStatus;

/// The submit form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SubmitForm {
    version: Version,
    /// What the ICB wants the reviewer to know (optional).
    cover_note: String,
}

/// The longest cover note or review comment, in characters.
const MAX_NOTE: usize = 5000;

/// The review form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReviewForm {
    version: Version,
    decision: String,
    review_comment: String,
}

pub async fn submit(
    PlanEdit {
        mut tx,
        ctx,
        user,
        editor,
    }: PlanEdit,
    Form(form): Form<SubmitForm>,
) -> AppResult<Response> {
    let plan = ctx.require_plan()?.clone();
    let checks = PlanChecks::load(&mut tx, &ctx.icb, plan.plan_id).await?;
    let chosen = checks.national_chosen;
    // A page opened before someone else's change is answered as stale before anything else.
    let stale = form.version.0 != plan.version;
    let cover_note = form.cover_note.trim();
    let mut errors = FieldErrors::default();
    if let Some(problem) = submit_problem(&ctx, &checks).filter(|_| !stale) {
        errors.add("submit", problem);
    }
    check_note(&mut errors, "cover_note", "The cover note", cover_note);
    if stale || !errors.is_empty() {
        return refuse_submit(&mut tx, &user, &ctx, errors, stale, cover_note).await;
    }
    let (actor, version) = (user.actor(), form.version);
    if !workflow::submit(&mut tx, &editor, &actor, &ctx, version, chosen, cover_note).await? {
        return refuse_submit(&mut tx, &user, &ctx, errors, true, cover_note).await;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("{}/plan?notice=submitted", ctx.base_path())).into_response())
}

pub async fn review(
    PlanReview {
        mut tx,
        ctx,
        user,
        reviewer,
    }: PlanReview,
    Form(form): Form<ReviewForm>,
) -> AppResult<Response> {
    let plan = ctx.require_plan()?.clone();
    let comment = form.review_comment.trim();
    let decision = Decision::from_key(form.decision.trim());
    let stale = form.version.0 != plan.version;
    let errors = review_problems(&form, !stale && plan.status != PlanStatus::Submitted);
    let applied = match decision.filter(|_| errors.is_empty() && !stale) {
        Some(decision) => {
            let comment = (!comment.is_empty()).then_some(comment);
            workflow::decide(
                &mut tx,
                &reviewer,
                &user.actor(),
                &ctx,
                form.version,
                decision,
                comment,
            )
            .await?
        }
        None => false,
    };
    if !applied {
        let mut page = page::build(&mut tx, &user, &ctx).await?;
        page.review_decision = form.decision.trim().to_owned();
        page.review_comment_value = comment.to_owned();
        let stale = stale || errors.is_empty();
        let yours = format!("Your decision: {}", form.decision.trim());
        let (status, conflict, errors) = refusal(errors, stale, &yours);
        page.conflict = conflict;
        page.errors = errors;
        return Ok((status, page).into_response());
    }
    tx.commit().await?;
    let notice = if decision == Some(Decision::Agree) {
        "agreed"
    } else {
        "returned"
    };
    Ok(Redirect::to(&format!("{}/review?notice={notice}", ctx.base_path())).into_response())
}

/// Refuses a submission: the plan page with the messages (or, `stale`, what changed) and the
/// cover note as typed.
async fn refuse_submit(
    conn: &mut sqlx::PgConnection,
    user: &crate::auth::CurrentUser,
    ctx: &IcbYear,
    errors: FieldErrors,
    stale: bool,
    cover_note: &str,
) -> AppResult<Response> {
    let mut page = plan_page::build(conn, user, ctx, None).await?;
    page.cover_note_value = cover_note.to_owned();
    let status = page_with(
        &mut page,
        errors,
        stale,
        "Submit the plan as you last saw it",
    );
    Ok(refused(status, page))
}

/// Checks a note people write (a cover note, review comments): at most [`MAX_NOTE`]
/// characters and no control characters, with messages by `field`.
fn check_note(errors: &mut FieldErrors, field: &str, what: &str, note: &str) {
    if note.chars().count() > MAX_NOTE {
        errors.add(field, format!("{what} must be 5,000 characters or fewer"));
    }
    errors.check_multiline_text(field, what, note);
}

/// What is wrong with a review form (`not_waiting`: the plan is not submitted).
fn review_problems(form: &ReviewForm, not_waiting: bool) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let comment = form.review_comment.trim();
    let decision = Decision::from_key(form.decision.trim());
    if not_waiting {
        errors.add(
            "decision",
            "This plan is not waiting for review: the ICB has not submitted it",
        );
    }
    if decision.is_none() {
        errors.add("decision", "Choose whether to agree the plan or return it");
    }
    if decision == Some(Decision::Return) && comment.is_empty() {
        errors.add(
            "review_comment",
            "Enter comments that tell the ICB what to change",
        );
    }
    check_note(&mut errors, "review_comment", "Comments", comment);
    errors
}

/// Why the plan cannot be submitted, if it cannot.
fn submit_problem(ctx: &IcbYear, checks: &PlanChecks) -> Option<String> {
    if let Some(reason) = ctx.plan_locked() {
        return Some(reason);
    }
    if !matches!(
        ctx.plan.as_ref().map(|p| p.status),
        Some(PlanStatus::Draft | PlanStatus::Returned)
    ) {
        return Some("Only a draft or returned plan can be submitted".into());
    }
    checks.problem()
}

/// A refusal: for a stale form what changed (409), otherwise the messages (422).
fn refusal(
    errors: FieldErrors,
    stale: bool,
    yours: &str,
) -> (StatusCode, Option<Conflict>, FieldErrors) {
    if stale {
        let conflict = Conflict {
            yours: vec![yours.to_owned()],
            saved: vec![
                "The plan has changed since you opened the page: check it, then try again".into(),
            ],
        };
        (StatusCode::CONFLICT, Some(conflict), FieldErrors::default())
    } else {
        (StatusCode::UNPROCESSABLE_ENTITY, None, errors)
    }
}

/// Puts the refusal on the plan page. Returns the status to answer with.
fn page_with(page: &mut PlanPage, errors: FieldErrors, stale: bool, yours: &str) -> StatusCode {
    let (status, conflict, errors) = refusal(errors, stale, yours);
    page.conflict = conflict;
    page.errors = errors;
    status
}

fn refused(status: StatusCode, page: PlanPage) -> Response {
    (status, page).into_response()
}
