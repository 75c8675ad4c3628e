//! The measure library: `reference/measures.csv`, one row per measure, loaded like the other
//! reference data on every start.
//!
//! A measure's value for an organisation and month is the sum of its numerator field over the
//! EPD rows whose BNF code matches its numerator codes, divided by the sum of its denominator
//! field over the rows matching its denominator codes (× 1,000 when the denominator is the
//! practices' list size). Codes are BNF code prefixes; a prefix starting with `-` excludes.
//! Everything here is pure except [`load`].

use std::collections::HashMap;

use anyhow::Context;
use serde::Deserialize;
use sqlx::PgConnection;

/// The shipped library.
pub const MEASURES_CSV: &str = include_str!("../../reference/measures.csv");

/// A column of the EPD a measure sums, or the practices' list size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Items,
    /// The file's `TOTAL_QUANTITY`.
    Quantity,
    ActualCost,
    Nic,
    Adqusage,
    /// Patients registered at the practice (denominators only).
    ListSize,
}

impl Field {
    /// Every field, in the order of the measure library's documentation.
    pub const ALL: [Field; 6] = [
        Field::Items,
        Field::Quantity,
        Field::ActualCost,
        Field::Nic,
        Field::Adqusage,
        Field::ListSize,
    ];

    /// `items`, `quantity`, … as in the library and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Items => "items",
            Field::Quantity => "quantity",
            Field::ActualCost => "actual_cost",
            Field::Nic => "nic",
            Field::Adqusage => "adqusage",
            Field::ListSize => "list_size",
        }
    }

    /// The field named `text`.
    pub fn parse(text: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.as_str() == text.trim())
    }

    /// Money in pounds (the EPD's `ACTUAL_COST` and `NIC`).
    pub fn is_cost(self) -> bool {
        matches!(self, Field::ActualCost | Field::Nic)
    }

    /// What is counted, in words, for units ("items", "cost", …).
    pub fn words(self) -> &'static str {
        match self {
            Field::Items => "items",
            Field::Quantity => "quantity",
            Field::ActualCost => "actual cost",
            Field::Nic => "net ingredient cost",
            Field::Adqusage => "average daily quantities",
            Field::ListSize => "registered patients",
        }
    }
}

/// A set of BNF codes: those starting with any included prefix and with no excluded one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeSet {
    include: Vec<String>,
    exclude: Vec<String>,
}

impl CodeSet {
    /// Parses space-separated prefixes (`0208020Z0 -0208020Z0AA`). BNF codes are at most 15
    /// letters and digits.
    pub fn parse(text: &str) -> Result<CodeSet, String> {
        let mut set = CodeSet::default();
        for word in text.split_whitespace() {
            let (list, prefix) = match word.strip_prefix('-') {
                Some(prefix) => (&mut set.exclude, prefix),
                None => (&mut set.include, word),
            };
            if prefix.is_empty()
                || prefix.len() > 15
                || !prefix.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                return Err(format!(
                    "{word:?} is not a BNF code prefix (1 to 15 letters and digits, `-` in front to exclude)"
                ));
            }
            list.push(prefix.to_ascii_uppercase());
        }
        Ok(set)
    }

    /// Whether `code` is in the set.
    pub fn matches(&self, code: &[u8]) -> bool {
        self.include.iter().any(|p| code.starts_with(p.as_bytes()))
            && !self.exclude.iter().any(|p| code.starts_with(p.as_bytes()))
    }

    /// No prefix includes anything.
    pub fn is_empty(&self) -> bool {
        self.include.is_empty()
    }

    /// The included prefixes.
    pub fn included(&self) -> &[String] {
        &self.include
    }

    /// As written in the library.
    pub fn to_text(&self) -> String {
        self.include
            .iter()
            .cloned()
            .chain(self.exclude.iter().map(|p| format!("-{p}")))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// How a measure's values read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// The same field over a subset of codes: a share, shown as a percentage.
    Percent,
    /// Pounds per 1,000 registered patients.
    PoundsPer1000,
    /// A count per 1,000 registered patients.
    CountPer1000,
    /// One field over another (capsules per item, say).
    Ratio,
}

