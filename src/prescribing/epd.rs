//! Reading a month of NHSBSA's English Prescribing Dataset (EPD) and aggregating it on the way.
//!
//! The file is one row per prescribing cost centre (practice) and BNF presentation: about 17
//! million rows and 6 GB a month, in latin-1. It is read as bytes (`csv::ByteRecord`): the
//! fields we use are ASCII codes and numbers, so nothing needs decoding except the text quoted
//! in an error message. Each row is checked (numbers are numbers, one month per file, a known
//! ICB), then added to its practice's sums for every measure whose codes match its BNF code.
//! Memory is bounded by practices × measures, never by rows. No I/O beyond the reader given.
//!
//! Columns are found by name, so both editions are accepted: the 26 columns of the retired
//! EPD, and the current one with `SNOMED_CODE` added at the end. Rows of cost centres whose
//! code ends in `998` (prescribing not attributed to a practice) are skipped, as
//! OpenPrescribing's importer does.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::rc::Rc;

use chrono::NaiveDate;
use csv::ByteRecord;

use super::library::{Field, Matcher, Measure};

/// The columns of the EPD, in the published order (`SNOMED_CODE` follows in the current edition).
pub const COLUMNS: [&str; 26] = [
    "YEAR_MONTH",
    "REGIONAL_OFFICE_NAME",
    "REGIONAL_OFFICE_CODE",
    "ICB_NAME",
    "ICB_CODE",
    "PCO_NAME",
    "PCO_CODE",
    "PRACTICE_NAME",
    "PRACTICE_CODE",
    "ADDRESS_1",
    "ADDRESS_2",
    "ADDRESS_3",
    "ADDRESS_4",
    "POSTCODE",
    "BNF_CHEMICAL_SUBSTANCE",
    "CHEMICAL_SUBSTANCE_BNF_DESCR",
    "BNF_CODE",
    "BNF_DESCRIPTION",
    "BNF_CHAPTER_PLUS_CODE",
    "QUANTITY",
    "ITEMS",
    "TOTAL_QUANTITY",
    "ADQUSAGE",
    "NIC",
    "ACTUAL_COST",
    "UNIDENTIFIED",
];

/// The last column of the current edition.
pub const SNOMED_COLUMN: &str = "SNOMED_CODE";

/// `ADDRESS_4` of the rows `medopt prescribing synth` writes: such a month is synthetic.
pub const SYNTHETIC_MARKER: &str = "SYNTHETIC DATA - NOT REAL PRESCRIBING";

/// Why a file could not be imported. Nothing is written when reading fails.
#[derive(Debug, thiserror::Error)]
pub enum EpdError {
    /// The first line is not the EPD's header.
    #[error("{0}")]
    Header(String),
    /// A row is wrong.
    #[error("line {line}: {message}")]
    Line { line: u64, message: String },
    /// The file cannot be read to the end (damaged, truncated).
    #[error("{0}")]
    Damaged(String),
}

/// Where the fields we use are.
#[derive(Debug, Clone, Copy)]
struct Columns {
    year_month: usize,
    icb_code: usize,
    pco_code: usize,
    practice_code: usize,
    address_4: usize,
    bnf_code: usize,
    items: usize,
    total_quantity: usize,
    adqusage: usize,
    nic: usize,
    actual_cost: usize,
}

