//! The prescribing import benchmark: figures, not a pass/fail test.
//!
//! 1. Writes a synthetic EPD month at national size (`medopt::prescribing::synth`, scale 1.0:
//!    about 6,300 practices and 17 million rows), or the largest fraction the disk can hold
//!    beside a copy in PostgreSQL (the scale is printed).
//! 2. Imports it exactly as `medopt prescribing import` does (read, check, aggregate, `COPY`,
//!    replace the month, rebuild the ICB values) and prints the time, rows per second and the
//!    process's peak memory (`VmHWM`, reset just before).
//! 3. Loads the same file with PostgreSQL's own `COPY … FROM` into an unlogged table of text
//!    columns (no types to parse: the quickest raw load there is) and prints its time.
//! 4. Copies the month's practice rows into the eleven months before it (so a year is stored
//!    at national size) and times rebuilding every ICB's measures for the year from them.
//!
//! Run: `cargo bench --bench prescribing` (release build). `MEDOPT_BENCH_SCALE=0.1` for a
//! smaller file; `DATABASE_URL` names another server (then the raw `COPY` streams the file
//! from this process, as the server cannot read it). Figures are in docs/performance.md.

#![expect(clippy::unwrap_used, reason = "a benchmark panics with the reason")]

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{Months, NaiveDate};
use medopt::prescribing::import::{self, ImportOptions};
use medopt::prescribing::synth::{self, SynthSpec};
use medopt::prescribing::{command, library, store};
use medopt::{db, reference};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Executor, PgPool};

const MONTH: (i32, u32) = (2025, 3);
/// Bytes a row of the synthetic file takes, for the disk check.
const BYTES_PER_ROW: f64 = 380.0;
const NATIONAL_ROWS: f64 = 17.0e6;

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run());
}