/// One measure of the library.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    pub slug: String,
    pub opportunity_number: i16,
    pub title: String,
    pub numerator_codes: CodeSet,
    /// Empty when the denominator is the list size.
    pub denominator_codes: CodeSet,
    pub numerator_field: Field,
    pub denominator_field: Field,
    pub lower_is_better: bool,
    pub source_url: String,
}

impl Measure {
    /// Per 1,000 registered patients.
    pub fn per_1000(&self) -> bool {
        self.denominator_field == Field::ListSize
    }

    /// What numerator ÷ denominator is multiplied by to make the value.
    pub fn scale(&self) -> f64 {
        if self.per_1000() { 1000.0 } else { 1.0 }
    }

    /// A measure of money (its potential saving can be worked out).
    pub fn is_cost(&self) -> bool {
        self.numerator_field.is_cost()
    }

    /// How its values read.
    pub fn unit(&self) -> Unit {
        unit_of(self.numerator_field, self.denominator_field)
    }

    /// The value from sums, if there is a denominator.
    pub fn value(&self, numerator: f64, denominator: f64) -> Option<f64> {
        (denominator > 0.0).then(|| numerator / denominator * self.scale())
    }
}

/// How a value of `numerator` over `denominator` reads.
pub fn unit_of(numerator: Field, denominator: Field) -> Unit {
    match (numerator, denominator) {
        (n, Field::ListSize) if n.is_cost() => Unit::PoundsPer1000,
        (_, Field::ListSize) => Unit::CountPer1000,
        (n, d) if n == d => Unit::Percent,
        _ => Unit::Ratio,
    }
}

impl Unit {
    /// A value as people read it: `12.3%`, `£1,234.56`, `56.7`.
    pub fn format(self, value: f64) -> String {
        match self {
            Unit::Percent => format!("{:.1}%", value * 100.0),
            Unit::PoundsPer1000 => format!("£{}", grouped(value, 2)),
            Unit::CountPer1000 | Unit::Ratio => grouped(value, 1),
        }
    }

    /// The value as the chart's y axis draws it (percentages as 0–100).
    pub fn plotted(self, value: f64) -> f64 {
        match self {
            Unit::Percent => value * 100.0,
            _ => value,
        }
    }

    /// A difference between two values: `+1.2 percentage points`, `-£3.40`.
    pub fn format_change(self, change: f64) -> String {
        let sign = if change < 0.0 { "-" } else { "+" };
        let size = change.abs();
        match self {
            Unit::Percent => format!("{sign}{:.1} percentage points", size * 100.0),
            Unit::PoundsPer1000 => format!("{sign}£{}", grouped(size, 2)),
            Unit::CountPer1000 | Unit::Ratio => format!("{sign}{}", grouped(size, 1)),
        }
    }

    /// The unit in words, for a table heading.
    pub fn words(self, numerator: Field) -> String {
        match self {
            Unit::Percent => "%".into(),
            Unit::PoundsPer1000 => "£ per 1,000 patients".into(),
            Unit::CountPer1000 => format!("{} per 1,000 patients", numerator.words()),
            Unit::Ratio => "ratio".into(),
        }
    }
}

/// `1234.5` → `1,234.5` with `decimals` places.
pub fn grouped(value: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, value.abs());
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let mut out = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
    if value < 0.0 && out.chars().any(|c| c.is_ascii_digit() && c != '0') {
        out.insert(0, '-');
    }
    out
}

/// A row of `reference/measures.csv`, exactly its columns.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MeasureRow {
    slug: String,
    opportunity_number: i16,
    title: String,
    numerator_bnf_codes: String,
    denominator_bnf_codes: String,
    numerator_field: String,
    denominator_field: String,
    lower_is_better: bool,
    source_url: String,
}

/// The columns the library must have, in order.
pub const COLUMNS: [&str; 9] = [
    "slug",
    "opportunity_number",
    "title",
    "numerator_bnf_codes",
    "denominator_bnf_codes",
    "numerator_field",
    "denominator_field",
    "lower_is_better",
    "source_url",
];

