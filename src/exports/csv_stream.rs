//! Writing CSV as a stream: rows are formatted into chunks of about [`CHUNK_BYTES`] and handed
//! to the response body through a small bounded channel, so an export of any size holds at
//! most a few chunks in memory and a slow client slows the database reads instead of filling
//! memory. The format is what spreadsheets open cleanly: UTF-8 with a byte-order mark (so
//! Excel reads `£` and accents correctly), RFC 4180 quoting and CRLF line ends.
//!
//! Cells are typed ([`Cell`]): free text that a spreadsheet would run as a formula (starting
//! with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading apostrophe, while
//! numbers, money and dates are written as they are, so numbers stay numbers.

use axum::body::{Body, Bytes};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::domain::Pence;

/// Roughly how many bytes go into one chunk of the response (a chunk can exceed it by the CSV
/// writer's own 8 KiB buffer and one row).
pub const CHUNK_BYTES: usize = 32 * 1024;
/// How long a client may leave a chunk unread before the download is abandoned.
const STALLED_CLIENT: std::time::Duration = std::time::Duration::from_secs(60);
/// Chunks waiting for the client, at most.
const CHANNEL_CHUNKS: usize = 4;
/// UTF-8 byte-order mark.
const BOM: &[u8] = "\u{feff}".as_bytes();

/// One value of a row.
#[derive(Debug, Clone)]
pub enum Cell<'a> {
    /// Free text (names, titles, narratives): neutralised against formula injection.
    Text(&'a str),
    /// A whole number.
    Int(i64),
    /// Money, as pounds with two decimals.
    Money(Pence),
    /// A decimal number (measure values).
    Decimal(f64),
    /// An ISO date, `2024-04-01`.
    Date(NaiveDate),
    /// An ISO timestamp in UTC, `2024-05-03T10:15:00Z`.
    Timestamp(DateTime<Utc>),
    /// `true` or `false`.
    Bool(bool),
    /// Nothing.
    Empty,
}

impl<'a> Cell<'a> {
    /// Text, or empty.
    pub fn text(value: Option<&'a str>) -> Self {
        value.map_or(Cell::Empty, Cell::Text)
    }

    /// A whole number, or empty.
    pub fn int(value: Option<i64>) -> Self {
        value.map_or(Cell::Empty, Cell::Int)
    }

    /// Money, or empty.
    pub fn money(value: Option<i64>) -> Self {
        value.map_or(Cell::Empty, |p| Cell::Money(Pence(p)))
    }

    /// A date, or empty.
    pub fn date(value: Option<NaiveDate>) -> Self {
        value.map_or(Cell::Empty, Cell::Date)
    }

    /// A timestamp, or empty.
    pub fn timestamp(value: Option<DateTime<Utc>>) -> Self {
        value.map_or(Cell::Empty, Cell::Timestamp)
    }

    /// A decimal, or empty.
    pub fn decimal(value: Option<f64>) -> Self {
        value.map_or(Cell::Empty, Cell::Decimal)
    }

    /// The cell as written (before CSV quoting).
    fn render(&self) -> std::borrow::Cow<'a, str> {
        use std::borrow::Cow;
        match self {
            Cell::Text(text) => neutralise(text),
            Cell::Int(n) => Cow::Owned(n.to_string()),
            Cell::Money(p) => Cow::Owned(p.decimal_pounds()),
            Cell::Decimal(v) => Cow::Owned(v.to_string()),
            Cell::Date(d) => Cow::Owned(d.format("%Y-%m-%d").to_string()),
            Cell::Timestamp(t) => Cow::Owned(t.to_rfc3339_opts(SecondsFormat::Secs, true)),
            Cell::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Cell::Empty => Cow::Borrowed(""),
        }
    }
}

/// Free text a spreadsheet would read as a formula, with an apostrophe in front so it shows as
/// typed; anything else unchanged.
pub fn neutralise(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// The client went away (or stopped reading): stop producing rows.
#[derive(Debug, thiserror::Error)]
#[error("the client stopped reading the export")]
pub struct Disconnected;

/// Where rows go: a CSV writer whose buffer is sent to the response every [`CHUNK_BYTES`].
pub struct CsvSink {
    writer: csv::Writer<Vec<u8>>,
    sender: mpsc::Sender<Bytes>,
    rows: u64,
    columns: usize,
}

/// RFC 4180: fields quoted when they need it, CRLF line ends.
fn writer(buffer: Vec<u8>) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(buffer)
}

/// A sink and the response body that reads from it.
pub fn channel() -> (CsvSink, Body) {
    let (sender, receiver) = mpsc::channel::<Bytes>(CHANNEL_CHUNKS);
    // Fused: compression polls a body again after its end, which a bare unfold forbids.
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|chunk| (Ok::<_, std::convert::Infallible>(chunk), receiver))
    })
    .fuse();
    let mut buffer = Vec::with_capacity(CHUNK_BYTES + 1024);
    buffer.extend_from_slice(BOM);
    let writer = writer(buffer);
    (
        CsvSink {
            writer,
            sender,
            rows: 0,
            columns: 0,
        },
        Body::from_stream(stream),
    )
}

