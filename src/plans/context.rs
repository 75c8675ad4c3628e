//! What every plan page starts from: the ICB (scope proven by the route's access check), the
//! programme year and the ICB's plan for it, and the rules for what may be changed.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

use super::breadcrumbs::Crumb;
use crate::auth::scope::IcbAccess;
use crate::clock::Clock;
use crate::domain::FinancialYear;
use crate::error::{AppError, AppResult};
use crate::icbs::PlanStatus;
use crate::page::{YearLink, year_links};

/// A programme year as stored.
#[derive(Debug, Clone)]
pub struct PlanYear {
    pub programme_year_id: i16,
    pub year: FinancialYear,
    pub open_for_editing: bool,
}

impl PlanYear {
    /// The programme year `year`, if there is one.
    pub async fn find(conn: &mut PgConnection, year: FinancialYear) -> sqlx::Result<Option<Self>> {
        let row = sqlx::query!(
            "select programme_year_id, open_for_editing from programme_year where starts_on = $1",
            year.starts_on()
        )
        .fetch_optional(conn)
        .await?;
        Ok(row.map(|r| PlanYear {
            programme_year_id: r.programme_year_id,
            year,
            open_for_editing: r.open_for_editing,
        }))
    }

    /// The programme year named in a path (`2024-25`), or 404.
    pub async fn from_slug(conn: &mut PgConnection, slug: &str) -> AppResult<Self> {
        let year = FinancialYear::parse(slug).map_err(|_| AppError::NotFound)?;
        Self::find(conn, year).await?.ok_or(AppError::NotFound)
    }

    /// The programme year `year`, held open (`for share`) until the transaction ends: an
    /// administrator closing it waits for saves under way, and saves after see it closed.
    pub async fn find_for_write(
        conn: &mut PgConnection,
        year: FinancialYear,
    ) -> sqlx::Result<Option<Self>> {
        let row = sqlx::query!(
            "select programme_year_id, open_for_editing from programme_year where starts_on = $1 for share",
            year.starts_on()
        )
        .fetch_optional(conn)
        .await?;
        Ok(row.map(|r| PlanYear {
            programme_year_id: r.programme_year_id,
            year,
            open_for_editing: r.open_for_editing,
        }))
    }
}

/// An ICB's plan for a year.
#[derive(Debug, Clone)]
pub struct PlanRecord {
    pub plan_id: i32,
    pub status: PlanStatus,
    pub review_comment: Option<String>,
    pub version: i32,
    pub submitted_at: Option<DateTime<Utc>>,
    pub reviewed_at: Option<DateTime<Utc>>,
}

/// The ICB, the year and the plan a request is about.
#[derive(Debug, Clone)]
pub struct IcbYear {
    pub icb: IcbAccess,
    pub year: PlanYear,
    pub plan: Option<PlanRecord>,
    /// Every programme year, newest first, for the year switcher.
    pub years: Vec<FinancialYear>,
    /// Where today's date comes from.
    pub clock: Clock,
    /// The breadcrumb trail down to the ICB's page, as far as the user's role reaches (set by
    /// the request's extractor, which knows the user).
    pub crumbs: Vec<Crumb>,
}

impl IcbYear {
    /// The year `year` and the ICB's plan for it, for an ICB whose scope the route's access
    /// check proved. With `for_write`, the plan's row is locked until the transaction ends and
    /// the year is held open (`for share`), so every check a write makes after this is on the
    /// state it will change: two requests for one plan take turns.
    pub async fn load(
        conn: &mut PgConnection,
        icb: IcbAccess,
        year: FinancialYear,
        clock: Clock,
        for_write: bool,
    ) -> AppResult<Self> {
        let year = if for_write {
            PlanYear::find_for_write(conn, year).await?
        } else {
            PlanYear::find(conn, year).await?
        }
        .ok_or(AppError::NotFound)?;
        let plan = if for_write {
            lock_plan(conn, &icb, &year).await?
        } else {
            find_plan(conn, &icb, &year).await?
        };
        let years = all_years(conn).await?;
        Ok(Self {
            icb,
            year,
            plan,
            years,
            clock,
            crumbs: Vec::new(),
        })
    }

    /// `/icbs/{ods}/{year}`
    pub fn base_path(&self) -> String {
        format!("/icbs/{}/{}", self.icb.ods_code(), self.year.year.slug())
    }

    /// The plan, or 404 (pages below the plan need one).
    pub fn require_plan(&self) -> AppResult<&PlanRecord> {
        self.plan.as_ref().ok_or(AppError::NotFound)
    }

