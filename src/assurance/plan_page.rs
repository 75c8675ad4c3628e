//! `/icbs/{icb}/{year}/assurance`: a plan's savings assurance on one page, for the ICB and its
//! reviewers: the savings requirement and the unidentified gap (with the form to record the
//! requirement), the headline splits, and every workstream's assurance figures with the RAG
//! the figures suggest beside the lead's, and the lead's reason where they differ.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Query;
use chrono::NaiveDate;
use sqlx::PgConnection;

use super::figures::{self, AssuranceTotals, Splits};
use super::store;
use crate::auth::CurrentUser;
use crate::domain::assurance::{
    BenefitType, Choice, Confidence, SavingType, Setting, YearSettings,
};
use crate::domain::{FinancialYear, Pence};
use crate::error::AppResult;
use crate::forms::FieldErrors;
use crate::page::Layout;
use crate::plans::changes::Change;
use crate::plans::context::{IcbYear, PlanHeader};
use crate::plans::plan_page::{NoticeQuery, notice_text};
use crate::plans::request::PlanView;
use crate::plans::workstreams::Rag;

/// One workstream's row.
pub struct WorkstreamRow {
    pub workstream_id: i32,
    pub title: String,
    pub local: bool,
    pub saving_type: Option<SavingType>,
    pub benefit_type: Option<BenefitType>,
    pub setting: Option<Setting>,
    pub annual_target: Pence,
    pub investment: Pence,
    pub net_target: Pence,
    pub carried_forward: Pence,
    pub actual_to_date: Pence,
    pub full_year_effect: Option<Pence>,
    pub effect_source: Option<String>,
    pub forecast_month: Option<NaiveDate>,
    pub likely_outturn: Option<Pence>,
    pub confidence: Option<Confidence>,
    pub risk_adjusted: Option<Pence>,
    pub suggested: Option<Rag>,
    pub rag: Option<Rag>,
    /// The latest RAG update's reason (empty if none was given).
    pub reason: String,
    pub open_risks: i32,
}

impl WorkstreamRow {
    /// Whether the lead's RAG differs from the suggested one.
    pub fn rag_differs(&self) -> bool {
        matches!((self.rag, self.suggested), (Some(l), Some(s)) if l != s)
    }

    /// "Jun 2024".
    pub fn forecast_month(&self) -> String {
        self.forecast_month
            .map(|m| m.format("%b %Y").to_string())
            .unwrap_or_default()
    }

    /// A classification in words, or a dash.
    pub fn label<C: Choice>(&self, choice: &Option<C>) -> &'static str {
        choice.map_or("–", Choice::label)
    }
}

/// `/icbs/{icb}/{year}/assurance`
#[derive(Template, WebTemplate)]
#[template(path = "assurance/plan.html")]
pub struct AssurancePage {
    pub layout: Layout,
    pub header: PlanHeader,
    pub has_plan: bool,
    pub version: i32,
    pub totals: AssuranceTotals,
    pub splits: Splits,
    pub rows: Vec<WorkstreamRow>,
    pub settings: YearSettings,
    pub requirement: String,
    pub plan_locked: Option<String>,
    pub reopen_warning: bool,
    pub errors: FieldErrors,
    pub conflict: Option<Vec<Change>>,
    pub notice: Option<&'static str>,
    /// "2027/28" and the carry-forward page, for editors.
    pub next_year: Option<(String, String)>,
}

impl AssurancePage {
    /// `(heading, lines)` of the three splits.
    pub fn split_tables(&self) -> [(&'static str, &'static str, &Vec<figures::SplitLine>); 3] {
        [
            (
                "Recurrent and non-recurrent",
                "split-saving-type",
                &self.splits.saving_type,
            ),
            (
                "Cash-releasing and cost avoidance",
                "split-benefit",
                &self.splits.benefit,
            ),
            (
                "Where the saving falls",
                "split-setting",
                &self.splits.setting,
            ),
        ]
    }
}

