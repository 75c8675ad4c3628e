//! The national prescribing data: every measure's value for every ICB checked against an
//! independent computation from the file's rows, percentiles and deciles against a direct
//! computation, atomic replacement of a month, each kind of bad input (nothing changed, a
//! clear message), and `fetch` against a local server shaped like the NHSBSA portal.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use medopt::prescribing::import::{self, ImportError, ImportOptions};
use medopt::prescribing::synth::{self, MonthFiles, SynthSpec};
use medopt::prescribing::{command, fetch, figures, library};
use sqlx::PgPool;

use crate::common::TestApp;

pub fn month(y: i32, m: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, 1).unwrap()
}

/// Writes synthetic EPD and list-size files for `from` to `to` (about 8,000 rows a month).
pub async fn synth_files(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    dir: &Path,
) -> Vec<MonthFiles> {
    let mut conn = pool.acquire().await.unwrap();
    let icbs = command::synth_icbs(&mut conn).await.unwrap();
    let measures: Vec<library::Measure> = library::stored(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    let spec = SynthSpec {
        from,
        to,
        scale: 0.0004,
        seed: 11,
        zip: false,
    };
    synth::write_files(dir, &spec, &icbs, &measures).unwrap()
}

/// Loads the files: list sizes first, then each month.
pub async fn load(pool: &PgPool, files: &[MonthFiles]) {
    for f in files {
        import::load_list_sizes(pool, &f.list_sizes, None)
            .await
            .unwrap();
    }
    for f in files {
        import::import_file(pool, &f.epd, &ImportOptions::default())
            .await
            .unwrap();
    }
}

/// Every stored ICB value of `month`: (ICB code, measure slug) → (numerator, denominator, value).
async fn stored_values(
    pool: &PgPool,
    month: NaiveDate,
) -> HashMap<(String, String), (f64, Option<f64>, Option<f64>)> {
    sqlx::query_as::<_, (String, String, f64, Option<f64>, Option<f64>)>(
        "select i.ods_code, m.slug, v.numerator, v.denominator, v.value
         from prescribing_icb_value v
         join icb i on i.icb_id = v.icb_id
         join prescribing_measure m on m.prescribing_measure_id = v.prescribing_measure_id
         where v.month = $1",
    )
    .bind(month)
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .map(|(icb, slug, n, d, v)| ((icb, slug), (n, d, v)))
    .collect()
}

/// A measure as the test reads `reference/measures.csv` itself.
struct Definition {
    slug: String,
    numerator: Vec<String>,
    denominator: Vec<String>,
    numerator_field: String,
    denominator_field: String,
}

fn definitions() -> Vec<Definition> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/reference/measures.csv"
    ))
    .unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader
        .deserialize::<HashMap<String, String>>()
        .map(|row| {
            let row = row.unwrap();
            let codes = |k: &str| row[k].split_whitespace().map(str::to_owned).collect();
            Definition {
                slug: row["slug"].clone(),
                numerator: codes("numerator_bnf_codes"),
                denominator: codes("denominator_bnf_codes"),
                numerator_field: row["numerator_field"].clone(),
                denominator_field: row["denominator_field"].clone(),
            }
        })
        .collect()
}

/// Whether `code` starts with an included prefix and no excluded (`-`) one.
fn counts(code: &str, prefixes: &[String]) -> bool {
    let included = prefixes.iter().filter(|p| !p.starts_with('-'));
    let excluded = prefixes.iter().filter_map(|p| p.strip_prefix('-'));
    included.clone().any(|p| code.starts_with(p.as_str()))
        && !excluded.into_iter().any(|p| code.starts_with(p))
}