async fn run() {
    let dir = PathBuf::from(
        std::env::var("MEDOPT_BENCH_DIR")
            .unwrap_or_else(|_| "/var/tmp/medopt-bench-prescribing".into()),
    );
    std::fs::create_dir_all(&dir).unwrap();
    // The server (the postgres user) reads the file for its own COPY.
    set_mode(&dir, 0o755);
    let wanted: f64 = std::env::var("MEDOPT_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let scale = fit_to_disk(&dir, wanted);
    let (pool, server_side) = fresh_database().await;
    let month = NaiveDate::from_ymd_opt(MONTH.0, MONTH.1, 1).unwrap();

    println!("== writing a synthetic EPD month at scale {scale} (1.0 is national size)");
    let started = Instant::now();
    let mut conn = pool.acquire().await.unwrap();
    let icbs = command::synth_icbs(&mut conn).await.unwrap();
    let measures: Vec<library::Measure> = library::stored(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    drop(conn);
    let spec = SynthSpec {
        from: month,
        to: month,
        scale,
        seed: 2023,
        zip: false,
    };
    let files = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || synth::write_files(&dir, &spec, &icbs, &measures))
            .await
            .unwrap()
            .unwrap()
    };
    let file = &files[0];
    set_mode(&file.epd, 0o644);
    let bytes = std::fs::metadata(&file.epd).unwrap().len();
    println!(
        "{} rows, {:.2} GB, written in {:.1} s",
        file.rows,
        bytes as f64 / 1e9,
        started.elapsed().as_secs_f64()
    );
    import::load_list_sizes(&pool, &file.list_sizes, None)
        .await
        .unwrap();
    // Read the file once so both loads start from the page cache.
    warm(&file.epd);

    println!("\n== medopt prescribing import");
    reset_peak_memory();
    let before = memory("VmRSS");
    let summary = import::import_file(&pool, &file.epd, &ImportOptions::default())
        .await
        .unwrap();
    let peak = memory("VmHWM");
    println!("{summary}");
    println!(
        "read, checked and aggregated in {:.1} s; saved (COPY, month replaced, ICB values rebuilt) in {:.1} s",
        summary.read_seconds,
        summary.seconds - summary.read_seconds
    );
    println!(
        "peak memory of the process: {:.0} MB (it held {:.0} MB before the import)",
        peak as f64 / 1024.0,
        before as f64 / 1024.0
    );

    println!("\n== PostgreSQL COPY of the same file into an unlogged table of text columns");
    let raw = raw_copy(&pool, &file.epd, server_side).await;
    println!(
        "{} rows in {:.1} s ({:.0} rows/s){}",
        raw.0,
        raw.1,
        raw.0 as f64 / raw.1,
        if server_side {
            " (server-side COPY FROM the file)"
        } else {
            " (COPY FROM STDIN, streamed by this process)"
        }
    );
    pool.execute("drop table epd_raw").await.unwrap();

    println!("\n== a year of measures for every ICB");
    let first = copy_to_year(&pool, month).await;
    let started = Instant::now();
    let months = store::refresh_months(&pool, first, month).await.unwrap();
    let year_seconds = started.elapsed().as_secs_f64();
    let practice_rows: i64 =
        sqlx::query_scalar("select count(*) from prescribing_practice_measure")
            .fetch_one(&pool)
            .await
            .unwrap();
    let values: i64 = sqlx::query_scalar("select count(*) from prescribing_icb_value")
        .fetch_one(&pool)
        .await
        .unwrap();
    println!(
        "rebuilt {values} ICB values for {months} months from {practice_rows} practice rows in {year_seconds:.2} s"
    );

    println!("\n| Figure | Value |\n|---|---:|");
    println!("| Rows in the month (scale {scale}) | {} |", summary.rows);
    println!("| File size | {:.2} GB |", bytes as f64 / 1e9);
    println!(
        "| Import, whole (read, check, aggregate, COPY, replace, rebuild) | {:.1} s |",
        summary.seconds
    );
    println!(
        "| Import rows per second | {:.0} |",
        summary.rows as f64 / summary.seconds
    );
    println!(
        "| Import peak memory (process VmHWM) | {:.0} MB |",
        peak as f64 / 1024.0
    );
    println!(
        "| PostgreSQL COPY into an unlogged table | {:.1} s |",
        raw.1
    );
    println!("| COPY rows per second | {:.0} |", raw.0 as f64 / raw.1);
    println!("| Import ÷ COPY | {:.2} |", summary.seconds / raw.1);
    println!("| Every ICB's measures for a year, rebuilt | {year_seconds:.2} s |");
    if scale < 1.0 {
        println!(
            "\nScaled: the file is {scale} of national size; at national size the import and the COPY \
             would each take about {:.0} s and {:.0} s if they scale linearly with rows.",
            summary.seconds / scale,
            raw.1 / scale
        );
    }
    if std::env::var_os("MEDOPT_BENCH_KEEP").is_none() {
        let _ = std::fs::remove_file(&file.epd);
        let _ = std::fs::remove_file(&file.list_sizes);
    }
}

/// Disk left for everyone else while the benchmark runs (the machine is shared).
const DISK_KEPT_FREE: f64 = 12.0e9;

/// The largest scale up to `wanted` whose file and its copy in PostgreSQL fit on the disk,
/// leaving [`DISK_KEPT_FREE`] for others.
fn fit_to_disk(dir: &Path, wanted: f64) -> f64 {
    let free = (free_bytes(dir) as f64 - DISK_KEPT_FREE).max(0.0);
    let needed_per_scale = NATIONAL_ROWS * BYTES_PER_ROW * 2.2;
    let fits = free / needed_per_scale;
    if fits >= wanted {
        wanted
    } else {
        let scale = (fits * 100.0).floor() / 100.0;
        println!(
            "the disk has {:.0} GB free and {:.0} GB stay free for others: using scale {scale} \
             instead of {wanted} (a month at national size needs about {:.0} GB: the file and its \
             copy in PostgreSQL)",
            (free + DISK_KEPT_FREE) / 1e9,
            DISK_KEPT_FREE / 1e9,
            needed_per_scale / 1e9
        );
        scale.max(0.01)
    }
}

