//! ICB and region pages: the tenant data each role's scope covers.
//!
//! Every handler here starts by proving scope ([`IcbAccess`] / [`RegionAccess`]) and reads
//! through a scoped transaction, so row-level security backs up the check.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use crate::AppState;
use crate::audit::{self, AuditEvent};
use crate::auth::CurrentUser;
use crate::auth::scope::{self, IcbAccess, RegionAccess};
use crate::domain::FinancialYear;
use crate::error::AppResult;
use crate::forms::FieldErrors;
use crate::page::Layout;
use crate::plans::breadcrumbs::{self, Crumb};
use crate::routes::{Access, Routes};

/// The ICB and region routes.
pub fn routes() -> Routes {
    Routes::new()
        .get("/icbs/{icb}", Access::IcbRead, show_icb)
        .post("/icbs/{icb}/plans", Access::IcbWrite, start_plan)
        .get("/regions/{region}", Access::RegionRead, show_region)
}

/// Where a plan is in its review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "plan_status", rename_all = "snake_case")]
pub enum PlanStatus {
    Draft,
    Submitted,
    Agreed,
    Returned,
}

impl PlanStatus {
    /// As written in data files: `draft`, `submitted`, `agreed`, `returned`.
    pub fn key(self) -> &'static str {
        match self {
            PlanStatus::Draft => "draft",
            PlanStatus::Submitted => "submitted",
            PlanStatus::Agreed => "agreed",
            PlanStatus::Returned => "returned",
        }
    }

    /// In words.
    pub fn label(self) -> &'static str {
        match self {
            PlanStatus::Draft => "Draft",
            PlanStatus::Submitted => "Submitted for review",
            PlanStatus::Agreed => "Agreed",
            PlanStatus::Returned => "Returned with comments",
        }
    }

    /// NHS.UK tag colour.
    pub fn tag_class(self) -> &'static str {
        match self {
            PlanStatus::Draft => "nhsuk-tag--grey",
            PlanStatus::Submitted => "nhsuk-tag--blue",
            PlanStatus::Agreed => "nhsuk-tag--green",
            PlanStatus::Returned => "nhsuk-tag--orange",
        }
    }
}

/// One programme year on an ICB's page.
pub struct YearPlan {
    pub year_label: String,
    pub year_slug: String,
    pub open_for_editing: bool,
    pub status: Option<PlanStatus>,
    pub review_comment: Option<String>,
}

/// `/icbs/{icb}`
#[derive(Template, WebTemplate)]
#[template(path = "icbs/icb.html")]
pub struct IcbPage {
    pub layout: Layout,
    pub ods_code: String,
    pub name: String,
    pub can_edit: bool,
    pub plans: Vec<YearPlan>,
    pub errors: FieldErrors,
    /// Home › England › region, as far as the user's role reaches.
    pub crumbs: Vec<Crumb>,
}

async fn plans_for_icb(conn: &mut PgConnection, icb: &IcbAccess) -> sqlx::Result<Vec<YearPlan>> {
    let rows = sqlx::query!(
        r#"
        select y.starts_on, y.open_for_editing, p.status as "status?: PlanStatus", p.review_comment
        from programme_year y
        left join plan p on p.programme_year_id = y.programme_year_id and p.icb_id = $1
        order by y.starts_on desc
        "#,
        icb.icb_id()
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let year = FinancialYear::from_start_date(r.starts_on)?;
            Some(YearPlan {
                year_label: year.to_string(),
                year_slug: year.slug(),
                open_for_editing: r.open_for_editing,
                status: r.status,
                review_comment: r.review_comment,
            })
        })
        .collect())
}

async fn icb_page(
    conn: &mut PgConnection,
    user: &CurrentUser,
    icb: &IcbAccess,
    mut errors: FieldErrors,
) -> AppResult<IcbPage> {
    let plans = plans_for_icb(conn, icb).await?;
    let mut crumbs = breadcrumbs::to_icb(conn, user, icb, None).await?;
    crumbs.pop(); // the ICB: this page
    // A refused start links to the first year that can still be started.
    if let Some(open) = plans
        .iter()
        .find(|p| p.status.is_none() && p.open_for_editing && icb.can_edit())
    {
        errors.link_to("year", format!("start-{}", open.year_slug));
    }
    Ok(IcbPage {
        layout: user.layout(),
        ods_code: icb.ods_code().to_owned(),
        name: icb.name().to_owned(),
        can_edit: icb.can_edit(),
        plans,
        errors,
        crumbs,
    })
}

