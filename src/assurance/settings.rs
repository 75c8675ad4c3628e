//! `POST /admin/catalogue/{year}/assurance`: a programme year's savings assurance settings, on
//! the catalogue's year page: how much each confidence counts for in the risk-adjusted
//! forecast, and the percentages of the target to date at which the suggested RAG turns amber
//! and green. Checked by the field; audited with before and after.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::store;
use crate::AppState;
use crate::admin::catalogue;
use crate::audit::{self, AuditEvent};
use crate::auth::scope::{self, AdminUser};
use crate::domain::assurance::{ConfidenceWeights, RagThresholds, YearSettings};
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form};

/// The settings form's values, as saved or as sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SettingsValues {
    pub weight_high: String,
    pub weight_medium: String,
    pub weight_low: String,
    pub rag_green: String,
    pub rag_amber: String,
}

impl SettingsValues {
    /// As saved.
    pub fn of(s: &YearSettings) -> Self {
        Self {
            weight_high: s.weights.high.to_string(),
            weight_medium: s.weights.medium.to_string(),
            weight_low: s.weights.low.to_string(),
            rag_green: s.thresholds.green.to_string(),
            rag_amber: s.thresholds.amber.to_string(),
        }
    }

    /// The weight fields: (id, label, value).
    pub fn weight_fields(&self) -> [(&'static str, &'static str, &str); 3] {
        [
            ("weight_high", "High confidence", &self.weight_high),
            ("weight_medium", "Medium confidence", &self.weight_medium),
            ("weight_low", "Low confidence", &self.weight_low),
        ]
    }

    /// The threshold fields: (id, label, value).
    pub fn threshold_fields(&self) -> [(&'static str, &'static str, &str); 2] {
        [
            ("rag_green", "Green at or above", &self.rag_green),
            (
                "rag_amber",
                "Amber at or above (red below)",
                &self.rag_amber,
            ),
        ]
    }

    /// The settings asked for, or messages by the field.
    fn read(&self, errors: &mut FieldErrors) -> Option<YearSettings> {
        let fields = [
            (
                "weight_high",
                "the weight of high confidence",
                &self.weight_high,
            ),
            (
                "weight_medium",
                "the weight of medium confidence",
                &self.weight_medium,
            ),
            (
                "weight_low",
                "the weight of low confidence",
                &self.weight_low,
            ),
            ("rag_green", "the green threshold", &self.rag_green),
            ("rag_amber", "the amber threshold", &self.rag_amber),
        ];
        let [high, medium, low, green, amber] = fields.map(|(field, what, text)| {
            let text = text.trim();
            let digits = text.strip_suffix('%').unwrap_or(text).trim();
            let value = digits
                .parse::<i16>()
                .ok()
                .filter(|_| !digits.starts_with('+'));
            if value.is_none() {
                errors.add(
                    field,
                    format!("Enter {what} as a whole percentage, like 75"),
                );
            }
            value
        });
        let settings = YearSettings {
            weights: ConfidenceWeights {
                high: high?,
                medium: medium?,
                low: low?,
            },
            thresholds: RagThresholds {
                green: green?,
                amber: amber?,
            },
        };
        for (field, message) in settings.problems() {
            errors.add(field, message);
        }
        Some(settings).filter(|_| errors.is_empty())
    }
}

/// The settings as the audit log records them.
fn described(s: &YearSettings) -> serde_json::Value {
    json!({
        "High confidence weight": format!("{}%", s.weights.high),
        "Medium confidence weight": format!("{}%", s.weights.medium),
        "Low confidence weight": format!("{}%", s.weights.low),
        "Green at": format!("{}%", s.thresholds.green),
        "Amber at": format!("{}%", s.thresholds.amber),
    })
}

pub async fn save_settings(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(slug): Path<String>,
    Form(form): Form<SettingsValues>,
) -> AppResult<Response> {
    let mut tx = scope::begin(&state, &admin.0.scope()).await?;
    let mut page = catalogue::year_page(&mut tx, &admin, &slug).await?;
    let mut errors = FieldErrors::default();
    let Some(settings) = form.read(&mut errors) else {
        page.errors = errors;
        page.settings = form;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let before = store::year_settings(&mut tx, page.programme_year_id).await?;
    store::save_year_settings(&mut tx, page.programme_year_id, &settings).await?;
    if before != settings {
        let event = AuditEvent::new("catalogue.assurance_settings_changed")
            .object("programme_year", &page.label)
            .details(json!({ "before": described(&before), "after": described(&settings) }));
        audit::record(&mut tx, &admin.0.actor(), event).await?;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/admin/catalogue/{}?notice=settings", page.slug)).into_response())
}