fn free_bytes(dir: &Path) -> u64 {
    nix::sys::statvfs::statvfs(dir).map_or(u64::MAX, |stat| {
        stat.blocks_available() * stat.fragment_size()
    })
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

fn warm(path: &Path) {
    use std::io::Read;
    let mut file = std::fs::File::open(path).unwrap();
    let mut buffer = vec![0; 1 << 20];
    while file.read(&mut buffer).unwrap() > 0 {}
}

/// A fresh database `medopt_bench_prescribing`; whether the server can read our files (the
/// private cluster on this machine).
async fn fresh_database() -> (PgPool, bool) {
    let (server, local) = match std::env::var("DATABASE_URL") {
        Ok(url) => (url, false),
        Err(_) => {
            let options = medopt::devdb::Options::from_env().unwrap();
            let local = medopt::devdb::LocalPostgres::start(&options).unwrap();
            (local.url("postgres"), true)
        }
    };
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&server)
        .await
        .unwrap();
    admin
        .execute("drop database if exists medopt_bench_prescribing with (force)")
        .await
        .unwrap();
    admin
        .execute("create database medopt_bench_prescribing")
        .await
        .unwrap();
    admin.close().await;
    let url = match server.rsplit_once('/') {
        Some((server, _)) => format!("{server}/medopt_bench_prescribing"),
        None => server,
    };
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect(&url)
        .await
        .unwrap();
    db::migrate(&pool).await.unwrap();
    reference::load(&pool).await.unwrap();
    (pool, local)
}

/// Loads `path` into a fresh unlogged table of text columns; returns its rows and seconds.
async fn raw_copy(pool: &PgPool, path: &Path, server_side: bool) -> (u64, f64) {
    let header = {
        use std::io::BufRead;
        let mut line = String::new();
        std::io::BufReader::new(std::fs::File::open(path).unwrap())
            .read_line(&mut line)
            .unwrap();
        line.trim().to_owned()
    };
    let columns: Vec<String> = header
        .split(',')
        .map(|c| format!("{} text", c.to_lowercase()))
        .collect();
    let create = format!("create unlogged table epd_raw ({})", columns.join(", "));
    pool.execute(sqlx::AssertSqlSafe(create)).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let started = Instant::now();
    let rows = if server_side {
        let copy = format!(
            "copy epd_raw from '{}' with (format csv, header true, encoding 'LATIN1')",
            path.display()
        );
        conn.execute(sqlx::AssertSqlSafe(copy))
            .await
            .unwrap()
            .rows_affected()
    } else {
        let mut copy = conn
            .copy_in_raw(
                "copy epd_raw from stdin with (format csv, header true, encoding 'LATIN1')",
            )
            .await
            .unwrap();
        copy.read_from(tokio::fs::File::open(path).await.unwrap())
            .await
            .unwrap();
        copy.finish().await.unwrap()
    };
    (rows, started.elapsed().as_secs_f64())
}

/// Copies `month`'s practice rows into the eleven months before it (each in its own
/// partition, as an import would write them); returns the first month.
async fn copy_to_year(pool: &PgPool, month: NaiveDate) -> NaiveDate {
    let mut first = month;
    for back in 1..12 {
        let earlier = month.checked_sub_months(Months::new(back)).unwrap();
        let next = earlier.checked_add_months(Months::new(1)).unwrap();
        let name = format!("prescribing_practice_measure_b{back}");
        let sql = format!(
            "create table {name} partition of prescribing_practice_measure for values from ('{earlier}') to ('{next}');
             insert into {name} select '{earlier}'::date, practice_code, icb_id, sub_icb_code, prescribing_measure_id,
                    numerator * (1 + 0.01 * {back}), denominator
             from prescribing_practice_measure where month = '{month}';
             insert into prescribing_month (month, released_at, source, synthetic, rows_read, rows_skipped, practices, icbs)
             select '{earlier}', released_at, source, synthetic, rows_read, rows_skipped, practices, icbs
             from prescribing_month where month = '{month}';"
        );
        pool.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
        first = earlier;
    }
    pool.execute("vacuum analyze").await.unwrap();
    first
}

/// A line of /proc/self/status in kB (`VmRSS`: now; `VmHWM`: peak since the last reset).
fn memory(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .unwrap_or(0)
}

/// Resets `VmHWM` to the current size (Linux: `5` to /proc/self/clear_refs).
fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
