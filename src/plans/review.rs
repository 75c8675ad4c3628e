//! The plan's review: the ICB submits it (with at least five national opportunities), the
//! regional reviewer agrees it or returns it with comments. Both forms carry the plan's
//! version, so nobody agrees a plan that changed after they opened it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::plan_page::{self, Conflict, MIN_NATIONAL_OPPORTUNITIES, version_field};
use crate::AppState;
use crate::audit::{self, AuditEvent};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::forms::{FieldErrors, FormFields};
use crate::icbs::PlanStatus;

pub async fn submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((code, year)): Path<(String, String)>,
    form: FormFields,
) -> AppResult<Response> {
    let (mut tx, ctx) = plan_page::open(&state, &user, &code, &year).await?;
    ctx.icb.require_edit()?;
    let plan = ctx.require_plan()?.clone();
    let chosen = sqlx::query_scalar!(
        r#"select count(*) as "count!" from workstream
           where icb_id = $1 and plan_id = $2 and opportunity_id is not null and removed_at is null"#,
        ctx.icb.icb_id(),
        plan.plan_id
    )
    .fetch_one(&mut *tx)
    .await?;
    let mut errors = FieldErrors::default();
    if let Some(reason) = ctx.plan_locked() {
        errors.add("submit", reason);
    } else if !matches!(plan.status, PlanStatus::Draft | PlanStatus::Returned) {
        errors.add("submit", "Only a draft or returned plan can be submitted");
    } else if (chosen as usize) < MIN_NATIONAL_OPPORTUNITIES {
        errors.add(
            "submit",
            format!(
                "Choose at least {MIN_NATIONAL_OPPORTUNITIES} national opportunities before you submit the plan: you have chosen {chosen}"
            ),
        );
    }
    if version_field(&form) != plan.version && errors.is_empty() {
        let mut page = plan_page::build(&mut tx, &user, &ctx, None).await?;
        page.conflict = Some(Conflict {
            yours: vec!["Submit the plan as you last saw it".into()],
            saved: vec![
                "The plan has changed since you opened the page: check it, then submit again"
                    .into(),
            ],
        });
        return Ok((StatusCode::CONFLICT, page).into_response());
    }
    if !errors.is_empty() {
        let mut page = plan_page::build(&mut tx, &user, &ctx, None).await?;
        page.errors = errors;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    sqlx::query!(
        r#"
        update plan set status = 'submitted', submitted_at = now(), version = version + 1,
               updated_at = now()
        where plan_id = $1 and icb_id = $2
        "#,
        plan.plan_id,
        ctx.icb.icb_id()
    )
    .execute(&mut *tx)
    .await?;
    let event = AuditEvent::new("plan.submitted")
        .object("plan", format!("{}/{}", ctx.icb.ods_code(), ctx.year.year.slug()))
        .organisation(Some(ctx.icb.ods_code()))
        .details(json!({ "before": { "status": plan.status.label() }, "after": { "status": PlanStatus::Submitted.label() }, "national_opportunities": chosen }));
    audit::record(&mut tx, &user.actor(), event).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("{}/plan?notice=submitted", ctx.base_path())).into_response())
}

pub async fn review(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((code, year)): Path<(String, String)>,
    form: FormFields,
) -> AppResult<Response> {
    let (mut tx, ctx) = plan_page::open(&state, &user, &code, &year).await?;
    ctx.icb.require_review()?;
    let plan = ctx.require_plan()?.clone();
    let decision = form.get("decision");
    let comment = form.get("review_comment");
    let mut errors = FieldErrors::default();
    if plan.status != PlanStatus::Submitted {
        errors.add(
            "decision",
            "This plan is not waiting for review: the ICB has not submitted it",
        );
    }
    let outcome = match decision {
        "agree" => Some(PlanStatus::Agreed),
        "return" => Some(PlanStatus::Returned),
        _ => {
            errors.add("decision", "Choose whether to agree the plan or return it");
            None
        }
    };
    if outcome == Some(PlanStatus::Returned) && comment.is_empty() {
        errors.add(
            "review_comment",
            "Enter comments that tell the ICB what to change",
        );
    }
    if comment.chars().count() > 5000 {
        errors.add(
            "review_comment",
            "Comments must be 5,000 characters or fewer",
        );
    }
    if errors.is_empty() && version_field(&form) != plan.version {
        let mut page = plan_page::build(&mut tx, &user, &ctx, None).await?;
        page.conflict = Some(Conflict {
            yours: vec![format!("Your decision: {decision}")],
            saved: vec![
                "The ICB changed the plan after you opened it: check it, then decide again".into(),
            ],
        });
        page.review_decision = decision.to_owned();
        page.review_comment_value = comment.to_owned();
        return Ok((StatusCode::CONFLICT, page).into_response());
    }
    let Some(outcome) = outcome.filter(|_| errors.is_empty()) else {
        let mut page = plan_page::build(&mut tx, &user, &ctx, None).await?;
        page.errors = errors;
        page.review_decision = decision.to_owned();
        page.review_comment_value = comment.to_owned();
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let comment = (!comment.is_empty()).then_some(comment);
    sqlx::query!(
        r#"
        update plan set status = $3, review_comment = $4, reviewed_at = now(), reviewed_by = $5,
               version = version + 1, updated_at = now()
        where plan_id = $1 and icb_id = $2
        "#,
        plan.plan_id,
        ctx.icb.icb_id(),
        outcome as PlanStatus,
        comment,
        user.user_id
    )
    .execute(&mut *tx)
    .await?;
    let action = if outcome == PlanStatus::Agreed {
        "plan.agreed"
    } else {
        "plan.returned"
    };
    let event = AuditEvent::new(action)
        .object(
            "plan",
            format!("{}/{}", ctx.icb.ods_code(), ctx.year.year.slug()),
        )
        .organisation(Some(ctx.icb.ods_code()))
        .details(json!({
            "before": { "status": plan.status.label(), "comment": plan.review_comment },
            "after": { "status": outcome.label(), "comment": comment },
        }));
    audit::record(&mut tx, &user.actor(), event).await?;
    tx.commit().await?;
    let notice = if outcome == PlanStatus::Agreed {
        "agreed"
    } else {
        "returned"
    };
    Ok(Redirect::to(&format!("{}/plan?notice={notice}", ctx.base_path())).into_response())
}