/// Parses and checks a library; the error names the row.
pub fn parse(csv_text: &str) -> Result<Vec<Measure>, String> {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("the measure library cannot be read: {e}"))?
        .iter()
        .map(str::to_owned)
        .collect();
    if header != COLUMNS {
        return Err(format!(
            "the measure library's columns must be exactly {}",
            COLUMNS.join(", ")
        ));
    }
    let mut measures: Vec<Measure> = Vec::new();
    for (i, row) in reader.deserialize::<MeasureRow>().enumerate() {
        let line = i + 2;
        let row = row.map_err(|e| format!("measure library line {line}: {e}"))?;
        let measure = check(row).map_err(|e| format!("measure library line {line}: {e}"))?;
        if measures.iter().any(|m| m.slug == measure.slug) {
            return Err(format!(
                "measure library line {line}: the slug {} is used twice",
                measure.slug
            ));
        }
        measures.push(measure);
    }
    Ok(measures)
}

fn check(row: MeasureRow) -> Result<Measure, String> {
    if row.slug.is_empty()
        || !row
            .slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(format!(
            "slug {:?} must be lower-case letters, digits and _",
            row.slug
        ));
    }
    if !(1..=99).contains(&row.opportunity_number) {
        return Err("opportunity_number must be 1 to 99".into());
    }
    if row.title.trim().is_empty() {
        return Err("the title is empty".into());
    }
    let field = |name: &str, text: &str| {
        Field::parse(text).ok_or_else(|| {
            format!(
                "{name} {text:?} must be one of {}",
                Field::ALL.map(Field::as_str).join(", ")
            )
        })
    };
    let numerator_field = field("numerator_field", &row.numerator_field)?;
    let denominator_field = field("denominator_field", &row.denominator_field)?;
    if numerator_field == Field::ListSize {
        return Err("list_size can only be a denominator".into());
    }
    let numerator_codes = CodeSet::parse(&row.numerator_bnf_codes)?;
    let denominator_codes = CodeSet::parse(&row.denominator_bnf_codes)?;
    if numerator_codes.is_empty() {
        return Err("numerator_bnf_codes names no code".into());
    }
    match (denominator_field, denominator_codes.is_empty()) {
        (Field::ListSize, false) => {
            return Err("a list_size denominator takes no denominator_bnf_codes".into());
        }
        (Field::ListSize, true) | (_, false) => {}
        (_, true) => return Err("denominator_bnf_codes names no code".into()),
    }
    if !row.source_url.starts_with("https://") {
        return Err("source_url must be an https:// address".into());
    }
    Ok(Measure {
        slug: row.slug,
        opportunity_number: row.opportunity_number,
        title: row.title.trim().to_owned(),
        numerator_codes,
        denominator_codes,
        numerator_field,
        denominator_field,
        lower_is_better: row.lower_is_better,
        source_url: row.source_url,
    })
}

/// The shipped library (checked by a unit test, so this cannot fail in a release).
pub fn shipped() -> anyhow::Result<Vec<Measure>> {
    parse(MEASURES_CSV).map_err(anyhow::Error::msg)
}

/// Where a BNF code counts: which measures' numerators and denominators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// Index of the measure in the library.
    pub measure: usize,
    pub numerator: bool,
    pub denominator: bool,
}

/// Finds the measures a BNF code counts towards, remembering each code's answer: a month has
/// about 20,000 different codes among its 17 million rows.
pub struct Matcher<'a> {
    measures: &'a [Measure],
    index: HashMap<Box<[u8]>, u32>,
    hits: Vec<Box<[Hit]>>,
}

impl<'a> Matcher<'a> {
    /// A matcher for `measures`.
    pub fn new(measures: &'a [Measure]) -> Self {
        Self {
            measures,
            index: HashMap::new(),
            hits: Vec::new(),
        }
    }

    /// The measures `code` counts towards (usually none).
    pub fn hits(&mut self, code: &[u8]) -> &[Hit] {
        let at = match self.index.get(code) {
            Some(&at) => at,
            None => {
                let hits: Box<[Hit]> = self
                    .measures
                    .iter()
                    .enumerate()
                    .filter_map(|(i, m)| {
                        let numerator = m.numerator_codes.matches(code);
                        let denominator = !m.per_1000() && m.denominator_codes.matches(code);
                        (numerator || denominator).then_some(Hit {
                            measure: i,
                            numerator,
                            denominator,
                        })
                    })
                    .collect();
                let at = self.hits.len() as u32;
                self.hits.push(hits);
                self.index.insert(code.into(), at);
                at
            }
        };
        &self.hits[at as usize]
    }
}