/// The file's own answer: sums per (ICB, measure), computed row by row from the CSV.
fn expected_from_files(epd: &Path, list_sizes: &Path) -> HashMap<(String, String), (f64, f64)> {
    let mut patients: HashMap<String, f64> = HashMap::new();
    let mut reader = csv::Reader::from_path(list_sizes).unwrap();
    for row in reader.deserialize::<HashMap<String, String>>() {
        let row = row.unwrap();
        if row["TYPE"] == "GP" && row["SEX"] == "ALL" && row["AGE"] == "ALL" {
            patients.insert(
                row["CODE"].clone(),
                row["NUMBER_OF_PATIENTS"].parse().unwrap(),
            );
        }
    }
    let definitions = definitions();
    let mut sums: HashMap<(String, String), (f64, f64)> = HashMap::new();
    let mut practices: HashMap<String, String> = HashMap::new();
    let mut reader = csv::Reader::from_path(epd).unwrap();
    for row in reader.deserialize::<HashMap<String, String>>() {
        let row = row.unwrap();
        let practice = &row["PRACTICE_CODE"];
        if practice.ends_with("998") {
            continue;
        }
        let icb = row["ICB_CODE"].clone();
        practices.insert(practice.clone(), icb.clone());
        let field = |name: &str| -> f64 {
            let column = match name {
                "items" => "ITEMS",
                "quantity" => "TOTAL_QUANTITY",
                "actual_cost" => "ACTUAL_COST",
                "nic" => "NIC",
                "adqusage" => "ADQUSAGE",
                other => panic!("{other}"),
            };
            row[column].parse().unwrap()
        };
        for d in &definitions {
            let entry = sums.entry((icb.clone(), d.slug.clone())).or_default();
            if counts(&row["BNF_CODE"], &d.numerator) {
                entry.0 += field(&d.numerator_field);
            }
            if d.denominator_field != "list_size" && counts(&row["BNF_CODE"], &d.denominator) {
                entry.1 += field(&d.denominator_field);
            }
        }
    }
    for d in definitions
        .iter()
        .filter(|d| d.denominator_field == "list_size")
    {
        for (practice, icb) in &practices {
            sums.entry((icb.clone(), d.slug.clone())).or_default().1 += patients[practice];
        }
    }
    sums
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[sqlx::test]
async fn every_measure_of_every_icb_matches_a_computation_from_the_files_rows(pool: PgPool) {
    let _app = TestApp::new(pool.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let files = synth_files(&pool, month(2024, 5), month(2024, 5), dir.path()).await;
    let rows = std::fs::read_to_string(&files[0].epd)
        .unwrap()
        .lines()
        .count();
    assert!(
        (3_000..30_000).contains(&rows),
        "a small file: {rows} lines"
    );
    load(&pool, &files).await;

    let expected = expected_from_files(&files[0].epd, &files[0].list_sizes);
    let stored = stored_values(&pool, month(2024, 5)).await;
    let measures = library::shipped().unwrap();
    assert_eq!(
        stored.len(),
        42 * measures.len(),
        "every ICB has every measure"
    );
    for ((icb, slug), (numerator, denominator)) in &expected {
        let (n, d, v) = stored[&(icb.clone(), slug.clone())];
        let m = measures.iter().find(|m| &m.slug == slug).unwrap();
        assert!(
            close(n, *numerator),
            "{icb} {slug}: numerator {n} ≠ {numerator}"
        );
        assert!(
            close(d.unwrap(), *denominator),
            "{icb} {slug}: denominator {d:?} ≠ {denominator}"
        );
        let scale = if m.per_1000() { 1000.0 } else { 1.0 };
        let value = numerator / denominator * scale;
        assert!(
            close(v.unwrap(), value),
            "{icb} {slug}: value {v:?} ≠ {value}"
        );
    }
    // Practices are stored per measure; the ICB's figures are their sums.
    let practices: i64 = sqlx::query_scalar(
        "select count(distinct practice_code) from prescribing_practice_measure where month = '2024-05-01'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let per_icb = SynthSpec {
        from: month(2024, 5),
        to: month(2024, 5),
        scale: 0.0004,
        seed: 11,
        zip: false,
    }
    .practices_per_icb();
    assert_eq!(practices, 42 * per_icb as i64);
}

#[sqlx::test]
async fn percentiles_and_deciles_match_a_direct_computation(pool: PgPool) {
    let _app = TestApp::new(pool.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    load(
        &pool,
        &synth_files(&pool, month(2024, 5), month(2024, 5), dir.path()).await,
    )
    .await;
    let mut conn = pool.acquire().await.unwrap();
    let measures = figures::measures(&mut conn, None).await.unwrap();
    let ids: Vec<i16> = measures.iter().map(|m| m.id).collect();
    let spreads = figures::england_deciles(&mut conn, &ids, month(2024, 5), month(2024, 5))
        .await
        .unwrap();
    for m in &measures {
        let rows: Vec<(f64, f64)> = sqlx::query_as(
            "select value, percentile from prescribing_icb_value
             where month = '2024-05-01' and prescribing_measure_id = $1",
        )
        .bind(m.id)
        .fetch_all(&pool)
        .await
        .unwrap();
        let mut values: Vec<f64> = rows.iter().map(|(v, _)| *v).collect();
        values.sort_by(f64::total_cmp);
        for (value, percentile) in &rows {
            let below = values.iter().filter(|v| *v < value).count();
            let direct = 100.0 * below as f64 / (values.len() - 1) as f64;
            assert!(
                close(*percentile, direct),
                "{}: {percentile} ≠ {direct}",
                m.measure.slug
            );
        }
        // Deciles interpolate between the ICBs' sorted values, as percentile_cont does.
        let spread = spreads.iter().find(|s| s.measure_id == m.id).unwrap();
        for (i, decile) in spread.deciles.iter().enumerate() {
            let at = (i + 1) as f64 / 10.0 * (values.len() - 1) as f64;
            let (low, high) = (at.floor() as usize, at.ceil() as usize);
            let direct = values[low] + (values[high] - values[low]) * (at - low as f64);
            assert!(
                close(*decile, direct),
                "{} decile {}",
                m.measure.slug,
                i + 1
            );
        }
    }
}

/// Every stored prescribing row, to show that a refused import changed nothing.
pub async fn prescribing_snapshot(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "select format('%s', m) from prescribing_month m
         union all select format('%s', p) from prescribing_practice_measure p
         union all select format('%s', v) from prescribing_icb_value v
         union all select format('%s', l) from prescribing_list_size l
         order by 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 9, 0, 0).unwrap()
}

fn released(at: DateTime<Utc>) -> ImportOptions {
    ImportOptions {
        released_at: Some(at),
        ..ImportOptions::default()
    }
}

/// `text` with every `ITEMS` of the first practice's rows doubled (a "corrected release").
fn corrected(text: &str) -> String {
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let items = header.split(',').position(|c| c == "ITEMS").unwrap();
    let mut out = format!("{header}\n");
    let first_practice = text.lines().nth(1).unwrap().to_owned();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(first_practice.as_bytes());
    let practice = reader.records().next().unwrap().unwrap()[8].to_owned();
    for line in lines {
        let mut record: Vec<String> = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_bytes())
            .records()
            .next()
            .unwrap()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        if record[8] == practice {
            let n: u64 = record[items].parse().unwrap();
            record[items] = (n * 2).to_string();
        }
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(&record).unwrap();
        out.push_str(&String::from_utf8(writer.into_inner().unwrap()).unwrap());
    }
    out
}

#[sqlx::test]
async fn a_later_release_replaces_a_month_in_one_step_and_an_earlier_one_is_refused(pool: PgPool) {
    let _app = TestApp::new(pool.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let files = synth_files(&pool, month(2024, 5), month(2024, 6), dir.path()).await;
    for f in &files {
        import::load_list_sizes(&pool, &f.list_sizes, None)
            .await
            .unwrap();
    }
    let may = &files[0].epd;
    import::import_file(&pool, may, &released(at(2024, 7, 10)))
        .await
        .unwrap();
    import::import_file(&pool, &files[1].epd, &released(at(2024, 8, 10)))
        .await
        .unwrap();
    let june_before = stored_values(&pool, month(2024, 6)).await;

    // A corrected release of May replaces it: the first practice's items doubled.
    let second = dir.path().join("EPD_202405_v2.csv");
    std::fs::write(&second, corrected(&std::fs::read_to_string(may).unwrap())).unwrap();
    let before = stored_values(&pool, month(2024, 5)).await;
    let summary = import::import_file(&pool, &second, &released(at(2024, 8, 10)))
        .await
        .unwrap();
    assert_eq!(summary.replaced, Some(at(2024, 7, 10)));
    let after = stored_values(&pool, month(2024, 5)).await;
    assert_ne!(before, after, "the month now has the corrected figures");
    let expected = expected_from_files(&second, &files[0].list_sizes);
    for ((icb, slug), (numerator, _)) in &expected {
        assert!(close(after[&(icb.clone(), slug.clone())].0, *numerator));
    }
    assert_eq!(
        stored_values(&pool, month(2024, 6)).await,
        june_before,
        "other months untouched"
    );

    // The earlier release again: refused, nothing changed.
    let snapshot = prescribing_snapshot(&pool).await;
    let error = import::import_file(&pool, may, &released(at(2024, 7, 10)))
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("May 2024 is already loaded from a newer release"),
        "{message}"
    );
    assert!(message.contains("Nothing was changed"), "{message}");
    assert_eq!(prescribing_snapshot(&pool).await, snapshot);

    // The same release again replaces it with the same figures.
    import::import_file(&pool, &second, &released(at(2024, 8, 10)))
        .await
        .unwrap();
    assert_eq!(stored_values(&pool, month(2024, 5)).await, after);
}

#[sqlx::test]
async fn a_failure_while_saving_leaves_the_month_as_it_was(pool: PgPool) {
    let _app = TestApp::new(pool.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let files = synth_files(&pool, month(2024, 5), month(2024, 5), dir.path()).await;
    load(&pool, &files).await;
    let snapshot = prescribing_snapshot(&pool).await;
    // Make the last statement of the save fail, after the month's rows were emptied and copied.
    sqlx::raw_sql(
        "create function refuse() returns trigger language plpgsql as $$
         begin raise exception 'the disk is full'; end $$;
         create trigger refuse before insert or update on prescribing_month
         for each row execute function refuse();",
    )
    .execute(&pool)
    .await
    .unwrap();
    let result = import::import_file(&pool, &files[0].epd, &released(Utc::now())).await;
    assert!(
        matches!(result, Err(ImportError::Save { .. })),
        "{result:?}"
    );
    assert_eq!(
        prescribing_snapshot(&pool).await,
        snapshot,
        "the transaction rolled back"
    );
}

const HEADER: &str = "YEAR_MONTH,REGIONAL_OFFICE_NAME,REGIONAL_OFFICE_CODE,ICB_NAME,ICB_CODE,PCO_NAME,PCO_CODE,PRACTICE_NAME,PRACTICE_CODE,ADDRESS_1,ADDRESS_2,ADDRESS_3,ADDRESS_4,POSTCODE,BNF_CHEMICAL_SUBSTANCE,CHEMICAL_SUBSTANCE_BNF_DESCR,BNF_CODE,BNF_DESCRIPTION,BNF_CHAPTER_PLUS_CODE,QUANTITY,ITEMS,TOTAL_QUANTITY,ADQUSAGE,NIC,ACTUAL_COST,UNIDENTIFIED";

fn row(icb: &str, items: &str) -> String {
    format!(
        "202405,NORTH WEST,Y62,NHS LANCASHIRE AND SOUTH CUMBRIA ICB,{icb},LANCASHIRE - 00R,00R,THE SURGERY,P81001,1 HIGH STREET,,PRESTON,LANCASHIRE,PR1 1AA,0208020Z0,Apixaban,0208020Z0AAABAB,Apixaban_Tab 5mg,02: Cardiovascular System,56,{items},112,56,3.36,3.10,N\n"
    )
}

fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn zip_of(name: &str, content: &[u8]) -> Vec<u8> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut bytes);
    zip.start_file(name, zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(content).unwrap();
    zip.finish().unwrap();
    bytes.into_inner()
}

#[sqlx::test]
async fn bad_files_are_refused_with_their_line_and_change_nothing(pool: PgPool) {
    let _app = TestApp::new(pool.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let files = synth_files(&pool, month(2024, 5), month(2024, 5), dir.path()).await;
    load(&pool, &files).await;
    let snapshot = prescribing_snapshot(&pool).await;
    let good = row("QE1", "3");
    let whole = std::fs::read(&files[0].epd).unwrap();
    let zipped = zip_of("EPD_202405.csv", &whole);
    let cases: Vec<(PathBuf, &str)> = vec![
        (
            write(dir.path(), "wrong.csv", b"practice,items\nP81001,3\n"),
            "wrong.csv: this is not an English Prescribing Dataset file",
        ),
        (
            write(
                dir.path(),
                "missing.csv",
                format!("{}\n{good}", HEADER.replace(",ACTUAL_COST", "")).as_bytes(),
            ),
            "missing.csv: the header (line 1) lacks the column ACTUAL_COST",
        ),
        (
            write(
                dir.path(),
                "items.csv",
                format!("{HEADER}\n{good}{good}{}", row("QE1", "many")).as_bytes(),
            ),
            "items.csv: line 4: ITEMS is \"many\": expected a whole number of items",
        ),
        (
            write(
                dir.path(),
                "icb.csv",
                format!(
                    "{HEADER}\n{good}{}",
                    row("QQQ", "3").replace("P81001", "P81002")
                )
                .as_bytes(),
            ),
            "icb.csv: line 3: ICB_CODE \"QQQ\" is not an ICB medopt knows",
        ),
        (
            write(dir.path(), "cut.zip", &zipped[..zipped.len() * 2 / 3]),
            "cut.zip: this is a damaged or truncated zip file",
        ),
        (
            write(dir.path(), "cut.csv", &whole[..whole.len() - 2]),
            "cut.csv: the file stops in the middle of line",
        ),
    ];
    for (path, expected) in cases {
        let error = import::import_file(&pool, &path, &ImportOptions::default())
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains(expected), "{}: {error}", path.display());
        assert!(error.ends_with("Nothing was changed"), "{error}");
        assert_eq!(
            prescribing_snapshot(&pool).await,
            snapshot,
            "{}",
            path.display()
        );
    }
    // The whole zip is fine.
    let whole_zip = write(dir.path(), "EPD_202405.zip", &zipped);
    let summary = import::import_file(&pool, &whole_zip, &ImportOptions::default())
        .await
        .unwrap();
    assert_eq!(summary.source, "EPD_202405.zip (EPD_202405.csv)");
}

/// The test's database, for the binary.
fn database_url(pool: &PgPool) -> String {
    let base = std::env::var("DATABASE_URL").unwrap();
    let (server, _) = base.rsplit_once('/').unwrap();
    format!(
        "{server}/{}",
        pool.connect_options().get_database().unwrap()
    )
}

#[sqlx::test]
async fn the_commands_import_and_report_with_a_summary_line(pool: PgPool) {
    let _app = TestApp::new(pool.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let files = synth_files(&pool, month(2024, 5), month(2024, 5), dir.path()).await;
    let bad = write(
        dir.path(),
        "bad.csv",
        format!("{HEADER}\n{}", row("QE1", "x")).as_bytes(),
    );
    let run = |args: Vec<String>| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_medopt"))
            .arg("prescribing")
            .args(args)
            .env("DATABASE_URL", database_url(&pool))
            .env("MEDOPT_LOG", "warn")
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let path = |p: &Path| p.display().to_string();
    let (ok, stdout, _) = run(vec!["list-sizes".into(), path(&files[0].list_sizes)]);
    assert!(
        ok && stdout.starts_with("Loaded list sizes for May 2024"),
        "{stdout}"
    );
    let (ok, stdout, stderr) = run(vec!["import".into(), path(&files[0].epd), path(&bad)]);
    assert!(!ok, "one file failed");
    assert!(
        stdout.starts_with("Imported May 2024 from EPD_202405.csv (synthetic): ")
            && stdout.contains(" practices, 42 ICBs in "),
        "{stdout}"
    );
    assert!(
        stderr.contains("bad.csv: line 2: ITEMS is \"x\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 of 2 files were not imported"),
        "{stderr}"
    );
    let months: i64 = sqlx::query_scalar("select count(*) from prescribing_month")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(months, 1);

    let out = dir.path().join("synth");
    let (ok, stdout, stderr) = run(vec![
        "synth".into(),
        "--from".into(),
        "2024-06".into(),
        "--to".into(),
        "2024-07".into(),
        "--scale".into(),
        "0.0004".into(),
        "--zip".into(),
        "--out".into(),
        path(&out),
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(
        out.join("EPD_202406.zip").exists() && out.join("gp-reg-pat-prac-all_202407.csv").exists()
    );
}

/// A server shaped like the NHSBSA portal's CKAN API, serving `zip` as June 2024.
async fn portal(zip: Vec<u8>) -> String {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let package = serde_json::json!({
        "help": "https://opendata.nhsbsa.net/api/3/action/help_show?name=package_show",
        "success": true,
        "result": {
            "name": "english-prescribing-data-epd",
            "resources": [
                {"name": "EPD_202405", "format": "ZIP", "url": format!("{base}/dataset/EPD_202405.zip"),
                 "last_modified": "2024-07-20T10:00:00.000000", "created": "2024-07-20T10:00:00"},
                {"name": "EPD_202406", "format": "ZIP", "url": format!("{base}/dataset/EPD_202406.zip"),
                 "last_modified": "2024-08-20T10:11:12.345678", "created": "2024-08-19T09:00:00"}
            ]
        }
    });
    let router = axum::Router::new()
        .route(
            "/api/3/action/package_show",
            get(move |axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>| {
                let package = package.clone();
                async move {
                    if q.get("id").map(String::as_str) == Some("english-prescribing-data-epd") {
                        axum::Json(package)
                    } else {
                        axum::Json(serde_json::json!({"success": false, "error": {"message": "Not found"}}))
                    }
                }
            }),
        )
        .route(
            "/dataset/EPD_202406.zip",
            get(move || {
                let zip = zip.clone();
                async move { zip }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("{base}/api/3/action")
}

#[sqlx::test]
async fn fetch_downloads_a_month_from_the_portal_and_imports_it(pool: PgPool) {
    let _app = TestApp::new(pool.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let files = synth_files(&pool, month(2024, 6), month(2024, 6), dir.path()).await;
    let api = portal(zip_of(
        "EPD_202406.csv",
        &std::fs::read(&files[0].epd).unwrap(),
    ))
    .await;
    let portal = fetch::Portal {
        api: api.clone(),
        dataset: fetch::DEFAULT_DATASET.into(),
    };

    let summary = fetch::fetch_month(&pool, &portal, month(2024, 6), None, false)
        .await
        .unwrap();
    assert_eq!(summary.month, month(2024, 6));
    let (source, released): (String, DateTime<Utc>) = sqlx::query_as(
        "select source, released_at from prescribing_month where month = '2024-06-01'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(source.ends_with("/dataset/EPD_202406.zip"), "{source}");
    assert_eq!(
        released.to_rfc3339(),
        "2024-08-20T10:11:12.345678+00:00",
        "the portal's date"
    );

    let error = fetch::fetch_month(&pool, &portal, month(2024, 7), None, false)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("the portal lists no file for July 2024")
            && error.to_string().contains("EPD_202406"),
        "{error}"
    );
    let missing = fetch::Portal {
        api: api.clone(),
        dataset: "no-such-dataset".into(),
    };
    let error = fetch::fetch_month(&pool, &missing, month(2024, 6), None, false)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("dataset no-such-dataset was not found"),
        "{error}"
    );

    // The command, pointed at the server by MEDOPT_EPD_API: the same release again is fine.
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_medopt"))
        .args(["prescribing", "fetch", "--month", "2024-06"])
        .env("DATABASE_URL", database_url(&pool))
        .env("MEDOPT_EPD_API", &api)
        .env("MEDOPT_LOG", "warn")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.starts_with("Imported June 2024 from EPD_202406.zip (EPD_202406.csv)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("replaced the release of 20 August 2024"),
        "{stdout}"
    );
}