/// The plan's workstreams with their assurance figures, national by number then local.
async fn rows(
    conn: &mut PgConnection,
    ctx: &IcbYear,
    plan_id: i32,
) -> sqlx::Result<Vec<WorkstreamRow>> {
    let rows = sqlx::query!(
        r#"
        select a.workstream_id as "workstream_id!", o.number as "number?",
               coalesce(w.title, o.title) as "title!", a.opportunity_id,
               a.saving_type as "saving_type: SavingType", a.benefit_type as "benefit_type: BenefitType",
               a.setting as "setting: Setting", a.annual_target_pence as "annual_target!",
               a.investment_pence as "investment!", a.net_target_pence as "net_target!",
               a.carried_forward_pence as "carried_forward!", a.actual_to_date_pence as "actual_to_date!",
               a.full_year_effect_pence as full_year_effect, a.full_year_effect_source as effect_source,
               a.forecast_month, a.likely_outturn_pence as likely_outturn,
               a.confidence as "confidence: Confidence",
               a.risk_adjusted_forecast_pence as risk_adjusted,
               a.suggested_rag as "suggested: Rag", a.rag as "rag: Rag",
               coalesce(u.rag_reason, '') as "reason!", a.open_risks as "open_risks!"
        from workstream_assurance a
        join workstream w on w.workstream_id = a.workstream_id and w.icb_id = a.icb_id
        left join opportunity o on o.opportunity_id = a.opportunity_id
        left join lateral (
            select rag_reason from workstream_update
            where workstream_id = a.workstream_id and icb_id = a.icb_id
            order by created_at desc, workstream_update_id desc limit 1
        ) u on true
        where a.icb_id = $1 and a.plan_id = $2 and a.removed_at is null
        order by o.number nulls last, a.workstream_id
        "#,
        ctx.icb.icb_id(),
        plan_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| WorkstreamRow {
            workstream_id: r.workstream_id,
            title: match r.number {
                Some(n) => format!("{n}. {}", r.title),
                None => r.title,
            },
            local: r.opportunity_id.is_none(),
            saving_type: r.saving_type,
            benefit_type: r.benefit_type,
            setting: r.setting,
            annual_target: Pence(r.annual_target),
            investment: Pence(r.investment),
            net_target: Pence(r.net_target),
            carried_forward: Pence(r.carried_forward),
            actual_to_date: Pence(r.actual_to_date),
            full_year_effect: r.full_year_effect.map(Pence),
            effect_source: r.effect_source,
            forecast_month: r.forecast_month,
            likely_outturn: r.likely_outturn.map(Pence),
            confidence: r.confidence,
            risk_adjusted: r.risk_adjusted.map(Pence),
            suggested: r.suggested,
            rag: r.rag,
            reason: r.reason,
            open_risks: r.open_risks,
        })
        .collect())
}

/// The page as saved.
pub async fn build(
    conn: &mut PgConnection,
    user: &CurrentUser,
    ctx: &IcbYear,
) -> AppResult<AssurancePage> {
    let settings = store::year_settings(conn, ctx.year.programme_year_id).await?;
    let (totals, splits, rows, requirement) = match &ctx.plan {
        Some(plan) => (
            figures::plan(conn, &ctx.icb, plan.plan_id).await?,
            figures::splits(conn, &ctx.icb, plan.plan_id).await?,
            rows(conn, ctx, plan.plan_id).await?,
            store::requirement(conn, &ctx.icb, plan.plan_id).await?,
        ),
        None => Default::default(),
    };
    let plan_locked = ctx.plan_locked();
    let next = FinancialYear::starting(ctx.year.year.start_year() + 1);
    Ok(AssurancePage {
        layout: user.layout(),
        header: ctx.header("/assurance"),
        has_plan: ctx.plan.is_some(),
        version: ctx.plan.as_ref().map_or(0, |p| p.version),
        totals,
        splits,
        rows,
        settings,
        requirement: requirement.map(Pence::input_value).unwrap_or_default(),
        reopen_warning: plan_locked.is_none() && ctx.change_reopens_plan(),
        plan_locked,
        errors: FieldErrors::default(),
        conflict: None,
        notice: None,
        next_year: next
            .filter(|_| ctx.plan.is_some() && ctx.icb.can_edit())
            .map(|y| (y.to_string(), format!("{}/next-year", ctx.base_path()))),
    })
}

pub async fn show(
    PlanView { mut tx, ctx, user }: PlanView,
    Query(query): Query<NoticeQuery>,
) -> AppResult<AssurancePage> {
    let mut page = build(&mut tx, &user, &ctx).await?;
    page.notice = notice_text(query.notice.as_deref());
    Ok(page)
}
