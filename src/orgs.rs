//! Organisations: NHS England regions and their integrated care boards (ICBs).
//! The structure is effective-dated, so ICBs that have closed are listed with their end date.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use chrono::NaiveDate;

use crate::AppState;
use crate::auth::scope::Scope;
use crate::auth::{CurrentUser, MaybeUser};
use crate::error::AppResult;
use crate::page::Layout;
use crate::routes::{Access, Routes};

/// The organisation routes.
pub fn routes() -> Routes {
    Routes::new().get("/organisations", Access::Public, list_organisations)
}

/// A region with its ICBs.
pub struct RegionWithIcbs {
    pub ods_code: String,
    pub name: String,
    /// Whether the viewer may open the region's page (and so link to it).
    pub linked: bool,
    pub icbs: Vec<IcbRow>,
}

/// One ICB as listed.
pub struct IcbRow {
    pub ods_code: String,
    pub name: String,
    pub valid_to: Option<NaiveDate>,
    pub change_note: Option<String>,
    /// Whether the viewer may open the ICB's page.
    pub linked: bool,
}

impl IcbRow {
    /// "31 March 2026", for ICBs that have closed.
    pub fn closed_on(&self) -> Option<String> {
        self.valid_to.map(|d| d.format("%-d %B %Y").to_string())
    }
}

/// `/organisations`
#[derive(Template, WebTemplate)]
#[template(path = "orgs/organisations.html")]
pub struct OrganisationsPage {
    pub layout: Layout,
    pub regions: Vec<RegionWithIcbs>,
}

async fn list_organisations(
    State(state): State<AppState>,
    user: MaybeUser,
) -> AppResult<OrganisationsPage> {
    let rows = sqlx::query!(
        r#"
        select r.region_id, r.ods_code as region_code, r.name as region_name,
               i.icb_id as "icb_id?", i.ods_code as "icb_code?", i.name as "icb_name?", i.valid_to, i.change_note
        from region r
        left join icb i using (region_id)
        order by r.name, i.name
        "#
    )
    .fetch_all(state.db())
    .await?;

    // Links only where the viewer's scope reaches; the pages themselves check again.
    let scope = user.0.as_ref().map_or(Scope::Nothing, CurrentUser::scope);
    let sees_region = |region_id: i16| match scope {
        Scope::National => true,
        Scope::Region { region_id: own } => own == region_id,
        Scope::Icb { .. } | Scope::Nothing => false,
    };
    let sees_icb = |region_id: i16, icb_id: i32| match scope {
        Scope::Icb { icb_id: own, .. } => own == icb_id,
        _ => sees_region(region_id),
    };
    let mut regions: Vec<RegionWithIcbs> = Vec::new();
    for row in rows {
        if regions.last().is_none_or(|r| r.ods_code != row.region_code) {
            regions.push(RegionWithIcbs {
                ods_code: row.region_code,
                name: row.region_name,
                linked: sees_region(row.region_id),
                icbs: Vec::new(),
            });
        }
        if let (Some(icb_id), Some(ods_code), Some(name), Some(region)) =
            (row.icb_id, row.icb_code, row.icb_name, regions.last_mut())
        {
            region.icbs.push(IcbRow {
                ods_code,
                name,
                valid_to: row.valid_to,
                change_note: row.change_note,
                linked: sees_icb(row.region_id, icb_id),
            });
        }
    }
    Ok(OrganisationsPage {
        layout: user.layout(),
        regions,
    })
}
