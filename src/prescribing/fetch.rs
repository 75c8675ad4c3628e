//! `medopt prescribing fetch --month YYYY-MM`: finds the month in the NHSBSA open data
//! portal's CKAN API (`package_show` lists the dataset's resources, named like `EPD_202406`),
//! downloads it to a temporary file (streamed, never held in memory) and imports it. The
//! resource's `last_modified` date is the release date, so a later release replaces an earlier
//! one and an earlier one is refused.
//!
//! The portal's address comes from `MEDOPT_EPD_API` (tests point it at a local server).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Deserialize;
use sqlx::PgPool;

use super::import::{self, ImportError, ImportOptions, ImportSummary};

/// The real portal's CKAN API.
pub const DEFAULT_API: &str = "https://opendata.nhsbsa.net/api/3/action";
/// The English Prescribing Dataset on the portal.
pub const DEFAULT_DATASET: &str = "english-prescribing-data-epd";

/// Where to fetch from.
#[derive(Debug, Clone)]
pub struct Portal {
    /// The CKAN API's base address, e.g. `https://opendata.nhsbsa.net/api/3/action`.
    pub api: String,
    /// The dataset's id.
    pub dataset: String,
}

#[derive(Debug, Deserialize)]
struct PackageShow {
    success: bool,
    result: Option<Package>,
}

#[derive(Debug, Deserialize)]
struct Package {
    #[serde(default)]
    resources: Vec<Resource>,
}

/// A file the dataset lists.
#[derive(Debug, Clone, Deserialize)]
pub struct Resource {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub format: String,
    #[serde(default)]
    pub last_modified: Option<String>,
    #[serde(default)]
    pub created: Option<String>,
}

impl Resource {
    /// When the resource was published: `last_modified`, else `created` (CKAN writes them
    /// without a time zone, in UTC).
    pub fn released_at(&self) -> Option<DateTime<Utc>> {
        [&self.last_modified, &self.created]
            .into_iter()
            .flatten()
            .find_map(|t| parse_ckan_time(t))
    }
}

fn parse_ckan_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

/// The resource for `month`: named `EPD_YYYYMM` (any case), or else a name starting `EPD`
/// and ending with the month; a zip is preferred to a CSV of the same month.
pub fn choose(resources: &[Resource], month: NaiveDate) -> Option<&Resource> {
    let stamp = month.format("%Y%m").to_string();
    let exact = format!("EPD_{stamp}");
    let matching: Vec<&Resource> = resources
        .iter()
        .filter(|r| !r.url.is_empty())
        .filter(|r| {
            let name = r.name.trim().to_ascii_uppercase();
            name == exact || (name.starts_with("EPD") && name.ends_with(&stamp))
        })
        .collect();
    let exact_first = |r: &&Resource| r.name.trim().eq_ignore_ascii_case(&exact);
    let zip_first = |r: &&Resource| {
        r.format.eq_ignore_ascii_case("zip") || r.url.to_ascii_lowercase().ends_with(".zip")
    };
    matching
        .iter()
        .copied()
        .max_by_key(|r| (exact_first(r), zip_first(r)))
}

