//! The prescribing part of `medopt demo`: thirteen months of synthetic EPD (March 2024, the
//! baseline of 2024/25, to March 2025) and their list sizes, written by [`super::synth`] and
//! loaded through the real importer, so the measure pages are never empty. Months loaded
//! already are left as they are, so running it again changes nothing; and once any real
//! month is loaded the demo adds no synthetic prescribing at all, so synthetic figures never
//! sit beside real ones.

use chrono::NaiveDate;
use sqlx::PgPool;

use super::import::{self, ImportOptions};
use super::synth::{self, SynthSpec};
use super::{command, library};

/// The demo's months.
pub fn months() -> (NaiveDate, NaiveDate) {
    (
        NaiveDate::from_ymd_opt(2024, 3, 1).unwrap_or_default(),
        NaiveDate::from_ymd_opt(2025, 3, 1).unwrap_or_default(),
    )
}

/// About 35,000 rows a month: 7 practices per ICB.
pub const DEMO_SCALE: f64 = 0.002;

/// What the demo loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoPrescribing {
    /// Months imported now.
    pub months: Vec<NaiveDate>,
    /// Months that were loaded already, left as they were.
    pub kept: usize,
    /// Real prescribing data is loaded: the demo added none.
    pub real_data: bool,
    pub rows: u64,
}

/// Loads the demo's synthetic prescribing months that are not loaded yet.
pub async fn load(pool: &PgPool) -> anyhow::Result<DemoPrescribing> {
    let (from, to) = months();
    let mut conn = pool.acquire().await?;
    let real_data = sqlx::query_scalar!(
        r#"select exists (select 1 from prescribing_month where not synthetic) as "real!""#
    )
    .fetch_one(&mut *conn)
    .await?;
    if real_data {
        return Ok(DemoPrescribing {
            real_data,
            ..DemoPrescribing::default()
        });
    }
    let loaded: Vec<NaiveDate> = sqlx::query_scalar!(
        "select month from prescribing_month where month between $1 and $2",
        from,
        to
    )
    .fetch_all(&mut *conn)
    .await?;
    let sizes_loaded: Vec<NaiveDate> = sqlx::query_scalar!(
        "select month from prescribing_list_size_month where month between $1 and $2",
        from,
        to
    )
    .fetch_all(&mut *conn)
    .await?;
    let icbs = command::synth_icbs(&mut conn).await?;
    let measures: Vec<library::Measure> = library::stored(&mut conn)
        .await?
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    drop(conn);

    let spec = SynthSpec {
        from,
        to,
        scale: DEMO_SCALE,
        seed: 2023,
        zip: false,
    };
    let missing: Vec<NaiveDate> = spec
        .months()
        .into_iter()
        .filter(|m| !loaded.contains(m))
        .collect();
    let mut report = DemoPrescribing {
        kept: spec.months().len() - missing.len(),
        ..DemoPrescribing::default()
    };
    if missing.is_empty() {
        return Ok(report);
    }
    let dir = tempfile::tempdir()?;
    let files = {
        let (dir, icbs, measures) = (dir.path().to_owned(), icbs.clone(), measures.clone());
        tokio::task::spawn_blocking(move || synth::write_files(&dir, &spec, &icbs, &measures))
            .await??
    };
    // List sizes first, so each month's import uses its own.
    for file in files
        .iter()
        .filter(|f| missing.contains(&f.month) && !sizes_loaded.contains(&f.month))
    {
        import::load_list_sizes(pool, &file.list_sizes, None).await?;
    }
    for file in files.iter().filter(|f| missing.contains(&f.month)) {
        let summary = import::import_file(pool, &file.epd, &ImportOptions::default()).await?;
        report.rows += summary.rows;
        report.months.push(file.month);
    }
    Ok(report)
}
