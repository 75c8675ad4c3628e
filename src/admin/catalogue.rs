//! `/admin/catalogue`: programme years (created by copying an earlier year's catalogue,
//! opened or closed for editing) and their opportunities (title, group, efficiency focus).
//! Rows changed here get `edited_at`, so reloading the shipped reference data leaves them be.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use crate::AppState;
use crate::assurance::settings::SettingsValues;
use crate::assurance::store as assurance_store;
use crate::audit::{self, Actor, AuditEvent};
use crate::auth::scope::{self, AdminUser};
use crate::domain::FinancialYear;
use crate::error::{AppError, AppResult};
use crate::forms::FieldErrors;
use crate::page::Layout;
use crate::routes::{Access, Routes};

pub fn routes() -> Routes {
    Routes::new()
        .get("/admin/catalogue", Access::Admin, list_years)
        .post("/admin/catalogue/years", Access::Admin, create_year)
        .get("/admin/catalogue/{year}", Access::Admin, show_year)
        .post(
            "/admin/catalogue/{year}/status",
            Access::Admin,
            set_year_status,
        )
        .get(
            "/admin/catalogue/{year}/opportunities/{number}",
            Access::Admin,
            edit_opportunity_form,
        )
        .post(
            "/admin/catalogue/{year}/opportunities/{number}",
            Access::Admin,
            update_opportunity,
        )
}

/// A programme year as listed.
pub struct YearRow {
    pub label: String,
    pub slug: String,
    pub open_for_editing: bool,
    pub opportunities: i64,
}

/// `/admin/catalogue`
#[derive(Template, WebTemplate)]
#[template(path = "admin/catalogue.html")]
pub struct CatalogueAdminPage {
    pub layout: Layout,
    pub years: Vec<YearRow>,
    pub new_year: String,
    pub copy_from: String,
    pub errors: FieldErrors,
}

async fn year_rows(conn: &mut PgConnection) -> sqlx::Result<Vec<YearRow>> {
    let rows = sqlx::query!(
        r#"
        select y.starts_on, y.open_for_editing, count(o.opportunity_id) as "opportunities!"
        from programme_year y left join opportunity o using (programme_year_id)
        group by y.programme_year_id order by y.starts_on desc
        "#
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let y = FinancialYear::from_start_date(r.starts_on)?;
            Some(YearRow {
                label: y.to_string(),
                slug: y.slug(),
                open_for_editing: r.open_for_editing,
                opportunities: r.opportunities,
            })
        })
        .collect())
}

async fn list_years(
    State(state): State<AppState>,
    admin: AdminUser,
) -> AppResult<CatalogueAdminPage> {
    let mut tx = scope::begin(&state, &admin.0.scope()).await?;
    let years = year_rows(&mut tx).await?;
    let suggestion = years
        .first()
        .and_then(|y| FinancialYear::parse(&y.slug).ok())
        .and_then(|y| FinancialYear::starting(y.start_year() + 1));
    Ok(CatalogueAdminPage {
        layout: admin.0.layout(),
        copy_from: years.first().map(|y| y.label.clone()).unwrap_or_default(),
        new_year: suggestion.map(|y| y.to_string()).unwrap_or_default(),
        years,
        errors: FieldErrors::default(),
    })
}

#[derive(Debug, Deserialize)]
pub struct NewYearForm {
    #[serde(default)]
    year: String,
    #[serde(default)]
    copy_from: String,
}

