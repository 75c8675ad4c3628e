//! `medopt prescribing …`: the operator's commands for the national prescribing data.

use std::path::PathBuf;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use clap::Subcommand;
use sqlx::{PgConnection, PgPool};

use super::fetch::{self, DEFAULT_API, DEFAULT_DATASET, Portal};
use super::import::{self, ImportOptions};
use super::library;
use super::source::thousands;
use super::synth::{self, SynthIcb, SynthSpec};

/// `medopt prescribing …`
#[derive(Debug, Subcommand)]
pub enum PrescribingCommand {
    /// Import months of NHSBSA's English Prescribing Dataset from CSV or zip files. Each file
    /// replaces its month in one step (an earlier release never replaces a later one); a file
    /// with a problem changes nothing and the others are still imported.
    Import {
        /// EPD files (`EPD_202406.csv` or `.zip`).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// When NHSBSA released the files (`2024-08-20`), if not the zip entry's date or the
        /// file's modification time.
        #[arg(long)]
        released: Option<String>,
    },
    /// Load a month of GP practice list sizes ("Patients Registered at a GP Practice", CSV or
    /// zip) and rebuild the per-1,000-patient measures that use it.
    ListSizes {
        file: PathBuf,
        /// The month (`2024-06`) if not the file's `EXTRACT_DATE`.
        #[arg(long)]
        month: Option<String>,
    },
    /// Download a month from the NHSBSA open data portal and import it.
    Fetch {
        /// The month, `YYYY-MM`.
        #[arg(long)]
        month: String,
        /// The portal's CKAN API.
        #[arg(long, env = "MEDOPT_EPD_API", default_value = DEFAULT_API)]
        api: String,
        /// The dataset's id on the portal.
        #[arg(long, env = "MEDOPT_EPD_DATASET", default_value = DEFAULT_DATASET)]
        dataset: String,
        /// Keep the downloaded file in this directory.
        #[arg(long)]
        keep: Option<PathBuf>,
    },
    /// Write synthetic EPD files (and list sizes) for demonstrations, tests and benchmarks.
    Synth {
        /// First month, `YYYY-MM`.
        #[arg(long)]
        from: String,
        /// Last month, `YYYY-MM`.
        #[arg(long)]
        to: String,
        /// 1.0 is national size (about 17 million rows a month).
        #[arg(long, default_value_t = 0.01)]
        scale: f64,
        /// Directory to write into.
        #[arg(long)]
        out: PathBuf,
        /// The same seed writes the same files.
        #[arg(long, default_value_t = 2023)]
        seed: u64,
        /// Write each month's EPD file as a zip.
        #[arg(long)]
        zip: bool,
    },
}

/// Runs a prescribing command on a migrated database.
pub async fn run(command: PrescribingCommand, pool: &PgPool) -> anyhow::Result<()> {
    match command {
        PrescribingCommand::Import { files, released } => {
            let released_at = released.as_deref().map(parse_release).transpose()?;
            let options = ImportOptions {
                released_at,
                progress: true,
                source: None,
            };
            let mut failed = 0;
            for file in &files {
                match import::import_file(pool, file, &options).await {
                    Ok(summary) => println!("{summary}"),
                    Err(error) => {
                        eprintln!("medopt: {error}");
                        failed += 1;
                    }
                }
            }
            anyhow::ensure!(
                failed == 0,
                "{failed} of {} files were not imported",
                files.len()
            );
        }
        PrescribingCommand::ListSizes { file, month } => {
            let month = month.as_deref().map(parse_month).transpose()?;
            println!("{}", import::load_list_sizes(pool, &file, month).await?);
        }
        PrescribingCommand::Fetch {
            month,
            api,
            dataset,
            keep,
        } => {
            let month = parse_month(&month)?;
            let portal = Portal { api, dataset };
            println!(
                "{}",
                fetch::fetch_month(pool, &portal, month, keep.as_deref(), true).await?
            );
        }
        PrescribingCommand::Synth {
            from,
            to,
            scale,
            out,
            seed,
            zip,
        } => {
            let spec = SynthSpec {
                from: parse_month(&from)?,
                to: parse_month(&to)?,
                scale,
                seed,
                zip,
            };
            let mut conn = pool.acquire().await?;
            let icbs = synth_icbs(&mut conn).await?;
            let measures: Vec<library::Measure> = library::stored(&mut conn)
                .await?
                .into_iter()
                .map(|(_, m)| m)
                .collect();
            drop(conn);
            let files = tokio::task::spawn_blocking(move || {
                synth::write_files(&out, &spec, &icbs, &measures)
            })
            .await??;
            for f in &files {
                println!(
                    "{}: {} rows in {} (list sizes in {})",
                    f.month.format("%Y-%m"),
                    thousands(f.rows),
                    f.epd.display(),
                    f.list_sizes.display()
                );
            }
        }
    }
    Ok(())
}

/// `2024-06` (or `202406`) as its first day.
pub fn parse_month(text: &str) -> anyhow::Result<NaiveDate> {
    super::epd::parse_year_month(text.as_bytes())
        .with_context(|| format!("{text:?} is not a month: write it like 2024-06"))
}

/// `2024-08-20` or an RFC 3339 time.
fn parse_release(text: &str) -> anyhow::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        })
        .with_context(|| format!("--released {text:?} is not a date like 2024-08-20"))
}

/// Every ICB with its region and, if it closed, the ICB that took over, for the generator.
pub async fn synth_icbs(conn: &mut PgConnection) -> sqlx::Result<Vec<SynthIcb>> {
    sqlx::query_as!(
        SynthIcb,
        r#"
        select i.ods_code as code, i.name, r.ods_code as region_code, r.name as region_name,
               i.valid_from, i.valid_to,
               (select s.ods_code from icb_succession x join icb s on s.icb_id = x.successor_icb_id
                where x.predecessor_icb_id = i.icb_id order by s.ods_code limit 1) as successor
        from icb i join region r on r.region_id = i.region_id
        order by r.ods_code, i.ods_code
        "#
    )
    .fetch_all(conn)
    .await
}
