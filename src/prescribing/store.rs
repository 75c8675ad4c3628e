//! Writing an aggregated month: one transaction that replaces the month's partition of
//! `prescribing_practice_measure` (emptied, then refilled with `COPY`), records the release,
//! and rebuilds the month's ICB values and percentiles. The file has been read and checked in
//! full before the transaction begins, so a bad file never gets this far, and a failure in
//! here rolls back to the month as it was.
//!
//! These are operator commands: they run on the pool as the connection's own role (like the
//! reference data loader), not in a request's scope.

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sqlx::{PgConnection, PgPool};

use super::epd::MonthSums;

/// The release a month is being loaded from.
#[derive(Debug, Clone)]
pub struct Release {
    pub released_at: DateTime<Utc>,
    /// The file name or URL, for the record.
    pub source: String,
}

/// Why a month was not saved. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// A later release of the month is loaded already.
    #[error(
        "{} is already loaded from a newer release (published {}); this file is from {}. \
         Nothing was changed",
        month.format("%B %Y"),
        loaded.format("%-d %B %Y %H:%M"),
        offered.format("%-d %B %Y %H:%M")
    )]
    NewerReleaseLoaded {
        month: NaiveDate,
        loaded: DateTime<Utc>,
        offered: DateTime<Utc>,
    },
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
}

/// What a save replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Saved {
    /// The release the month had before, if it was loaded already.
    pub replaced: Option<DateTime<Utc>>,
}

/// Every ICB's id by ODS code (closed ones too: an old month names the ICBs of its time).
pub async fn icb_codes(conn: &mut PgConnection) -> sqlx::Result<HashMap<String, i32>> {
    Ok(sqlx::query!("select ods_code, icb_id from icb")
        .fetch_all(conn)
        .await?
        .into_iter()
        .map(|r| (r.ods_code, r.icb_id))
        .collect())
}

/// The partition holding `month` (its name is made from the date alone, so it is safe SQL).
fn partition_name(month: NaiveDate) -> String {
    format!(
        "prescribing_practice_measure_y{:04}m{:02}",
        month.year(),
        month.month()
    )
}

/// Replaces `sums.month` with `sums`, unless a newer release of it is loaded. `measure_ids`
/// are the stored ids of the measures `sums` was aggregated for, in the same order.
pub async fn save_month(
    pool: &PgPool,
    sums: &MonthSums,
    measure_ids: &[i16],
    release: &Release,
) -> Result<Saved, SaveError> {
    let month = sums.month;
    let mut tx = pool.begin().await?;
    // One load at a time: the release check and the change are then one step.
    lock_loads(&mut tx).await?;
    let loaded = sqlx::query_scalar!(
        "select released_at from prescribing_month where month = $1",
        month
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(loaded) = loaded
        && loaded > release.released_at
    {
        return Err(SaveError::NewerReleaseLoaded {
            month,
            loaded,
            offered: release.released_at,
        });
    }

    let partition = partition_name(month);
    let next = month
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(month);
    let ddl = format!(
        "create table if not exists {partition} partition of prescribing_practice_measure \
         for values from ('{month}') to ('{next}')"
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(ddl))
        .execute(&mut *tx)
        .await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("truncate {partition}")))
        .execute(&mut *tx)
        .await?;
    copy_practices(&mut tx, &partition, sums, measure_ids).await?;

    sqlx::query!(
        r#"
        insert into prescribing_month
            (month, released_at, source, synthetic, rows_read, rows_skipped, practices, icbs)
        values ($1, $2, $3, $4, $5, $6, $7, $8)
        on conflict (month) do update
           set released_at = excluded.released_at, source = excluded.source,
               synthetic = excluded.synthetic, rows_read = excluded.rows_read,
               rows_skipped = excluded.rows_skipped, practices = excluded.practices,
               icbs = excluded.icbs, imported_at = now()
        "#,
        month,
        release.released_at,
        release.source,
        sums.synthetic,
        sums.rows_read as i64,
        sums.rows_skipped as i64,
        sums.practices.len() as i32,
        sums.icbs() as i32,
    )
    .execute(&mut *tx)
    .await?;
    refresh_icb_values(&mut tx, month).await?;
    tx.commit().await?;
    Ok(Saved { replaced: loaded })
}

/// Waits for any other prescribing load (EPD or list sizes) to finish, and holds them off for
/// the rest of the transaction: loads are rare operator commands, so one at a time is simple
/// and leaves no doubt about which figures a rebuild saw.
pub async fn lock_loads(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query!(
        r#"select true as "locked!" from pg_advisory_xact_lock(hashtext('medopt.prescribing'))"#
    )
    .fetch_one(conn)
    .await?;
    Ok(())
}

