//! CSV exports: `/exports` is the data dictionary (every dataset with its columns, and the
//! filters), `/exports/{dataset}.csv` the download.
//!
//! Downloads are scoped like pages: an ICB's users get their ICB, a region's reviewers their
//! region, national roles everything, and the audit log is for administrators only. Every
//! download is audited before its first byte is sent. Rows stream from PostgreSQL to the
//! client through [`csv_stream`], in one read-only transaction, with constant memory.

mod csv_stream;
mod datasets;
mod filters;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub use csv_stream::{CHUNK_BYTES, Cell, neutralise};
pub use datasets::{Column, DATASETS, Dataset};
pub use filters::{FilterQuery, Filters};

use crate::AppState;
use crate::audit::{self, AuditEvent};
use crate::auth::scope::{self, Scope};
use crate::auth::{CurrentUser, Role};
use crate::error::{AppError, AppResult};
use crate::forms::FieldErrors;
use crate::page::Layout;
use crate::plans::context::all_years;
use crate::routes::{Access, Routes};

/// The export routes.
pub fn routes() -> Routes {
    Routes::new()
        .get("/exports", Access::SignedIn, show_exports)
        .get("/exports/{dataset}", Access::SignedIn, download)
}

/// A dataset as the page lists it.
pub struct DatasetEntry {
    pub dataset: Dataset,
    /// The download link with the filters chosen.
    pub href: String,
}

/// `/exports`
#[derive(Template, WebTemplate)]
#[template(path = "exports/exports.html")]
pub struct ExportsPage {
    pub layout: Layout,
    pub datasets: Vec<DatasetEntry>,
    pub filters: FilterQuery,
    pub errors: FieldErrors,
    /// `(value, label)` choices the caller's scope allows.
    pub years: Vec<(String, String)>,
    pub regions: Vec<(String, String)>,
    pub icbs: Vec<(String, String)>,
    /// What the caller's downloads cover, in words.
    pub coverage: String,
}

async fn show_exports(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<FilterQuery>,
) -> AppResult<Response> {
    let mut tx = scope::begin(&state, &user.scope()).await?;
    let errors = match Filters::resolve(&state, &user, &mut tx, &query).await? {
        Ok(_) => FieldErrors::default(),
        Err(errors) => errors,
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = exports_page(&mut tx, &user, query, errors).await?;
    Ok((status, page).into_response())
}

async fn exports_page(
    conn: &mut sqlx::PgConnection,
    user: &CurrentUser,
    filters: FilterQuery,
    errors: FieldErrors,
) -> AppResult<ExportsPage> {
    let years = all_years(&mut *conn)
        .await?
        .into_iter()
        .map(|y| (y.slug(), y.to_string()))
        .collect();
    // What each role can narrow its downloads to: national roles a region or an ICB, a
    // region's reviewers one of its ICBs, ICB users nothing (theirs is one ICB already).
    let scope = user.scope();
    let (regions, icbs) = match scope {
        Scope::National => (
            sqlx::query!("select ods_code, name from region order by name")
                .fetch_all(&mut *conn)
                .await?
                .into_iter()
                .map(|r| (r.ods_code, r.name))
                .collect(),
            icb_choices(conn, None).await?,
        ),
        Scope::Region { region_id } => (Vec::new(), icb_choices(conn, Some(region_id)).await?),
        Scope::Icb { .. } | Scope::Nothing => (Vec::new(), Vec::new()),
    };
    let coverage = match scope {
        Scope::National => "every ICB in England".to_owned(),
        Scope::Region { .. } => "the ICBs of your region".to_owned(),
        Scope::Icb { .. } => format!(
            "your ICB ({})",
            user.org_code.as_deref().unwrap_or_default()
        ),
        Scope::Nothing => "nothing".to_owned(),
    };
    let query = filters.query_string();
    Ok(ExportsPage {
        layout: user.layout(),
        datasets: DATASETS
            .into_iter()
            .filter(|d| !d.admin_only || user.role == Role::Admin)
            .map(|dataset| DatasetEntry {
                href: format!("/exports/{}.csv{query}", dataset.slug),
                dataset,
            })
            .collect(),
        filters,
        errors,
        years,
        regions,
        icbs,
        coverage,
    })
}

/// `(ODS code, "Name (code)")` of every ICB, or of one region's.
async fn icb_choices(
    conn: &mut sqlx::PgConnection,
    region_id: Option<i16>,
) -> sqlx::Result<Vec<(String, String)>> {
    let rows = sqlx::query!(
        "select ods_code, name from icb where $1::smallint is null or region_id = $1 order by name",
        region_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let label = format!("{} ({})", r.name, r.ods_code);
            (r.ods_code, label)
        })
        .collect())
}

async fn download(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(file): Path<String>,
    Query(query): Query<FilterQuery>,
) -> AppResult<Response> {
    let dataset = file
        .strip_suffix(".csv")
        .and_then(|slug| DATASETS.into_iter().find(|d| d.slug == slug))
        .ok_or(AppError::NotFound)?;
    if dataset.admin_only && user.role != Role::Admin {
        return Err(AppError::Forbidden);
    }
    let Ok(slot) = state.export_slots().try_acquire_owned() else {
        return Err(AppError::Busy);
    };
    let mut tx = scope::begin(&state, &user.scope()).await?;
    let filters = match Filters::resolve(&state, &user, &mut tx, &query).await? {
        Ok(filters) => filters,
        Err(errors) => {
            let page = exports_page(&mut tx, &user, query, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let event = AuditEvent::new("export.downloaded")
        .object("dataset", dataset.slug)
        .organisation(
            filters
                .icb_code
                .as_ref()
                .or(filters.region_code.as_ref())
                .or(user.org_code.as_ref()),
        )
        .details(json!({
            "year": filters.year.map(|y| y.to_string()),
            "region": filters.region_code,
            "icb": filters.icb_code,
            "opportunity": filters.opportunity,
        }));
    // Audited (and committed) before the first byte goes out: no unrecorded downloads.
    let mut audit_tx = scope::begin(&state, &user.scope()).await?;
    audit::record(&mut audit_tx, &user.actor(), event).await?;
    audit_tx.commit().await?;
    // Each dataset is one query (one snapshot), in a transaction that cannot write.
    sqlx::query!("set transaction read only")
        .execute(&mut *tx)
        .await?;

    let (mut sink, body) = csv_stream::channel();
    let file_name = format!("medopt-{}{}.csv", dataset.slug, filters.file_suffix());
    tokio::spawn(async move {
        let written = datasets::write(&dataset, &mut tx, &filters, &mut sink).await;
        // The rows are read: give back the connection and the slot before the last chunk goes
        // out, so a client that starts its next download at once finds them free.
        drop(tx);
        drop(slot);
        let sent = match written {
            Ok(()) => sink.finish().await.map_err(datasets::ExportError::from),
            Err(error) => Err(error),
        };
        match sent {
            Ok(rows) => tracing::info!(dataset = dataset.slug, rows, "export sent"),
            Err(datasets::ExportError::Disconnected(_)) => {
                tracing::info!(dataset = dataset.slug, "export abandoned by the client");
            }
            // The body ends early; the client sees an incomplete download, not a wrong one.
            Err(datasets::ExportError::Sqlx(error)) => {
                tracing::error!(dataset = dataset.slug, %error, "export failed");
            }
        }
    });
    let disposition = format!("attachment; filename=\"{file_name}\"");
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
