//! Choosing the plan's national opportunities (`POST …/plan/opportunities`). Each chosen
//! opportunity is a workstream; un-choosing one removes it (soft delete: its figures and history
//! are kept, and choosing it again brings everything back). A workstream with recorded progress
//! is only removed after a confirmation page.

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::context::{IcbYear, PlanHeader};
use super::plan_page::{self, Conflict};
use super::request::PlanEdit;
use super::workflow;
use super::workstreams::{self, Workstream};
use crate::audit::{self, AuditEvent};
use crate::auth::CurrentUser;
use crate::auth::scope::{IcbAccess, IcbEditor};
use crate::error::AppResult;
use crate::forms::{Form, Version};
use crate::page::Layout;

/// The choices form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ChoicesForm {
    version: Version,
    /// Opportunity ids, one per ticked box.
    opportunity: Vec<String>,
    /// `yes` once the user confirmed removing workstreams with recorded progress.
    confirm_remove: String,
}

/// Confirmation before removing workstreams with recorded progress.
#[derive(Template, WebTemplate)]
#[template(path = "plans/confirm_unchoose.html")]
pub struct ConfirmUnchoosePage {
    pub layout: Layout,
    pub header: PlanHeader,
    pub removing: Vec<Workstream>,
    pub chosen: Vec<i32>,
    pub version: i32,
}

/// The year's catalogue: id → `4. Title`, for checking choices and for messages.
struct Catalogue(BTreeMap<i32, String>);

impl Catalogue {
    async fn load(conn: &mut PgConnection, programme_year_id: i16) -> sqlx::Result<Self> {
        let rows = sqlx::query!(
            r#"select opportunity_id, number || '. ' || title as "title!"
               from opportunity where programme_year_id = $1"#,
            programme_year_id
        )
        .fetch_all(conn)
        .await?;
        Ok(Self(
            rows.into_iter()
                .map(|o| (o.opportunity_id, o.title))
                .collect(),
        ))
    }

    /// The ticked ids, if every one is an opportunity of the catalogue.
    fn read(&self, ticked: &[String]) -> Option<BTreeSet<i32>> {
        ticked
            .iter()
            .map(|v| v.trim().parse().ok().filter(|id| self.0.contains_key(id)))
            .collect()
    }

    fn titles(&self, ids: &BTreeSet<i32>) -> Vec<String> {
        ids.iter()
            .filter_map(|id| self.0.get(id).cloned())
            .collect()
    }
}

pub async fn choose_opportunities(
    PlanEdit {
        mut tx,
        ctx,
        user,
        editor,
    }: PlanEdit,
    Form(form): Form<ChoicesForm>,
) -> AppResult<Response> {
    let plan = ctx.require_plan()?.clone();
    let catalogue = Catalogue::load(&mut tx, ctx.year.programme_year_id).await?;
    let wanted = catalogue.read(&form.opportunity);
    let current = workstreams::list(&mut tx, &ctx.icb, plan.plan_id).await?;
    let saved: BTreeSet<i32> = current.iter().filter_map(|w| w.opportunity_id).collect();
    if form.version.0 != plan.version {
        let mut page = plan_page::build(&mut tx, &user, &ctx, None).await?;
        let yours = catalogue.titles(wanted.as_ref().unwrap_or(&BTreeSet::new()));
        page.conflict = Some(Conflict {
            yours,
            saved: catalogue.titles(&saved),
        });
        return Ok((StatusCode::CONFLICT, page).into_response());
    }
    let problem = ctx.plan_locked().or_else(|| {
        wanted
            .is_none()
            .then(|| format!("Choose opportunities from the {} catalogue", ctx.year.year))
    });
    let wanted = wanted.unwrap_or_default();
    if let Some(problem) = problem {
        let mut page = plan_page::build(&mut tx, &user, &ctx, Some(&wanted)).await?;
        page.errors.add("opportunities", problem);
        if let Some(first) = page.groups.first().and_then(|g| g.options.first()) {
            page.errors
                .link_to("opportunities", format!("opportunity-{}", first.number));
        }
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    if wanted == saved {
        return Ok(Redirect::to(&format!("{}/plan", ctx.base_path())).into_response());
    }
    let removing: Vec<Workstream> = current
        .into_iter()
        .filter(|w| w.opportunity_id.is_some_and(|o| !wanted.contains(&o)))
        .collect();
    let with_progress = with_progress(&mut tx, &ctx.icb, &removing).await?;
    if form.confirm_remove != "yes" && !with_progress.is_empty() {
        return Ok(ConfirmUnchoosePage {
            layout: user.layout(),
            header: ctx.header("/plan"),
            removing: with_progress,
            chosen: wanted.iter().copied().collect(),
            version: plan.version,
        }
        .into_response());
    }
    let change = Change {
        saved: &saved,
        wanted: &wanted,
        removing: &removing,
    };
    let reopened = apply(&mut tx, &editor, &user, &ctx, &catalogue, change).await?;
    tx.commit().await?;
    let notice = if reopened { "reopened" } else { "saved" };
    Ok(Redirect::to(&format!("{}/plan?notice={notice}", ctx.base_path())).into_response())
}

/// A change of choices: what was saved, what is wanted, the workstreams that go.
struct Change<'a> {
    saved: &'a BTreeSet<i32>,
    wanted: &'a BTreeSet<i32>,
    removing: &'a [Workstream],
}

/// Applies a change of choices, audited; returns whether an agreed plan went back to draft.
async fn apply(
    conn: &mut PgConnection,
    editor: &IcbEditor,
    user: &CurrentUser,
    ctx: &IcbYear,
    catalogue: &Catalogue,
    change: Change<'_>,
) -> AppResult<bool> {
    let plan_id = ctx.require_plan()?.plan_id;
    let adding: Vec<i32> = change.wanted.difference(change.saved).copied().collect();
    workstreams::choose(conn, editor, plan_id, &adding, change.removing).await?;
    let reopened = workflow::content_changed(conn, editor, &user.actor(), ctx, true).await?;
    let event = AuditEvent::new("plan.opportunities_changed")
        .object(
            "plan",
            format!("{}/{}", ctx.icb.ods_code(), ctx.year.year.slug()),
        )
        .organisation(Some(ctx.icb.ods_code()))
        .details(json!({
            "before": catalogue.titles(change.saved),
            "after": catalogue.titles(change.wanted),
            "reopened": reopened,
        }));
    audit::record(conn, &user.actor(), event).await?;
    Ok(reopened)
}

/// The workstreams of `removing` that have recorded progress, which removing would hide.
async fn with_progress(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    removing: &[Workstream],
) -> sqlx::Result<Vec<Workstream>> {
    let mut found = Vec::new();
    for w in removing {
        if workstreams::has_recorded_progress(conn, icb, w.workstream_id).await? {
            found.push(w.clone());
        }
    }
    Ok(found)
}
