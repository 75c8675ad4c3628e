//! Checking an uploaded file of monthly figures, with no I/O: the file's bytes and what the
//! ICB-year holds now go in; either the changes it would make or every problem found, each
//! with its row and column, comes out. Nothing is written unless the whole file is right.
//!
//! The file is the template's layout ([`COLUMNS`]): one row per workstream-month (`saving`)
//! or measure-month (`measure`). A saving row carries the month's actual saving and, in the
//! last two columns, the lead's forecast as at that month (likely outturn and confidence,
//! both or neither). A file in the layout before those two columns existed (the first
//! [`LEGACY_COLUMNS`] columns) is still accepted. An empty figure means "leave as it is", so
//! a template can be filled in part. Rows whose figures equal what is saved are counted as
//! unchanged, which is what makes uploading the same file twice change nothing.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};

use crate::domain::assurance::{Choice, Confidence};
use crate::domain::{FinancialYear, Pence};
use crate::plans::changes::month_label;
use crate::plans::measures::{parse_month, parse_value, show_value};

/// The template's columns, in order.
pub const COLUMNS: [&str; 12] = [
    "icb_code",
    "month",
    "row_type",
    "workstream_id",
    "measure_id",
    "name",
    "unit",
    "planned_saving_gbp",
    "actual_saving_gbp",
    "measure_value",
    "likely_outturn_gbp",
    "confidence",
];

/// How many columns a file of the layout before the forecast columns has.
pub const LEGACY_COLUMNS: usize = 10;

const ICB: usize = 0;
const MONTH: usize = 1;
const ROW_TYPE: usize = 2;
const WORKSTREAM: usize = 3;
const MEASURE: usize = 4;
const PLANNED: usize = 7;
const ACTUAL: usize = 8;
const VALUE: usize = 9;
const OUTTURN: usize = 10;
const CONFIDENCE: usize = 11;

/// Largest file accepted.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// Most data rows accepted (a year of 50 workstreams with 5 measures each is 3,600).
pub const MAX_ROWS: usize = 10_000;
/// Problems reported at most (the rest are counted).
const MAX_PROBLEMS: usize = 200;

/// A workstream of the plan as saved.
#[derive(Debug, Clone, Default)]
pub struct KnownWorkstream {
    pub title: String,
    pub planned: BTreeMap<NaiveDate, Pence>,
    pub actual: BTreeMap<NaiveDate, Pence>,
    /// The lead's forecast as at each month: likely outturn and confidence.
    pub forecasts: BTreeMap<NaiveDate, (Pence, Confidence)>,
}

/// A measure as saved.
#[derive(Debug, Clone, Default)]
pub struct KnownMeasure {
    pub workstream_id: i32,
    pub name: String,
    pub values: BTreeMap<NaiveDate, f64>,
}

/// What the ICB's plan for the year holds now.
#[derive(Debug, Clone)]
pub struct Known {
    pub icb_code: String,
    pub year: FinancialYear,
    /// Figures cannot be reported for months after this one.
    pub this_month: NaiveDate,
    /// The ICB's name and when it existed: no figures for months it did not exist in.
    pub icb_name: String,
    pub lifetime: crate::domain::Lifetime,
    pub workstreams: BTreeMap<i32, KnownWorkstream>,
    pub measures: BTreeMap<i32, KnownMeasure>,
}

/// One problem: where (row 1 is the header, as a spreadsheet numbers it; no row for the whole
/// file) and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub row: Option<usize>,
    /// Column index (0 is A).
    pub column: Option<usize>,
    pub message: String,
}

impl Problem {
    fn file(message: impl Into<String>) -> Self {
        Problem {
            row: None,
            column: None,
            message: message.into(),
        }
    }