impl Columns {
    fn find(header: &ByteRecord) -> Result<Self, EpdError> {
        let names: Vec<String> = header
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let name = if i == 0 {
                    name.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(name)
                } else {
                    name
                };
                latin1(name).trim().to_ascii_uppercase()
            })
            .collect();
        let missing: Vec<&str> = COLUMNS
            .iter()
            .copied()
            .filter(|c| !names.iter().any(|n| n == c))
            .collect();
        if !missing.is_empty() {
            let found = names.iter().take(6).cloned().collect::<Vec<_>>().join(", ");
            // Most columns missing: some other file altogether.
            return Err(EpdError::Header(if missing.len() > COLUMNS.len() / 2 {
                format!(
                    "this is not an English Prescribing Dataset file: its first line should be the \
                     column names {}, …, {} but it starts {found}",
                    COLUMNS[0], COLUMNS[25]
                )
            } else {
                format!(
                    "the header (line 1) lacks the column{} {}: an English Prescribing Dataset file \
                     has the columns {}{}",
                    if missing.len() == 1 { "" } else { "s" },
                    missing.join(", "),
                    COLUMNS.join(", "),
                    format_args!(" (and {SNOMED_COLUMN} in the current edition)")
                )
            }));
        }
        let at = |name: &str| names.iter().position(|n| n == name).unwrap_or_default();
        Ok(Columns {
            year_month: at("YEAR_MONTH"),
            icb_code: at("ICB_CODE"),
            pco_code: at("PCO_CODE"),
            practice_code: at("PRACTICE_CODE"),
            address_4: at("ADDRESS_4"),
            bnf_code: at("BNF_CODE"),
            items: at("ITEMS"),
            total_quantity: at("TOTAL_QUANTITY"),
            adqusage: at("ADQUSAGE"),
            nic: at("NIC"),
            actual_cost: at("ACTUAL_COST"),
        })
    }
}

/// One prescribing cost centre's sums for the month.
#[derive(Debug, Clone, PartialEq)]
pub struct PracticeSums {
    pub code: String,
    pub icb_id: i32,
    /// The ICB's ODS code as the file gives it.
    pub icb_code: String,
    /// The EPD's `PCO_CODE`: the sub-ICB location.
    pub sub_icb_code: String,
    /// Numerator and denominator of each measure, in the library's order:
    /// `[num₀, den₀, num₁, den₁, …]`. Denominators of per-1,000 measures stay 0.
    pub sums: Vec<f64>,
}

impl PracticeSums {
    /// Measure `i`'s numerator and denominator.
    pub fn measure(&self, i: usize) -> (f64, f64) {
        (self.sums[2 * i], self.sums[2 * i + 1])
    }
}

/// A month read and aggregated.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthSums {
    pub month: NaiveDate,
    /// Written by `medopt prescribing synth`.
    pub synthetic: bool,
    /// Data rows read (the header not counted).
    pub rows_read: u64,
    /// Rows of cost centres ending in 998 (not attributed to a practice).
    pub rows_skipped: u64,
    /// Bytes read.
    pub bytes: u64,
    pub practices: Vec<PracticeSums>,
}

impl MonthSums {
    /// Different ICBs among the practices.
    pub fn icbs(&self) -> usize {
        self.practices
            .iter()
            .map(|p| p.icb_id)
            .collect::<HashSet<_>>()
            .len()
    }
}

/// Counts the bytes a reader gives and remembers the last one, for progress and to notice a
/// file that stops in the middle of a line.
struct Tracked<R> {
    inner: R,
    bytes: Rc<Cell<u64>>,
    last: Rc<Cell<Option<u8>>>,
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.bytes.set(self.bytes.get() + n as u64);
            self.last.set(Some(buf[n - 1]));
        }
        Ok(n)
    }
}

/// How often (in rows) the progress callback is called.
pub const PROGRESS_EVERY: u64 = 1 << 16;

