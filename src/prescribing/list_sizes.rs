//! GP practice list sizes: NHS England's monthly "Patients Registered at a GP Practice"
//! (`gp-reg-pat-prac-all.csv`, or the five-year age band file `gp-reg-pat-prac-quin-age.csv`
//! that OpenPrescribing reads). Per-1,000-patient measures divide by them.
//!
//! Each practice's total is its row with `ORG_TYPE` (or `TYPE`) `GP`, `SEX` `ALL` and
//! `AGE_GROUP_5` (or `AGE`) `ALL`; the month is that of `EXTRACT_DATE` (the list on the first
//! of the month). Read and checked in full, like an EPD file, then written with `COPY`
//! replacing the month in one transaction, which also rebuilds the ICB values of the EPD months
//! that use these list sizes.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Read;

use chrono::{Datelike, NaiveDate};
use csv::ByteRecord;
use sqlx::PgPool;

use super::epd::{EpdError, latin1};
use super::store;

/// A month of list sizes read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListSizes {
    pub month: NaiveDate,
    pub rows_read: u64,
    /// Practice code → registered patients.
    pub practices: Vec<(String, i32)>,
}

impl ListSizes {
    /// Patients registered at all the practices.
    pub fn patients(&self) -> i64 {
        self.practices.iter().map(|(_, n)| i64::from(*n)).sum()
    }
}

#[derive(Debug, Clone, Copy)]
struct Columns {
    extract_date: usize,
    org_type: usize,
    org_code: usize,
    sex: Option<usize>,
    age: Option<usize>,
    patients: usize,
}

impl Columns {
    fn find(header: &ByteRecord) -> Result<Self, EpdError> {
        let names: Vec<String> = header
            .iter()
            .map(|n| {
                latin1(n.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(n))
                    .trim()
                    .to_ascii_uppercase()
            })
            .collect();
        let find = |choices: &[&str]| names.iter().position(|n| choices.contains(&n.as_str()));
        let required = [
            ("EXTRACT_DATE", find(&["EXTRACT_DATE"])),
            ("ORG_TYPE", find(&["ORG_TYPE", "TYPE"])),
            ("ORG_CODE", find(&["ORG_CODE", "CODE"])),
            ("NUMBER_OF_PATIENTS", find(&["NUMBER_OF_PATIENTS"])),
        ];
        let missing: Vec<&str> = required
            .iter()
            .filter(|(_, at)| at.is_none())
            .map(|(name, _)| *name)
            .collect();
        if !missing.is_empty() {
            return Err(EpdError::Header(format!(
                "this is not a \"Patients Registered at a GP Practice\" file: the header (line 1) \
                 lacks {} (expected EXTRACT_DATE, ORG_TYPE or TYPE, ORG_CODE or CODE, SEX, \
                 AGE_GROUP_5 or AGE, NUMBER_OF_PATIENTS)",
                missing.join(", ")
            )));
        }
        let at = |i: usize| required[i].1.unwrap_or_default();
        Ok(Columns {
            extract_date: at(0),
            org_type: at(1),
            org_code: at(2),
            patients: at(3),
            sex: find(&["SEX"]),
            age: find(&["AGE_GROUP_5", "AGE"]),
        })
    }
}

/// Reads a list-size file; `month` overrides the month of `EXTRACT_DATE`.
pub fn read(input: impl Read, month: Option<NaiveDate>) -> Result<ListSizes, EpdError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(input);
    let header = reader
        .byte_headers()
        .map_err(|e| EpdError::Header(format!("the header cannot be read: {e}")))?
        .clone();
    let c = Columns::find(&header)?;
    let mut found_month = month;
    let mut practices: HashMap<String, i32> = HashMap::new();
    let mut order = Vec::new();
    let mut record = ByteRecord::new();
    let mut rows = 0u64;
    loop {
        let line = rows + 2;
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                return Err(EpdError::Line {
                    line: e.position().map_or(line, |p| p.line()),
                    message: format!("the row cannot be read: {e}"),
                });
            }
        }
        rows += 1;
        let field = |i: usize| latin1(record.get(i).unwrap_or_default()).trim().to_owned();
        let error = |message: String| EpdError::Line { line, message };
        let all = |i: Option<usize>| i.is_none_or(|i| field(i).eq_ignore_ascii_case("ALL"));
        if !field(c.org_type).eq_ignore_ascii_case("GP") || !all(c.sex) || !all(c.age) {
            continue;
        }
        if found_month.is_none() {
            let text = field(c.extract_date);
            found_month = Some(parse_extract_date(&text).ok_or_else(|| {
                error(format!(
                    "EXTRACT_DATE is {text:?}: expected a date like 01SEP2024 or 2024-09-01 \
                     (or give the month with --month)"
                ))
            })?);
        }
        let code = field(c.org_code).to_ascii_uppercase();
        if code.is_empty() {
            return Err(error("ORG_CODE is empty".into()));
        }
        let text = field(c.patients);
        let patients: i32 = text.parse().ok().filter(|n| *n >= 0).ok_or_else(|| {
            error(format!(
                "NUMBER_OF_PATIENTS is {text:?}: expected a whole number"
            ))
        })?;
        if practices.insert(code.clone(), patients).is_some() {
            return Err(error(format!("practice {code} appears twice")));
        }
        order.push(code);
    }
    let month = found_month.ok_or_else(|| {
        EpdError::Header(
            "the file has no practice totals (rows with ORG_TYPE GP, SEX ALL and AGE ALL)".into(),
        )
    })?;
    Ok(ListSizes {
        month,
        rows_read: rows,
        practices: order
            .into_iter()
            .map(|code| {
                let n = practices[&code];
                (code, n)
            })
            .collect(),
    })
}

