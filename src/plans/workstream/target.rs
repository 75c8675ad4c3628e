//! `POST …/target`: the annual target, whether the workstream is a cost pressure, and the
//! monthly phasing (plan content: changing it reopens an agreed plan). "Save and split evenly"
//! phases the target evenly over the months the ICB answers for, the remainder in the last.
//!
//! The months must add up to the annual target, and neither may be negative unless the
//! workstream is a cost pressure (a planned spending increase): [`Target`] checks both, the
//! messages go by the fields, and the database checks the same again at commit.

use axum::response::Response;
use serde::Deserialize;

use super::save::{finish, refuse, stale};
use crate::domain::phasing::{PhasingError, Target};
use crate::domain::{FinancialYear, Lifetime, Month, MonthFigures, Pence};
use crate::error::AppResult;
use crate::forms::{FieldErrors, Form, MonthEntries, MonthInput, Version};
use crate::plans::changes::Changes;
use crate::plans::request::WorkstreamEdit;
use crate::plans::workflow;
use crate::plans::workstreams::{self, Workstream};

/// The target form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TargetForm {
    version: Version,
    annual_target: String,
    /// `yes` when the workstream is a planned spending increase.
    cost_pressure: String,
    /// `split` to phase the target evenly.
    action: String,
    /// `planned_2024-04` … one per month.
    #[serde(flatten)]
    months: MonthEntries,
}

/// What the form asks for, read and checked.
struct Asked {
    target: Option<Target>,
    /// The annual target typed, if it is an amount.
    annual: Option<Pence>,
    cost_pressure: bool,
    /// Every month of the year after the change (months not sent keep their saved value).
    phasing: Vec<(Month, Pence)>,
    sent: Vec<MonthInput>,
}

/// Where the ICB's lifetime and the year come in.
struct Year<'a> {
    year: FinancialYear,
    lifetime: Lifetime,
    icb_name: &'a str,
}

fn read(
    form: &TargetForm,
    year: &Year<'_>,
    saved: &[MonthFigures],
    errors: &mut FieldErrors,
) -> Asked {
    let months = year.year.reporting_months();
    if let Some(first) = months.first() {
        errors.link_to("phasing", format!("planned_{}", first.key()));
    }
    let cost_pressure = form.cost_pressure == "yes";
    let annual = match Pence::parse(form.annual_target.trim()) {
        Ok(p) => Some(p),
        Err(e) => {
            errors.add("annual_target", format!("Annual target: {e}"));
            None
        }
    };
    let split = form.action == "split";
    let saved_plan = |m: Month| {
        saved
            .iter()
            .find(|f| f.month == m.first_day())
            .map_or(Pence(0), |f| f.planned)
    };
    let mut phasing: Vec<(Month, Pence)> = months.iter().map(|m| (*m, saved_plan(*m))).collect();
    let mut sent = Vec::new();
    for entry in form.months.read("planned_", year.year, "phasing", errors) {
        sent.push(MonthInput::new(entry.month, entry.text.clone()));
        if split {
            continue;
        }
        let text = if entry.text.is_empty() {
            "0"
        } else {
            entry.text.as_str()
        };
        match Pence::parse(text) {
            Ok(p) => {
                if let Some(slot) = phasing.iter_mut().find(|(m, _)| *m == entry.month) {
                    slot.1 = p;
                }
            }
            Err(e) => errors.add(&entry.field, format!("{}: {e}", entry.month.label())),
        }
    }
    let counts = |m: Month| year.lifetime.has_month(m);
    let target = match annual.filter(|_| errors.is_empty()) {
        Some(annual) if split => Target::split(annual, &months, cost_pressure, counts),
        Some(annual) => Target::new(annual, phasing.clone(), cost_pressure, counts),
        None => Err(Vec::new()),
    };
    let target = target
        .map_err(|problems| {
            for problem in problems {
                explain(&problem, year, errors);
            }
        })
        .ok();
    if let Some(t) = &target {
        phasing = t.months().to_vec();
    }
    Asked {
        target,
        annual,
        cost_pressure,
        phasing,
        sent,
    }
}