/// Reads a whole EPD file from `input`, checking every row, and returns each practice's sums
/// for `measures`. `icbs` maps ICB ODS codes to their ids: a code not in it is an error.
/// `progress(rows, bytes)` is called every [`PROGRESS_EVERY`] rows.
pub fn aggregate(
    input: impl Read,
    measures: &[Measure],
    icbs: &HashMap<String, i32>,
    mut progress: impl FnMut(u64, u64),
) -> Result<MonthSums, EpdError> {
    let bytes = Rc::new(Cell::new(0));
    let last = Rc::new(Cell::new(None));
    let tracked = Tracked {
        inner: input,
        bytes: bytes.clone(),
        last: last.clone(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .buffer_capacity(1 << 20)
        .from_reader(tracked);
    let header = reader
        .byte_headers()
        .map_err(|e| read_error(&e, 1))?
        .clone();
    if header.len() <= 1 && header.as_slice().is_empty() {
        return Err(EpdError::Header(
            "the file is empty: an English Prescribing Dataset file starts with a header line"
                .into(),
        ));
    }
    let columns = Columns::find(&header)?;

    let mut state = State::new(measures, icbs, columns);
    let mut record = ByteRecord::new();
    loop {
        let line = state.rows + 2;
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => return Err(read_error(&error, line)),
        }
        state.add(&record, line)?;
        if state.rows.is_multiple_of(PROGRESS_EVERY) {
            progress(state.rows, bytes.get());
        }
    }
    if state.rows > 0 && last.get() != Some(b'\n') {
        return Err(EpdError::Damaged(format!(
            "the file stops in the middle of line {}: it looks truncated (download it again)",
            state.rows + 1
        )));
    }
    progress(state.rows, bytes.get());
    let month = state.month.ok_or_else(|| {
        EpdError::Header("the file has a header but no rows: there is no month to import".into())
    })?;
    Ok(MonthSums {
        month,
        synthetic: state.synthetic,
        rows_read: state.rows,
        rows_skipped: state.skipped,
        bytes: bytes.get(),
        practices: state.practices,
    })
}

/// The aggregation under way.
struct State<'a> {
    matcher: Matcher<'a>,
    measures: &'a [Measure],
    icbs: &'a HashMap<String, i32>,
    columns: Columns,
    month: Option<NaiveDate>,
    month_text: Vec<u8>,
    synthetic: bool,
    rows: u64,
    skipped: u64,
    practices: Vec<PracticeSums>,
    practice_index: HashMap<Box<[u8]>, usize>,
    /// The last practice's code and index: rows come grouped by practice.
    last_practice: (Vec<u8>, usize),
}

impl<'a> State<'a> {
    fn new(measures: &'a [Measure], icbs: &'a HashMap<String, i32>, columns: Columns) -> Self {
        State {
            matcher: Matcher::new(measures),
            measures,
            icbs,
            columns,
            month: None,
            month_text: Vec::new(),
            synthetic: false,
            rows: 0,
            skipped: 0,
            practices: Vec::new(),
            practice_index: HashMap::new(),
            last_practice: (Vec::new(), usize::MAX),
        }
    }

    fn add(&mut self, record: &ByteRecord, line: u64) -> Result<(), EpdError> {
        let c = self.columns;
        let field = |i: usize| record.get(i).unwrap_or_default();
        let error = |message: String| EpdError::Line { line, message };
        self.rows += 1;

        let year_month = field(c.year_month);
        if year_month != self.month_text.as_slice() {
            let month = parse_year_month(year_month).ok_or_else(|| {
                error(format!(
                    "YEAR_MONTH is {:?}: expected a month like 202406",
                    latin1(year_month)
                ))
            })?;
            match self.month {
                None => {
                    self.month = Some(month);
                    self.synthetic = field(c.address_4) == SYNTHETIC_MARKER.as_bytes();
                }
                Some(first) if first != month => {
                    return Err(error(format!(
                        "YEAR_MONTH is {} but the file began with {}: a file holds one month",
                        month.format("%Y-%m"),
                        first.format("%Y-%m")
                    )));
                }
                Some(_) => {}
            }
            self.month_text = year_month.to_vec();
        }

        // Every row's numbers are checked, whether or not a measure uses them.
        let items = number(field(c.items))
            .filter(|v| *v >= 0.0 && v.fract() == 0.0)
            .ok_or_else(|| {
                error(format!(
                    "ITEMS is {:?}: expected a whole number of items",
                    latin1(field(c.items))
                ))
            })?;
        let mut values = [0.0; 5];
        values[0] = items;
        for (slot, (name, i)) in [
            ("TOTAL_QUANTITY", c.total_quantity),
            ("ACTUAL_COST", c.actual_cost),
            ("NIC", c.nic),
            ("ADQUSAGE", c.adqusage),
        ]
        .into_iter()
        .enumerate()
        {
            values[slot + 1] = optional_number(field(i)).ok_or_else(|| {
                error(format!(
                    "{name} is {:?}: expected a number",
                    latin1(field(i))
                ))
            })?;
        }

        let practice = field(c.practice_code);
        if practice.is_empty() {
            return Err(error("PRACTICE_CODE is empty".into()));
        }
        if practice.ends_with(b"998") {
            self.skipped += 1;
            return Ok(());
        }
        let at = self.practice(practice, field(c.icb_code), field(c.pco_code), line)?;

        let code = field(c.bnf_code);
        if code.is_empty() {
            return Err(error("BNF_CODE is empty".into()));
        }
        let value = |f: Field| match f {
            Field::Items => values[0],
            Field::Quantity => values[1],
            Field::ActualCost => values[2],
            Field::Nic => values[3],
            Field::Adqusage => values[4],
            Field::ListSize => 0.0,
        };
        let sums = &mut self.practices[at].sums;
        for hit in self.matcher.hits(code) {
            let measure = &self.measures[hit.measure];
            if hit.numerator {
                sums[2 * hit.measure] += value(measure.numerator_field);
            }
            if hit.denominator {
                sums[2 * hit.measure + 1] += value(measure.denominator_field);
            }
        }
        Ok(())
    }