/// Bytes of COPY text per message sent.
const COPY_CHUNK: usize = 1 << 20;

/// Writes every practice × measure row with `COPY`, in chunks (memory stays small).
async fn copy_practices(
    conn: &mut PgConnection,
    partition: &str,
    sums: &MonthSums,
    measure_ids: &[i16],
) -> sqlx::Result<()> {
    let statement = format!(
        "copy {partition} (month, practice_code, icb_id, sub_icb_code, prescribing_measure_id, \
         numerator, denominator) from stdin"
    );
    let mut copy = conn.copy_in_raw(&statement).await?;
    let mut buffer = String::with_capacity(COPY_CHUNK + 256);
    for practice in &sums.practices {
        let code = copy_text(&practice.code);
        let sub_icb = copy_text(&practice.sub_icb_code);
        for (i, id) in measure_ids.iter().enumerate() {
            let (numerator, denominator) = practice.measure(i);
            let _ = writeln!(
                buffer,
                "{}\t{code}\t{}\t{sub_icb}\t{id}\t{numerator}\t{denominator}",
                sums.month, practice.icb_id
            );
        }
        if buffer.len() >= COPY_CHUNK {
            copy.send(buffer.as_bytes()).await?;
            buffer.clear();
        }
    }
    if !buffer.is_empty() {
        copy.send(buffer.as_bytes()).await?;
    }
    copy.finish().await?;
    Ok(())
}

/// Text made safe for COPY's text format.
pub fn copy_text(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

/// Rebuilds `month`'s ICB values and percentiles from its practice rows and the list sizes it
/// uses (the latest list-size month on or before it, else the earliest loaded), and records
/// which list-size month that was.
pub async fn refresh_icb_values(conn: &mut PgConnection, month: NaiveDate) -> sqlx::Result<()> {
    let list_size_month = sqlx::query_scalar!(
        r#"
        select coalesce(
            (select max(month) from prescribing_list_size_month where month <= $1),
            (select min(month) from prescribing_list_size_month)) as "month?"
        "#,
        month
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!("delete from prescribing_icb_value where month = $1", month)
        .execute(&mut *conn)
        .await?;
    // Percentiles rank the ICBs with a value that month: 0 is the lowest, 100 the highest.
    sqlx::query!(
        r#"
        insert into prescribing_icb_value
            (month, icb_id, prescribing_measure_id, numerator, denominator, value, percentile)
        select $1, v.icb_id, v.prescribing_measure_id, v.numerator, v.denominator, v.value,
               case when v.value is not null then
                   100 * percent_rank() over (
                       partition by v.prescribing_measure_id, v.value is null order by v.value)
               end
        from (
            select s.*,
                   case when s.denominator > 0 then
                       s.numerator / s.denominator * case when s.per_1000 then 1000 else 1 end
                   end as value
            from (
                select pm.icb_id, pm.prescribing_measure_id,
                       m.denominator_field = 'list_size' as per_1000,
                       sum(pm.numerator) as numerator,
                       case when m.denominator_field = 'list_size'
                            then sum(ls.patients)::double precision
                            else sum(pm.denominator)
                       end as denominator
                from prescribing_practice_measure pm
                join prescribing_measure m on m.prescribing_measure_id = pm.prescribing_measure_id
                left join prescribing_list_size ls
                       on ls.month = $2 and ls.practice_code = pm.practice_code
                where pm.month = $1
                group by pm.icb_id, pm.prescribing_measure_id, m.denominator_field
            ) s
        ) v
        "#,
        month,
        list_size_month
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "update prescribing_month set list_size_month = $2 where month = $1",
        month,
        list_size_month
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Rebuilds the ICB values of every loaded month from `from` to `to` (inclusive), returning
/// how many months that was. The figures a year of pages needs, recomputed from the practice
/// rows (the benchmark times this).
pub async fn refresh_months(pool: &PgPool, from: NaiveDate, to: NaiveDate) -> sqlx::Result<usize> {
    let mut tx = pool.begin().await?;
    lock_loads(&mut tx).await?;
    let months = sqlx::query_scalar!(
        "select month from prescribing_month where month between $1 and $2 order by month",
        from,
        to
    )
    .fetch_all(&mut *tx)
    .await?;
    for &month in &months {
        refresh_icb_values(&mut tx, month).await?;
    }
    tx.commit().await?;
    Ok(months.len())
}
