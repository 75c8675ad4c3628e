//! The national medicines optimisation opportunity catalogue of each programme year.
//! The catalogue is data (one set of rows per year), so a new year needs no code.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};

use crate::AppState;
use crate::auth::MaybeUser;
use crate::domain::FinancialYear;
use crate::error::{AppError, AppResult};
use crate::page::Layout;
use crate::routes::{Access, Routes};

/// The catalogue routes.
pub fn routes() -> Routes {
    Routes::new()
        .get("/catalogue", Access::Public, current_catalogue)
        .get("/catalogue/{year}", Access::Public, show_catalogue)
}

/// `/catalogue`: the current programme year's catalogue (or the latest year's), so the menu's
/// link follows the years without a release.
async fn current_catalogue(
    State(state): State<AppState>,
    user: MaybeUser,
) -> AppResult<CataloguePage> {
    let mut conn = state.db().acquire().await?;
    let year = crate::plans::context::landing_year(&mut conn, state.clock().today())
        .await?
        .ok_or(AppError::NotFound)?;
    drop(conn);
    catalogue_page(&state, user, year).await
}

/// One opportunity as listed.
pub struct OpportunityRow {
    pub number: i16,
    /// NHS England's title, or a working title while `title_confirmed` is false.
    pub title: String,
    pub title_confirmed: bool,
    pub efficiency_focus: bool,
}

/// Opportunities under one group heading.
pub struct OpportunityGroup {
    pub name: String,
    pub opportunities: Vec<OpportunityRow>,
}

/// Another year with a catalogue, for the year switcher.
pub struct YearLink {
    pub label: String,
    pub slug: String,
    pub current: bool,
}

/// `/catalogue/{year}`
#[derive(Template, WebTemplate)]
#[template(path = "catalogue/catalogue.html")]
pub struct CataloguePage {
    pub layout: Layout,
    pub year_label: String,
    pub open_for_editing: bool,
    pub groups: Vec<OpportunityGroup>,
    pub years: Vec<YearLink>,
}

impl CataloguePage {
    /// Whether any opportunity of the year carries the efficiency focus.
    pub fn has_efficiency_focus(&self) -> bool {
        self.groups
            .iter()
            .flat_map(|g| &g.opportunities)
            .any(|o| o.efficiency_focus)
    }
}

async fn show_catalogue(
    State(state): State<AppState>,
    user: MaybeUser,
    Path(year): Path<String>,
) -> AppResult<CataloguePage> {
    let year = FinancialYear::parse(&year).map_err(|_| AppError::NotFound)?;
    catalogue_page(&state, user, year).await
}

/// The catalogue of `year`, or 404 when it is not a programme year.
async fn catalogue_page(
    state: &AppState,
    user: MaybeUser,
    year: FinancialYear,
) -> AppResult<CataloguePage> {
    let db = state.db();
    let programme_year = sqlx::query!(
        "select programme_year_id, open_for_editing from programme_year where starts_on = $1",
        year.starts_on()
    )
    .fetch_optional(db)
    .await?
    .ok_or(AppError::NotFound)?;

    let rows = sqlx::query!(
        r#"
        select number, group_name, title, title_confirmed, efficiency_focus
        from opportunity
        where programme_year_id = $1
        order by number
        "#,
        programme_year.programme_year_id
    )
    .fetch_all(db)
    .await?;

    // Groups appear in the order of their lowest-numbered opportunity.
    let mut groups: Vec<OpportunityGroup> = Vec::new();
    for row in rows {
        let opportunity = OpportunityRow {
            number: row.number,
            title: row.title,
            title_confirmed: row.title_confirmed,
            efficiency_focus: row.efficiency_focus,
        };
        match groups.iter_mut().find(|g| g.name == row.group_name) {
            Some(group) => group.opportunities.push(opportunity),
            None => groups.push(OpportunityGroup {
                name: row.group_name,
                opportunities: vec![opportunity],
            }),
        }
    }

    let years = sqlx::query_scalar!("select starts_on from programme_year order by starts_on")
        .fetch_all(db)
        .await?
        .into_iter()
        .filter_map(FinancialYear::from_start_date)
        .map(|y| YearLink {
            label: y.to_string(),
            slug: y.slug(),
            current: y == year,
        })
        .collect();

    Ok(CataloguePage {
        layout: user.layout(),
        year_label: year.to_string(),
        open_for_editing: programme_year.open_for_editing,
        groups,
        years,
    })
}