/// The HTTP client: blocking (it runs on a blocking thread), its own rustls with the web PKI
/// roots, a status other than 2xx handled by the caller.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_per_read(Some(Duration::from_secs(120)))
        .http_status_as_error(false)
        .user_agent(concat!("medopt/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// The portal's answer to `package_show` is at most this big (the EPD lists about 150 files).
const PACKAGE_LIMIT: u64 = 20 * 1024 * 1024;

/// Finds `month` on the portal (blocking).
pub fn find(portal: &Portal, month: NaiveDate) -> anyhow::Result<Resource> {
    let url = format!(
        "{}/package_show?id={}",
        portal.api.trim_end_matches('/'),
        portal.dataset
    );
    let mut response = agent()
        .get(&url)
        .call()
        .with_context(|| format!("the portal did not answer at {url}"))?;
    let status = response.status();
    let body = response
        .body_mut()
        .with_config()
        .limit(PACKAGE_LIMIT)
        .read_to_vec()
        .with_context(|| format!("the portal's answer from {url} was cut short"))?;
    // CKAN answers 404 with `success: false` for an unknown dataset.
    let package: PackageShow = match serde_json::from_slice(&body) {
        Ok(package) => package,
        Err(_) if !status.is_success() => anyhow::bail!("the portal answered {status} at {url}"),
        Err(e) => {
            return Err(e)
                .with_context(|| format!("the portal's answer from {url} is not a CKAN package"));
        }
    };
    let resources = match (package.success, package.result) {
        (true, Some(result)) => result.resources,
        _ => anyhow::bail!("the portal says dataset {} was not found", portal.dataset),
    };
    choose(&resources, month).cloned().with_context(|| {
        let mut names: Vec<&str> = resources
            .iter()
            .map(|r| r.name.as_str())
            .filter(|n| n.to_ascii_uppercase().starts_with("EPD"))
            .collect();
        names.sort_unstable();
        format!(
            "the portal lists no file for {} in dataset {} (latest listed: {})",
            month.format("%B %Y"),
            portal.dataset,
            names.last().copied().unwrap_or("none")
        )
    })
}

/// Downloads `resource` into `dir`, streaming it to the file (blocking); returns the file.
pub fn download(resource: &Resource, dir: &Path) -> anyhow::Result<PathBuf> {
    let mut response = agent()
        .get(&resource.url)
        .call()
        .with_context(|| format!("could not download {}", resource.url))?;
    anyhow::ensure!(
        response.status().is_success(),
        "the portal answered {} for {}",
        response.status(),
        resource.url
    );
    let zipped = resource.format.eq_ignore_ascii_case("zip")
        || resource.url.to_ascii_lowercase().ends_with(".zip");
    let path = dir.join(format!(
        "{}.{}",
        resource
            .name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<String>(),
        if zipped { "zip" } else { "csv" }
    ));
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(&path).with_context(|| format!("cannot write {}", path.display()))?,
    );
    std::io::copy(&mut response.body_mut().as_reader(), &mut file)
        .with_context(|| format!("the download of {} was cut short", resource.url))?;
    file.flush()?;
    Ok(path)
}

/// Finds, downloads and imports `month`; `keep` keeps the downloaded file in that directory
/// (otherwise it goes into a temporary one, removed afterwards).
pub async fn fetch_month(
    pool: &PgPool,
    portal: &Portal,
    month: NaiveDate,
    keep: Option<&Path>,
    progress: bool,
) -> Result<ImportSummary, ImportError> {
    let temporary = tempfile::tempdir().context("cannot make a temporary directory")?;
    let dir = keep.unwrap_or(temporary.path()).to_owned();
    let portal_owned = portal.clone();
    let (resource, path) = tokio::task::spawn_blocking(move || {
        let resource = find(&portal_owned, month)?;
        let path = download(&resource, &dir)?;
        anyhow::Ok((resource, path))
    })
    .await
    .context("the download thread failed")??;
    let options = ImportOptions {
        released_at: resource.released_at(),
        progress,
        source: Some(resource.url.clone()),
    };
    import::import_file(pool, &path, &options).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(name: &str, url: &str, format: &str) -> Resource {
        Resource {
            name: name.into(),
            url: url.into(),
            format: format.into(),
            last_modified: Some("2024-08-20T10:11:12.345678".into()),
            created: None,
        }
    }

    #[test]
    fn chooses_the_months_file_preferring_a_zip() {
        let june = NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
        let resources = vec![
            resource("EPD_202405", "https://x/EPD_202405.csv", "CSV"),
            resource("EPD_202406", "https://x/EPD_202406.csv", "CSV"),
            resource("EPD_202406", "https://x/EPD_202406.zip", "ZIP"),
        ];
        assert_eq!(
            choose(&resources, june).unwrap().url,
            "https://x/EPD_202406.zip"
        );
        let snomed = vec![resource("EPD_SNOMED_202406", "https://x/s.csv", "CSV")];
        assert_eq!(choose(&snomed, june).unwrap().url, "https://x/s.csv");
        assert!(choose(&resources, NaiveDate::from_ymd_opt(2024, 7, 1).unwrap()).is_none());
        assert_eq!(
            resources[0].released_at().unwrap().to_rfc3339(),
            "2024-08-20T10:11:12.345678+00:00"
        );
    }
}