    /// `C (row_type)`, as a spreadsheet labels the column.
    pub fn column_label(&self) -> Option<String> {
        self.column.map(|c| {
            let letter = char::from(b'A' + u8::try_from(c % 26).unwrap_or(0));
            match COLUMNS.get(c) {
                Some(name) => format!("{letter} ({name})"),
                None => letter.to_string(),
            }
        })
    }
}

/// A figure the file would change.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Change {
    Actual {
        workstream_id: i32,
        month: NaiveDate,
        before: Option<Pence>,
        after: Pence,
    },
    Value {
        measure_id: i32,
        workstream_id: i32,
        month: NaiveDate,
        before: Option<f64>,
        after: f64,
    },
    /// The lead's forecast as at the month: likely outturn and confidence.
    Forecast {
        workstream_id: i32,
        month: NaiveDate,
        before: Option<(Pence, Confidence)>,
        after: (Pence, Confidence),
    },
}

impl Change {
    /// The figure's month.
    pub fn month(&self) -> NaiveDate {
        match self {
            Change::Actual { month, .. }
            | Change::Value { month, .. }
            | Change::Forecast { month, .. } => *month,
        }
    }

    /// One line that identifies the change exactly (for the digest that guards the apply step).
    pub fn canonical(&self) -> String {
        match self {
            Change::Actual {
                workstream_id,
                month,
                before,
                after,
            } => format!(
                "a|{workstream_id}|{month}|{:?}|{}",
                before.map(|p| p.0),
                after.0
            ),
            Change::Value {
                measure_id,
                month,
                before,
                after,
                ..
            } => format!("v|{measure_id}|{month}|{before:?}|{after:?}"),
            Change::Forecast {
                workstream_id,
                month,
                before,
                after,
            } => format!(
                "f|{workstream_id}|{month}|{:?}|{}|{}",
                before.map(|(p, c)| (p.0, c.key())),
                after.0.0,
                after.1.key()
            ),
        }
    }
}

/// A file that passed every check.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    pub changes: Vec<Change>,
    /// Rows that name a figure equal to the saved one, or leave it empty.
    pub unchanged: usize,
    pub rows: usize,
}

