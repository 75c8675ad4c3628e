//! Where an ICB's pages sit: Home › England › its region › the ICB › the year, as far as the
//! user's role reaches. England's roll-up is for national roles and a region's for its
//! reviewers and national roles, so an ICB user is never offered a link that would answer 404.

use sqlx::PgConnection;

use crate::auth::CurrentUser;
use crate::auth::scope::{IcbAccess, Scope};
use crate::domain::FinancialYear;

/// One link of a breadcrumb trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crumb {
    pub href: String,
    pub label: String,
}

/// The trail down to the ICB's own page (`/icbs/{ods}`), that page included: Home, England
/// and the region when the user may open them (their roll-ups for `year`, or their overviews
/// without one), then the ICB.
pub async fn to_icb(
    conn: &mut PgConnection,
    user: &CurrentUser,
    icb: &IcbAccess,
    year: Option<FinancialYear>,
) -> sqlx::Result<Vec<Crumb>> {
    let mut crumbs = vec![Crumb {
        href: "/".into(),
        label: "Home".into(),
    }];
    let scope = user.scope();
    let suffix = year.map(|y| format!("/{}", y.slug())).unwrap_or_default();
    if scope == Scope::National {
        crumbs.push(Crumb {
            href: format!("/national{suffix}"),
            label: "England".into(),
        });
    }
    let reaches_region = match scope {
        Scope::National => true,
        Scope::Region { region_id } => region_id == icb.region_id(),
        Scope::Icb { .. } | Scope::Nothing => false,
    };
    if reaches_region {
        let region = sqlx::query!(
            "select ods_code, name from region where region_id = $1",
            icb.region_id()
        )
        .fetch_one(&mut *conn)
        .await?;
        crumbs.push(Crumb {
            href: format!("/regions/{}{suffix}", region.ods_code),
            label: region.name,
        });
    }
    crumbs.push(Crumb {
        href: format!("/icbs/{}", icb.ods_code()),
        label: crate::rollups::short_icb_name(icb.name()).to_owned(),
    });
    Ok(crumbs)
}
