//! The prescribing pages:
//!
//! - `/icbs/{icb}/{year}/prescribing`: an ICB's measures for the national opportunities its
//!   plan chose that year, each against England's spread (the same panel as the workstream
//!   page's), with the potential savings as evidence for targets.
//! - `/prescribing`: the measure library (how each measure is defined, and from which
//!   OpenPrescribing measure) and the months of data loaded.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use chrono::{DateTime, NaiveDate, Utc};

use super::figures::{self, DataStatus};
use super::library::{CodeSet, Field, Measure};
use super::panel::{self, PrescribingPanel, not_shown_reason};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::auth::scope::{self, IcbAccess};
use crate::error::AppResult;
use crate::page::{Layout, YearLink, year_links};
use crate::plans::context::{PlanYear, all_years};
use crate::routes::{Access, Routes};

/// The prescribing routes.
pub fn routes() -> Routes {
    Routes::new()
        .get("/prescribing", Access::SignedIn, show_library)
        .get("/icbs/{icb}/{year}/prescribing", Access::IcbRead, show_icb)
}

/// A chosen national opportunity with its panel.
pub struct ChosenPanel {
    pub number: i16,
    pub title: String,
    /// Its workstream page.
    pub href: String,
    pub prescribing: PrescribingPanel,
}

/// `/icbs/{icb}/{year}/prescribing`
#[derive(Template, WebTemplate)]
#[template(path = "prescribing/icb.html")]
pub struct IcbPrescribingPage {
    pub layout: Layout,
    pub icb_name: String,
    pub ods_code: String,
    pub year_label: String,
    pub year_slug: String,
    pub years: Vec<YearLink>,
    pub status: DataStatus,
    pub has_plan: bool,
    pub chosen: Vec<ChosenPanel>,
    /// The caller edits this ICB's plan (the savings are offered as evidence for targets).
    pub can_edit: bool,
}

async fn show_icb(
    State(state): State<AppState>,
    user: CurrentUser,
    icb: IcbAccess,
    Path((_, slug)): Path<(String, String)>,
) -> AppResult<IcbPrescribingPage> {
    let mut tx = scope::begin(&state, &user.scope()).await?;
    let year = PlanYear::from_slug(&mut tx, &slug).await?;
    let plan = chosen_opportunities(&mut tx, &icb, &year).await?;
    let mut chosen = Vec::new();
    for (number, title, workstream_id) in plan.iter().flatten() {
        chosen.push(ChosenPanel {
            number: *number,
            title: title.clone(),
            href: format!(
                "/icbs/{}/{}/workstreams/{workstream_id}",
                icb.ods_code(),
                year.year.slug()
            ),
            prescribing: panel::for_opportunity(&mut tx, icb.icb_id(), *number, year.year).await?,
        });
    }
    let status = figures::status(&mut tx).await?;
    let years = all_years(&mut tx).await?;
    tx.commit().await?;
    Ok(IcbPrescribingPage {
        layout: user.layout(),
        icb_name: icb.name().to_owned(),
        ods_code: icb.ods_code().to_owned(),
        year_label: year.year.to_string(),
        year_slug: year.year.slug(),
        years: year_links(&years, year.year, |y| {
            format!("/icbs/{}/{}/prescribing", icb.ods_code(), y.slug())
        }),
        status,
        has_plan: plan.is_some(),
        chosen,
        can_edit: icb.can_edit(),
    })
}