/// Checks `bytes` against `known`.
pub fn check(bytes: &[u8], known: &Known) -> Result<Checked, Vec<Problem>> {
    let text = decode(bytes).map_err(|p| vec![p])?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(header)) => header,
        Some(Err(_)) => {
            return Err(vec![Problem::file(
                "The file could not be read as CSV. Save it as CSV UTF-8 and try again.",
            )]);
        }
        None => {
            return Err(vec![Problem::file(
                "The file is empty. Download the template, fill it in and upload it.",
            )]);
        }
    };
    let width = check_header(&header)?;

    let mut problems = Vec::new();
    let mut checked = Checked::default();
    let mut seen: BTreeMap<(bool, i32, NaiveDate), usize> = BTreeMap::new();
    let mut changed_keys = BTreeSet::new();
    for (index, record) in records.enumerate() {
        let row = index + 2;
        if problems.len() >= MAX_PROBLEMS {
            break;
        }
        let record = match record {
            Ok(r) => r,
            Err(_) => {
                problems.push(at(
                    row,
                    None,
                    "This row could not be read as CSV (check its quotation marks)",
                ));
                continue;
            }
        };
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        checked.rows += 1;
        if checked.rows > MAX_ROWS {
            return Err(vec![Problem::file(format!(
                "The file has more than {MAX_ROWS} rows. Import one month or a few months at a time."
            ))]);
        }
        if record.len() != width {
            problems.push(at(
                row,
                None,
                format!(
                    "This row has {} columns; the template has {width}",
                    record.len()
                ),
            ));
            continue;
        }
        let cell = |i: usize| record.get(i).unwrap_or_default().trim();
        let before = problems.len();
        let row_problems = &mut problems;
        let code = cell(ICB).to_uppercase();
        if code != known.icb_code {
            row_problems.push(at(
                row,
                Some(ICB),
                format!(
                    "This row is for {}; you can only import figures for {}",
                    if code.is_empty() { "no ICB" } else { &code },
                    known.icb_code
                ),
            ));
        }
        let month = read_month(cell(MONTH), known)
            .map_err(|m| row_problems.push(at(row, Some(MONTH), m)))
            .ok();
        let kind = cell(ROW_TYPE).to_lowercase();
        let workstream_id = read_id(cell(WORKSTREAM));
        let entry = match kind.as_str() {
            "saving" => {
                let ws = workstream_id.and_then(|id| known.workstreams.get(&id).map(|w| (id, w)));
                if ws.is_none() {
                    row_problems.push(at(
                        row,
                        Some(WORKSTREAM),
                        format!(
                            "{} is not one of {}'s workstreams for {}. Download a new template.",
                            describe_id(cell(WORKSTREAM)),
                            known.icb_code,
                            known.year
                        ),
                    ));
                }
                if !cell(MEASURE).is_empty() {
                    row_problems.push(at(
                        row,
                        Some(MEASURE),
                        "Leave measure_id empty on a saving row",
                    ));
                }
                if !cell(VALUE).is_empty() {
                    row_problems.push(at(
                        row,
                        Some(VALUE),
                        "A saving row has no measure value: put measure values on measure rows",
                    ));
                }
                let actual = read_money(cell(ACTUAL))
                    .map_err(|m| row_problems.push(at(row, Some(ACTUAL), m)))
                    .ok()
                    .flatten();
                let planned = read_money(cell(PLANNED))
                    .map_err(|m| row_problems.push(at(row, Some(PLANNED), m)))
                    .ok()
                    .flatten();
                let forecast = read_forecast(cell(OUTTURN), cell(CONFIDENCE))
                    .map_err(|(column, m)| row_problems.push(at(row, Some(column), m)))
                    .ok()
                    .flatten();
                match (ws, month) {
                    (Some((id, ws)), Some(month)) => {
                        let saved_plan = ws.planned.get(&month).copied().unwrap_or_default();
                        if planned.is_some_and(|p| p != saved_plan) {
                            row_problems.push(at(row, Some(PLANNED), format!(
                                "The planned saving cannot be changed by import (it is {} for {}). Change the phasing on the workstream's page.",
                                saved_plan.exact_display(),
                                month_label(month)
                            )));
                        }
                        Some((
                            false,
                            id,
                            month,
                            Figure::Money(
                                actual,
                                ws.actual.get(&month).copied(),
                                forecast.map(|f| (f, ws.forecasts.get(&month).copied())),
                            ),
                        ))
                    }
                    _ => None,
                }
            }
            "measure" => {
                let measure_id = read_id(cell(MEASURE));
                let measure = measure_id.and_then(|id| known.measures.get(&id).map(|m| (id, m)));
                match measure {
                    None => row_problems.push(at(
                        row,
                        Some(MEASURE),
                        format!(
                            "{} is not one of {}'s measures for {}. Download a new template.",
                            describe_id(cell(MEASURE)),
                            known.icb_code,
                            known.year
                        ),
                    )),
                    Some((_, m)) if workstream_id != Some(m.workstream_id) => {
                        row_problems.push(at(
                            row,
                            Some(WORKSTREAM),
                            format!(
                                "Measure {} belongs to workstream {}",
                                measure_id.unwrap_or_default(),
                                m.workstream_id
                            ),
                        ))
                    }
                    Some(_) => {}
                }
                if !cell(ACTUAL).is_empty() || !cell(PLANNED).is_empty() {
                    row_problems.push(at(
                        row,
                        Some(if cell(ACTUAL).is_empty() {
                            PLANNED
                        } else {
                            ACTUAL
                        }),
                        "A measure row has no savings: put savings on saving rows",
                    ));
                }
                if let Some(column) = [OUTTURN, CONFIDENCE]
                    .into_iter()
                    .find(|c| !cell(*c).is_empty())
                {
                    row_problems.push(at(
                        row,
                        Some(column),
                        "A measure row has no forecast: put the likely outturn and confidence on the workstream's saving row",
                    ));
                }
                let value = read_value(cell(VALUE))
                    .map_err(|m| row_problems.push(at(row, Some(VALUE), m)))
                    .ok()
                    .flatten();
                match (measure, month) {
                    (Some((id, m)), Some(month)) => Some((
                        true,
                        id,
                        month,
                        Figure::Number(value, m.values.get(&month).copied(), m.workstream_id),
                    )),
                    _ => None,
                }
            }
            _ => {
                row_problems.push(at(row, Some(ROW_TYPE), "Enter saving or measure"));
                None
            }
        };
        if problems.len() > before {
            continue;
        }
        let Some((is_measure, id, month, figure)) = entry else {
            continue;
        };
        if let Some(first) = seen.insert((is_measure, id, month), row) {
            problems.push(at(
                row,
                Some(if is_measure { MEASURE } else { WORKSTREAM }),
                format!(
                    "This row repeats row {first} ({} {id}, {}): keep one of them",
                    if is_measure { "measure" } else { "workstream" },
                    month_label(month)
                ),
            ));
            continue;
        }
        let changes = figure.changes(id, month);
        if changes.is_empty() {
            checked.unchanged += 1;
        } else {
            changed_keys.insert((is_measure, id, month));
            checked.changes.extend(changes);
        }
    }
    if problems.is_empty() {
        Ok(checked)
    } else {
        Err(problems)
    }
}

