//! The static files in `static/` (the NHS.UK frontend's compiled CSS, JavaScript and icons,
//! our own CSS and JavaScript), embedded in the binary: the server serves them wherever it is
//! started from and however it was installed, with nothing to copy beside it.
//!
//! Every file is served at two addresses:
//! - with its content hash in the name, `/static/css/app.3f2a9c1d0b7e4a55.css`. Pages link
//!   these (templates call [`url`]), and browsers and proxies keep them for a year without
//!   asking again (`immutable`): a changed file gets a new name, so nobody sees a stale one;
//! - under its plain name, `/static/css/app.css`, cached for an hour, for anything that still
//!   asks for it (an old page, the NHS.UK frontend's web manifest, which names its icons
//!   relative to itself).
//!
//! `/assets/…` serves the NHS.UK frontend's `assets/` folder under plain names too: its
//! compiled CSS asks for its icons at absolute `/assets/images/…` addresses.
//!
//! Responses carry the file's content type and an `ETag` (the content hash); a matching
//! `If-None-Match` gets `304 Not Modified`. Text is gzip- or brotli-compressed by the app's
//! compression layer like every other response.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;
use crate::error::AppError;

/// Where pages find the files.
const PREFIX: &str = "/static/";
/// The NHS.UK frontend's own asset folder, also served at `/assets/`.
const FRONTEND_ASSETS: &str = "nhsuk-frontend/assets/";
/// Hex digits of the SHA-256 content hash put in a file's name (64 bits: no collisions in
/// practice, and short enough to read).
const HASH_DIGITS: usize = 16;
/// For addresses with the content hash: the content at that address never changes.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// For plain addresses, whose content changes when medopt is upgraded.
const SHORT: &str = "public, max-age=3600";

/// The files, built into the binary in every build profile (rust-embed's `debug-embed`).
#[derive(rust_embed::Embed)]
#[folder = "static/"]
struct StaticFiles;

/// One embedded file, ready to serve.
struct Asset {
    bytes: Cow<'static, [u8]>,
    content_type: HeaderValue,
    etag: HeaderValue,
    /// `/static/css/app.<hash>.css`
    hashed_url: String,
}

/// Every file, with the addresses it answers on.
struct Assets {
    files: HashMap<String, Asset>,
    /// The name with the hash (`css/app.<hash>.css`) → the file's own name (`css/app.css`).
    hashed_names: HashMap<String, String>,
}

static ASSETS: LazyLock<Assets> = LazyLock::new(Assets::load);

impl Assets {
    fn load() -> Self {
        let mut files = HashMap::new();
        let mut hashed_names = HashMap::new();
        for name in StaticFiles::iter() {
            let Some(file) = StaticFiles::get(&name) else {
                continue;
            };
            let hash = hex(&file.metadata.sha256_hash());
            let hashed = hashed_name(&name, &hash[..HASH_DIGITS]);
            let asset = Asset {
                content_type: content_type(file.metadata.mimetype()),
                etag: HeaderValue::from_str(&format!("\"{hash}\""))
                    .unwrap_or(HeaderValue::from_static("\"\"")),
                hashed_url: format!("{PREFIX}{hashed}"),
                bytes: file.data,
            };
            hashed_names.insert(hashed, name.to_string());
            files.insert(name.into_owned(), asset);
        }
        Self {
            files,
            hashed_names,
        }
    }

    /// The file at `name` (plain or hashed) under `/static/`, and whether the name was hashed.
    fn find(&self, name: &str) -> Option<(&Asset, bool)> {
        if let Some(asset) = self.files.get(name) {
            return Some((asset, false));
        }
        let plain = self.hashed_names.get(name)?;
        Some((self.files.get(plain)?, true))
    }
}

/// The address of `static/{name}` with its content hash, for pages to link, e.g.
/// `url("css/app.css")` is `/static/css/app.3f2a9c1d0b7e4a55.css`. A name that is not a file
/// (a mistake the tests catch) gets its plain address, which answers 404.
pub fn url(name: &str) -> Cow<'static, str> {
    match ASSETS.files.get(name) {
        Some(asset) => Cow::Borrowed(asset.hashed_url.as_str()),
        None => {
            tracing::warn!(name, "a page links a static file that does not exist");
            Cow::Owned(format!("{PREFIX}{name}"))
        }
    }
}

