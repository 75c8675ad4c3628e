//! What every plan page starts from: the ICB (scope proven), the programme year and the
//! ICB's plan for it, and the rules for what may be changed.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::auth::scope::IcbAccess;
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
}

impl IcbYear {
    /// Proves the caller's scope for the ICB `code` (404 and audited otherwise) and finds the
    /// year `slug` (404 when it is not a programme year).
    pub async fn load(
        state: &AppState,
        user: &CurrentUser,
        conn: &mut PgConnection,
        code: &str,
        slug: &str,
    ) -> AppResult<Self> {
        let icb = IcbAccess::check(state, user, conn, code).await?;
        let year = PlanYear::from_slug(conn, slug).await?;
        let plan = find_plan(conn, &icb, &year).await?;
        let years = all_years(conn).await?;
        Ok(Self {
            icb,
            year,
            plan,
            years,
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

/// Workstreams were added to or removed from the plan: bumps its version (a choices or review
/// form opened before is then stale) and puts an agreed plan back to draft. Returns whether
/// it did that.
pub async fn workstreams_changed(conn: &mut PgConnection, plan_id: i32) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"
        update plan p set version = p.version + 1, updated_at = now(),
               status = case when p.status = 'agreed' then 'draft'::plan_status else p.status end
        from plan old
        where p.plan_id = $1 and old.plan_id = p.plan_id
        returning old.status = 'agreed' as "reopened!"
        "#,
        plan_id
    )
    .fetch_one(conn)
    .await
}

/// A change to an agreed plan's content puts it back to draft (bumping its version, so a
/// review form opened before the change is refused). Returns whether it did.
pub async fn reopen_if_agreed(conn: &mut PgConnection, plan_id: i32) -> sqlx::Result<bool> {
    let reopened = sqlx::query!(
        r#"
        update plan set status = 'draft', version = version + 1, updated_at = now()
        where plan_id = $1 and status = 'agreed'
        "#,
        plan_id
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(reopened == 1)
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
        }
    }
}