/// A forecast: likely outturn and confidence.
type Forecast = (Pence, Confidence);

/// A row's figures, each with the saved one: a saving row's actual and forecast, or a
/// measure row's value (and its workstream).
enum Figure {
    Money(
        Option<Pence>,
        Option<Pence>,
        Option<(Forecast, Option<Forecast>)>,
    ),
    Number(Option<f64>, Option<f64>, i32),
}

impl Figure {
    /// The changes the row makes to workstream or measure `id` for `month`.
    fn changes(self, id: i32, month: NaiveDate) -> Vec<Change> {
        let mut changes = Vec::new();
        match self {
            Figure::Money(actual, before, forecast) => {
                if let Some(after) = actual.filter(|a| before != Some(*a)) {
                    changes.push(Change::Actual {
                        workstream_id: id,
                        month,
                        before,
                        after,
                    });
                }
                if let Some((after, before)) = forecast.filter(|(a, b)| *b != Some(*a)) {
                    changes.push(Change::Forecast {
                        workstream_id: id,
                        month,
                        before,
                        after,
                    });
                }
            }
            Figure::Number(Some(after), before, workstream_id)
                if before.is_none_or(|b| show_value(b) != show_value(after)) =>
            {
                changes.push(Change::Value {
                    measure_id: id,
                    workstream_id,
                    month,
                    before,
                    after,
                });
            }
            Figure::Number(..) => {}
        }
        changes
    }
}

/// A saving row's forecast: the likely outturn and the confidence, both or neither. A
/// problem names its column.
fn read_forecast(outturn: &str, confidence: &str) -> Result<Option<Forecast>, (usize, String)> {
    match (outturn.is_empty(), confidence.is_empty()) {
        (true, true) => return Ok(None),
        (false, true) => {
            return Err((
                CONFIDENCE,
                "Enter the confidence (high, medium or low) with the likely outturn".to_owned(),
            ));
        }
        (true, false) => {
            return Err((
                OUTTURN,
                "Enter the likely outturn for the year with the confidence".to_owned(),
            ));
        }
        (false, false) => {}
    }
    let amount = Pence::parse(outturn).map_err(|e| (OUTTURN, e.to_string()))?;
    let confidence = Confidence::from_key(confidence)
        .ok_or_else(|| (CONFIDENCE, "Enter high, medium or low".to_owned()))?;
    Ok(Some((amount, confidence)))
}

