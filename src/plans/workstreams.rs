//! Workstreams as stored: each chosen national opportunity and each local priority of a plan.
//! Queries take the [`IcbAccess`] proof and name its ICB, so they cannot be called for an ICB
//! the caller has not been checked against; row-level security filters them again.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

use crate::auth::scope::IcbAccess;
use crate::domain::{MonthFigures, Pence};
use crate::error::{AppError, AppResult};

/// A workstream's RAG status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, serde::Serialize)]
#[sqlx(type_name = "rag_status", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Rag {
    Red,
    Amber,
    Green,
}

impl Rag {
    /// Every status, worst first.
    pub const ALL: [Rag; 3] = [Rag::Red, Rag::Amber, Rag::Green];

    /// As written in forms.
    pub fn key(self) -> &'static str {
        match self {
            Rag::Red => "red",
            Rag::Amber => "amber",
            Rag::Green => "green",
        }
    }

    /// In words.
    pub fn label(self) -> &'static str {
        match self {
            Rag::Red => "Red",
            Rag::Amber => "Amber",
            Rag::Green => "Green",
        }
    }

    /// What it means, for the update form.
    pub fn hint(self) -> &'static str {
        match self {
            Rag::Red => "Off track: the target will not be met without action",
            Rag::Amber => "At risk: behind plan but recoverable",
            Rag::Green => "On track",
        }
    }

    /// NHS.UK tag colour (all meet contrast with their text).
    pub fn tag_class(self) -> &'static str {
        match self {
            Rag::Red => "nhsuk-tag--red",
            Rag::Amber => "nhsuk-tag--yellow",
            Rag::Green => "nhsuk-tag--green",
        }
    }

    /// From a form value.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.key() == key)
    }
}

/// The aims of an integrated care system a workstream can serve: (key, words).
pub const ICS_OBJECTIVES: [(&str, &str); 4] = [
    (
        "outcomes",
        "Improve outcomes in population health and healthcare",
    ),
    (
        "inequalities",
        "Tackle inequalities in outcomes, experience and access",
    ),
    ("value", "Enhance productivity and value for money"),
    (
        "social_economic",
        "Help the NHS support broader social and economic development",
    ),
];

/// One workstream.
#[derive(Debug, Clone)]
pub struct Workstream {
    pub workstream_id: i32,
    pub opportunity_id: Option<i32>,
    pub number: Option<i16>,
    pub group_name: Option<String>,
    /// The local priority's title or the opportunity's (never null in the database: `Option`
    /// only because the query's `coalesce` is not known to be non-null).
    pub title: Option<String>,
    pub efficiency_focus: bool,
    pub description: String,
    pub lead_name: String,
    pub summary: String,
    pub objectives: Vec<String>,
    pub annual_target_pence: i64,
    pub rag: Option<Rag>,
    pub removed_at: Option<DateTime<Utc>>,
    pub version: i32,
}

impl Workstream {
    /// How it is named on pages: `4. Title` for a national opportunity, the local title otherwise.
    pub fn display_title(&self) -> String {
        let title = self.title.as_deref().unwrap_or_default();
        match self.number {
            Some(n) => format!("{n}. {title}"),
            None => title.to_owned(),
        }
    }

    /// Whether it is a local priority rather than a national opportunity.
    pub fn is_local(&self) -> bool {
        self.opportunity_id.is_none()
    }

    /// The annual target.
    pub fn annual_target(&self) -> Pence {
        Pence(self.annual_target_pence)
    }

    /// Whether it serves the ICS objective `key`.
    pub fn serves(&self, key: &&str) -> bool {
        self.objectives.iter().any(|o| o == key)
    }
}

/// The plan's workstreams that have not been removed: national by number, then local.
pub async fn list(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    plan_id: i32,
) -> sqlx::Result<Vec<Workstream>> {
    fetch(conn, icb, plan_id, None).await
}

/// One of the plan's workstreams (removed ones too: their pages keep the history); 404 when
/// the id is not this plan's.
pub async fn find(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    plan_id: i32,
    workstream_id: i32,
) -> AppResult<Workstream> {
    fetch(conn, icb, plan_id, Some(workstream_id))
        .await?
        .pop()
        .ok_or(AppError::NotFound)
}

