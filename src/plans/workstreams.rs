//! Workstreams as stored: each chosen national opportunity and each local priority of a plan.
//! Reads take the [`IcbAccess`] proof and writes the [`IcbEditor`] proof, and both name its
//! ICB, so they cannot be called for an ICB the caller has not been checked against; row-level
//! security filters them again (and refuses writes outside an editor's ICB).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::auth::scope::{IcbAccess, IcbEditor};
use crate::domain::phasing::Target;
use crate::domain::{Month, MonthFigures, Pence};
use crate::error::{AppError, AppResult};
use crate::forms::Version;

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
    /// A planned spending increase (the only kind that may have a negative target).
    pub cost_pressure: bool,
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
    fetch(conn, icb, plan_id, None, false).await
}

/// Every workstream of the plan, removed ones too (their reported savings still count):
/// national by number, then local.
pub async fn list_with_removed(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    plan_id: i32,
) -> sqlx::Result<Vec<Workstream>> {
    fetch(conn, icb, plan_id, None, true).await
}

/// One of the plan's workstreams (removed ones too: their pages keep the history); 404 when
/// the id is not this plan's.
pub async fn find(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    plan_id: i32,
    workstream_id: i32,
) -> AppResult<Workstream> {
    fetch(conn, icb, plan_id, Some(workstream_id), false)
        .await?
        .pop()
        .ok_or(AppError::NotFound)
}

