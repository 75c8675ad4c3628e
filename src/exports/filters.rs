//! The filters an export takes (`year`, `region`, `icb`, `opportunity`), checked against the
//! caller's scope: a region or ICB outside it answers 404 like its pages do (and is audited),
//! and every query also takes the ICBs the caller may read, so a filter can only narrow.

use serde::Deserialize;
use sqlx::PgConnection;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::auth::scope::{IcbAccess, RegionAccess, Scope};
use crate::domain::{FinancialYear, Month, reporting_month};
use crate::error::AppResult;
use crate::forms::FieldErrors;
use crate::plans::context::PlanYear;

/// The filters as typed in the query string.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct FilterQuery {
    #[serde(default)]
    pub year: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub icb: String,
    #[serde(default)]
    pub opportunity: String,
}

impl FilterQuery {
    /// `?year=…&region=…` with the filters that are set, for links.
    pub fn query_string(&self) -> String {
        let pairs: Vec<(&str, &str)> = [
            ("year", self.year.trim()),
            ("region", self.region.trim()),
            ("icb", self.icb.trim()),
            ("opportunity", self.opportunity.trim()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
        if pairs.is_empty() {
            return String::new();
        }
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        format!("?{encoded}")
    }
}

/// The filters checked and resolved to ids, plus the caller's scope.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub year: Option<FinancialYear>,
    pub programme_year_id: Option<i16>,
    pub region_id: Option<i16>,
    pub region_code: Option<String>,
    pub icb_id: Option<i32>,
    pub icb_code: Option<String>,
    pub opportunity: Option<i16>,
    /// The ICBs the caller may read; `None` for national roles (every ICB).
    pub scope_icbs: Option<Vec<i32>>,
    /// "To date" runs to this month: the reporting month on the server's date.
    pub reporting_month: Option<Month>,
}

impl Filters {
    /// Checks `query` (field errors for values that are not years or numbers; 404 for a region
    /// or ICB outside the caller's scope).
    pub async fn resolve(
        state: &AppState,
        user: &CurrentUser,
        conn: &mut PgConnection,
        query: &FilterQuery,
    ) -> AppResult<Result<Filters, FieldErrors>> {
        let mut errors = FieldErrors::default();
        let mut filters = Filters {
            scope_icbs: scope_icbs(conn, &user.scope()).await?,
            reporting_month: Some(reporting_month(state.clock().today())),
            ..Filters::default()
        };
        let year = query.year.trim();
        if !year.is_empty() {
            let found = match FinancialYear::parse(year) {
                Ok(y) => PlanYear::find(&mut *conn, y).await?,
                Err(_) => None,
            };
            match found {
                Some(found) => {
                    filters.year = Some(found.year);
                    filters.programme_year_id = Some(found.programme_year_id);
                }
                None => errors.add("year", "Select a programme year, like 2024/25"),
            }
        }
        let region = query.region.trim();
        if !region.is_empty() {
            let access = RegionAccess::check(state, user, region).await?;
            filters.region_id = Some(access.region_id());
            filters.region_code = Some(access.ods_code().to_owned());
        }
        let icb = query.icb.trim();
        if !icb.is_empty() {
            let access = IcbAccess::check(state, user, icb).await?;
            filters.icb_id = Some(access.icb_id());
            filters.icb_code = Some(access.ods_code().to_owned());
        }
        let opportunity = query.opportunity.trim();
        if !opportunity.is_empty() {
            match opportunity.parse::<i16>() {
                Ok(n) if (1..=99).contains(&n) => filters.opportunity = Some(n),
                _ => errors.add(
                    "opportunity",
                    "Enter the national opportunity's number, like 4",
                ),
            }
        }
        Ok(if errors.is_empty() {
            Ok(filters)
        } else {
            Err(errors)
        })
    }

    /// The month "to date" runs to.
    pub fn to_month(&self) -> Month {
        self.reporting_month
            .unwrap_or_else(|| reporting_month(chrono::Utc::now().date_naive()))
    }

    /// `2024-25`, `Y62`, … joined for a file name.
    pub fn file_suffix(&self) -> String {
        [
            self.year.map(|y| y.slug()),
            self.region_code.clone(),
            self.icb_code.clone(),
            self.opportunity.map(|n| format!("opportunity-{n}")),
        ]
        .into_iter()
        .flatten()
        .map(|part| format!("-{part}"))
        .collect()
    }
}

/// The ICBs `scope` may read (`None`: all of them).
async fn scope_icbs(conn: &mut PgConnection, scope: &Scope) -> sqlx::Result<Option<Vec<i32>>> {
    Ok(match scope {
        Scope::National => None,
        Scope::Nothing => Some(Vec::new()),
        Scope::Icb { icb_id, .. } => Some(vec![*icb_id]),
        Scope::Region { region_id } => Some(
            sqlx::query_scalar!("select icb_id from icb where region_id = $1", region_id)
                .fetch_all(conn)
                .await?,
        ),
    })
}
