//! Outcome measures of a workstream as stored: what it should change besides money (e.g. the
//! share of patients on a preferred product), with a baseline, a target and monthly values;
//! and how measure values and months are read as people type them. The forms that change
//! them are in `workstream/measures.rs`; the import writes values through [`save_value`] too.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use sqlx::PgConnection;

use crate::auth::scope::{IcbAccess, IcbEditor};
use crate::domain::Month;
use crate::forms::MonthInput;

/// Whether a higher or a lower value is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "measure_direction", rename_all = "snake_case")]
pub enum Direction {
    HigherIsBetter,
    LowerIsBetter,
}

impl Direction {
    /// In words.
    pub fn label(self) -> &'static str {
        match self {
            Direction::HigherIsBetter => "Higher is better",
            Direction::LowerIsBetter => "Lower is better",
        }
    }

    /// From a form value.
    pub fn from_key(key: &str) -> Option<Self> {
        match key {
            "higher_is_better" => Some(Direction::HigherIsBetter),
            "lower_is_better" => Some(Direction::LowerIsBetter),
            _ => None,
        }
    }
}

/// A measure on the workstream page.
pub struct MeasureView {
    pub measure_id: i32,
    pub name: String,
    pub unit: String,
    pub direction: Direction,
    pub baseline: String,
    pub target: String,
    pub version: i32,
    pub values: Vec<MonthInput>,
    pub latest: Option<String>,
}

/// The add-a-measure form's values.
#[derive(Debug, Clone, Default)]
pub struct MeasureForm {
    pub name: String,
    pub unit: String,
    pub direction: String,
    pub baseline_value: String,
    pub baseline_month: String,
    pub target_value: String,
    pub target_month: String,
}

/// A measure value as shown: `12.5`, not `12.500000`.
pub fn show_value(value: f64) -> String {
    let rounded = (value * 1e6).round() / 1e6;
    format!("{rounded}")
}

/// Parses a measure value: a finite decimal number. Commas are allowed only as thousands
/// separators (`1,234.5`); anything else with a comma (`1,5`: a decimal comma, or a typo?) is
/// refused rather than guessed at.
pub fn parse_value(text: &str) -> Option<f64> {
    let text = text.trim();
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let whole_ok = if whole.contains(',') {
        let mut groups = whole.split(',');
        let first = groups.next().unwrap_or_default();
        (1..=3).contains(&first.len()) && digits(first) && groups.all(|g| g.len() == 3 && digits(g))
    } else {
        !whole.is_empty() && digits(whole)
    };
    if !whole_ok || !digits(fraction) || (unsigned.contains('.') && fraction.is_empty()) {
        return None;
    }
    let cleaned: String = text.chars().filter(|c| *c != ',').collect();
    cleaned
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && v.abs() < 1e15)
}

/// Parses a month written `2024-04`, `04/2024`, `4/2024`, `April 2024` or `Apr 2024`, with a
/// four-digit year.
pub fn parse_month(text: &str) -> Option<Month> {
    let text = text.trim();
    if let Some(month) = Month::parse_key(text) {
        return Some(month);
    }
    if let Some((m, y)) = text.split_once('/') {
        let (m, y) = (m.trim(), y.trim());
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !(digits(m) && m.len() <= 2 && digits(y) && y.len() == 4) {
            return None;
        }
        return Month::new(y.parse().ok()?, m.parse().ok()?);
    }
    for format in ["%d %B %Y", "%d %b %Y"] {
        if let Ok(date) = NaiveDate::parse_from_str(&format!("1 {text}"), format) {
            return Month::new(date.year(), date.month());
        }
    }
    None
}

