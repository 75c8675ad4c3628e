//! The savings assurance sections of the workstream page: the classification and investment,
//! the full-year effect, the lead's forecast with its risk-adjusted value, the suggested RAG
//! beside the lead's, and the risk log. Built from what is stored with the pure arithmetic of
//! [`crate::domain::assurance`]; the forms that change them are in
//! `src/plans/workstream/` (one file each).

use chrono::{Months, NaiveDate};
use sqlx::PgConnection;

use super::store::{self, Classification, Forecast, RagReason, Risk};
use crate::clock::Clock;
use crate::domain::assurance::{
    self, Band, BenefitType, Choice, Confidence, EffectSource, RiskStatus, SavingType, Setting,
    YearSettings,
};
use crate::domain::{FinancialYear, Month, MonthFigures, Pence, PlanTotals};
use crate::plans::context::IcbYear;
use crate::plans::workstreams::{Rag, Workstream};

impl From<Band> for Rag {
    fn from(band: Band) -> Self {
        match band {
            Band::Red => Rag::Red,
            Band::Amber => Rag::Amber,
            Band::Green => Rag::Green,
        }
    }
}

/// The classification form's values, as saved or as sent.
#[derive(Debug, Clone, Default)]
pub struct ClassificationValues {
    pub saving_type: String,
    pub benefit_type: String,
    pub setting: String,
    pub investment: String,
}

/// The forecast form's values, as saved or as sent.
#[derive(Debug, Clone, Default)]
pub struct ForecastValues {
    /// `2024-06`
    pub month: String,
    pub likely_outturn: String,
    pub confidence: String,
}

/// A risk form's values, as saved or as sent.
#[derive(Debug, Clone, Default)]
pub struct RiskValues {
    pub description: String,
    pub mitigation: String,
    pub owner: String,
    pub status: String,
}

impl RiskValues {
    /// As saved.
    pub fn of(risk: &Risk) -> Self {
        Self {
            description: risk.description.clone(),
            mitigation: risk.mitigation.clone(),
            owner: risk.owner.clone(),
            status: risk.status.key().to_owned(),
        }
    }
}

/// The current forecast, weighed.
#[derive(Debug, Clone)]
pub struct CurrentForecast {
    pub forecast: Forecast,
    pub weight: i16,
    pub actual_to_date: Pence,
    pub risk_adjusted: Pence,
}

impl CurrentForecast {
    /// "June 2024".
    pub fn month_label(&self) -> String {
        Month::containing(self.forecast.month).label()
    }
}

/// Everything the workstream page shows and asks about savings assurance.
#[derive(Debug, Clone)]
pub struct AssuranceSection {
    pub stored: Classification,
    pub settings: YearSettings,
    pub net_target: Pence,
    pub investment_above_target: bool,
    /// The full-year effect and where it comes from (recurrent savings only).
    pub full_year_effect: Option<(Pence, EffectSource)>,
    /// What the actuals alone give (shown beside a lead's own figure).
    pub run_rate_effect: Option<Pence>,
    /// Newest month first.
    pub forecasts: Vec<Forecast>,
    pub current: Option<CurrentForecast>,
    pub percent_of_target: Option<i64>,
    pub suggested: Option<Rag>,
    /// The latest RAG update: what was suggested then, and the lead's reason.
    pub latest_rag: Option<RagReason>,
    pub risks: Vec<Risk>,
    pub classification: ClassificationValues,
    pub full_year_effect_value: String,
    pub forecast_form: ForecastValues,
    /// `(2024-06, June 2024)`: the months a forecast can be recorded as at, latest first.
    pub forecast_months: Vec<(String, String)>,
    pub new_risk: RiskValues,
    /// A risk form refused: its id and what was sent.
    pub risk_sent: Option<(i32, RiskValues)>,
    /// The update form's reason, as sent.
    pub rag_reason: String,
    pub saving_types: &'static [SavingType],
    pub benefit_types: &'static [BenefitType],
    pub settings_choices: &'static [Setting],
    pub confidences: &'static [Confidence],
    pub risk_statuses: &'static [RiskStatus],
}