    /// The index of the practice `code`, adding it (with its ICB checked) on first sight.
    fn practice(
        &mut self,
        code: &[u8],
        icb_code: &[u8],
        pco_code: &[u8],
        line: u64,
    ) -> Result<usize, EpdError> {
        let error = |message: String| EpdError::Line { line, message };
        let at = if self.last_practice.0 == code {
            self.last_practice.1
        } else if let Some(&at) = self.practice_index.get(code) {
            self.last_practice = (code.to_vec(), at);
            at
        } else {
            let icb_text = latin1(icb_code).trim().to_ascii_uppercase();
            let icb_id = *self.icbs.get(&icb_text).ok_or_else(|| {
                error(format!(
                    "ICB_CODE {icb_text:?} is not an ICB medopt knows: add it at \
                     /admin/organisations (or load the reference data that has it), then import again"
                ))
            })?;
            let at = self.practices.len();
            self.practices.push(PracticeSums {
                code: latin1(code).trim().to_owned(),
                icb_id,
                icb_code: icb_text,
                sub_icb_code: latin1(pco_code).trim().to_owned(),
                sums: vec![0.0; 2 * self.measures.len()],
            });
            self.practice_index.insert(code.into(), at);
            self.last_practice = (code.to_vec(), at);
            return Ok(at);
        };
        // A practice belongs to one ICB in a month.
        let practice = &self.practices[at];
        if !icb_code
            .trim_ascii()
            .eq_ignore_ascii_case(practice.icb_code.as_bytes())
        {
            return Err(error(format!(
                "practice {} is in ICB_CODE {:?} here but in {} earlier in the file",
                practice.code,
                latin1(icb_code.trim_ascii()),
                practice.icb_code
            )));
        }
        Ok(at)
    }
}

/// A csv reading error as a message with its line.
fn read_error(error: &csv::Error, line: u64) -> EpdError {
    let line = error.position().map_or(line, |p| p.line());
    match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => EpdError::Line {
            line,
            message: format!(
                "the row has {len} fields but the header has {expected_len}: the file is not \
                 well-formed CSV here (or it was cut short)"
            ),
        },
        csv::ErrorKind::Io(io) => EpdError::Damaged(format!(
            "the file could not be read to the end (near line {line}): {io}"
        )),
        _ => EpdError::Line {
            line,
            message: format!("the row cannot be read: {error}"),
        },
    }
}

/// `202406`, `2024_06`, `2024-06` or `2024-06-01` as the first of the month.
pub fn parse_year_month(bytes: &[u8]) -> Option<NaiveDate> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let plain = text
        .chars()
        .all(|c| c.is_ascii_digit() || c == '_' || c == '-');
    if !plain || !(digits.len() == 6 || digits.len() == 8 && text.len() == 10) {
        return None;
    }
    if digits.len() == 8 && !digits.ends_with("01") {
        return None;
    }
    let year: i32 = digits[..4].parse().ok()?;
    let month: u32 = digits[4..6].parse().ok()?;
    NaiveDate::from_ymd_opt(year, month, 1).filter(|_| (1990..=2200).contains(&year))
}

