//! The NHS reference data shipped in `reference/` (regions, ICBs and their successions, the
//! opportunity catalogue, the prescribing measure library), loaded on every start, so a fresh
//! install knows the organisations of every programme year and the catalogue of every shipped
//! year.
//!
//! Loading is idempotent and polite: a row is inserted when missing and refreshed from the
//! file only while no administrator has edited it (`edited_at is null`) and only when a value
//! actually differs, so a reload changes nothing and never overwrites an administrator's edit.

use std::collections::BTreeMap;

use anyhow::Context;
use chrono::NaiveDate;
use serde::Deserialize;
use sqlx::PgPool;

use crate::domain::FinancialYear;

const REGIONS_CSV: &str = include_str!("../reference/regions.csv");
const ICBS_CSV: &str = include_str!("../reference/icbs.csv");
const SUCCESSIONS_CSV: &str = include_str!("../reference/icb_successions_2026.csv");
const OPPORTUNITIES_CSV: &str = include_str!("../reference/opportunities_2023_24.csv");

/// ICBs in the reference file start on the day ICBs were established.
const ICBS_ESTABLISHED: NaiveDate = NaiveDate::from_ymd_opt(2022, 7, 1).expect("valid date");
/// The twelve ICBs marked `abolished` in the file ceased on this day.
const ICBS_ABOLISHED: NaiveDate = NaiveDate::from_ymd_opt(2026, 3, 31).expect("valid date");
/// Programme years whose catalogue ships with the code: 2024/25 kept 2023/24's list, and later
/// years start from it too until an administrator records NHS England's changes.
const SHIPPED_YEARS: [i32; 4] = [2023, 2024, 2025, 2026];
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
}

/// One predecessor → successor pair of `icb_successions_2026.csv`.
#[derive(Debug, Deserialize)]
struct SuccessionRow {
    predecessor_ods_code: String,
    successor_ods_code: String,
    successor_name: String,
    successor_region_ods_code: String,
    /// The successor's first day in charge.
    succession_date: NaiveDate,
}