impl CsvSink {
    /// Writes the header row.
    pub async fn header(&mut self, names: &[&str]) -> Result<(), Disconnected> {
        self.columns = names.len();
        self.write(names.iter().copied()).await
    }

    /// Writes one row.
    pub async fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), Disconnected> {
        debug_assert!(
            self.columns == 0 || cells.len() == self.columns,
            "a row of {} cells under a header of {}",
            cells.len(),
            self.columns
        );
        self.rows += 1;
        let rendered: Vec<_> = cells.iter().map(Cell::render).collect();
        self.write(rendered.iter().map(|c| c.as_ref())).await
    }

    /// Data rows written so far.
    #[cfg(test)]
    fn rows(&self) -> u64 {
        self.rows
    }

    async fn write<'s>(
        &mut self,
        fields: impl Iterator<Item = &'s str>,
    ) -> Result<(), Disconnected> {
        // Writing to a Vec cannot fail.
        let _ = self.writer.write_record(fields);
        if self.writer.get_ref().len() >= CHUNK_BYTES {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), Disconnected> {
        let full = std::mem::replace(
            &mut self.writer,
            writer(Vec::with_capacity(CHUNK_BYTES + 1024)),
        );
        // Flushing into a Vec cannot fail.
        let chunk = full.into_inner().unwrap_or_default();
        if chunk.is_empty() {
            return Ok(());
        }
        // A client that stops reading gives up its database connection after a while.
        match tokio::time::timeout(STALLED_CLIENT, self.sender.send(Bytes::from(chunk))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) | Err(_) => Err(Disconnected),
        }
    }

    /// Sends what is left. Dropping the sink ends the body.
    pub async fn finish(mut self) -> Result<u64, Disconnected> {
        self.flush().await?;
        Ok(self.rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn formula_text_is_neutralised_and_numbers_are_not() {
        for formula in ["=1+1", "+44 20", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(formula), format!("'{formula}"));
        }
        assert_eq!(neutralise("Statins (primary)"), "Statins (primary)");
        assert_eq!(neutralise(""), "");
        assert_eq!(Cell::Money(Pence(-1250)).render(), "-12.50");
        assert_eq!(Cell::Int(-3).render(), "-3");
        assert_eq!(Cell::Decimal(-0.5).render(), "-0.5");
    }

    #[tokio::test]
    async fn writes_quoted_crlf_rows_after_a_bom() {
        let (mut sink, body) = channel();
        let producer = tokio::spawn(async move {
            sink.header(&["name", "amount"]).await.unwrap();
            sink.row(&[
                Cell::Text("Smith, \"J\"\nline"),
                Cell::Money(Pence(123_456)),
            ])
            .await
            .unwrap();
            sink.row(&[Cell::Text("=HYPERLINK()"), Cell::Empty])
                .await
                .unwrap();
            sink.finish().await.unwrap()
        });
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(producer.await.unwrap(), 2);
        let text = std::str::from_utf8(&bytes).unwrap();
        assert_eq!(
            text,
            "\u{feff}name,amount\r\n\"Smith, \"\"J\"\"\nline\",1234.56\r\n'=HYPERLINK(),\r\n"
        );
    }

    #[tokio::test]
    async fn a_large_export_arrives_in_bounded_chunks() {
        let (mut sink, mut body) = channel();
        let producer = tokio::spawn(async move {
            for i in 0..50_000 {
                if sink
                    .row(&[Cell::Int(i), Cell::Text("some text to fill the row")])
                    .await
                    .is_err()
                {
                    return None;
                }
            }
            sink.finish().await.ok()
        });
        let mut chunks = 0;
        let mut largest = 0;
        while let Some(frame) = body.frame().await {
            let data = frame.unwrap().into_data().unwrap();
            chunks += 1;
            largest = largest.max(data.len());
        }
        assert_eq!(producer.await.unwrap(), Some(50_000));
        assert!(chunks > 20, "{chunks} chunks");
        // The CSV writer keeps up to 8 KiB of its own before it reaches the chunk.
        assert!(
            largest <= CHUNK_BYTES + 16 * 1024,
            "largest chunk {largest}"
        );
    }

    #[tokio::test]
    async fn stops_when_the_client_goes_away() {
        let (mut sink, body) = channel();
        drop(body);
        let mut result = Ok(());
        for i in 0..100_000 {
            result = sink.row(&[Cell::Int(i)]).await;
            if result.is_err() {
                break;
            }
        }
        assert!(result.is_err());
        assert!(sink.rows() < 100_000);
    }
}