/// A finite number.
fn number(bytes: &[u8]) -> Option<f64> {
    std::str::from_utf8(bytes)
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

/// A finite number, or 0 for an empty field (NHSBSA leaves `ADQUSAGE` empty where a
/// presentation has no defined daily quantity).
fn optional_number(bytes: &[u8]) -> Option<f64> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        Some(0.0)
    } else {
        number(bytes)
    }
}

/// Latin-1 bytes as text (every byte is the code point of the same number).
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prescribing::library;

    const HEADER: &str = "YEAR_MONTH,REGIONAL_OFFICE_NAME,REGIONAL_OFFICE_CODE,ICB_NAME,ICB_CODE,PCO_NAME,PCO_CODE,PRACTICE_NAME,PRACTICE_CODE,ADDRESS_1,ADDRESS_2,ADDRESS_3,ADDRESS_4,POSTCODE,BNF_CHEMICAL_SUBSTANCE,CHEMICAL_SUBSTANCE_BNF_DESCR,BNF_CODE,BNF_DESCRIPTION,BNF_CHAPTER_PLUS_CODE,QUANTITY,ITEMS,TOTAL_QUANTITY,ADQUSAGE,NIC,ACTUAL_COST,UNIDENTIFIED";

    fn row(practice: &str, icb: &str, bnf: &str, items: &str, cost: &str) -> String {
        format!(
            "202406,NORTH WEST,Y62,NHS LANCASHIRE AND SOUTH CUMBRIA ICB,{icb},LANCASHIRE ICB - 00R,00R,\"THE SURGERY, CAF\u{e9}\",{practice},1 HIGH ST,,,LANCASHIRE,PR1 1AA,0208020Z0,Apixaban,{bnf},Apixaban_Tab 5mg,02: Cardiovascular System,56,{items},112,56,{cost},{cost},N\n"
        )
    }

    fn icbs() -> HashMap<String, i32> {
        HashMap::from([("QE1".to_owned(), 1), ("QYG".to_owned(), 2)])
    }

    fn read(text: &str) -> Result<MonthSums, EpdError> {
        let measures = library::shipped().unwrap();
        aggregate(latin1_bytes(text).as_slice(), &measures, &icbs(), |_, _| {})
    }

    /// The text as latin-1 bytes, as NHSBSA writes it.
    fn latin1_bytes(text: &str) -> Vec<u8> {
        text.chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap())
            .collect()
    }

    #[test]
    fn sums_each_practices_measures_and_skips_unattributed_rows() {
        let measures = library::shipped().unwrap();
        let doac = measures
            .iter()
            .position(|m| m.slug == "doacs_nhse")
            .unwrap();
        let text = format!(
            "{HEADER}\n{}{}{}{}",
            row("P81001", "QE1", "0208020Z0BBABAB", "3", "60.5"),
            row("P81001", "QE1", "0208020Z0AAABAB", "7", "14"),
            row("P81002", "QE1", "0101010A0AAAAAA", "1", "2"),
            row("P81998", "QE1", "0208020Z0BBABAB", "9", "9"),
        );
        let month = read(&text).unwrap();
        assert_eq!(month.month, NaiveDate::from_ymd_opt(2024, 6, 1).unwrap());
        assert_eq!((month.rows_read, month.rows_skipped), (4, 1));
        assert_eq!(month.practices.len(), 2);
        assert_eq!(month.practices[0].measure(doac), (3.0, 10.0));
        assert_eq!(month.practices[1].measure(doac), (0.0, 0.0));
        assert_eq!(month.practices[0].sub_icb_code, "00R");
        assert_eq!(month.icbs(), 1);
        assert!(!month.synthetic);
    }

    #[test]
    fn accepts_the_current_edition_with_snomed_codes_and_a_byte_order_mark() {
        let text = format!(
            "\u{feff}{HEADER},SNOMED_CODE\n{}",
            row("P81001", "QE1", "0208020Z0BBABAB", "3", "1").replace(",N\n", ",N,123456\n")
        );
        let bytes: Vec<u8> = text.replacen('\u{feff}', "", 1).into_bytes();
        let mut with_bom = b"\xEF\xBB\xBF".to_vec();
        with_bom.extend(bytes);
        let measures = library::shipped().unwrap();
        let month = aggregate(with_bom.as_slice(), &measures, &icbs(), |_, _| {}).unwrap();
        assert_eq!(month.rows_read, 1);
    }

    fn line_error(text: &str) -> (u64, String) {
        match read(text) {
            Err(EpdError::Line { line, message }) => (line, message),
            other => panic!("expected a line error, got {other:?}"),
        }
    }

    #[test]
    fn bad_rows_are_named_by_line() {
        let good = row("P81001", "QE1", "0208020Z0BBABAB", "3", "1");
        let (line, message) = line_error(&format!(
            "{HEADER}\n{good}{good}{}",
            row("P81001", "QE1", "0208020Z0BBABAB", "three", "1")
        ));
        assert_eq!(line, 4);
        assert!(message.contains("ITEMS is \"three\""), "{message}");

        let (line, message) = line_error(&format!(
            "{HEADER}\n{good}{}",
            row("P81003", "QZZ", "0208020Z0BBABAB", "3", "1")
        ));
        assert_eq!(line, 3);
        assert!(message.contains("ICB_CODE \"QZZ\""), "{message}");

        let (line, message) = line_error(&format!(
            "{HEADER}\n{good}{}",
            row("P81001", "QE1", "0208020Z0BBABAB", "3", "£4")
        ));
        assert_eq!(line, 3);
        assert!(message.contains("ACTUAL_COST") || message.contains("NIC"));

        let (line, message) = line_error(&format!(
            "{HEADER}\n{good}{}",
            good.replacen("202406", "202407", 1)
        ));
        assert_eq!(line, 3);
        assert!(message.contains("one month"), "{message}");

        let (line, message) = line_error(&format!(
            "{HEADER}\n{good}{}",
            row("P81001", "QYG", "0208020Z0BBABAB", "3", "1")
        ));
        assert_eq!(line, 3);
        assert!(message.contains("in QE1 earlier"), "{message}");

        let (line, message) = line_error(&format!("{HEADER}\n{good}202406,too,few\n"));
        assert_eq!(line, 3);
        assert!(message.contains("3 fields"), "{message}");
    }

    #[test]
    fn wrong_headers_and_cut_files_are_refused() {
        let Err(EpdError::Header(message)) = read("a,b,c\n1,2,3\n") else {
            panic!("not refused")
        };
        assert!(message.contains("not an English Prescribing Dataset file"));
        let Err(EpdError::Header(message)) =
            read(&format!("{}\n", HEADER.replace(",ITEMS,", ",ITEMZ,")))
        else {
            panic!("not refused")
        };
        assert!(message.contains("lacks the column ITEMS"), "{message}");
        assert!(matches!(read(""), Err(EpdError::Header(_))));
        assert!(matches!(
            read(&format!("{HEADER}\n")),
            Err(EpdError::Header(_))
        ));

        let good = row("P81001", "QE1", "0208020Z0BBABAB", "3", "1");
        let cut = format!("{HEADER}\n{good}{}", &good[..good.len() - 1]);
        assert!(matches!(read(&cut), Err(EpdError::Damaged(m)) if m.contains("truncated")));
        let cut = format!("{HEADER}\n{good}{}", &good[..good.len() - 3]);
        assert!(
            matches!(read(&cut), Err(EpdError::Line { line: 3, message }) if message.contains("cut short"))
        );
    }

    #[test]
    fn year_months_in_the_published_shapes() {
        let june = NaiveDate::from_ymd_opt(2024, 6, 1);
        for text in ["202406", "2024_06", "2024-06", "2024-06-01", " 202406 "] {
            assert_eq!(parse_year_month(text.as_bytes()), june, "{text}");
        }
        for text in ["202413", "June 2024", "2024-06-15", "24-06", ""] {
            assert_eq!(parse_year_month(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn synthetic_files_say_so() {
        let text = format!(
            "{HEADER}\n{}",
            row("P81001", "QE1", "0208020Z0BBABAB", "3", "1")
                .replace("LANCASHIRE,PR1", &format!("{SYNTHETIC_MARKER},PR1"))
        );
        assert!(read(&text).unwrap().synthetic);
    }
}
