//! ICB and region pages: the tenant data each role's scope covers.
//!
//! Every handler here starts by proving scope ([`IcbAccess`] / [`RegionAccess`]) and reads
//! through a scoped transaction, so row-level security backs up the check.
//!
//! An ICB has a plan only for a programme year it existed in (for at least a day): one that
//! closed in March 2026 has none for 2026/27, one formed in April 2026 none before it.

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

/// Whether an ICB existed in a programme year, and if not, which side of it the year is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existence {
    Existed,
    BeforeFormed,
    AfterClosed,
}

impl Existence {
    /// For an ICB that existed from `valid_from` to `valid_to` (inclusive).
    pub fn of(valid_from: NaiveDate, valid_to: Option<NaiveDate>, year: FinancialYear) -> Self {
        if valid_from > year.ends_on() {
            Existence::BeforeFormed
        } else if valid_to.is_some_and(|to| to < year.starts_on()) {
            Existence::AfterClosed
        } else {
            Existence::Existed
        }
    }

    /// For a year the ICB did not exist in, in words.
    pub fn label(self) -> &'static str {
        match self {
            Existence::Existed => "",
            Existence::BeforeFormed => "Before the ICB was formed",
            Existence::AfterClosed => "After the ICB closed",
        }
    }
}

/// One programme year on an ICB's page.
pub struct YearPlan {
    pub year_label: String,
    pub year_slug: String,
    pub open_for_editing: bool,
    /// The ICB existed in the year (only then can it have a plan).
    pub existence: Existence,
    pub status: Option<PlanStatus>,
    pub review_comment: Option<String>,
}

impl YearPlan {
    /// Whether the ICB existed in the year.
    pub fn existed(&self) -> bool {
        self.existence == Existence::Existed
    }

    /// Whether an editor may start the year's plan here.
    pub fn can_start(&self) -> bool {
        self.status.is_none() && self.open_for_editing && self.existed()
    }
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
        select y.starts_on, y.open_for_editing, i.valid_from, i.valid_to,
               p.status as "status?: PlanStatus", p.review_comment
        from programme_year y
        join icb i on i.icb_id = $1
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
                existence: Existence::of(r.valid_from, r.valid_to, year),
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
    if let Some(open) = plans.iter().find(|p| p.can_start() && icb.can_edit()) {
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
    let refusal = match (year, programme_year) {
        (Some(year), Some(_)) => not_in_existence(&mut tx, &icb, year).await?,
        _ => Some("Choose a programme year that is open for planning".to_owned()),
    };
    let (Some(year), Some(programme_year_id), None) = (year, programme_year, refusal.as_ref())
    else {
        let mut errors = FieldErrors::default();
        errors.add("year", refusal.unwrap_or_default());
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

/// Why the ICB cannot have a plan for `year`, if it did not exist in it.
async fn not_in_existence(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    year: FinancialYear,
) -> sqlx::Result<Option<String>> {
    let dates = sqlx::query!(
        "select valid_from, valid_to from icb where icb_id = $1",
        icb.icb_id()
    )
    .fetch_one(conn)
    .await?;
    let day = |d: NaiveDate| d.format("%-d %B %Y").to_string();
    Ok(
        match Existence::of(dates.valid_from, dates.valid_to, year) {
            Existence::Existed => None,
            Existence::BeforeFormed => Some(format!(
                "{} was formed on {}, so it cannot have a plan for {year}",
                icb.name(),
                day(dates.valid_from)
            )),
            Existence::AfterClosed => Some(format!(
                "{} closed on {}, so it cannot have a plan for {year}",
                icb.name(),
                dates.valid_to.map(day).unwrap_or_default()
            )),
        },
    )
}

/// One ICB's row on a region page.
pub struct RegionIcbRow {
    pub ods_code: String,
    pub name: String,
    pub closed_on: Option<NaiveDate>,
    /// Per year, in the order of [`RegionPage::years`]: whether it existed, and its plan.
    pub statuses: Vec<(Existence, Option<PlanStatus>)>,
    /// The review comment on its latest plan.
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
        select i.ods_code, i.name, i.valid_from, i.valid_to, y.starts_on,
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
                latest_comment: None,
            });
        }
        let existence = FinancialYear::from_start_date(row.starts_on)
            .map_or(Existence::Existed, |y| {
                Existence::of(row.valid_from, row.valid_to, y)
            });
        if let Some(icb) = icbs.last_mut() {
            // Years come newest first: the first plan is the latest.
            if row.status.is_some() && icb.statuses.iter().all(|(_, s)| s.is_none()) {
                icb.latest_comment = row.review_comment;
            }
            icb.statuses.push((existence, row.status));
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