/// `01SEP2024`, `01-Sep-24`, `01-Sep-2024`, `2024-09-01` or `01/09/2024` as the first of its month.
pub fn parse_extract_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    ["%d%b%Y", "%d-%b-%y", "%d-%b-%Y", "%Y-%m-%d", "%d/%m/%Y"]
        .iter()
        .find_map(|format| NaiveDate::parse_from_str(text, format).ok())
        .and_then(|d| d.with_day(1))
}

/// Replaces `sizes.month` and rebuilds the ICB values of the EPD months whose list-size month
/// this is now (or was before). Returns those months.
pub async fn save(pool: &PgPool, sizes: &ListSizes, source: &str) -> sqlx::Result<Vec<NaiveDate>> {
    let mut tx = pool.begin().await?;
    store::lock_loads(&mut tx).await?;
    sqlx::query!(
        "delete from prescribing_list_size_month where month = $1",
        sizes.month
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into prescribing_list_size_month (month, source, practices, patients) values ($1, $2, $3, $4)",
        sizes.month,
        source,
        sizes.practices.len() as i32,
        sizes.patients()
    )
    .execute(&mut *tx)
    .await?;
    let mut copy = tx
        .copy_in_raw("copy prescribing_list_size (month, practice_code, patients) from stdin")
        .await?;
    let mut buffer = String::new();
    for (code, patients) in &sizes.practices {
        let _ = writeln!(
            buffer,
            "{}\t{}\t{patients}",
            sizes.month,
            store::copy_text(code)
        );
        if buffer.len() > 1 << 20 {
            copy.send(buffer.as_bytes()).await?;
            buffer.clear();
        }
    }
    copy.send(buffer.as_bytes()).await?;
    copy.finish().await?;
    // The EPD months whose list-size month changes, or is this one.
    let months = sqlx::query_scalar!(
        r#"
        select m.month from prescribing_month m
        cross join lateral (
            select coalesce(
                (select max(l.month) from prescribing_list_size_month l where l.month <= m.month),
                (select min(l.month) from prescribing_list_size_month l)) as chosen
        ) c
        where c.chosen = $1 or m.list_size_month is distinct from c.chosen
        order by m.month
        "#,
        sizes.month
    )
    .fetch_all(&mut *tx)
    .await?;
    for &month in &months {
        store::refresh_icb_values(&mut tx, month).await?;
    }
    tx.commit().await?;
    Ok(months)
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUIN_AGE: &str = "PUBLICATION,EXTRACT_DATE,ORG_TYPE,ORG_CODE,ONS_CODE,POSTCODE,SEX,AGE_GROUP_5,NUMBER_OF_PATIENTS
GP_PRAC_PAT_LIST,01SEP2017,GP,B85010,,HD5 8DY,ALL,ALL,6939
GP_PRAC_PAT_LIST,01SEP2017,GP,B85010,,HD5 8DY,FEMALE,0_4,212
GP_PRAC_PAT_LIST,01SEP2017,CCG,03A,,,ALL,ALL,99999
GP_PRAC_PAT_LIST,01SEP2017,GP,P81001,,PR1 1AA,ALL,ALL,12000
";

    #[test]
    fn reads_practice_totals_of_either_layout() {
        let sizes = read(QUIN_AGE.as_bytes(), None).unwrap();
        assert_eq!(sizes.month, NaiveDate::from_ymd_opt(2017, 9, 1).unwrap());
        assert_eq!(
            sizes.practices,
            vec![("B85010".to_owned(), 6939), ("P81001".to_owned(), 12000)]
        );
        assert_eq!(sizes.patients(), 18939);

        let all = "PUBLICATION,EXTRACT_DATE,TYPE,CODE,POSTCODE,SEX,AGE,NUMBER_OF_PATIENTS\n\
                   GP_PRAC_PAT_LIST,01-Jun-24,GP,P81001,PR1 1AA,ALL,ALL,12000\n";
        let sizes = read(all.as_bytes(), None).unwrap();
        assert_eq!(sizes.month, NaiveDate::from_ymd_opt(2024, 6, 1).unwrap());
        let june = NaiveDate::from_ymd_opt(2024, 7, 1);
        assert_eq!(read(all.as_bytes(), june).unwrap().month, june.unwrap());
    }

    #[test]
    fn bad_files_are_refused_by_line() {
        assert!(matches!(
            read("a,b\n1,2\n".as_bytes(), None),
            Err(EpdError::Header(_))
        ));
        let bad = QUIN_AGE.replace("12000", "twelve");
        assert!(matches!(
            read(bad.as_bytes(), None),
            Err(EpdError::Line { line: 5, message }) if message.contains("NUMBER_OF_PATIENTS")
        ));
        let twice = format!("{QUIN_AGE}GP_PRAC_PAT_LIST,01SEP2017,GP,P81001,,PR1 1AA,ALL,ALL,1\n");
        assert!(matches!(
            read(twice.as_bytes(), None),
            Err(EpdError::Line { line: 6, .. })
        ));
        let undated = QUIN_AGE.replace("01SEP2017", "soon");
        assert!(matches!(
            read(undated.as_bytes(), None),
            Err(EpdError::Line { line: 2, message }) if message.contains("EXTRACT_DATE")
        ));
    }

    #[test]
    fn extract_dates_in_the_published_shapes() {
        let september = NaiveDate::from_ymd_opt(2017, 9, 1);
        for text in [
            "01SEP2017",
            "01-Sep-17",
            "01-Sep-2017",
            "2017-09-01",
            "01/09/2017",
        ] {
            assert_eq!(parse_extract_date(text), september, "{text}");
        }
        assert_eq!(parse_extract_date("September"), None);
    }
}