async fn show_icb(
    State(state): State<AppState>,
    user: CurrentUser,
    icb: IcbAccess,
) -> AppResult<IcbPage> {
    let mut tx = scope::begin(&state, &user.scope()).await?;
    icb_page(&mut tx, &user, &icb, FieldErrors::default()).await
}

#[derive(Debug, Deserialize)]
pub struct StartPlanForm {
    #[serde(default)]
    year: String,
}

async fn start_plan(
    State(state): State<AppState>,
    user: CurrentUser,
    icb: IcbAccess,
    Form(form): Form<StartPlanForm>,
) -> AppResult<Response> {
    let editor = icb.editor()?;
    let mut tx = scope::begin(&state, &user.scope()).await?;
    let year = FinancialYear::parse(&form.year).ok();
    let programme_year = match year {
        Some(y) => sqlx::query!(
            "select programme_year_id from programme_year where starts_on = $1 and open_for_editing",
            y.starts_on()
        )
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.programme_year_id),
        None => None,
    };
    let (Some(year), Some(programme_year_id)) = (year, programme_year) else {
        let mut errors = FieldErrors::default();
        errors.add("year", "Choose a programme year that is open for planning");
        let page = icb_page(&mut tx, &user, &icb, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let created = sqlx::query!(
        r#"
        insert into plan (icb_id, programme_year_id, created_by) values ($1, $2, $3)
        on conflict (icb_id, programme_year_id) do nothing
        "#,
        editor.icb_id(),
        programme_year_id,
        user.user_id
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if created == 1 {
        let event = AuditEvent::new("plan.created")
            .object("plan", format!("{}/{}", icb.ods_code(), year.slug()))
            .organisation(Some(icb.ods_code()))
            .details(json!({ "year": year.to_string() }));
        audit::record(&mut tx, &user.actor(), event).await?;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/icbs/{}/{}/plan", icb.ods_code(), year.slug())).into_response())
}

/// One ICB's row on a region page.
pub struct RegionIcbRow {
    pub ods_code: String,
    pub name: String,
    pub closed_on: Option<NaiveDate>,
    /// Status per year, in the order of [`RegionPage::years`].
    pub statuses: Vec<Option<PlanStatus>>,
    /// The latest year's review comment.
    pub latest_comment: Option<String>,
}

/// `/regions/{region}`
#[derive(Template, WebTemplate)]
#[template(path = "icbs/region.html")]
pub struct RegionPage {
    pub layout: Layout,
    pub ods_code: String,
    pub name: String,
    /// `(label, slug)` of every programme year, newest first.
    pub years: Vec<(String, String)>,
    pub icbs: Vec<RegionIcbRow>,
}

async fn show_region(
    State(state): State<AppState>,
    user: CurrentUser,
    region: RegionAccess,
) -> AppResult<RegionPage> {
    let mut tx = scope::begin(&state, &user.scope()).await?;
    let years: Vec<NaiveDate> =
        sqlx::query_scalar!("select starts_on from programme_year order by starts_on desc")
            .fetch_all(&mut *tx)
            .await?;
    let rows = sqlx::query!(
        r#"
        select i.ods_code, i.name, i.valid_to, y.starts_on,
               p.status as "status?: PlanStatus", p.review_comment
        from icb i
        cross join programme_year y
        left join plan p on p.icb_id = i.icb_id and p.programme_year_id = y.programme_year_id
        where i.region_id = $1
        order by i.name, y.starts_on desc
        "#,
        region.region_id()
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut icbs: Vec<RegionIcbRow> = Vec::new();
    for row in rows {
        if icbs.last().is_none_or(|i| i.ods_code != row.ods_code) {
            icbs.push(RegionIcbRow {
                ods_code: row.ods_code.clone(),
                name: row.name.clone(),
                closed_on: row.valid_to,
                statuses: Vec::new(),
                latest_comment: row.review_comment.clone(),
            });
        }
        if let Some(icb) = icbs.last_mut() {
            icb.statuses.push(row.status);
        }
    }
    Ok(RegionPage {
        layout: user.layout(),
        ods_code: region.ods_code().to_owned(),
        name: region.name().to_owned(),
        years: years
            .into_iter()
            .filter_map(FinancialYear::from_start_date)
            .map(|y| (y.to_string(), y.slug()))
            .collect(),
        icbs,
    })
}