async fn create_year(
    State(state): State<AppState>,
    admin: AdminUser,
    Form(form): Form<NewYearForm>,
) -> AppResult<Response> {
    let mut tx = scope::begin(&state, &admin.0.scope()).await?;
    let mut errors = FieldErrors::default();
    let year = FinancialYear::parse(form.year.trim()).ok();
    if year.is_none() {
        errors.add("year", "Enter the programme year like 2026/27");
    }
    let source = FinancialYear::parse(form.copy_from.trim()).ok();
    if source.is_none() {
        errors.add("copy_from", "Select the year whose catalogue to copy");
    }
    if let (Some(year), Some(source)) = (year, source) {
        match copy_year(&mut tx, &admin.0.actor(), year, source).await? {
            YearCopy::AlreadyExists => errors.add("year", format!("{year} already exists")),
            YearCopy::SourceEmpty => {
                errors.add("copy_from", format!("{source} has no catalogue to copy"));
            }
            YearCopy::Created { .. } => {
                tx.commit().await?;
                return Ok(
                    Redirect::to(&format!("/admin/catalogue/{}", year.slug())).into_response()
                );
            }
        }
    }
    // Nothing is kept from a refused attempt.
    tx.rollback().await?;
    let mut tx = scope::begin(&state, &admin.0.scope()).await?;
    let page = CatalogueAdminPage {
        layout: admin.0.layout(),
        years: year_rows(&mut tx).await?,
        new_year: form.year,
        copy_from: form.copy_from,
        errors,
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// What [`copy_year`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YearCopy {
    /// The year exists already; nothing was written.
    AlreadyExists,
    /// The source year has no catalogue. The new year's row was written: roll back.
    SourceEmpty,
    /// The year was created with a copy of the source's opportunities, and audited.
    Created { opportunities: u64 },
}

/// Creates programme year `year` with a copy of `source`'s catalogue, and audits it. The
/// copies are marked as edited, so a reload of the shipped reference data leaves them alone.
/// Shared by this page and the demo loader (which creates years the demo needs).
pub async fn copy_year(
    conn: &mut PgConnection,
    actor: &Actor,
    year: FinancialYear,
    source: FinancialYear,
) -> sqlx::Result<YearCopy> {
    let created = sqlx::query_scalar!(
        "insert into programme_year (starts_on) values ($1) on conflict (starts_on) do nothing returning programme_year_id",
        year.starts_on()
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(programme_year_id) = created else {
        return Ok(YearCopy::AlreadyExists);
    };
    let copied = sqlx::query!(
        r#"
        insert into opportunity (programme_year_id, number, group_name, title, title_confirmed,
                                 slug, efficiency_focus, edited_at)
        select $1, number, group_name, title, title_confirmed, slug, efficiency_focus, now()
        from opportunity
        where programme_year_id = (select programme_year_id from programme_year where starts_on = $2)
        "#,
        programme_year_id,
        source.starts_on()
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if copied == 0 {
        return Ok(YearCopy::SourceEmpty);
    }
    assurance_store::copy_year_settings(&mut *conn, year, source).await?;
    let event = AuditEvent::new("catalogue.year_created")
        .object("programme_year", year)
        .details(json!({ "copied_from": source.to_string(), "opportunities": copied }));
    audit::record(conn, actor, event).await?;
    Ok(YearCopy::Created {
        opportunities: copied,
    })
}

/// One opportunity on the year page.
pub struct OpportunityRow {
    pub number: i16,
    pub group_name: String,
    pub title: String,
    pub title_confirmed: bool,
    pub efficiency_focus: bool,
}

/// `/admin/catalogue/{year}`
#[derive(Template, WebTemplate)]
#[template(path = "admin/catalogue_year.html")]
pub struct CatalogueYearPage {
    pub layout: Layout,
    pub programme_year_id: i16,
    pub label: String,
    pub slug: String,
    pub open_for_editing: bool,
    pub opportunities: Vec<OpportunityRow>,
    /// The year's savings assurance settings (`src/assurance/settings.rs` saves them).
    pub settings: SettingsValues,
    pub errors: FieldErrors,
    pub notice: Option<&'static str>,
}

/// The programme year in the path: (id, year, open).
async fn find_year(conn: &mut PgConnection, slug: &str) -> AppResult<(i16, FinancialYear, bool)> {
    let year = FinancialYear::parse(slug).map_err(|_| AppError::NotFound)?;
    let row = sqlx::query!(
        "select programme_year_id, open_for_editing from programme_year where starts_on = $1",
        year.starts_on()
    )
    .fetch_optional(conn)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok((row.programme_year_id, year, row.open_for_editing))
}

/// The year page as saved, for the year named in the path.
pub async fn year_page(
    conn: &mut PgConnection,
    admin: &AdminUser,
    slug: &str,
) -> AppResult<CatalogueYearPage> {
    let (id, year, open_for_editing) = find_year(&mut *conn, slug).await?;
    let opportunities = sqlx::query_as!(
        OpportunityRow,
        "select number, group_name, title, title_confirmed, efficiency_focus from opportunity where programme_year_id = $1 order by number",
        id
    )
    .fetch_all(&mut *conn)
    .await?;
    let settings = assurance_store::year_settings(conn, id).await?;
    Ok(CatalogueYearPage {
        layout: admin.0.layout(),
        programme_year_id: id,
        label: year.to_string(),
        slug: year.slug(),
        open_for_editing,
        opportunities,
        settings: SettingsValues::of(&settings),
        errors: FieldErrors::default(),
        notice: None,
    })
}

/// `?notice=` after a save on the year page.
#[derive(Debug, Default, Deserialize)]
pub struct YearQuery {
    #[serde(default)]
    notice: Option<String>,
}

async fn show_year(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(slug): Path<String>,
    Query(query): Query<YearQuery>,
) -> AppResult<CatalogueYearPage> {
    let mut tx = scope::begin(&state, &admin.0.scope()).await?;
    let mut page = year_page(&mut tx, &admin, &slug).await?;
    page.notice = (query.notice.as_deref() == Some("settings"))
        .then_some("The savings assurance settings have been saved.");
    Ok(page)
}

#[derive(Debug, Deserialize)]
pub struct YearStatusForm {
    #[serde(default)]
    open: String,
}

async fn set_year_status(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(slug): Path<String>,
    Form(form): Form<YearStatusForm>,
) -> AppResult<Response> {
    let mut tx = scope::begin(&state, &admin.0.scope()).await?;
    let (id, year, _) = find_year(&mut tx, &slug).await?;
    let open = match form.open.as_str() {
        "true" => true,
        "false" => false,
        _ => return Ok(Redirect::to(&format!("/admin/catalogue/{}", year.slug())).into_response()),
    };
    sqlx::query!(
        "update programme_year set open_for_editing = $2 where programme_year_id = $1",
        id,
        open
    )
    .execute(&mut *tx)
    .await?;
    let action = if open {
        "catalogue.year_opened"
    } else {
        "catalogue.year_closed"
    };
    audit::record(
        &mut tx,
        &admin.0.actor(),
        AuditEvent::new(action).object("programme_year", year),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/admin/catalogue/{}", year.slug())).into_response())
}

/// The opportunity edit form.
#[derive(Template, WebTemplate)]
#[template(path = "admin/opportunity_form.html")]
pub struct OpportunityFormPage {
    pub layout: Layout,
    pub year_label: String,
    pub year_slug: String,
    pub number: i16,
    pub title: String,
    pub title_confirmed: bool,
    pub group_name: String,
    pub groups: Vec<String>,
    pub efficiency_focus: bool,
    pub errors: FieldErrors,
}

async fn groups_of_year(conn: &mut PgConnection, id: i16) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        r#"select group_name as "group_name!" from opportunity where programme_year_id = $1 group by group_name order by min(number)"#,
        id
    )
    .fetch_all(conn)
    .await
}

/// An opportunity as stored.
struct StoredOpportunity {
    group_name: String,
    title: String,
    title_confirmed: bool,
    efficiency_focus: bool,
}

/// The opportunity numbered as in the path, in programme year `id`; otherwise 404.
async fn find_opportunity(
    conn: &mut PgConnection,
    id: i16,
    number: &str,
) -> AppResult<(i16, StoredOpportunity)> {
    let number: i16 = number.parse().map_err(|_| AppError::NotFound)?;
    let row = sqlx::query_as!(
        StoredOpportunity,
        "select group_name, title, title_confirmed, efficiency_focus from opportunity where programme_year_id = $1 and number = $2",
        id,
        number
    )
    .fetch_optional(conn)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok((number, row))
}

async fn edit_opportunity_form(
    State(state): State<AppState>,
    admin: AdminUser,
    Path((slug, number)): Path<(String, String)>,
) -> AppResult<OpportunityFormPage> {
    let mut tx = scope::begin(&state, &admin.0.scope()).await?;
    let (id, year, _) = find_year(&mut tx, &slug).await?;
    let (number, row) = find_opportunity(&mut tx, id, &number).await?;
    Ok(OpportunityFormPage {
        layout: admin.0.layout(),
        year_label: year.to_string(),
        year_slug: year.slug(),
        number,
        title: row.title,
        title_confirmed: row.title_confirmed,
        group_name: row.group_name,
        groups: groups_of_year(&mut tx, id).await?,
        efficiency_focus: row.efficiency_focus,
        errors: FieldErrors::default(),
    })
}

#[derive(Debug, Deserialize)]
pub struct OpportunityForm {
    #[serde(default)]
    title: String,
    title_confirmed: Option<String>,
    #[serde(default)]
    group_name: String,
    efficiency_focus: Option<String>,
}

async fn update_opportunity(
    State(state): State<AppState>,
    admin: AdminUser,
    Path((slug, number)): Path<(String, String)>,
    Form(form): Form<OpportunityForm>,
) -> AppResult<Response> {
    let mut tx = scope::begin(&state, &admin.0.scope()).await?;
    let (id, year, _) = find_year(&mut tx, &slug).await?;
    let (number, before) = find_opportunity(&mut tx, id, &number).await?;
    let groups = groups_of_year(&mut tx, id).await?;
    let title = form.title.trim().to_owned();
    let confirmed = form.title_confirmed.is_some();
    let focus = form.efficiency_focus.is_some();
    let mut errors = FieldErrors::default();
    errors.check_plain_text("title", "Title", &title);
    if title.is_empty() {
        errors.add(
            "title",
            if confirmed {
                "Enter the title before marking it as confirmed"
            } else {
                "Enter a title: NHS England's, or a working title until it is confirmed"
            },
        );
    }
    if title.chars().count() > 300 {
        errors.add("title", "Title must be 300 characters or fewer");
    }
    if !groups.contains(&form.group_name) {
        errors.add("group_name", "Select a group");
    }
    if !errors.is_empty() {
        let page = OpportunityFormPage {
            layout: admin.0.layout(),
            year_label: year.to_string(),
            year_slug: year.slug(),
            number,
            title,
            title_confirmed: confirmed,
            group_name: form.group_name,
            groups,
            efficiency_focus: focus,
            errors,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    sqlx::query!(
        r#"update opportunity set title = $3, title_confirmed = $4, group_name = $5, efficiency_focus = $6, edited_at = now()
           where programme_year_id = $1 and number = $2"#,
        id,
        number,
        title,
        confirmed,
        form.group_name,
        focus
    )
    .execute(&mut *tx)
    .await?;
    let event = AuditEvent::new("catalogue.opportunity_updated")
        .object("opportunity", format!("{}/{number}", year.slug()))
        .details(json!({
            "before": { "title": before.title, "title_confirmed": before.title_confirmed,
                        "group": before.group_name, "efficiency_focus": before.efficiency_focus },
            "after": { "title": title, "title_confirmed": confirmed, "group": form.group_name, "efficiency_focus": focus },
        }));
    audit::record(&mut tx, &admin.0.actor(), event).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/admin/catalogue/{}", year.slug())).into_response())
}