/// The national opportunities the ICB's plan for the year chose, as (number, title,
/// workstream), in number order; `None` when there is no plan.
async fn chosen_opportunities(
    conn: &mut sqlx::PgConnection,
    icb: &IcbAccess,
    year: &PlanYear,
) -> sqlx::Result<Option<Vec<(i16, String, i32)>>> {
    let rows = sqlx::query!(
        r#"
        select w.workstream_id as "workstream_id?", o.number as "number?", o.title as "title?"
        from plan p
        left join workstream w on w.plan_id = p.plan_id and w.icb_id = p.icb_id
                              and w.removed_at is null and w.opportunity_id is not null
        left join opportunity o on o.opportunity_id = w.opportunity_id
        where p.icb_id = $1 and p.programme_year_id = $2
        order by o.number
        "#,
        icb.icb_id(),
        year.programme_year_id
    )
    .fetch_all(conn)
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        rows.into_iter()
            .filter_map(|r| {
                let title = r.title.unwrap_or_else(|| "Title to be confirmed".into());
                Some((r.number?, title, r.workstream_id?))
            })
            .collect(),
    ))
}

/// A measure as the library page lists it.
pub struct LibraryEntry {
    pub slug: String,
    pub title: String,
    pub numerator: String,
    pub denominator: String,
    pub unit: String,
    pub lower_is_better: bool,
    pub source_url: String,
}

impl LibraryEntry {
    fn of(measure: &Measure) -> Self {
        let side = |field: Field, codes: &CodeSet| {
            if field == Field::ListSize {
                "registered patients (the value is per 1,000 of them)".to_owned()
            } else {
                format!("{} of {}", field.words(), codes.to_text())
            }
        };
        LibraryEntry {
            slug: measure.slug.clone(),
            title: measure.title.clone(),
            numerator: side(measure.numerator_field, &measure.numerator_codes),
            denominator: side(measure.denominator_field, &measure.denominator_codes),
            unit: measure.unit().words(measure.numerator_field),
            lower_is_better: measure.lower_is_better,
            source_url: measure.source_url.clone(),
        }
    }
}

/// An opportunity on the library page.
pub struct LibraryOpportunity {
    pub number: i16,
    pub title: String,
    pub measures: Vec<LibraryEntry>,
    /// Why prescribing data cannot show it (when it has no measure).
    pub not_shown: Option<&'static str>,
}

/// A month loaded.
pub struct LoadedMonth {
    pub month: NaiveDate,
    pub released_at: DateTime<Utc>,
    pub source: String,
    pub synthetic: bool,
    pub rows_read: i64,
    pub practices: i32,
    pub icbs: i32,
    pub list_size_month: Option<NaiveDate>,
}

/// `/prescribing`
#[derive(Template, WebTemplate)]
#[template(path = "prescribing/measures.html")]
pub struct MeasureLibraryPage {
    pub layout: Layout,
    pub status: DataStatus,
    pub opportunities: Vec<LibraryOpportunity>,
    pub months: Vec<LoadedMonth>,
}

async fn show_library(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<MeasureLibraryPage> {
    let mut tx = scope::begin(&state, &user.scope()).await?;
    let status = figures::status(&mut tx).await?;
    let measures = figures::measures(&mut tx, None).await?;
    let months = sqlx::query_as!(
        LoadedMonth,
        r#"
        select month, released_at, source, synthetic, rows_read, practices, icbs, list_size_month
        from prescribing_month order by month desc limit 36
        "#
    )
    .fetch_all(&mut *tx)
    .await?;
    // The latest programme year's catalogue, in order.
    let catalogue = sqlx::query!(
        r#"
        select o.number, o.title from opportunity o
        join programme_year y on y.programme_year_id = o.programme_year_id
        where y.starts_on = (select max(starts_on) from programme_year)
        order by o.number
        "#
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let opportunities = catalogue
        .into_iter()
        .map(|o| {
            let measures: Vec<LibraryEntry> = measures
                .iter()
                .filter(|m| m.measure.opportunity_number == o.number)
                .map(|m| LibraryEntry::of(&m.measure))
                .collect();
            LibraryOpportunity {
                number: o.number,
                title: o.title,
                not_shown: measures.is_empty().then(|| not_shown_reason(o.number)),
                measures,
            }
        })
        .collect();
    Ok(MeasureLibraryPage {
        layout: user.layout(),
        status,
        opportunities,
        months,
    })
}
