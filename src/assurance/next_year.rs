//! `/icbs/{icb}/{year}/next-year`: "Start 2027/28 from 2026/27". The page previews what would
//! be copied into next year's plan, and nothing is copied until the editor confirms it:
//!
//! - each chosen national opportunity (matched in next year's catalogue by its slug; one
//!   next year no longer has becomes a local priority) and each local priority, with its lead,
//!   summary, objectives and classification;
//! - a recurrent workstream's full-year effect, as the part of next year's saving already
//!   secured (`carried_forward`), which is also its first target, phased evenly; a
//!   non-recurrent one starts with no target;
//! - its outcome measures, each with its latest value as the new baseline.
//!
//! Next year's programme year must exist and be open, the ICB must exist in it, and its plan
//! (if started) must not be with the reviewer; the page says which, when one is not so. The
//! confirm form carries both plans' versions: a change to either after the preview is refused
//! (409) with the preview as it is now. Both plans are locked (this year's first), so two
//! confirmations cannot both copy.

mod copy;
mod preview;

use std::collections::BTreeSet;

use askama::Template;
use askama_web::WebTemplate;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sqlx::PgConnection;

pub use preview::{Fate, Item, MeasureCarry};

use crate::auth::CurrentUser;
use crate::domain::Pence;
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form};
use crate::icbs::PlanStatus;
use crate::page::Layout;
use crate::plans::context::{IcbYear, PlanHeader};
use crate::plans::request::{PlanEdit, PlanView};
use preview::Next;

/// `/icbs/{icb}/{year}/next-year`
#[derive(Template, WebTemplate)]
#[template(path = "assurance/next_year.html")]
pub struct NextYearPage {
    pub layout: Layout,
    pub header: PlanHeader,
    pub from_label: String,
    pub to_label: String,
    /// Why nothing can be copied now.
    pub blocked: Option<String>,
    pub items: Vec<Item>,
    pub source_version: i32,
    /// The next plan's version, or `none` when it has not been started.
    pub target_version: String,
    pub target_exists: bool,
    pub target_reopens: bool,
    pub errors: FieldErrors,
    pub conflict: bool,
}

impl NextYearPage {
    /// The secured saving of the ticked items.
    pub fn carried_total(&self) -> Pence {
        self.items
            .iter()
            .filter(|i| i.fate.copyable())
            .map(|i| i.carried)
            .sum()
    }

    /// Whether anything can be copied.
    pub fn any_copyable(&self) -> bool {
        self.items.iter().any(|i| i.fate.copyable())
    }
}

/// The confirm form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CarryForm {
    source_version: String,
    target_version: String,
    workstream: Vec<String>,
}

impl CarryForm {
    /// The workstream ids ticked.
    fn ticked(&self) -> BTreeSet<i32> {
        self.workstream
            .iter()
            .filter_map(|id| id.trim().parse().ok())
            .collect()
    }

    /// Whether both plans are at the versions the preview showed.
    fn matches(&self, page: &NextYearPage) -> bool {
        self.source_version.trim() == page.source_version.to_string()
            && self.target_version.trim() == page.target_version
    }
}

impl NextYearPage {
    /// Ticks the copyable items among `ids`, and no others.
    fn tick(&mut self, ids: &BTreeSet<i32>) {
        for item in &mut self.items {
            item.ticked = item.fate.copyable() && ids.contains(&item.workstream_id);
        }
    }

    /// The preview shown again because a plan changed: everything copyable ticked, as on a
    /// fresh preview.
    fn show_conflict(&mut self) {
        for item in &mut self.items {
            item.ticked = item.fate.copyable();
        }
        self.conflict = true;
    }

    /// The message for a confirmation with nothing ticked, linked to the first checkbox.
    fn nothing_ticked(&mut self) {
        self.errors.add(
            "workstreams",
            format!(
                "Choose at least one workstream to copy into {}",
                self.to_label
            ),
        );
        if let Some(first) = self.items.iter().find(|i| i.fate.copyable()) {
            self.errors
                .link_to("workstreams", format!("workstream-{}", first.workstream_id));
        }
    }
}

/// Builds the page: the preview of what would be copied, or why nothing can be.
async fn page(
    conn: &mut PgConnection,
    user: &CurrentUser,
    ctx: &IcbYear,
    for_write: bool,
) -> AppResult<(NextYearPage, Option<Box<IcbYear>>)> {
    let (next, loaded) = preview::next_year(conn, ctx, for_write).await?;
    let (blocked, next_ctx) = match loaded {
        Next::Ready(n) => (None, Some(n)),
        Next::Blocked(reason) => (Some(reason), None),
    };
    let items = preview::items(conn, ctx, next_ctx.as_deref()).await?;
    let target_plan = next_ctx.as_ref().and_then(|n| n.plan.as_ref());
    let page = NextYearPage {
        layout: user.layout(),
        header: ctx.header("/next-year"),
        from_label: ctx.year.year.to_string(),
        to_label: next.to_string(),
        blocked,
        items,
        source_version: ctx.plan.as_ref().map_or(0, |p| p.version),
        target_version: target_plan.map_or_else(|| "none".to_owned(), |p| p.version.to_string()),
        target_exists: target_plan.is_some(),
        target_reopens: target_plan.is_some_and(|p| p.status == PlanStatus::Agreed),
        errors: FieldErrors::default(),
        conflict: false,
    };
    Ok((page, next_ctx))
}

pub async fn show(PlanView { mut tx, ctx, user }: PlanView) -> AppResult<NextYearPage> {
    ctx.icb.editor()?;
    ctx.require_plan()?;
    Ok(page(&mut tx, &user, &ctx, false).await?.0)
}

pub async fn carry_forward(
    PlanEdit {
        mut tx,
        ctx,
        user,
        editor,
    }: PlanEdit,
    Form(form): Form<CarryForm>,
) -> AppResult<Response> {
    ctx.require_plan()?;
    let (mut page, next_ctx) = page(&mut tx, &user, &ctx, true).await?;
    page.tick(&form.ticked());
    let Some(next_ctx) = next_ctx.filter(|_| page.blocked.is_none()) else {
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    if !form.matches(&page) {
        page.show_conflict();
        return Ok((StatusCode::CONFLICT, page).into_response());
    }
    let chosen: Vec<Item> = page.items.iter().filter(|i| i.ticked).cloned().collect();
    if chosen.is_empty() {
        page.nothing_ticked();
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let next_ctx = copy::start_plan(&mut tx, &user, &editor, &ctx, *next_ctx).await?;
    copy::copy_all(&mut tx, &editor, &user, &ctx, &next_ctx, &chosen).await?;
    tx.commit().await?;
    let to = format!("{}/assurance?notice=carried", next_ctx.base_path());
    Ok(Redirect::to(&to).into_response())
}