/// The plan's live workstreams (and removed ones with `removed`), or the one with
/// `workstream_id` whether removed or not.
async fn fetch(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    plan_id: i32,
    workstream_id: Option<i32>,
    removed: bool,
) -> sqlx::Result<Vec<Workstream>> {
    sqlx::query_as!(
        Workstream,
        r#"
        select w.workstream_id, w.opportunity_id, o.number as "number?", o.group_name as "group_name?",
               coalesce(w.title, o.title) as title, coalesce(o.efficiency_focus, false) as "efficiency_focus!",
               w.description, w.lead_name, w.summary, w.objectives, w.annual_target_pence,
               w.cost_pressure, w.rag as "rag: Rag", w.removed_at, w.version
        from workstream w
        left join opportunity o on o.opportunity_id = w.opportunity_id
        where w.icb_id = $1 and w.plan_id = $2
          and (w.workstream_id = $3 or ($3::integer is null and (w.removed_at is null or $4)))
        order by o.number nulls last, w.workstream_id
        "#,
        icb.icb_id(),
        plan_id,
        workstream_id,
        removed
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

/// Writes a workstream's annual target, whether it is a cost pressure, and its phasing: the
/// one write path for them. [`Target`] can only be made with months that add up to the target
/// (and below zero only for a cost pressure); the database checks the same again at commit.
pub async fn save_target(
    conn: &mut PgConnection,
    editor: &IcbEditor,
    workstream_id: i32,
    target: &Target,
) -> sqlx::Result<()> {
    sqlx::query!(
        r#"
        update workstream set annual_target_pence = $3, cost_pressure = $4
        where icb_id = $1 and workstream_id = $2
        "#,
        editor.icb_id(),
        workstream_id,
        target.annual().0,
        target.cost_pressure()
    )
    .execute(&mut *conn)
    .await?;
    let (months, amounts): (Vec<Month>, Vec<i64>) =
        target.months().iter().map(|(m, p)| (*m, p.0)).unzip();
    sqlx::query!(
        r#"
        insert into workstream_month (workstream_id, icb_id, month, planned_pence)
        select $2, $1, m, p from unnest($3::date[], $4::bigint[]) as t(m, p)
        on conflict (workstream_id, month) do update set planned_pence = excluded.planned_pence
        "#,
        editor.icb_id(),
        workstream_id,
        &months as &[Month],
        &amounts
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes a workstream's actual savings (`None` clears a month) for the given months.
pub async fn save_actuals(
    conn: &mut PgConnection,
    editor: &IcbEditor,
    workstream_id: i32,
    actuals: &[(Month, Option<Pence>)],
) -> sqlx::Result<()> {
    let months: Vec<Month> = actuals.iter().map(|(m, _)| *m).collect();
    let amounts: Vec<Option<i64>> = actuals.iter().map(|(_, a)| a.map(|p| p.0)).collect();
    sqlx::query!(
        r#"
        insert into workstream_month (workstream_id, icb_id, month, actual_pence)
        select $2, $1, m, a from unnest($3::date[], $4::bigint[]) as t(m, a)
        on conflict (workstream_id, month) do update set actual_pence = excluded.actual_pence
        "#,
        editor.icb_id(),
        workstream_id,
        &months as &[Month],
        &amounts as &[Option<i64>]
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Claims the next version of a workstream: succeeds only if it is still at `version` and
/// not removed (no one saved in between). Returns whether it did.
pub async fn claim_version(
    conn: &mut PgConnection,
    editor: &IcbEditor,
    workstream_id: i32,
    version: Version,
) -> sqlx::Result<bool> {
    let claimed = sqlx::query!(
        r#"
        update workstream set version = version + 1, updated_at = now()
        where icb_id = $1 and workstream_id = $2 and version = $3 and removed_at is null
        "#,
        editor.icb_id(),
        workstream_id,
        version.0
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(claimed == 1)
}

/// Adds the national opportunities `adding` to the plan (bringing back any removed before)
/// and removes the workstreams `removing` (kept, with their figures and history).
pub async fn choose(
    conn: &mut PgConnection,
    editor: &IcbEditor,
    plan_id: i32,
    adding: &[i32],
    removing: &[Workstream],
) -> sqlx::Result<()> {
    sqlx::query!(
        r#"
        insert into workstream (icb_id, plan_id, opportunity_id)
        select $1, $2, unnest($3::integer[])
        on conflict (plan_id, opportunity_id) do update set removed_at = null, updated_at = now()
        "#,
        editor.icb_id(),
        plan_id,
        adding
    )
    .execute(&mut *conn)
    .await?;
    let removing: Vec<i32> = removing.iter().map(|w| w.workstream_id).collect();
    sqlx::query!(
        r#"
        update workstream set removed_at = now(), updated_at = now(), version = version + 1
        where icb_id = $1 and workstream_id = any($2)
        "#,
        editor.icb_id(),
        &removing
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Adds a local priority to the plan; returns its id.
pub async fn add_local(
    conn: &mut PgConnection,
    editor: &IcbEditor,
    plan_id: i32,
    title: &str,
    description: &str,
) -> sqlx::Result<i32> {
    sqlx::query_scalar!(
        r#"
        insert into workstream (icb_id, plan_id, title, description)
        values ($1, $2, $3, $4) returning workstream_id
        "#,
        editor.icb_id(),
        plan_id,
        title,
        description
    )
    .fetch_one(conn)
    .await
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

/// Writes a workstream's details (a national opportunity's title stays the catalogue's).
pub async fn save_details(
    conn: &mut PgConnection,
    editor: &IcbEditor,
    workstream_id: i32,
    details: &crate::plans::workstream::page::DetailsValues,
) -> sqlx::Result<()> {
    sqlx::query!(
        r#"
        update workstream
           set title = case when opportunity_id is null then $3 else null end,
               description = $4, lead_name = $5, summary = $6, objectives = $7
         where icb_id = $1 and workstream_id = $2
        "#,
        editor.icb_id(),
        workstream_id,
        details.title,
        details.description,
        details.lead_name,
        details.summary,
        &details.objectives
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a RAG update and makes its status the workstream's.
pub async fn add_update(
    conn: &mut PgConnection,
    editor: &IcbEditor,
    workstream_id: i32,
    rag: Rag,
    narrative: &str,
    author: &crate::auth::CurrentUser,
) -> sqlx::Result<()> {
    sqlx::query!(
        r#"
        insert into workstream_update (workstream_id, icb_id, rag, narrative, author_user_id, author_name)
        values ($1, $2, $3, $4, $5, $6)
        "#,
        workstream_id,
        editor.icb_id(),
        rag as Rag,
        narrative,
        author.user_id,
        author.name
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "update workstream set rag = $3, updated_at = now() where icb_id = $1 and workstream_id = $2",
        editor.icb_id(),
        workstream_id,
        rag as Rag
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes a workstream from the plan if it is still at `version` (kept, with its figures
/// and history). Returns whether it did.
pub async fn remove(
    conn: &mut PgConnection,
    editor: &IcbEditor,
    workstream_id: i32,
    version: Version,
) -> sqlx::Result<bool> {
    let removed = sqlx::query!(
        r#"
        update workstream set removed_at = now(), updated_at = now(), version = version + 1
        where icb_id = $1 and workstream_id = $2 and version = $3 and removed_at is null
        "#,
        editor.icb_id(),
        workstream_id,
        version.0
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(removed == 1)
}