/// A problem with the target or phasing, as a message by its field.
fn explain(problem: &PhasingError, year: &Year<'_>, errors: &mut FieldErrors) {
    let field = |m: &Month| format!("planned_{}", m.key());
    match problem {
        PhasingError::NegativeTarget => errors.add(
            "annual_target",
            "The annual target cannot be negative: enter the saving you plan to make, or mark the workstream as a cost pressure",
        ),
        PhasingError::NegativeMonth(m) => errors.add(
            &field(m),
            format!(
                "{}: a month's target cannot be negative unless the workstream is a cost pressure",
                m.label()
            ),
        ),
        PhasingError::OutsideLifetime(m) => {
            let why = year
                .lifetime
                .refusal(year.icb_name, *m)
                .unwrap_or_default();
            errors.add(&field(m), format!("{why}: enter 0 for {}", m.label()));
        }
        PhasingError::DoesNotAddUp { phased, target } => {
            let gap = *target - *phased;
            let (amount, side) = if gap.0 > 0 {
                (gap, "less")
            } else {
                (-gap, "more")
            };
            errors.add(
                "phasing",
                format!(
                    "The months add up to {}, which is {} {side} than the annual target of {}: change the months or the target, or save and split evenly",
                    phased.exact_display(),
                    amount.exact_display(),
                    target.exact_display()
                ),
            );
        }
    }
}

fn changes(ws: &Workstream, saved: &[MonthFigures], form: &TargetForm, asked: &Asked) -> Changes {
    let mut diff = Changes::default();
    let after = asked.annual.map_or_else(
        || form.annual_target.trim().to_owned(),
        Pence::exact_display,
    );
    diff.field("Annual target", ws.annual_target().exact_display(), after);
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    diff.field(
        "Cost pressure",
        yes_no(ws.cost_pressure),
        yes_no(asked.cost_pressure),
    );
    for (month, amount) in &asked.phasing {
        let before = saved
            .iter()
            .find(|f| f.month == month.first_day())
            .map_or(Pence(0), |f| f.planned);
        diff.field(
            format!("Phasing {}", month.label()),
            before.exact_display(),
            amount.exact_display(),
        );
    }
    diff
}

pub async fn save_target(
    mut edit: WorkstreamEdit,
    Form(form): Form<TargetForm>,
) -> AppResult<Response> {
    let mut errors = FieldErrors::default();
    if let Some(reason) = edit.plan_locked() {
        errors.add("annual_target", reason);
    }
    let saved = workstreams::months(&mut edit.tx, &edit.ctx.icb, edit.ws.workstream_id).await?;
    let year = Year {
        year: edit.ctx.year.year,
        lifetime: edit.ctx.icb.lifetime(),
        icb_name: edit.ctx.icb.name(),
    };
    let asked = read(&form, &year, &saved, &mut errors);
    let diff = changes(&edit.ws, &saved, &form, &asked);
    let Some(target) = asked.target.as_ref().filter(|_| errors.is_empty()) else {
        return refuse(edit, |page| {
            page.errors = errors;
            page.annual_target = form.annual_target.trim().to_owned();
            page.cost_pressure = asked.cost_pressure;
            if !asked.sent.is_empty() {
                page.phasing = asked.sent;
            }
        })
        .await;
    };
    let id = edit.ws.workstream_id;
    if !workstreams::claim_version(&mut edit.tx, &edit.editor, id, form.version).await? {
        return stale(edit, diff).await;
    }
    workstreams::save_target(&mut edit.tx, &edit.editor, id, target).await?;
    let reopened = !diff.is_empty()
        && workflow::content_changed(
            &mut edit.tx,
            &edit.editor,
            &edit.user.actor(),
            &edit.ctx,
            false,
        )
        .await?;
    finish(edit, "workstream.target_changed", &diff, reopened).await
}
