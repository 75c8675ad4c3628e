//! The NHS reference data shipped in `reference/` (regions, ICBs, the opportunity catalogue,
//! the prescribing measure library), loaded on every start.
//!
//! Loading is idempotent and polite: a row is inserted when missing and refreshed from the
//! file only while no administrator has edited it (`edited_at is null`) and only when a value
//! actually differs, so a reload changes nothing and never overwrites an administrator's edit.

use anyhow::Context;
use chrono::NaiveDate;
use serde::Deserialize;
use sqlx::PgPool;

use crate::domain::FinancialYear;

const REGIONS_CSV: &str = include_str!("../reference/regions.csv");
const ICBS_CSV: &str = include_str!("../reference/icbs.csv");
const OPPORTUNITIES_CSV: &str = include_str!("../reference/opportunities_2023_24.csv");

/// ICBs in the reference file start on the day ICBs were established.
const ICBS_ESTABLISHED: NaiveDate = NaiveDate::from_ymd_opt(2022, 7, 1).expect("valid date");
/// The twelve ICBs marked `abolished` in the file ceased on this day.
const ICBS_ABOLISHED: NaiveDate = NaiveDate::from_ymd_opt(2026, 3, 31).expect("valid date");
/// Programme years whose catalogue ships with the code (2024/25 kept 2023/24's list).
const SHIPPED_YEARS: [i32; 2] = [2023, 2024];
/// The year from which the `efficiency_focus_2024_25` column applies.
const EFFICIENCY_FOCUS_FROM: i32 = 2024;

#[derive(Debug, Deserialize)]
struct RegionRow {
    ods_code: String,
    name: String,
    ons_code: String,
}

#[derive(Debug, Deserialize)]
struct IcbRow {
    ods_code: String,
    name: String,
    region_ods_code: String,
    ons_code: String,
    status_from_2026_04_01: String,
    successor_or_change: String,
}

#[derive(Debug, Deserialize)]
struct OpportunityRow {
    number: i16,
    group: String,
    title: String,
    short_code: String,
    efficiency_focus_2024_25: bool,
    title_verification: String,
}

/// What a load did, for the start-up log.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LoadReport {
    /// Rows inserted or refreshed from the files.
    pub rows_changed: u64,
}

/// Loads every reference file in one transaction.
pub async fn load(pool: &PgPool) -> anyhow::Result<LoadReport> {
    let mut tx = pool.begin().await?;
    let mut changed = 0;
    for row in parse::<RegionRow>(REGIONS_CSV)? {
        changed += sqlx::query!(
            r#"
            insert into region (ods_code, name, ons_code) values ($1, $2, $3)
            on conflict (ods_code) do update set name = excluded.name, ons_code = excluded.ons_code
            where region.edited_at is null
              and (region.name, region.ons_code) is distinct from (excluded.name, excluded.ons_code)
            "#,
            row.ods_code,
            row.name,
            row.ons_code,
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    for row in parse::<IcbRow>(ICBS_CSV)? {
        let valid_to = (row.status_from_2026_04_01 == "abolished").then_some(ICBS_ABOLISHED);
        let note = Some(row.successor_or_change).filter(|s| !s.is_empty());
        changed += sqlx::query!(
            r#"
            insert into icb (ods_code, name, ons_code, region_id, valid_from, valid_to, change_note)
            select $1, $2, $3, region_id, $5, $6, $7 from region where ods_code = $4
            on conflict (ods_code) do update
               set name = excluded.name, ons_code = excluded.ons_code, region_id = excluded.region_id,
                   valid_from = excluded.valid_from, valid_to = excluded.valid_to,
                   change_note = excluded.change_note
            where icb.edited_at is null
              and (icb.name, icb.ons_code, icb.region_id, icb.valid_from, icb.valid_to, icb.change_note)
                  is distinct from
                  (excluded.name, excluded.ons_code, excluded.region_id, excluded.valid_from,
                   excluded.valid_to, excluded.change_note)
            "#,
            row.ods_code,
            row.name,
            row.ons_code,
            row.region_ods_code,
            ICBS_ESTABLISHED,
            valid_to,
            note,
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    let opportunities = parse::<OpportunityRow>(OPPORTUNITIES_CSV)?;
    for start_year in SHIPPED_YEARS {
        let year = FinancialYear::starting(start_year).context("shipped year out of range")?;
        changed += sqlx::query!(
            "insert into programme_year (starts_on) values ($1) on conflict (starts_on) do nothing",
            year.starts_on(),
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        for row in &opportunities {
            changed += upsert_opportunity(&mut tx, year, row).await?;
        }
    }
    changed += crate::prescribing::library::load(&mut tx).await?;
    tx.commit().await?;
    Ok(LoadReport {
        rows_changed: changed,
    })
}

async fn upsert_opportunity(
    tx: &mut sqlx::PgConnection,
    year: FinancialYear,
    row: &OpportunityRow,
) -> anyhow::Result<u64> {
    // A blank title or a "NOT VERIFIED" note means NHS England's title is not confirmed.
    let confirmed = !row.title.is_empty() && !row.title_verification.starts_with("NOT VERIFIED");
    let title = Some(row.title.as_str()).filter(|t| !t.is_empty());
    let focus = row.efficiency_focus_2024_25 && year.start_year() >= EFFICIENCY_FOCUS_FROM;
    let result = sqlx::query!(
        r#"
        insert into opportunity
            (programme_year_id, number, group_name, title, title_confirmed, slug, efficiency_focus)
        select programme_year_id, $2, $3, $4, $5, $6, $7 from programme_year where starts_on = $1
        on conflict (programme_year_id, number) do update
           set group_name = excluded.group_name, title = excluded.title,
               title_confirmed = excluded.title_confirmed, slug = excluded.slug,
               efficiency_focus = excluded.efficiency_focus
        where opportunity.edited_at is null
          and (opportunity.group_name, opportunity.title, opportunity.title_confirmed,
               opportunity.slug, opportunity.efficiency_focus)
              is distinct from
              (excluded.group_name, excluded.title, excluded.title_confirmed, excluded.slug,
               excluded.efficiency_focus)
        "#,
        year.starts_on(),
        row.number,
        row.group,
        title,
        confirmed,
        row.short_code,
        focus,
    )
    .execute(&mut *tx)
    .await?;
    Ok(result.rows_affected())
}

fn parse<T: for<'de> Deserialize<'de>>(csv_text: &str) -> anyhow::Result<Vec<T>> {
    csv::Reader::from_reader(csv_text.as_bytes())
        .deserialize()
        .enumerate()
        .map(|(i, row)| row.with_context(|| format!("reference data row {} is malformed", i + 2)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_files_parse() {
        assert_eq!(parse::<RegionRow>(REGIONS_CSV).unwrap().len(), 7);
        let icbs = parse::<IcbRow>(ICBS_CSV).unwrap();
        assert_eq!(icbs.len(), 42);
        assert_eq!(
            icbs.iter()
                .filter(|r| r.status_from_2026_04_01 == "abolished")
                .count(),
            12
        );
        assert_eq!(
            parse::<OpportunityRow>(OPPORTUNITIES_CSV).unwrap().len(),
            16
        );
    }
}