/// The plan's live workstreams, or the one with `workstream_id` whether removed or not.
async fn fetch(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    plan_id: i32,
    workstream_id: Option<i32>,
) -> sqlx::Result<Vec<Workstream>> {
    sqlx::query_as!(
        Workstream,
        r#"
        select w.workstream_id, w.opportunity_id, o.number as "number?", o.group_name as "group_name?",
               coalesce(w.title, o.title) as title, coalesce(o.efficiency_focus, false) as "efficiency_focus!",
               w.description, w.lead_name, w.summary, w.objectives, w.annual_target_pence,
               w.rag as "rag: Rag", w.removed_at, w.version
        from workstream w
        left join opportunity o on o.opportunity_id = w.opportunity_id
        where w.icb_id = $1 and w.plan_id = $2
          and (w.workstream_id = $3 or ($3::integer is null and w.removed_at is null))
        order by o.number nulls last, w.workstream_id
        "#,
        icb.icb_id(),
        plan_id,
        workstream_id
    )
    .fetch_all(conn)
    .await
}

/// A workstream's monthly target and actual, by month.
pub async fn months(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    workstream_id: i32,
) -> sqlx::Result<Vec<MonthFigures>> {
    let rows = sqlx::query!(
        r#"
        select month, planned_pence, actual_pence from workstream_month
        where icb_id = $1 and workstream_id = $2 order by month
        "#,
        icb.icb_id(),
        workstream_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| MonthFigures {
            month: r.month,
            planned: Pence(r.planned_pence),
            actual: r.actual_pence.map(Pence),
        })
        .collect())
}

/// Writes a workstream's phasing (`planned`) for the given months, creating month rows.
pub async fn save_phasing(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    workstream_id: i32,
    phasing: &[(NaiveDate, Pence)],
) -> sqlx::Result<()> {
    let (months, amounts): (Vec<NaiveDate>, Vec<i64>) =
        phasing.iter().map(|(m, p)| (*m, p.0)).unzip();
    sqlx::query!(
        r#"
        insert into workstream_month (workstream_id, icb_id, month, planned_pence)
        select $2, $1, m, p from unnest($3::date[], $4::bigint[]) as t(m, p)
        on conflict (workstream_id, month) do update set planned_pence = excluded.planned_pence
        "#,
        icb.icb_id(),
        workstream_id,
        &months,
        &amounts
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes a workstream's actual savings (`None` clears a month) for the given months.
pub async fn save_actuals(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    workstream_id: i32,
    actuals: &[(NaiveDate, Option<Pence>)],
) -> sqlx::Result<()> {
    let months: Vec<NaiveDate> = actuals.iter().map(|(m, _)| *m).collect();
    let amounts: Vec<Option<i64>> = actuals.iter().map(|(_, a)| a.map(|p| p.0)).collect();
    sqlx::query!(
        r#"
        insert into workstream_month (workstream_id, icb_id, month, actual_pence)
        select $2, $1, m, a from unnest($3::date[], $4::bigint[]) as t(m, a)
        on conflict (workstream_id, month) do update set actual_pence = excluded.actual_pence
        "#,
        icb.icb_id(),
        workstream_id,
        &months,
        &amounts as &[Option<i64>]
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Claims the next version of a workstream: succeeds only if it is still at `version` (no one
/// saved in between). Returns whether it did.
pub async fn claim_version(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    workstream_id: i32,
    version: i32,
) -> sqlx::Result<bool> {
    let claimed = sqlx::query!(
        r#"
        update workstream set version = version + 1, updated_at = now()
        where icb_id = $1 and workstream_id = $2 and version = $3 and removed_at is null
        "#,
        icb.icb_id(),
        workstream_id,
        version
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(claimed == 1)
}

/// Whether anything has been recorded against the workstream that removing it would hide:
/// actuals, updates or measures.
pub async fn has_recorded_progress(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    workstream_id: i32,
) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"
        select exists (select 1 from workstream_month where icb_id = $1 and workstream_id = $2 and actual_pence is not null)
            or exists (select 1 from workstream_update where icb_id = $1 and workstream_id = $2)
            or exists (select 1 from measure where icb_id = $1 and workstream_id = $2 and removed_at is null)
            as "recorded!"
        "#,
        icb.icb_id(),
        workstream_id
    )
    .fetch_one(conn)
    .await
}