    /// Why progress (actuals, measure values, updates) cannot be recorded, if it cannot.
    pub fn progress_locked(&self) -> Option<String> {
        if !self.icb.can_edit() {
            Some("You can view this ICB's plan but not change it.".into())
        } else if !self.year.open_for_editing {
            Some(format!(
                "{} is closed for editing, so its figures cannot be changed.",
                self.year.year
            ))
        } else {
            None
        }
    }

    /// Why the plan's content (choices, local priorities, targets, phasing) cannot be
    /// changed, if it cannot.
    pub fn plan_locked(&self) -> Option<String> {
        if let Some(reason) = self.progress_locked() {
            return Some(reason);
        }
        match self.plan.as_ref().map(|p| p.status) {
            None => Some("Start the plan first.".into()),
            Some(PlanStatus::Submitted) => Some(
                "The plan is with the regional team for review. You can change it again when they agree or return it."
                    .into(),
            ),
            Some(_) => None,
        }
    }

    /// Whether saving a change to the plan's content will put an agreed plan back to draft.
    pub fn change_reopens_plan(&self) -> bool {
        self.plan
            .as_ref()
            .is_some_and(|p| p.status == PlanStatus::Agreed)
    }
}

/// The ICB's plan for `year`, its row locked until the transaction ends.
async fn lock_plan(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    year: &PlanYear,
) -> sqlx::Result<Option<PlanRecord>> {
    sqlx::query_as!(
        PlanRecord,
        r#"
        select plan_id, status as "status: PlanStatus", review_comment, version,
               submitted_at, reviewed_at
        from plan where icb_id = $1 and programme_year_id = $2
        for update
        "#,
        icb.icb_id(),
        year.programme_year_id
    )
    .fetch_optional(conn)
    .await
}

/// The ICB's plan for `year`.
pub async fn find_plan(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    year: &PlanYear,
) -> sqlx::Result<Option<PlanRecord>> {
    sqlx::query_as!(
        PlanRecord,
        r#"
        select plan_id, status as "status: PlanStatus", review_comment, version,
               submitted_at, reviewed_at
        from plan where icb_id = $1 and programme_year_id = $2
        "#,
        icb.icb_id(),
        year.programme_year_id
    )
    .fetch_optional(conn)
    .await
}

/// Every programme year, newest first.
pub async fn all_years(conn: &mut PgConnection) -> sqlx::Result<Vec<FinancialYear>> {
    let starts: Vec<NaiveDate> =
        sqlx::query_scalar!("select starts_on from programme_year order by starts_on desc")
            .fetch_all(conn)
            .await?;
    Ok(starts
        .into_iter()
        .filter_map(FinancialYear::from_start_date)
        .collect())
}

/// The year an ICB user lands on: the financial year containing `today` if it is a programme
/// year, otherwise the latest programme year.
pub async fn landing_year(
    conn: &mut PgConnection,
    today: NaiveDate,
) -> sqlx::Result<Option<FinancialYear>> {
    let years = all_years(conn).await?;
    let current = FinancialYear::containing(today);
    Ok(years
        .iter()
        .copied()
        .find(|y| *y == current)
        .or_else(|| years.first().copied()))
}

/// What the top of every plan page shows: where you are and the year switcher.
#[derive(Debug, Clone)]
pub struct PlanHeader {
    pub ods_code: String,
    pub icb_name: String,
    pub year_label: String,
    /// `2024-25`
    pub year_slug: String,
    pub base_path: String,
    pub years: Vec<YearLink>,
    pub status: Option<PlanStatus>,
    pub year_open: bool,
    /// Home › … › the ICB (see [`super::breadcrumbs`]); pages below the dashboard add the year.
    pub crumbs: Vec<Crumb>,
}

impl IcbYear {
    /// The header, with the year switcher linking to the same page (`suffix`, e.g. `/plan`)
    /// of every programme year.
    pub fn header(&self, suffix: &str) -> PlanHeader {
        PlanHeader {
            ods_code: self.icb.ods_code().to_owned(),
            icb_name: self.icb.name().to_owned(),
            year_label: self.year.year.to_string(),
            year_slug: self.year.year.slug(),
            base_path: self.base_path(),
            years: year_links(&self.years, self.year.year, |y| {
                format!("/icbs/{}/{}{suffix}", self.icb.ods_code(), y.slug())
            }),
            status: self.plan.as_ref().map(|p| p.status),
            year_open: self.year.open_for_editing,
            crumbs: self.crumbs.clone(),
        }
    }
}