/// An ICB as the loader writes it.
struct NewIcb<'a> {
    ods_code: &'a str,
    name: &'a str,
    ons_code: Option<&'a str>,
    region_ods_code: &'a str,
    valid_from: NaiveDate,
    valid_to: Option<NaiveDate>,
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
    let icbs = parse::<IcbRow>(ICBS_CSV)?;
    for row in &icbs {
        let icb = NewIcb {
            ods_code: &row.ods_code,
            name: &row.name,
            ons_code: Some(row.ons_code.as_str()).filter(|c| !c.is_empty()),
            region_ods_code: &row.region_ods_code,
            valid_from: ICBS_ESTABLISHED,
            valid_to: (row.status_from_2026_04_01 == "abolished").then_some(ICBS_ABOLISHED),
        };
        changed += upsert_icb(&mut tx, &icb).await?;
    }
    // The ICBs formed by the successions (the others, such as QRL, are in icbs.csv), then the
    // successions themselves.
    let successions = parse::<SuccessionRow>(SUCCESSIONS_CSV)?;
    let mut formed: BTreeMap<&str, &SuccessionRow> = BTreeMap::new();
    for row in &successions {
        if icbs.iter().all(|i| i.ods_code != row.successor_ods_code) {
            formed.entry(&row.successor_ods_code).or_insert(row);
        }
    }
    for row in formed.into_values() {
        let icb = NewIcb {
            ods_code: &row.successor_ods_code,
            name: &row.successor_name,
            ons_code: None,
            region_ods_code: &row.successor_region_ods_code,
            valid_from: row.succession_date,
            valid_to: None,
        };
        changed += upsert_icb(&mut tx, &icb).await?;
    }
    for row in &successions {
        // An administrator's record of the same pair (another date) is kept.
        changed += sqlx::query!(
            r#"
            insert into icb_succession (predecessor_icb_id, successor_icb_id, effective_from)
            select p.icb_id, s.icb_id, $3 from icb p, icb s where p.ods_code = $1 and s.ods_code = $2
            on conflict (predecessor_icb_id, successor_icb_id) do nothing
            "#,
            row.predecessor_ods_code,
            row.successor_ods_code,
            row.succession_date,
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

/// Inserts the ICB, or refreshes it from the file while no administrator has edited it.
async fn upsert_icb(tx: &mut sqlx::PgConnection, icb: &NewIcb<'_>) -> anyhow::Result<u64> {
    let result = sqlx::query!(
        r#"
        insert into icb (ods_code, name, ons_code, region_id, valid_from, valid_to)
        select $1, $2, $3, region_id, $5, $6 from region where ods_code = $4
        on conflict (ods_code) do update
           set name = excluded.name, ons_code = excluded.ons_code, region_id = excluded.region_id,
               valid_from = excluded.valid_from, valid_to = excluded.valid_to
        where icb.edited_at is null
          and (icb.name, icb.ons_code, icb.region_id, icb.valid_from, icb.valid_to)
              is distinct from
              (excluded.name, excluded.ons_code, excluded.region_id, excluded.valid_from,
               excluded.valid_to)
        "#,
        icb.ods_code,
        icb.name,
        icb.ons_code,
        icb.region_ods_code,
        icb.valid_from,
        icb.valid_to,
    )
    .execute(&mut *tx)
    .await?;
    Ok(result.rows_affected())
}

async fn upsert_opportunity(
    tx: &mut sqlx::PgConnection,
    year: FinancialYear,
    row: &OpportunityRow,
) -> anyhow::Result<u64> {
    // A "NOT VERIFIED" note means the title is a working one, not NHS England's.
    let confirmed = !row.title_verification.starts_with("NOT VERIFIED");
    let title = row.title.as_str();
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
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn shipped_files_parse() {
        assert_eq!(parse::<RegionRow>(REGIONS_CSV).unwrap().len(), 7);
        let icbs = parse::<IcbRow>(ICBS_CSV).unwrap();
        assert_eq!(icbs.len(), 42);
        let opportunities = parse::<OpportunityRow>(OPPORTUNITIES_CSV).unwrap();
        assert_eq!(opportunities.len(), 16);
        assert!(opportunities.iter().all(|o| !o.title.is_empty()));
    }

    /// The twelve ICBs marked abolished in icbs.csv are exactly the predecessors of the
    /// successions, which take effect the day after they close; six ICBs are formed.
    #[test]
    fn successions_match_the_icbs_that_closed() {
        let icbs = parse::<IcbRow>(ICBS_CSV).unwrap();
        let successions = parse::<SuccessionRow>(SUCCESSIONS_CSV).unwrap();
        assert_eq!(successions.len(), 16);
        let abolished: BTreeSet<&str> = icbs
            .iter()
            .filter(|r| r.status_from_2026_04_01 == "abolished")
            .map(|r| r.ods_code.as_str())
            .collect();
        let predecessors: BTreeSet<&str> = successions
            .iter()
            .map(|r| r.predecessor_ods_code.as_str())
            .collect();
        assert_eq!(abolished.len(), 12);
        assert_eq!(predecessors, abolished);
        assert!(
            successions
                .iter()
                .all(|r| r.succession_date == ICBS_ABOLISHED.succ_opt().unwrap())
        );
        let formed: BTreeSet<&str> = successions
            .iter()
            .map(|r| r.successor_ods_code.as_str())
            .filter(|code| icbs.iter().all(|i| i.ods_code != *code))
            .collect();
        assert_eq!(
            formed,
            BTreeSet::from(["D7T5G", "S0E4D", "S1Y5D", "S9B9J", "T6Y0W", "Z9B2Z"])
        );
        assert_eq!(42 - abolished.len() + formed.len(), 36);
    }
}