/// The workstream's measures that have not been removed, with their values for `months`.
pub async fn list(
    conn: &mut PgConnection,
    icb: &IcbAccess,
    workstream_id: i32,
    months: &[Month],
) -> sqlx::Result<Vec<MeasureView>> {
    let measures = sqlx::query!(
        r#"
        select measure_id, name, unit, direction as "direction: Direction", baseline_value,
               baseline_month, target_value, target_month, version
        from measure where icb_id = $1 and workstream_id = $2 and removed_at is null
        order by measure_id
        "#,
        icb.icb_id(),
        workstream_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let ids: Vec<i32> = measures.iter().map(|m| m.measure_id).collect();
    let values = sqlx::query!(
        r#"
        select measure_id, month, value from measure_value
        where icb_id = $1 and measure_id = any($2) order by month
        "#,
        icb.icb_id(),
        &ids
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut by_measure: BTreeMap<i32, BTreeMap<NaiveDate, f64>> = BTreeMap::new();
    for v in values {
        by_measure
            .entry(v.measure_id)
            .or_default()
            .insert(v.month, v.value);
    }
    let point = |value: Option<f64>, month: Option<NaiveDate>| match (value, month) {
        (Some(v), Some(m)) => format!("{} in {}", show_value(v), Month::containing(m).label()),
        (Some(v), None) => show_value(v),
        _ => "Not set".to_owned(),
    };
    Ok(measures
        .into_iter()
        .map(|m| {
            let saved = by_measure.remove(&m.measure_id).unwrap_or_default();
            MeasureView {
                measure_id: m.measure_id,
                baseline: point(m.baseline_value, m.baseline_month),
                target: point(m.target_value, m.target_month),
                latest: saved.iter().next_back().map(|(month, v)| {
                    format!(
                        "{} in {}",
                        show_value(*v),
                        Month::containing(*month).label()
                    )
                }),
                values: months
                    .iter()
                    .map(|month| {
                        MonthInput::new(
                            *month,
                            saved
                                .get(&month.first_day())
                                .map(|v| show_value(*v))
                                .unwrap_or_default(),
                        )
                    })
                    .collect(),
                name: m.name,
                unit: m.unit,
                direction: m.direction,
                version: m.version,
            }
        })
        .collect())
}

/// Records a measure's value for a month (replacing one recorded before), or clears it.
pub async fn save_value(
    conn: &mut PgConnection,
    editor: &IcbEditor,
    measure_id: i32,
    month: Month,
    value: Option<f64>,
) -> sqlx::Result<()> {
    let Some(value) = value else {
        sqlx::query!(
            "delete from measure_value where icb_id = $1 and measure_id = $2 and month = $3",
            editor.icb_id(),
            measure_id,
            month as Month
        )
        .execute(conn)
        .await?;
        return Ok(());
    };
    sqlx::query!(
        r#"
        insert into measure_value (measure_id, icb_id, month, value) values ($1, $2, $3, $4)
        on conflict (measure_id, month) do update set value = excluded.value
        "#,
        measure_id,
        editor.icb_id(),
        month as Month,
        value
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Claims the next version of a measure: succeeds only if it is still at `version`.
pub async fn claim_version(
    conn: &mut PgConnection,
    editor: &IcbEditor,
    measure_id: i32,
    version: crate::forms::Version,
) -> sqlx::Result<bool> {
    let claimed = sqlx::query!(
        r#"update measure set version = version + 1, updated_at = now()
           where icb_id = $1 and measure_id = $2 and version = $3 and removed_at is null"#,
        editor.icb_id(),
        measure_id,
        version.0
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(claimed == 1)
}

/// A new measure, as validated from the form.
pub struct NewMeasure<'a> {
    pub name: &'a str,
    pub unit: &'a str,
    pub direction: Direction,
    pub baseline: (f64, Month),
    pub target: (f64, Month),
}

/// Adds a measure to a workstream; returns its id.
pub async fn add(
    conn: &mut PgConnection,
    editor: &IcbEditor,
    workstream_id: i32,
    m: &NewMeasure<'_>,
) -> sqlx::Result<i32> {
    sqlx::query_scalar!(
        r#"
        insert into measure (workstream_id, icb_id, name, unit, direction, baseline_value,
                             baseline_month, target_value, target_month)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning measure_id
        "#,
        workstream_id,
        editor.icb_id(),
        m.name,
        m.unit,
        m.direction as Direction,
        m.baseline.0,
        m.baseline.1 as Month,
        m.target.0,
        m.target.1 as Month
    )
    .fetch_one(conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_read_as_people_write_them() {
        let march = Month::new(2024, 3);
        for text in [
            "2024-03",
            "03/2024",
            "3/2024",
            "March 2024",
            "Mar 2024",
            " march 2024 ",
        ] {
            assert_eq!(parse_month(text), march, "{text}");
        }
        for text in [
            "",
            "2024",
            "13/2024",
            "Smarch 2024",
            "2024-3-1",
            "1/-5000",
            "1/0",
            "1/200000",
            "0/2024",
            "1/24",
        ] {
            assert_eq!(parse_month(text), None, "{text}");
        }
    }

    #[test]
    fn values_are_finite_numbers() {
        assert_eq!(parse_value("1,234.5"), Some(1234.5));
        assert_eq!(parse_value("-3"), Some(-3.0));
        assert_eq!(parse_value("NaN"), None);
        assert_eq!(parse_value("inf"), None);
        assert_eq!(parse_value("12%"), None);
        assert_eq!(
            parse_value("1,5"),
            None,
            "a decimal comma is refused, not read as 15"
        );
        assert_eq!(parse_value("12,34"), None);
        assert_eq!(parse_value("1,234,567"), Some(1234567.0));
        assert_eq!(parse_value(",5"), None);
        assert_eq!(parse_value("5."), None);
        assert_eq!(parse_value("0.25"), Some(0.25));
        assert_eq!(show_value(12.5), "12.5");
        assert_eq!(show_value(0.1 + 0.2), "0.3");
    }
}
