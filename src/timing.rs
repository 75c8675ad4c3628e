//! Where a request's time goes. Every response carries `Server-Timing: db;dur=…, app;dur=…`
//! (milliseconds: time spent in database queries, and everything else), and the request's
//! log line carries the same split, so a slow page says whether to look at its SQL or its
//! Rust.
//!
//! The database time is the sum of sqlx's own per-query timings: sqlx reports each query's
//! elapsed time as a `sqlx::query` tracing event, which [`DbTimeLayer`] adds to the request's
//! total (a task-local, so concurrent requests never mix).

use std::cell::Cell;
use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;

tokio::task_local! {
    /// Seconds the current request has spent in database queries so far.
    static DB_SECONDS: Cell<f64>;
}

/// Adds `Server-Timing` to the response and logs the request's split.
pub async fn server_timing(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let (mut response, db) = DB_SECONDS
        .scope(Cell::new(0.0), async {
            let response = next.run(request).await;
            (response, DB_SECONDS.with(Cell::get))
        })
        .await;
    let total = start.elapsed().as_secs_f64();
    let (db_ms, app_ms) = (db * 1e3, (total - db).max(0.0) * 1e3);
    if let Ok(value) = HeaderValue::from_str(&format!("db;dur={db_ms:.2}, app;dur={app_ms:.2}")) {
        response.headers_mut().insert("server-timing", value);
    }
    tracing::info!(
        status = response.status().as_u16(),
        db_ms = format_args!("{db_ms:.2}"),
        app_ms = format_args!("{app_ms:.2}"),
        "answered"
    );
    response
}

/// Counts sqlx's query timings into the request's database time. Install it with a filter
/// that lets `sqlx::query` debug events through (see [`crate::telemetry`]).
pub struct DbTimeLayer;

impl<S: tracing::Subscriber> Layer<S> for DbTimeLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut elapsed = ElapsedSecs(None);
        event.record(&mut elapsed);
        if let Some(seconds) = elapsed.0 {
            // Outside a request (the CLI, background work) there is nothing to add to.
            let _ = DB_SECONDS.try_with(|total| total.set(total.get() + seconds));
        }
    }
}

/// The `elapsed_secs` field of a sqlx query event.
struct ElapsedSecs(Option<f64>);

impl Visit for ElapsedSecs {
    fn record_f64(&mut self, field: &Field, value: f64) {
        if field.name() == "elapsed_secs" {
            self.0 = Some(value);
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}