fn at(row: usize, column: Option<usize>, message: impl Into<String>) -> Problem {
    Problem {
        row: Some(row),
        column,
        message: message.into(),
    }
}

/// The file as text: UTF-8 (a byte-order mark is dropped), not a spreadsheet or other binary.
fn decode(bytes: &[u8]) -> Result<&str, Problem> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(Problem::file(format!(
            "The file is larger than {} MB. Import one month or a few months at a time.",
            MAX_FILE_BYTES / (1024 * 1024)
        )));
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(Problem::file(
            "The file is a spreadsheet, not a CSV file. In Excel, choose Save As, then CSV UTF-8 (Comma delimited), and upload that.",
        ));
    }
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| {
        Problem::file("The file is not saved as UTF-8 text. In Excel, choose Save As, then CSV UTF-8 (Comma delimited).")
    })?;
    if text.contains('\0') {
        return Err(Problem::file(
            "The file is not a CSV file. Upload the template, saved as CSV.",
        ));
    }
    if text.trim().is_empty() {
        return Err(Problem::file(
            "The file is empty. Download the template, fill it in and upload it.",
        ));
    }
    Ok(text)
}

/// Checks the header row; returns how many columns the rows must have (the template's, or
/// the layout's before the forecast columns).
fn check_header(header: &csv::StringRecord) -> Result<usize, Vec<Problem>> {
    let found: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    if found.len() == LEGACY_COLUMNS && found.iter().zip(COLUMNS).all(|(f, c)| f == c) {
        return Ok(LEGACY_COLUMNS);
    }
    let mut problems = Vec::new();
    for (i, expected) in COLUMNS.iter().enumerate() {
        match found.get(i) {
            Some(name) if name == expected => {}
            Some(name) => problems.push(at(
                1,
                Some(i),
                format!(
                    "Expected the column {expected}, found {}",
                    if name.is_empty() {
                        "an empty heading"
                    } else {
                        name
                    }
                ),
            )),
            None => problems.push(at(1, Some(i), format!("The column {expected} is missing"))),
        }
    }
    if found.len() > COLUMNS.len() {
        problems.push(at(
            1,
            Some(COLUMNS.len()),
            format!(
                "The template has {} columns; this file has {}. Remove the extra columns.",
                COLUMNS.len(),
                found.len()
            ),
        ));
    }
    if problems.is_empty() {
        Ok(COLUMNS.len())
    } else {
        Err(problems)
    }
}

fn read_id(text: &str) -> Option<i32> {
    text.parse().ok().filter(|id| *id > 0)
}

fn describe_id(text: &str) -> String {
    if text.is_empty() {
        "An empty identifier".to_owned()
    } else {
        format!("\"{text}\"")
    }
}

/// The month of a row: `2024-06-01` (as the template writes it) or `2024-06`, `June 2024`.
fn read_month(text: &str, known: &Known) -> Result<NaiveDate, String> {
    let month = match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(date) if date.day() == 1 => Some(date),
        Ok(_) => {
            return Err(format!(
                "Enter the first day of the month, like {}-01",
                &text[..7.min(text.len())]
            ));
        }
        Err(_) => parse_month(text).map(crate::domain::Month::first_day),
    };
    let month = month.ok_or_else(|| "Enter the month as a date like 2024-06-01".to_owned())?;
    if !known.year.contains_month(month) {
        return Err(format!(
            "{} is not in {} (April {} to March {})",
            month_label(month),
            known.year,
            known.year.start_year(),
            known.year.start_year() + 1
        ));
    }
    if month > known.this_month {
        return Err(format!("{} has not started yet", month_label(month)));
    }
    if let Some(why) = crate::domain::Month::from_first_day(month)
        .and_then(|m| known.lifetime.refusal(&known.icb_name, m))
    {
        return Err(why);
    }
    Ok(month)
}

