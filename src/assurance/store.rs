//! Savings assurance as stored: a workstream's classification, investment and full-year
//! effect, its monthly forecasts and its risk log, a plan's savings requirement and a year's
//! settings. Reads take the [`IcbAccess`] proof and writes the [`IcbEditor`] proof, like
//! [`crate::plans::workstreams`]; row-level security filters them again.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

use crate::auth::scope::{IcbAccess, IcbEditor};
use crate::domain::assurance::{
    BenefitType, Confidence, ConfidenceWeights, RagThresholds, RiskStatus, SavingType, Setting,
    YearSettings,
};
use crate::domain::{Month, Pence};
use crate::forms::Version;
use crate::plans::workstreams::Rag;

/// A workstream's assurance fields as stored.
#[derive(Debug, Clone, Default)]
pub struct Classification {
    pub saving_type: Option<SavingType>,
    pub benefit_type: Option<BenefitType>,
    pub setting: Option<Setting>,
    pub investment: Pence,
    /// The lead's full-year effect (`None`: derived from the actuals).
    pub full_year_effect: Option<Pence>,
    /// Secured from last year's workstream (its full-year effect).
    pub carried_forward: Pence,
    pub carried_from: Option<i32>,
}

/// The workstream's assurance fields.
pub async fn classification(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    workstream_id: i32,
) -> sqlx::Result<Classification> {
    let row = sqlx::query!(
        r#"
        select saving_type as "saving_type: SavingType", benefit_type as "benefit_type: BenefitType",
               setting as "setting: Setting", investment_pence, full_year_effect_pence,
               carried_forward_pence, carried_from_workstream_id
        from workstream where icb_id = $1 and workstream_id = $2
        "#,
        icb.icb_id(),
        workstream_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row
        .map(|r| Classification {
            saving_type: r.saving_type,
            benefit_type: r.benefit_type,
            setting: r.setting,
            investment: Pence(r.investment_pence),
            full_year_effect: r.full_year_effect_pence.map(Pence),
            carried_forward: Pence(r.carried_forward_pence),
            carried_from: r.carried_from_workstream_id,
        })
        .unwrap_or_default())
}

