//! Where a month comes from: a CSV file, or a zip holding one CSV file (as NHSBSA publishes
//! them), read as a stream either way. Also the release date a file stands for, and the
//! progress bar shown while it is read.

use std::fs::File;
use std::io::{BufReader, IsTerminal, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use super::epd::EpdError;

/// What was opened.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The file's name, and the CSV's name inside a zip.
    pub name: String,
    /// Bytes of CSV to read (uncompressed), for progress.
    pub size: u64,
    /// When the data was released: the zip entry's date (NHSBSA's zips carry the time the file
    /// was made), else the file's modification time.
    pub released_at: DateTime<Utc>,
}

/// Opens `path` (CSV or zip) and hands a reader of its CSV to `read`.
pub fn read_csv<T>(
    path: &Path,
    read: impl FnOnce(&mut dyn Read, &Opened) -> Result<T, EpdError>,
) -> Result<T, EpdError> {
    // Messages leave out the file's name: the caller puts it in front.
    let file = File::open(path)
        .map_err(|e| EpdError::Damaged(format!("the file cannot be opened: {e}")))?;
    let metadata = file
        .metadata()
        .map_err(|e| EpdError::Damaged(format!("the file cannot be read: {e}")))?;
    let modified: DateTime<Utc> = metadata.modified().map_or_else(|_| Utc::now(), Into::into);
    let file_name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut file = BufReader::with_capacity(1 << 20, file);
    if !is_zip(&mut file)? {
        let opened = Opened {
            name: file_name,
            size: metadata.len(),
            released_at: modified,
        };
        return read(&mut file, &opened);
    }
    let mut archive = zip::ZipArchive::new(file).map_err(|e| {
        EpdError::Damaged(format!(
            "this is a damaged or truncated zip file (its directory cannot be read: {e}); \
             download it again"
        ))
    })?;
    let csvs: Vec<String> = archive
        .file_names()
        .filter_map(Result::ok)
        .map(std::borrow::Cow::into_owned)
        .filter(|n| n.to_ascii_lowercase().ends_with(".csv"))
        .collect();
    let [entry_name] = csvs.as_slice() else {
        return Err(EpdError::Damaged(format!(
            "the zip file should hold one CSV file, but holds {}",
            if csvs.is_empty() {
                "none".to_owned()
            } else {
                csvs.join(", ")
            }
        )));
    };
    let mut entry = archive.by_name(entry_name).map_err(|e| {
        EpdError::Damaged(format!("{entry_name} in the zip file cannot be read: {e}"))
    })?;
    // A zip written without a date carries the DOS epoch (1 January 1980): no date at all.
    let released_at =
        entry
            .last_modified()
            .filter(|d| d.year() > 1980)
            .and_then(|d| {
                NaiveDate::from_ymd_opt(d.year().into(), d.month().into(), d.day().into())?
                    .and_hms_opt(d.hour().into(), d.minute().into(), d.second().into())
            })
            .map_or(modified, |naive| Utc.from_utc_datetime(&naive));
    let opened = Opened {
        name: format!("{file_name} ({entry_name})"),
        size: entry.size(),
        released_at,
    };
    read(&mut entry, &opened)
}

/// Whether the file starts like a zip (`PK\x03\x04`), without consuming anything.
fn is_zip(file: &mut BufReader<File>) -> Result<bool, EpdError> {
    use std::io::BufRead;
    let start = file
        .fill_buf()
        .map_err(|e| EpdError::Damaged(format!("the file cannot be read: {e}")))?;
    Ok(start.starts_with(b"PK\x03\x04"))
}

/// A progress bar on standard error, drawn only when it is a terminal.
pub struct Progress {
    label: String,
    total: u64,
    started: Instant,
    drawn: Option<Instant>,
    enabled: bool,
}

impl Progress {
    /// A bar for `total` bytes, labelled `label`; silent unless standard error is a terminal
    /// and `wanted`.
    pub fn new(label: &str, total: u64, wanted: bool) -> Self {
        Self {
            label: label.to_owned(),
            total,
            started: Instant::now(),
            drawn: None,
            enabled: wanted && std::io::stderr().is_terminal(),
        }
    }

    /// Redraws (at most five times a second).
    pub fn update(&mut self, rows: u64, bytes: u64) {
        if !self.enabled
            || self
                .drawn
                .is_some_and(|t| t.elapsed() < Duration::from_millis(200))
        {
            return;
        }
        self.drawn = Some(Instant::now());
        let fraction = if self.total == 0 {
            0.0
        } else {
            (bytes as f64 / self.total as f64).min(1.0)
        };
        let filled = (fraction * 30.0) as usize;
        let rate = rows as f64 / self.started.elapsed().as_secs_f64().max(0.001);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r{} [{}{}] {:>3.0}%  {} rows  {} rows/s ",
            self.label,
            "#".repeat(filled),
            "-".repeat(30 - filled),
            fraction * 100.0,
            thousands(rows),
            thousands(rate as u64)
        );
        let _ = err.flush();
    }

    /// Clears the bar.
    pub fn finish(&mut self) {
        if self.enabled && self.drawn.is_some() {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{}\r", " ".repeat(100));
            let _ = err.flush();
        }
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut bytes = std::io::Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut bytes);
            for (name, content) in entries {
                zip.start_file(*name, zip::write::SimpleFileOptions::default())
                    .unwrap();
                zip.write_all(content).unwrap();
            }
            zip.finish().unwrap();
        }
        bytes.into_inner()
    }

    fn read_all(path: &Path) -> Result<(String, Opened), EpdError> {
        read_csv(path, |reader, opened| {
            let mut text = String::new();
            reader
                .read_to_string(&mut text)
                .map_err(|e| EpdError::Damaged(e.to_string()))?;
            Ok((text, opened.clone()))
        })
    }

    #[test]
    fn reads_plain_and_zipped_csv() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("EPD_202406.csv");
        std::fs::write(&plain, "a,b\n1,2\n").unwrap();
        let (text, opened) = read_all(&plain).unwrap();
        assert_eq!(text, "a,b\n1,2\n");
        assert_eq!(opened.size, 8);

        let zipped = dir.path().join("EPD_202406.zip");
        std::fs::write(&zipped, zip_of(&[("EPD_202406.csv", b"a,b\n1,2\n")])).unwrap();
        let (text, opened) = read_all(&zipped).unwrap();
        assert_eq!(text, "a,b\n1,2\n");
        assert_eq!(opened.name, "EPD_202406.zip (EPD_202406.csv)");
    }

    #[test]
    fn damaged_zips_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let whole = zip_of(&[("EPD_202406.csv", b"a,b\n1,2\n")]);
        let cut = dir.path().join("cut.zip");
        std::fs::write(&cut, &whole[..whole.len() / 2]).unwrap();
        assert!(matches!(read_all(&cut), Err(EpdError::Damaged(m)) if m.contains("truncated")));

        let two = dir.path().join("two.zip");
        std::fs::write(&two, zip_of(&[("a.csv", b"x"), ("b.csv", b"y")])).unwrap();
        assert!(matches!(read_all(&two), Err(EpdError::Damaged(m)) if m.contains("a.csv, b.csv")));

        let missing = dir.path().join("missing.csv");
        assert!(
            matches!(read_all(&missing), Err(EpdError::Damaged(m)) if m.contains("cannot be opened"))
        );
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(17_032_115), "17,032,115");
    }
}
