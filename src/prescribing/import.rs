//! `medopt prescribing import FILE…` and `medopt prescribing list-sizes FILE`: read a file in
//! full on a blocking thread (checked and aggregated as it streams), then save it in one
//! transaction. A file that fails either step leaves the stored data as it was.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgPool;

use super::epd::{self, EpdError};
use super::library;
use super::list_sizes;
use super::source::{self, Progress, thousands};
use super::store::{self, Release, SaveError};

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// When the file was released, if not the zip entry's date or the file's modification time.
    pub released_at: Option<DateTime<Utc>>,
    /// Draw a progress bar on a terminal.
    pub progress: bool,
    /// Recorded as the month's source instead of the file name (a download's address).
    pub source: Option<String>,
}

/// Why a file was not imported. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{file}: {error}. Nothing was changed")]
    File { file: String, error: EpdError },
    #[error("{file}: {error}")]
    Save { file: String, error: SaveError },
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct ImportSummary {
    pub source: String,
    pub month: NaiveDate,
    pub rows: u64,
    pub rows_skipped: u64,
    pub practices: usize,
    pub icbs: usize,
    pub bytes: u64,
    pub synthetic: bool,
    pub seconds: f64,
    /// Seconds spent reading and aggregating the file (the rest is the database's).
    pub read_seconds: f64,
    /// The release this one replaced, if the month was loaded before.
    pub replaced: Option<DateTime<Utc>>,
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Imported {} from {}{}: {} rows, {} practices, {} ICBs in {:.1} s ({} rows a second){}",
            self.month.format("%B %Y"),
            self.source,
            if self.synthetic { " (synthetic)" } else { "" },
            thousands(self.rows),
            thousands(self.practices as u64),
            self.icbs,
            self.seconds,
            thousands((self.rows as f64 / self.seconds.max(0.001)) as u64),
            match self.replaced {
                Some(at) => format!("; replaced the release of {}", at.format("%-d %B %Y")),
                None => String::new(),
            }
        )
    }
}

/// Imports one EPD file (CSV or zip).
pub async fn import_file(
    pool: &PgPool,
    path: &Path,
    options: &ImportOptions,
) -> Result<ImportSummary, ImportError> {
    let started = Instant::now();
    let mut conn = pool.acquire().await.context("no database connection")?;
    let stored = library::stored(&mut conn).await?;
    if stored.is_empty() {
        return Err(anyhow::anyhow!(
            "the measure library is not loaded: run `medopt migrate` first"
        )
        .into());
    }
    let icbs = store::icb_codes(&mut conn)
        .await
        .context("reading the ICBs")?;
    drop(conn);
    let (ids, measures): (Vec<i16>, Vec<library::Measure>) = stored.into_iter().unzip();

    let path_buf: PathBuf = path.to_owned();
    let progress = options.progress;
    let read = tokio::task::spawn_blocking(move || {
        source::read_csv(&path_buf, |reader, opened| {
            let mut bar = Progress::new(&opened.name, opened.size, progress);
            let sums = epd::aggregate(reader, &measures, &icbs, |rows, bytes| {
                bar.update(rows, bytes);
            });
            bar.finish();
            Ok((sums?, opened.clone()))
        })
    })
    .await
    .context("the reader thread failed")?;
    let file = display_name(path);
    let (sums, opened) = read.map_err(|error| ImportError::File {
        file: file.clone(),
        error,
    })?;
    let read_seconds = started.elapsed().as_secs_f64();

    let release = Release {
        released_at: options.released_at.unwrap_or(opened.released_at),
        source: options
            .source
            .clone()
            .unwrap_or_else(|| opened.name.clone()),
    };
    let saved = store::save_month(pool, &sums, &ids, &release)
        .await
        .map_err(|error| ImportError::Save { file, error })?;
    Ok(ImportSummary {
        source: opened.name,
        month: sums.month,
        rows: sums.rows_read,
        rows_skipped: sums.rows_skipped,
        practices: sums.practices.len(),
        icbs: sums.icbs(),
        bytes: sums.bytes,
        synthetic: sums.synthetic,
        seconds: started.elapsed().as_secs_f64(),
        read_seconds,
        replaced: saved.replaced,
    })
}

/// What a list-size load did.
#[derive(Debug, Clone)]
pub struct ListSizeSummary {
    pub source: String,
    pub month: NaiveDate,
    pub practices: usize,
    pub patients: i64,
    pub rows: u64,
    /// EPD months whose per-1,000-patient figures were rebuilt.
    pub months_refreshed: Vec<NaiveDate>,
    pub seconds: f64,
}

impl fmt::Display for ListSizeSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Loaded list sizes for {} from {}: {} rows, {} practices, {} patients in {:.1} s; \
             rebuilt the measures of {} prescribing month{}",
            self.month.format("%B %Y"),
            self.source,
            thousands(self.rows),
            thousands(self.practices as u64),
            thousands(self.patients.max(0) as u64),
            self.seconds,
            self.months_refreshed.len(),
            if self.months_refreshed.len() == 1 {
                ""
            } else {
                "s"
            }
        )
    }
}

/// Loads a list-size file (CSV or zip); `month` overrides the file's `EXTRACT_DATE`.
pub async fn load_list_sizes(
    pool: &PgPool,
    path: &Path,
    month: Option<NaiveDate>,
) -> Result<ListSizeSummary, ImportError> {
    let started = Instant::now();
    let path_buf = path.to_owned();
    let read = tokio::task::spawn_blocking(move || {
        source::read_csv(&path_buf, |reader, opened| {
            Ok((list_sizes::read(reader, month)?, opened.name.clone()))
        })
    })
    .await
    .context("the reader thread failed")?;
    let (sizes, name) = read.map_err(|error| ImportError::File {
        file: display_name(path),
        error,
    })?;
    let months_refreshed = list_sizes::save(pool, &sizes, &name)
        .await
        .context("saving the list sizes")?;
    Ok(ListSizeSummary {
        source: name,
        month: sizes.month,
        practices: sizes.practices.len(),
        patients: sizes.patients(),
        rows: sizes.rows_read,
        months_refreshed,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn display_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