/// Writes the classification and investment.
pub async fn save_classification(
    conn: &mut PgConnection,
    editor: &IcbEditor,
    workstream_id: i32,
    values: (SavingType, BenefitType, Setting, Pence),
) -> sqlx::Result<()> {
    let (saving_type, benefit_type, setting, investment) = values;
    sqlx::query!(
        r#"
        update workstream set saving_type = $3, benefit_type = $4, setting = $5, investment_pence = $6
        where icb_id = $1 and workstream_id = $2
        "#,
        editor.icb_id(),
        workstream_id,
        saving_type as SavingType,
        benefit_type as BenefitType,
        setting as Setting,
        investment.0
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes the lead's full-year effect (`None`: derive it from the actuals).
pub async fn save_full_year_effect(
    conn: &mut PgConnection,
    editor: &IcbEditor,
    workstream_id: i32,
    effect: Option<Pence>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update workstream set full_year_effect_pence = $3 where icb_id = $1 and workstream_id = $2",
        editor.icb_id(),
        workstream_id,
        effect.map(|p| p.0)
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A lead's forecast as at a month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forecast {
    pub month: NaiveDate,
    pub likely_outturn: Pence,
    pub confidence: Confidence,
    pub recorded_at: DateTime<Utc>,
}

/// The workstream's forecasts in its plan's year, newest month first.
pub async fn forecasts(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    workstream_id: i32,
    year: crate::domain::FinancialYear,
) -> sqlx::Result<Vec<Forecast>> {
    let rows = sqlx::query!(
        r#"
        select month, likely_outturn_pence, confidence as "confidence: Confidence", recorded_at
        from workstream_forecast
        where icb_id = $1 and workstream_id = $2 and month between $3 and $4
        order by month desc
        "#,
        icb.icb_id(),
        workstream_id,
        year.starts_on(),
        year.ends_on()
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Forecast {
            month: r.month,
            likely_outturn: Pence(r.likely_outturn_pence),
            confidence: r.confidence,
            recorded_at: r.recorded_at,
        })
        .collect())
}

/// Records the forecast as at `month` (replacing one recorded for that month).
pub async fn save_forecast(
    conn: &mut PgConnection,
    editor: &IcbEditor,
    workstream_id: i32,
    month: Month,
    likely_outturn: Pence,
    confidence: Confidence,
) -> sqlx::Result<()> {
    sqlx::query!(
        r#"
        insert into workstream_forecast (workstream_id, icb_id, month, likely_outturn_pence, confidence)
        values ($2, $1, $3, $4, $5)
        on conflict (workstream_id, month) do update
        set likely_outturn_pence = excluded.likely_outturn_pence, confidence = excluded.confidence,
            recorded_at = now()
        "#,
        editor.icb_id(),
        workstream_id,
        month as Month,
        likely_outturn.0,
        confidence as Confidence
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// One risk of a workstream's log.
#[derive(Debug, Clone)]
pub struct Risk {
    pub risk_id: i32,
    pub description: String,
    pub mitigation: String,
    pub owner: String,
    pub status: RiskStatus,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The workstream's risks, open ones first, then newest first.
pub async fn risks(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    workstream_id: i32,
) -> sqlx::Result<Vec<Risk>> {
    sqlx::query_as!(
        Risk,
        r#"
        select risk_id, description, mitigation, owner, status as "status: RiskStatus", version,
               created_at, updated_at
        from workstream_risk where icb_id = $1 and workstream_id = $2
        order by status = 'closed', created_at desc, risk_id desc
        "#,
        icb.icb_id(),
        workstream_id
    )
    .fetch_all(conn)
    .await
}

/// A risk's fields as written.
#[derive(Debug, Clone, Copy)]
pub struct RiskFields<'a> {
    pub description: &'a str,
    pub mitigation: &'a str,
    pub owner: &'a str,
    pub status: RiskStatus,
}

/// Adds a risk to the workstream's log; returns its id.
pub async fn add_risk(
    conn: &mut PgConnection,
    editor: &IcbEditor,
    workstream_id: i32,
    risk: RiskFields<'_>,
) -> sqlx::Result<i32> {
    sqlx::query_scalar!(
        r#"
        insert into workstream_risk (workstream_id, icb_id, description, mitigation, owner, status)
        values ($2, $1, $3, $4, $5, $6) returning risk_id
        "#,
        editor.icb_id(),
        workstream_id,
        risk.description,
        risk.mitigation,
        risk.owner,
        risk.status as RiskStatus
    )
    .fetch_one(conn)
    .await
}

/// Changes a risk of the workstream if it is still at `version`. Returns whether it did.
pub async fn update_risk(
    conn: &mut PgConnection,
    editor: &IcbEditor,
    workstream_id: i32,
    risk_id: i32,
    version: Version,
    risk: RiskFields<'_>,
) -> sqlx::Result<bool> {
    let updated = sqlx::query!(
        r#"
        update workstream_risk
           set description = $5, mitigation = $6, owner = $7, status = $8,
               version = version + 1, updated_at = now()
         where icb_id = $1 and workstream_id = $2 and risk_id = $3 and version = $4
        "#,
        editor.icb_id(),
        workstream_id,
        risk_id,
        version.0,
        risk.description,
        risk.mitigation,
        risk.owner,
        risk.status as RiskStatus
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// The latest RAG update's suggestion and the lead's reason, if the lead gave one.
#[derive(Debug, Clone)]
pub struct RagReason {
    pub rag: Rag,
    pub suggested: Option<Rag>,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

/// The RAG the workstream's figures suggest now with its year's thresholds, as the
/// `workstream_assurance` view defines it (so the page, the update form's check and the exports
/// agree).
pub async fn suggested_rag(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    workstream_id: i32,
) -> sqlx::Result<Option<Rag>> {
    Ok(sqlx::query_scalar!(
        r#"select suggested_rag as "suggested: Rag" from workstream_assurance
           where icb_id = $1 and workstream_id = $2"#,
        icb.icb_id(),
        workstream_id
    )
    .fetch_optional(conn)
    .await?
    .flatten())
}

/// The workstream's latest RAG update, with what was suggested then and the reason given.
pub async fn latest_rag_reason(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    workstream_id: i32,
) -> sqlx::Result<Option<RagReason>> {
    sqlx::query_as!(
        RagReason,
        r#"
        select rag as "rag: Rag", suggested_rag as "suggested: Rag", rag_reason as reason, created_at
        from workstream_update where icb_id = $1 and workstream_id = $2
        order by created_at desc, workstream_update_id desc limit 1
        "#,
        icb.icb_id(),
        workstream_id
    )
    .fetch_optional(conn)
    .await
}

/// Stores what was suggested and the lead's reason on the update just added.
pub async fn record_rag_reason(
    conn: &mut PgConnection,
    editor: &IcbEditor,
    workstream_id: i32,
    suggested: Option<Rag>,
    reason: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        r#"
        update workstream_update set suggested_rag = $3, rag_reason = $4
        where workstream_update_id = (
            select workstream_update_id from workstream_update
            where icb_id = $1 and workstream_id = $2
            order by created_at desc, workstream_update_id desc limit 1)
        "#,
        editor.icb_id(),
        workstream_id,
        suggested as Option<Rag>,
        reason
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A programme year's settings.
pub async fn year_settings(
    conn: &mut PgConnection,
    programme_year_id: i16,
) -> sqlx::Result<YearSettings> {
    let row = sqlx::query!(
        r#"
        select confidence_weight_high, confidence_weight_medium, confidence_weight_low,
               rag_green_percent, rag_amber_percent
        from programme_year where programme_year_id = $1
        "#,
        programme_year_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row
        .map(|r| YearSettings {
            weights: ConfidenceWeights {
                high: r.confidence_weight_high,
                medium: r.confidence_weight_medium,
                low: r.confidence_weight_low,
            },
            thresholds: RagThresholds {
                green: r.rag_green_percent,
                amber: r.rag_amber_percent,
            },
        })
        .unwrap_or_default())
}

/// Writes a programme year's settings.
pub async fn save_year_settings(
    conn: &mut PgConnection,
    programme_year_id: i16,
    s: &YearSettings,
) -> sqlx::Result<()> {
    sqlx::query!(
        r#"
        update programme_year
           set confidence_weight_high = $2, confidence_weight_medium = $3, confidence_weight_low = $4,
               rag_green_percent = $5, rag_amber_percent = $6
         where programme_year_id = $1
        "#,
        programme_year_id,
        s.weights.high,
        s.weights.medium,
        s.weights.low,
        s.thresholds.green,
        s.thresholds.amber
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives a newly created programme year the settings of the year it was copied from.
pub async fn copy_year_settings(
    conn: &mut PgConnection,
    to: crate::domain::FinancialYear,
    from: crate::domain::FinancialYear,
) -> sqlx::Result<()> {
    sqlx::query!(
        r#"
        update programme_year t
           set confidence_weight_high = s.confidence_weight_high,
               confidence_weight_medium = s.confidence_weight_medium,
               confidence_weight_low = s.confidence_weight_low,
               rag_green_percent = s.rag_green_percent,
               rag_amber_percent = s.rag_amber_percent
          from programme_year s
         where t.starts_on = $1 and s.starts_on = $2
        "#,
        to.starts_on(),
        from.starts_on()
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The plan's savings requirement and the version it was read at.
pub async fn requirement(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    plan_id: i32,
) -> sqlx::Result<Option<Pence>> {
    let row = sqlx::query_scalar!(
        "select savings_requirement_pence from plan where icb_id = $1 and plan_id = $2",
        icb.icb_id(),
        plan_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.flatten().map(Pence))
}

/// Writes the plan's savings requirement if the plan is still at `version`, moving the
/// version on. Returns whether it did.
pub async fn save_requirement(
    conn: &mut PgConnection,
    editor: &IcbEditor,
    plan_id: i32,
    version: Version,
    requirement: Option<Pence>,
) -> sqlx::Result<bool> {
    let saved = sqlx::query!(
        r#"
        update plan set savings_requirement_pence = $4, version = version + 1, updated_at = now()
        where icb_id = $1 and plan_id = $2 and version = $3
        "#,
        editor.icb_id(),
        plan_id,
        version.0,
        requirement.map(|p| p.0)
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(saved == 1)
}