/// `/static/…` and `/assets/…`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/static/{*name}", get(serve_static))
        .route("/assets/{*name}", get(serve_frontend_asset))
}

async fn serve_static(Path(name): Path<String>, headers: HeaderMap) -> Response {
    match ASSETS.find(&name) {
        Some((asset, hashed)) => respond(asset, hashed, &headers),
        None => AppError::NotFound.into_response(),
    }
}

async fn serve_frontend_asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    match ASSETS.files.get(&format!("{FRONTEND_ASSETS}{name}")) {
        Some(asset) => respond(asset, false, &headers),
        None => AppError::NotFound.into_response(),
    }
}

fn respond(asset: &Asset, hashed: bool, request: &HeaderMap) -> Response {
    let cache = HeaderValue::from_static(if hashed { IMMUTABLE } else { SHORT });
    let headers = [
        (header::CONTENT_TYPE, asset.content_type.clone()),
        (header::CACHE_CONTROL, cache),
        (header::ETAG, asset.etag.clone()),
    ];
    if if_none_match(request, &asset.etag) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    let body = match &asset.bytes {
        Cow::Borrowed(bytes) => axum::body::Body::from(*bytes),
        Cow::Owned(bytes) => axum::body::Body::from(bytes.clone()),
    };
    (headers, body).into_response()
}

/// Whether the request's `If-None-Match` names `etag` (or `*`). Weak comparison (RFC 9110
/// 13.1.2): a `W/` prefix, which a compressing proxy may add, still matches.
fn if_none_match(request: &HeaderMap, etag: &HeaderValue) -> bool {
    let Ok(etag) = etag.to_str() else {
        return false;
    };
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim())
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}

/// `css/app.css` with hash `3f2a…` → `css/app.3f2a….css`: the hash goes before the last
/// extension, so the content type is still told by the name's ending.
fn hashed_name(name: &str, hash: &str) -> String {
    let file_start = name.rfind('/').map_or(0, |i| i + 1);
    match name[file_start..].rfind('.').filter(|&dot| dot > 0) {
        Some(dot) => {
            let (stem, extension) = name.split_at(file_start + dot);
            format!("{stem}.{hash}{extension}")
        }
        None => format!("{name}.{hash}"),
    }
}

/// The content type for a MIME type guessed from the name; text is UTF-8.
fn content_type(mime: &str) -> HeaderValue {
    let value = if mime.starts_with("text/") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    };
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("application/octet-stream"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_goes_before_the_last_extension() {
        assert_eq!(hashed_name("css/app.css", "abc"), "css/app.abc.css");
        assert_eq!(
            hashed_name("nhsuk-frontend/nhsuk-frontend.min.js", "abc"),
            "nhsuk-frontend/nhsuk-frontend.min.abc.js"
        );
        assert_eq!(
            hashed_name("nhsuk-frontend/VERSION", "abc"),
            "nhsuk-frontend/VERSION.abc"
        );
        assert_eq!(hashed_name("a.b/.hidden", "abc"), "a.b/.hidden.abc");
    }

    #[test]
    fn every_file_has_a_hashed_address_with_its_type() {
        let css = url("css/app.css");
        assert!(css.starts_with("/static/css/app."), "{css}");
        assert!(css.ends_with(".css"));
        assert_eq!(css.len(), "/static/css/app..css".len() + HASH_DIGITS);
        let (asset, hashed) = ASSETS.find(&css["/static/".len()..]).unwrap();
        assert!(hashed);
        assert_eq!(asset.content_type, "text/css; charset=utf-8");
        assert_eq!(
            ASSETS.files["nhsuk-frontend/assets/images/nhsuk-icon-cross.svg"].content_type,
            "image/svg+xml"
        );
        assert!(ASSETS.files.len() >= 15, "{}", ASSETS.files.len());
    }

    #[test]
    fn if_none_match_compares_weakly_and_accepts_lists() {
        let etag = HeaderValue::from_static("\"abc\"");
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static(value));
            if_none_match(&headers, &etag)
        };
        assert!(with("\"abc\""));
        assert!(with("W/\"abc\""));
        assert!(with("\"x\", \"abc\""));
        assert!(with("*"));
        assert!(!with("\"abd\""));
        assert!(!if_none_match(&HeaderMap::new(), &etag));
    }
}
