//! Logging, to standard error (standard output is kept for commands' results). Request spans carry the request id (see [`crate::http`]); nothing personal is
//! logged: no e-mail addresses, names, passwords or request bodies.

use std::io::IsTerminal;

use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::LogFormat;
use crate::timing::DbTimeLayer;

/// Installs the global subscriber. Safe to call more than once (later calls do nothing).
///
/// The log filter applies to the log lines only: sqlx's per-query timings (debug events) go
/// to [`DbTimeLayer`] alone, for the `Server-Timing` header, without being logged.
pub fn init(format: LogFormat, filter: &str) {
    let filter = || EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let timings = DbTimeLayer.with_filter(Targets::new().with_target("sqlx::query", Level::DEBUG));
    let registry = tracing_subscriber::registry().with(timings);
    let _ = match format {
        LogFormat::Pretty => registry
            .with(
                fmt::layer()
                    .with_target(false)
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_writer(std::io::stderr)
                    .with_filter(filter()),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_writer(std::io::stderr)
                    .with_filter(filter()),
            )
            .try_init(),
    };
}