/// Loads the library into `prescribing_measure`: rows are matched by slug and refreshed when
/// they differ; measures no longer in the file are removed with their figures (a measure's
/// figures mean nothing without its definition). Returns the rows changed.
pub async fn load(conn: &mut PgConnection) -> anyhow::Result<u64> {
    let measures = shipped().context("reference/measures.csv")?;
    let mut changed = 0;
    for (position, m) in measures.iter().enumerate() {
        changed += sqlx::query!(
            r#"
            insert into prescribing_measure
                (slug, opportunity_number, title, numerator_bnf_codes, denominator_bnf_codes,
                 numerator_field, denominator_field, lower_is_better, source_url, position)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            on conflict (slug) do update
               set opportunity_number = excluded.opportunity_number, title = excluded.title,
                   numerator_bnf_codes = excluded.numerator_bnf_codes,
                   denominator_bnf_codes = excluded.denominator_bnf_codes,
                   numerator_field = excluded.numerator_field,
                   denominator_field = excluded.denominator_field,
                   lower_is_better = excluded.lower_is_better,
                   source_url = excluded.source_url, position = excluded.position
            where (prescribing_measure.opportunity_number, prescribing_measure.title,
                   prescribing_measure.numerator_bnf_codes, prescribing_measure.denominator_bnf_codes,
                   prescribing_measure.numerator_field, prescribing_measure.denominator_field,
                   prescribing_measure.lower_is_better, prescribing_measure.source_url,
                   prescribing_measure.position)
                  is distinct from
                  (excluded.opportunity_number, excluded.title, excluded.numerator_bnf_codes,
                   excluded.denominator_bnf_codes, excluded.numerator_field,
                   excluded.denominator_field, excluded.lower_is_better, excluded.source_url,
                   excluded.position)
            "#,
            m.slug,
            m.opportunity_number,
            m.title,
            m.numerator_codes.to_text(),
            m.denominator_codes.to_text(),
            m.numerator_field.as_str(),
            m.denominator_field.as_str(),
            m.lower_is_better,
            m.source_url,
            position as i16,
        )
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    let slugs: Vec<String> = measures.iter().map(|m| m.slug.clone()).collect();
    changed += sqlx::query!(
        "delete from prescribing_measure where slug <> all($1)",
        &slugs
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(changed)
}

/// The library as stored, each measure with its id, in the library's order.
pub async fn stored(conn: &mut PgConnection) -> anyhow::Result<Vec<(i16, Measure)>> {
    let rows = sqlx::query!(
        r#"
        select prescribing_measure_id, slug, opportunity_number, title, numerator_bnf_codes,
               denominator_bnf_codes, numerator_field, denominator_field, lower_is_better,
               source_url
        from prescribing_measure order by position, slug
        "#
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            let row = MeasureRow {
                slug: r.slug,
                opportunity_number: r.opportunity_number,
                title: r.title,
                numerator_bnf_codes: r.numerator_bnf_codes,
                denominator_bnf_codes: r.denominator_bnf_codes,
                numerator_field: r.numerator_field,
                denominator_field: r.denominator_field,
                lower_is_better: r.lower_is_better,
                source_url: r.source_url,
            };
            let measure = check(row).map_err(anyhow::Error::msg)?;
            Ok((r.prescribing_measure_id, measure))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_library_parses_and_covers_the_opportunities_prescribing_data_can_show() {
        let measures = shipped().unwrap();
        for number in [2, 3, 7, 8, 9, 11, 12, 14, 15] {
            assert!(
                measures.iter().any(|m| m.opportunity_number == number),
                "no measure for opportunity {number}"
            );
        }
        for number in [4, 5, 6, 10, 16] {
            assert!(
                !measures.iter().any(|m| m.opportunity_number == number),
                "opportunity {number} cannot be shown by prescribing data"
            );
        }
        assert!(measures.iter().all(|m| {
            m.source_url
                .starts_with("https://openprescribing.net/measure/")
        }));
    }

    #[test]
    fn code_sets_include_and_exclude_by_prefix() {
        let set = CodeSet::parse("0208020Z0 0208020Y0 -0208020Z0AA").unwrap();
        assert!(set.matches(b"0208020Z0BBABAB"), "a branded apixaban");
        assert!(
            !set.matches(b"0208020Z0AAABAB"),
            "generic apixaban is excluded"
        );
        assert!(set.matches(b"0208020Y0AAABAB"));
        assert!(!set.matches(b"0208020X0AAABAB"));
        assert_eq!(set.to_text(), "0208020Z0 0208020Y0 -0208020Z0AA");
        assert!(CodeSet::parse("02080 -").is_err());
        assert!(CodeSet::parse("0208020Z0AAABABX").is_err(), "16 characters");
        assert!(CodeSet::parse("02'08").is_err());
        assert!(CodeSet::parse("").unwrap().is_empty());
    }

    #[test]
    fn bad_rows_are_refused_with_their_line() {
        let header = COLUMNS.join(",");
        let bad = |row: &str| parse(&format!("{header}\n{row}\n")).unwrap_err();
        assert!(bad("Bad Slug,2,T,0403,,items,list_size,true,https://a").contains("line 2: slug"));
        assert!(bad("a,2,T,0403,,weight,list_size,true,https://a").contains("numerator_field"));
        assert!(bad("a,2,T,0403,0403,items,list_size,true,https://a").contains("list_size"));
        assert!(bad("a,2,T,0403,,items,items,true,https://a").contains("denominator_bnf_codes"));
        assert!(bad("a,2,T,,,items,list_size,true,https://a").contains("numerator_bnf_codes"));
        assert!(
            bad("a,2,T,0403,,list_size,items,true,https://a").contains("only be a denominator")
        );
        assert!(bad("a,2,T,0403,,items,list_size,maybe,https://a").contains("line 2"));
        assert!(
            parse("slug,title\na,b\n")
                .unwrap_err()
                .contains("columns must be exactly")
        );
        let twice = format!(
            "{header}\na,2,T,0403,,items,list_size,true,https://a\na,3,T,0403,,items,list_size,true,https://a\n"
        );
        assert!(parse(&twice).unwrap_err().contains("line 3"));
    }

    #[test]
    fn the_matcher_remembers_each_codes_measures() {
        let measures = shipped().unwrap();
        let mut matcher = Matcher::new(&measures);
        let doac = measures
            .iter()
            .position(|m| m.slug == "doacs_nhse")
            .unwrap();
        let branded = matcher.hits(b"0208020Z0BBABAB").to_vec();
        assert_eq!(
            branded,
            vec![Hit {
                measure: doac,
                numerator: true,
                denominator: true
            }]
        );
        let generic = matcher.hits(b"0208020Z0AAABAB").to_vec();
        assert_eq!(
            generic,
            vec![Hit {
                measure: doac,
                numerator: false,
                denominator: true
            }]
        );
        assert!(matcher.hits(b"0101010A0AAAAAA").is_empty());
        assert_eq!(matcher.hits(b"0208020Z0BBABAB"), branded.as_slice());
    }

    #[test]
    fn units_format_values_and_changes() {
        assert_eq!(unit_of(Field::Items, Field::Items), Unit::Percent);
        assert_eq!(
            unit_of(Field::ActualCost, Field::ListSize),
            Unit::PoundsPer1000
        );
        assert_eq!(unit_of(Field::Items, Field::ListSize), Unit::CountPer1000);
        assert_eq!(unit_of(Field::Quantity, Field::Items), Unit::Ratio);
        assert_eq!(Unit::Percent.format(0.1234), "12.3%");
        assert_eq!(Unit::PoundsPer1000.format(1234.5), "£1,234.50");
        assert_eq!(Unit::Ratio.format(14.25), "14.2");
        assert_eq!(
            Unit::Percent.format_change(-0.012),
            "-1.2 percentage points"
        );
        assert_eq!(Unit::PoundsPer1000.format_change(3.4), "+£3.40");
        assert_eq!(grouped(1234567.891, 1), "1,234,567.9");
        assert_eq!(grouped(-0.01, 1), "0.0");
        assert_eq!(grouped(-12.5, 1), "-12.5");
        assert_eq!(grouped(999.0, 0), "999");
    }
}