impl AssuranceSection {
    /// The section as saved.
    pub async fn load(
        conn: &mut PgConnection,
        ctx: &IcbYear,
        ws: &Workstream,
        months: &[MonthFigures],
        figures: &PlanTotals,
    ) -> sqlx::Result<Self> {
        let id = ws.workstream_id;
        let stored = store::classification(conn, &ctx.icb, id).await?;
        let settings = store::year_settings(conn, ctx.year.programme_year_id).await?;
        let forecasts = store::forecasts(conn, &ctx.icb, id, ctx.year.year).await?;
        let latest_rag = store::latest_rag_reason(conn, &ctx.icb, id).await?;
        let risks = store::risks(conn, &ctx.icb, id).await?;
        let year = ctx.year.year;
        let current = forecasts.first().cloned().map(|forecast| {
            let weight = settings.weights.of(forecast.confidence);
            CurrentForecast {
                risk_adjusted: assurance::risk_adjusted(
                    figures.actual_to_date,
                    forecast.likely_outturn,
                    weight,
                ),
                actual_to_date: figures.actual_to_date,
                weight,
                forecast,
            }
        });
        let suggested = store::suggested_rag(conn, &ctx.icb, id).await?;
        let (forecast_months, default_month) = forecast_months(year, ctx.clock);
        Ok(Self {
            net_target: assurance::net_target(ws.annual_target(), stored.investment),
            investment_above_target: stored.investment > ws.annual_target(),
            full_year_effect: assurance::full_year_effect(
                stored.saving_type,
                stored.full_year_effect,
                year,
                months,
            ),
            run_rate_effect: assurance::run_rate_effect(year, months),
            classification: ClassificationValues {
                saving_type: key_of(stored.saving_type),
                benefit_type: key_of(stored.benefit_type),
                setting: key_of(stored.setting),
                investment: stored.investment.input_value(),
            },
            full_year_effect_value: stored
                .full_year_effect
                .map(Pence::input_value)
                .unwrap_or_default(),
            forecast_form: ForecastValues {
                month: default_month,
                likely_outturn: current
                    .as_ref()
                    .map(|c| c.forecast.likely_outturn.input_value())
                    .unwrap_or_default(),
                confidence: current
                    .as_ref()
                    .map(|c| c.forecast.confidence.key().to_owned())
                    .unwrap_or_default(),
            },
            forecast_months,
            percent_of_target: figures.percent_of_target(),
            suggested,
            latest_rag,
            risks,
            current,
            forecasts,
            stored,
            settings,
            new_risk: RiskValues {
                status: RiskStatus::Open.key().to_owned(),
                ..RiskValues::default()
            },
            risk_sent: None,
            rag_reason: String::new(),
            saving_types: SavingType::ALL,
            benefit_types: BenefitType::ALL,
            settings_choices: Setting::ALL,
            confidences: Confidence::ALL,
            risk_statuses: RiskStatus::ALL,
        })
    }

    /// A risk's form values: as sent if its form was refused, otherwise as saved.
    pub fn risk_values(&self, risk: &Risk) -> RiskValues {
        match &self.risk_sent {
            Some((id, sent)) if *id == risk.risk_id => sent.clone(),
            _ => RiskValues::of(risk),
        }
    }

    /// Whether the lead's RAG differs from the one the figures suggest now.
    pub fn rag_differs(&self, lead: &Option<Rag>) -> bool {
        matches!((*lead, self.suggested), (Some(l), Some(s)) if l != s)
    }

    /// The weight of `confidence` this year.
    pub fn weight(&self, confidence: &Confidence) -> i16 {
        self.settings.weights.of(*confidence)
    }

    /// "June 2024".
    pub fn month_label(&self, month: &NaiveDate) -> String {
        Month::containing(*month).label()
    }

    /// The classification in words, or "Not recorded".
    pub fn label_of<C: Choice>(&self, choice: &Option<C>) -> &'static str {
        choice.map_or("Not recorded", Choice::label)
    }

    /// Whether the saving is recorded as recurrent.
    pub fn recurrent(&self) -> bool {
        self.stored.saving_type == Some(SavingType::Recurrent)
    }
}

/// A stored choice's key, or empty.
fn key_of<C: Choice>(choice: Option<C>) -> String {
    choice.map(Choice::key).unwrap_or_default().to_owned()
}

/// The months of `year` a forecast can be recorded as at (those that have started), newest
/// first, and the one the form offers first: last month (reports come a month behind), or the
/// newest there is.
pub fn forecast_months(year: FinancialYear, clock: Clock) -> (Vec<(String, String)>, String) {
    let this_month = clock.this_month().first_day();
    let last_month = Month::containing(this_month - Months::new(1)).key();
    let months: Vec<(String, String)> = year
        .months()
        .into_iter()
        .filter(|m| *m <= this_month)
        .rev()
        .map(|m| {
            let m = Month::containing(m);
            (m.key(), m.label())
        })
        .collect();
    let default = months
        .iter()
        .find(|(key, _)| *key == last_month)
        .or(months.first())
        .map(|(key, _)| key.clone())
        .unwrap_or_default();
    (months, default)
}