fn read_money(text: &str) -> Result<Option<Pence>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    Pence::parse(text).map(Some).map_err(|e| e.to_string())
}

fn read_value(text: &str) -> Result<Option<f64>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    parse_value(text).map(Some).ok_or_else(|| {
        "Enter a number, like 42, 12.5 or 1,234 (use a full stop for decimals)".to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, 1).unwrap()
    }

    fn known() -> Known {
        let mut workstreams = BTreeMap::new();
        workstreams.insert(
            11,
            KnownWorkstream {
                title: "1. Statins".into(),
                planned: FinancialYear::starting(2024)
                    .unwrap()
                    .months()
                    .into_iter()
                    .map(|m| (m, Pence(100_000)))
                    .collect(),
                actual: [(date(2024, 4), Pence(90_000))].into_iter().collect(),
                forecasts: BTreeMap::new(),
            },
        );
        workstreams.insert(
            12,
            KnownWorkstream {
                title: "Local".into(),
                ..Default::default()
            },
        );
        let mut measures = BTreeMap::new();
        measures.insert(
            21,
            KnownMeasure {
                workstream_id: 11,
                name: "% best value".into(),
                values: [(date(2024, 4), 70.0)].into_iter().collect(),
            },
        );
        Known {
            icb_code: "QE1".into(),
            year: FinancialYear::starting(2024).unwrap(),
            this_month: date(2024, 11),
            icb_name: "NHS Lancashire and South Cumbria ICB".into(),
            lifetime: crate::domain::Lifetime {
                valid_from: date(2022, 7),
                valid_to: None,
            },
            workstreams,
            measures,
        }
    }

    const HEADER: &str = "icb_code,month,row_type,workstream_id,measure_id,name,unit,planned_saving_gbp,actual_saving_gbp,measure_value\n";

    fn file(rows: &[&str]) -> Vec<u8> {
        let mut text = HEADER.to_owned();
        for row in rows {
            text.push_str(row);
            text.push('\n');
        }
        text.into_bytes()
    }

    fn problems(rows: &[&str]) -> Vec<(Option<usize>, Option<String>, String)> {
        check(&file(rows), &known())
            .expect_err("should be refused")
            .into_iter()
            .map(|p| (p.row, p.column_label(), p.message))
            .collect()
    }

    #[test]
    fn a_good_file_lists_only_what_changes() {
        let checked = check(
            &file(&[
                "QE1,2024-04-01,saving,11,,1. Statins,,1000.00,900.00,",
                "QE1,2024-05-01,saving,11,,1. Statins,,1000.00,\"1,050.50\",",
                "qe1,2024-05-01,saving,12,,Local,,,,",
                "QE1,2024-04-01,measure,11,21,% best value,%,,,70",
                "QE1,May 2024,measure,11,21,% best value,%,,,72.5",
                ",,,,,,,,,",
            ]),
            &known(),
        )
        .unwrap();
        assert_eq!(checked.rows, 5);
        assert_eq!(checked.unchanged, 3);
        assert_eq!(
            checked.changes,
            [
                Change::Actual {
                    workstream_id: 11,
                    month: date(2024, 5),
                    before: None,
                    after: Pence(105_050)
                },
                Change::Value {
                    measure_id: 21,
                    workstream_id: 11,
                    month: date(2024, 5),
                    before: None,
                    after: 72.5
                },
            ]
        );
    }

    #[test]
    fn every_problem_has_its_row_and_column() {
        let found = problems(&[
            "QWE,2024-04-01,saving,11,,x,,,5,",
            "QE1,2025-04-01,saving,11,,x,,,5,",
            "QE1,2024-12-01,saving,11,,x,,,5,",
            "QE1,2024-06-01,saving,999,,x,,,5,",
            "QE1,2024-06-01,saving,11,,x,,,£12.345,",
            "QE1,2024-07-01,saving,11,,x,,,10,",
            "QE1,2024-07-01,saving,11,,x,,,11,",
            "QE1,2024-07-01,saving,11,,x,,250,,",
            "QE1,2024-07-01,widget,11,,x,,,,",
            "QE1,2024-07-01,measure,11,21,x,,,,lots",
            "QE1,2024-07-01",
        ]);
        let expected = [
            (
                Some(2),
                Some("A (icb_code)"),
                "This row is for QWE; you can only import figures for QE1",
            ),
            (
                Some(3),
                Some("B (month)"),
                "April 2025 is not in 2024/25 (April 2024 to March 2025)",
            ),
            (
                Some(4),
                Some("B (month)"),
                "December 2024 has not started yet",
            ),
            (
                Some(5),
                Some("D (workstream_id)"),
                "\"999\" is not one of QE1's workstreams for 2024/25. Download a new template.",
            ),
            (
                Some(6),
                Some("I (actual_saving_gbp)"),
                "Enter no more than 2 decimal places (pence)",
            ),
            (
                Some(8),
                Some("D (workstream_id)"),
                "This row repeats row 7 (workstream 11, July 2024): keep one of them",
            ),
            (
                Some(9),
                Some("H (planned_saving_gbp)"),
                "The planned saving cannot be changed by import (it is £1,000 for July 2024). Change the phasing on the workstream's page.",
            ),
            (Some(10), Some("C (row_type)"), "Enter saving or measure"),
            (
                Some(11),
                Some("J (measure_value)"),
                "Enter a number, like 42, 12.5 or 1,234 (use a full stop for decimals)",
            ),
            (
                Some(12),
                None,
                "This row has 2 columns; the template has 10",
            ),
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|(r, c, m)| (*r, c.map(str::to_owned), (*m).to_owned()))
            .collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn wrong_headers_are_reported_by_column() {
        let text = "icb,month,row_type\nQE1,2024-04-01,saving\n";
        let found: Vec<_> = check(text.as_bytes(), &known())
            .unwrap_err()
            .into_iter()
            .map(|p| (p.row, p.column_label()))
            .collect();
        assert_eq!(found[0], (Some(1), Some("A (icb_code)".into())));
        assert_eq!(found.len(), 10, "{found:?}");
    }

    #[test]
    fn files_that_are_not_csv_text_are_refused_as_a_whole() {
        let cases: [(&[u8], &str); 4] = [
            (b"", "The file is empty"),
            (b"PK\x03\x04rest of a zip", "The file is a spreadsheet"),
            (b"icb_code,\xff\xfe", "not saved as UTF-8"),
            (b"a\0b", "not a CSV file"),
        ];
        for (bytes, message) in cases {
            let problems = check(bytes, &known()).unwrap_err();
            assert_eq!(problems.len(), 1);
            assert_eq!(problems[0].row, None);
            assert!(
                problems[0].message.contains(message),
                "{}",
                problems[0].message
            );
        }
        let big = vec![b'a'; MAX_FILE_BYTES + 1];
        assert!(
            check(&big, &known()).unwrap_err()[0]
                .message
                .contains("larger than 1 MB")
        );
    }

    const FULL_HEADER: &str = "icb_code,month,row_type,workstream_id,measure_id,name,unit,planned_saving_gbp,actual_saving_gbp,measure_value,likely_outturn_gbp,confidence\n";

    fn full_file(rows: &[&str]) -> Vec<u8> {
        let mut text = FULL_HEADER.to_owned();
        for row in rows {
            text.push_str(row);
            text.push('\n');
        }
        text.into_bytes()
    }

    #[test]
    fn a_saving_row_carries_the_forecast_as_at_its_month() {
        let mut known = known();
        if let Some(ws) = known.workstreams.get_mut(&11) {
            ws.forecasts
                .insert(date(2024, 4), (Pence(1_000_000), Confidence::High));
        }
        let checked = check(
            &full_file(&[
                "QE1,2024-04-01,saving,11,,x,,,,,10000,High",
                "QE1,2024-05-01,saving,11,,x,,,950,,\"9,500.50\",medium",
                "QE1,2024-05-01,saving,12,,x,,,,,,",
                "QE1,2024-05-01,measure,11,21,x,,,,71,,",
            ]),
            &known,
        )
        .unwrap();
        assert_eq!(checked.unchanged, 2);
        assert_eq!(
            checked.changes,
            [
                Change::Actual {
                    workstream_id: 11,
                    month: date(2024, 5),
                    before: None,
                    after: Pence(95_000)
                },
                Change::Forecast {
                    workstream_id: 11,
                    month: date(2024, 5),
                    before: None,
                    after: (Pence(950_050), Confidence::Medium)
                },
                Change::Value {
                    measure_id: 21,
                    workstream_id: 11,
                    month: date(2024, 5),
                    before: None,
                    after: 71.0
                },
            ]
        );
    }

    #[test]
    fn a_forecast_needs_both_halves_and_belongs_on_saving_rows() {
        let found: Vec<_> = check(
            &full_file(&[
                "QE1,2024-06-01,saving,11,,x,,,,,5000,",
                "QE1,2024-07-01,saving,11,,x,,,,,,low",
                "QE1,2024-08-01,saving,11,,x,,,,,5000,certain",
                "QE1,2024-09-01,saving,11,,x,,,,,lots,low",
                "QE1,2024-06-01,measure,11,21,x,,,,70,5000,high",
                "QE1,2024-06-01,saving,11,,x,,,,",
            ]),
            &known(),
        )
        .unwrap_err()
        .into_iter()
        .map(|p| (p.row, p.column_label(), p.message))
        .collect();
        let expected = [
            (
                Some(2),
                Some("L (confidence)"),
                "Enter the confidence (high, medium or low) with the likely outturn",
            ),
            (
                Some(3),
                Some("K (likely_outturn_gbp)"),
                "Enter the likely outturn for the year with the confidence",
            ),
            (Some(4), Some("L (confidence)"), "Enter high, medium or low"),
            (
                Some(5),
                Some("K (likely_outturn_gbp)"),
                "Enter an amount in pounds, like 12,500 or £12,500.50",
            ),
            (
                Some(6),
                Some("K (likely_outturn_gbp)"),
                "A measure row has no forecast: put the likely outturn and confidence on the workstream's saving row",
            ),
            (
                Some(7),
                None,
                "This row has 10 columns; the template has 12",
            ),
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|(r, c, m)| (*r, c.map(str::to_owned), (*m).to_owned()))
            .collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn a_byte_order_mark_and_crlf_are_fine() {
        let mut bytes = "\u{feff}".as_bytes().to_vec();
        bytes.extend(HEADER.replace('\n', "\r\n").as_bytes());
        bytes.extend(b"QE1,2024-04-01,saving,11,,x,,,900.00,\r\n");
        let checked = check(&bytes, &known()).unwrap();
        assert_eq!(
            (checked.rows, checked.unchanged, checked.changes.len()),
            (1, 1, 0)
        );
    }

    #[test]
    fn months_the_icb_did_not_exist_in_are_refused() {
        let mut closed = known();
        closed.lifetime.valid_to = NaiveDate::from_ymd_opt(2024, 9, 30);
        let found: Vec<String> = check(&file(&["QE1,2024-10-01,saving,11,,x,,,5,"]), &closed)
            .expect_err("refused")
            .into_iter()
            .map(|p| format!("{:?} {}", p.column_label(), p.message))
            .collect();
        assert_eq!(
            found,
            [
                "Some(\"B (month)\") NHS Lancashire and South Cumbria ICB did not exist in October 2024: it closed on 30 September 2024"
            ]
        );
    }
}
