//! The SQL behind the prescribing pages: what is loaded, an ICB's monthly values, England's
//! deciles and a region's median. Everything reads `prescribing_icb_value` (one row per ICB,
//! measure and month), so the pages' queries do not depend on how many practices there are.
//!
//! The tables are open data (no row-level security): these run inside a request's scoped
//! transaction like any other query, and return the same for every role.

use chrono::NaiveDate;
use sqlx::PgConnection;

use super::library::{self, Measure};

/// What prescribing data is loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataStatus {
    /// The latest EPD month loaded.
    pub latest_month: Option<NaiveDate>,
    /// The earliest.
    pub first_month: Option<NaiveDate>,
    /// Some month loaded came from `medopt prescribing synth`.
    pub synthetic: bool,
    /// The latest list-size month loaded.
    pub list_sizes_month: Option<NaiveDate>,
}

impl DataStatus {
    /// "June 2024", or "none".
    pub fn latest_label(&self) -> String {
        self.latest_month
            .map_or_else(|| "none".to_owned(), |m| m.format("%B %Y").to_string())
    }
}

/// What is loaded.
pub async fn status(conn: &mut PgConnection) -> sqlx::Result<DataStatus> {
    let row = sqlx::query!(
        r#"
        select (select max(month) from prescribing_month) as "latest?",
               (select min(month) from prescribing_month) as "first?",
               (select coalesce(bool_or(synthetic), false) from prescribing_month) as "synthetic!",
               (select max(month) from prescribing_list_size_month) as "list_sizes?"
        "#
    )
    .fetch_one(conn)
    .await?;
    Ok(DataStatus {
        latest_month: row.latest,
        first_month: row.first,
        synthetic: row.synthetic,
        list_sizes_month: row.list_sizes,
    })
}

/// A stored measure with its id.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMeasure {
    pub id: i16,
    pub measure: Measure,
}

/// The measures of the library (of one opportunity, or all), in the library's order.
pub async fn measures(
    conn: &mut PgConnection,
    opportunity_number: Option<i16>,
) -> anyhow::Result<Vec<StoredMeasure>> {
    Ok(library::stored(conn)
        .await?
        .into_iter()
        .filter(|(_, m)| opportunity_number.is_none_or(|n| m.opportunity_number == n))
        .map(|(id, measure)| StoredMeasure { id, measure })
        .collect())
}

/// One ICB's (or a group's) figures for a measure and month.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthValue {
    pub month: NaiveDate,
    pub measure_id: i16,
    pub numerator: f64,
    pub denominator: Option<f64>,
    pub value: Option<f64>,
    /// Among England's ICBs, 0 (lowest) to 100 (highest).
    pub percentile: Option<f64>,
}

/// An ICB's values for `measure_ids` from `from` to `to`, by month.
pub async fn icb_values(
    conn: &mut PgConnection,
    icb_id: i32,
    measure_ids: &[i16],
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<Vec<MonthValue>> {
    sqlx::query_as!(
        MonthValue,
        r#"
        select month, prescribing_measure_id as measure_id, numerator, denominator, value,
               percentile
        from prescribing_icb_value
        where icb_id = $1 and prescribing_measure_id = any($2) and month between $3 and $4
        order by month
        "#,
        icb_id,
        measure_ids,
        from,
        to
    )
    .fetch_all(conn)
    .await
}

/// England's spread for a measure and month: the 10th to 90th percentiles of the ICBs' values.
#[derive(Debug, Clone, PartialEq)]
pub struct Spread {
    pub month: NaiveDate,
    pub measure_id: i16,
    /// The 10th, 20th, … 90th percentiles.
    pub deciles: Vec<f64>,
    pub icbs: i64,
}

impl Spread {
    /// The `n`th decile (1 to 9).
    pub fn decile(&self, n: usize) -> Option<f64> {
        self.deciles.get(n.checked_sub(1)?).copied()
    }
}

/// England's deciles for `measure_ids` from `from` to `to`.
pub async fn england_deciles(
    conn: &mut PgConnection,
    measure_ids: &[i16],
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<Vec<Spread>> {
    sqlx::query_as!(
        Spread,
        r#"
        select month, prescribing_measure_id as measure_id,
               percentile_cont(array[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
                   within group (order by value) as "deciles!",
               count(*) as "icbs!"
        from prescribing_icb_value
        where prescribing_measure_id = any($1) and month between $2 and $3
          and value is not null
        group by month, prescribing_measure_id
        order by month
        "#,
        measure_ids,
        from,
        to
    )
    .fetch_all(conn)
    .await
}

/// A region's median ICB value for a measure and month.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionMedian {
    pub month: NaiveDate,
    pub measure_id: i16,
    pub median: f64,
}

/// The median of the region's ICBs' values for `measure_ids` from `from` to `to`.
pub async fn region_medians(
    conn: &mut PgConnection,
    region_id: i16,
    measure_ids: &[i16],
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<Vec<RegionMedian>> {
    sqlx::query_as!(
        RegionMedian,
        r#"
        select v.month, v.prescribing_measure_id as measure_id,
               percentile_cont(0.5) within group (order by v.value) as "median!"
        from prescribing_icb_value v
        join icb i on i.icb_id = v.icb_id
        where i.region_id = $1 and v.prescribing_measure_id = any($2)
          and v.month between $3 and $4 and v.value is not null
        group by v.month, v.prescribing_measure_id
        order by v.month
        "#,
        region_id,
        measure_ids,
        from,
        to
    )
    .fetch_all(conn)
    .await
}

/// Every ICB's values for `measure_ids` in the given months (for the roll-ups).
#[derive(Debug, Clone, PartialEq)]
pub struct IcbMonthValue {
    pub icb_id: i32,
    pub region_id: i16,
    pub month: NaiveDate,
    pub measure_id: i16,
    pub numerator: f64,
    pub denominator: Option<f64>,
    pub value: Option<f64>,
    pub percentile: Option<f64>,
}

/// Every ICB's values in `months` for `measure_ids`.
pub async fn all_icb_values(
    conn: &mut PgConnection,
    measure_ids: &[i16],
    months: &[NaiveDate],
) -> sqlx::Result<Vec<IcbMonthValue>> {
    sqlx::query_as!(
        IcbMonthValue,
        r#"
        select v.icb_id, i.region_id, v.month, v.prescribing_measure_id as measure_id,
               v.numerator, v.denominator, v.value, v.percentile
        from prescribing_icb_value v
        join icb i on i.icb_id = v.icb_id
        where v.prescribing_measure_id = any($1) and v.month = any($2)
        "#,
        measure_ids,
        months
    )
    .fetch_all(conn)
    .await
}

/// Percentile rank of `value` among `values` (0 = lowest, 100 = highest), as PostgreSQL's
/// `percent_rank` would give it if `value` were one of them.
pub fn percent_rank(value: f64, values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let below = values.iter().filter(|v| **v < value).count();
    let others = values.len().saturating_sub(1).max(1);
    Some((100.0 * below as f64 / others as f64).min(100.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_rank_matches_postgres() {
        let values = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percent_rank(1.0, &values), Some(0.0));
        assert_eq!(percent_rank(3.0, &values), Some(50.0));
        assert_eq!(percent_rank(5.0, &values), Some(100.0));
        assert_eq!(percent_rank(9.0, &values), Some(100.0));
        assert_eq!(percent_rank(1.0, &[]), None);
    }
}
