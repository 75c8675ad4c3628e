//! `medopt prescribing synth`: English Prescribing Dataset files that look like the real ones
//! (the published columns in their order, latin-1, practices with codes, names and addresses,
//! the ICBs of each month, the BNF presentations the measures count plus others, and noise),
//! with a list-size file per month, for demonstrations, tests and the benchmark.
//!
//! `scale` 1.0 is national size: about 6,300 practices and 17 million rows a month. Rows grow
//! with the scale (practices and presentations per practice each with its square root). Every
//! row's `ADDRESS_4` is [`SYNTHETIC_MARKER`], so an imported month is known to be synthetic and
//! pages say so. The same seed gives the same files.
//!
//! The figures are made to be worth looking at: each ICB and practice leans more or less
//! towards the presentations a measure counts against it, and most ICBs improve slowly over
//! time, so charts show spread and movement.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{Datelike, Months, NaiveDate, Timelike};

use super::epd::{COLUMNS, SNOMED_COLUMN, SYNTHETIC_MARKER};
use super::library::{Matcher, Measure};

/// An ICB as the generator needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthIcb {
    pub code: String,
    pub name: String,
    pub region_code: String,
    pub region_name: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    /// The ICB that took over its practices when it closed.
    pub successor: Option<String>,
}

impl SynthIcb {
    fn exists_in(&self, month: NaiveDate) -> bool {
        let last_day = month
            .checked_add_months(Months::new(1))
            .and_then(|d| d.pred_opt())
            .unwrap_or(month);
        self.valid_from <= last_day && self.valid_to.is_none_or(|to| to >= month)
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthSpec {
    /// First and last month (first days).
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// 1.0 is national size.
    pub scale: f64,
    pub seed: u64,
    /// Write each month's EPD file as a zip.
    pub zip: bool,
}

impl SynthSpec {
    /// Every month from `from` to `to`.
    pub fn months(&self) -> Vec<NaiveDate> {
        let mut months = Vec::new();
        let mut month = self.from;
        while month <= self.to {
            months.push(month);
            month = match month.checked_add_months(Months::new(1)) {
                Some(next) => next,
                None => break,
            };
        }
        months
    }

    /// Practices per ICB.
    pub fn practices_per_icb(&self) -> usize {
        ((150.0 * self.scale.sqrt()).round() as usize).max(2)
    }

    /// Presentations a practice prescribes in a month, besides the measured ones.
    fn other_presentations(&self) -> usize {
        ((2700.0 * self.scale.sqrt()).round() as usize).max(10)
    }
}

/// The files written for one month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthFiles {
    pub month: NaiveDate,
    pub epd: PathBuf,
    pub list_sizes: PathBuf,
    pub rows: u64,
}

/// How a presentation's prescribing varies between practices.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// Prescribed at a steady rate.
    Steady,
    /// A measure counts it against the practice: its rate follows the practice's lean.
    Against,
    /// Courses of `short` or `long` units, longer where the practice leans.
    Course { short: f64, long: f64 },
}

/// A presentation the generator prescribes.
#[derive(Debug, Clone, PartialEq)]
struct Presentation {
    /// Its five EPD columns from `BNF_CHEMICAL_SUBSTANCE` to `BNF_CHAPTER_PLUS_CODE`, as CSV.
    csv: String,
    code: String,
    name: String,
    chemical: String,
    chemical_name: String,
    chapter: &'static str,
    /// Items a month per 1,000 patients.
    rate: f64,
    quantity: f64,
    unit_cost: f64,
    kind: Kind,
}

/// `(code, name, chemical name, items per 1,000 patients a month, quantity per item, £ per unit)`
/// of the presentations the measures count. Whether a measure counts one against a practice
/// is worked out from the library, not written here.
const MEASURED: &[(&str, &str, &str, f64, f64, f64)] = &[
    (
        "0208020Z0AAABAB",
        "Apixaban_Tab 5mg",
        "Apixaban",
        8.0,
        56.0,
        0.03,
    ),
    (
        "0208020Z0BBABAB",
        "Eliquis_Tab 5mg",
        "Apixaban",
        1.5,
        56.0,
        0.95,
    ),
    (
        "0208020Y0AAABAB",
        "Rivaroxaban_Tab 20mg",
        "Rivaroxaban",
        3.0,
        28.0,
        0.05,
    ),
    (
        "0208020X0AAABAB",
        "Dabigatran Etexilate_Cap 150mg",
        "Dabigatran etexilate",
        0.6,
        60.0,
        0.85,
    ),
    (
        "0208020AAAAABAB",
        "Edoxaban_Tab 60mg",
        "Edoxaban",
        2.0,
        28.0,
        1.75,
    ),
    (
        "0601060D0CUAAA0",
        "GlucoRx Q testing strips",
        "Glucose blood testing reagents",
        3.0,
        50.0,
        0.16,
    ),
    (
        "0601060D0EJAAA0",
        "True Metrix testing strips",
        "Glucose blood testing reagents",
        1.5,
        50.0,
        0.19,
    ),
    (
        "0601060D0DWAAA0",
        "FreeStyle Lite testing strips",
        "Glucose blood testing reagents",
        1.2,
        50.0,
        0.33,
    ),
    (
        "0601060X0AAAAA0",
        "Glucose and ketone testing strips",
        "Glucose and ketone blood testing reagents",
        0.3,
        50.0,
        0.39,
    ),
    (
        "0301011R0AAAPAP",
        "Salbutamol_Inha 100mcg (200 D) CFF",
        "Salbutamol",
        9.0,
        2.0,
        1.50,
    ),
    (
        "0302000C0AAACAC",
        "Beclometasone_Inha 100mcg (200 D) CFF",
        "Beclometasone dipropionate",
        7.0,
        1.0,
        7.40,
    ),
    (
        "0302000N0AAAWAW",
        "Budesonide_Inh Pdr 200mcg (100 D)",
        "Budesonide",
        3.0,
        1.0,
        14.25,
    ),
    (
        "0212000B0AAABAB",
        "Atorvastatin_Tab 20mg",
        "Atorvastatin",
        14.0,
        28.0,
        0.03,
    ),
    (
        "0212000B0AAAAAA",
        "Atorvastatin_Tab 10mg",
        "Atorvastatin",
        3.0,
        28.0,
        0.03,
    ),
    (
        "0212000Y0AAABAB",
        "Simvastatin_Tab 20mg",
        "Simvastatin",
        4.0,
        28.0,
        0.03,
    ),
    (
        "0212000Y0AAADAD",
        "Simvastatin_Tab 40mg",
        "Simvastatin",
        4.0,
        28.0,
        0.04,
    ),
    (
        "0212000AAAAAAAA",
        "Rosuvastatin Calc_Tab 10mg",
        "Rosuvastatin calcium",
        3.0,
        28.0,
        0.05,
    ),
    (
        "0501013B0AAABAB",
        "Amoxicillin_Cap 500mg",
        "Amoxicillin",
        18.0,
        15.0,
        0.05,
    ),
    (
        "0501030I0AAABAB",
        "Doxycycline Hyclate_Cap 100mg",
        "Doxycycline hyclate",
        5.0,
        5.0,
        0.12,
    ),
    (
        "0407010H0AAAMAM",
        "Paracet_Tab 500mg",
        "Paracetamol",
        12.0,
        100.0,
        0.01,
    ),
    (
        "0407010H0AAAQAQ",
        "Paracet_Tab Solb 500mg",
        "Paracetamol",
        1.2,
        100.0,
        0.05,
    ),
    (
        "0407010F0AAAHAH",
        "Co-Codamol_Tab 30mg/500mg",
        "Co-codamol (Codeine phos/paracetamol)",
        6.0,
        100.0,
        0.03,
    ),
    (
        "0407010F0AAAFAF",
        "Co-Codamol_Tab Eff 30mg/500mg",
        "Co-codamol (Codeine phos/paracetamol)",
        0.8,
        100.0,
        0.12,
    ),
    (
        "0407020C0AAABAB",
        "Codeine Phos_Tab 30mg",
        "Codeine phosphate",
        4.0,
        56.0,
        0.04,
    ),
    (
        "0407020ABAAABAB",
        "Tramadol HCl_Cap 50mg",
        "Tramadol hydrochloride",
        4.0,
        60.0,
        0.03,
    ),
    (
        "0407020A0AAAFAF",
        "Fentanyl_Transdermal Patch 50mcg/hr",
        "Fentanyl",
        0.4,
        5.0,
        4.20,
    ),
    (
        "0407020ADAAAHAH",
        "Oxycodone HCl_Tab 40mg M/R",
        "Oxycodone hydrochloride",
        0.3,
        56.0,
        0.55,
    ),
    (
        "0403010J0AAAAAA",
        "Dosulepin HCl_Cap 25mg",
        "Dosulepin hydrochloride",
        0.5,
        28.0,
        0.35,
    ),
    (
        "0403010Y0AAAAAA",
        "Trimipramine_Tab 10mg",
        "Trimipramine maleate",
        0.05,
        28.0,
        6.50,
    ),
    (
        "0602010M0AAAAAA",
        "Liothyronine Sod_Tab 20mcg",
        "Liothyronine sodium",
        0.1,
        28.0,
        2.30,
    ),
    (
        "0212000V0AAAAAA",
        "Omega-3 Marine Triglycerides_Cap 1g",
        "Omega-3 marine triglycerides",
        0.2,
        56.0,
        0.30,
    ),
    (
        "1003020J0AAAAAA",
        "Methyl Salicylate_Liniment",
        "Methyl salicylate",
        0.1,
        100.0,
        0.05,
    ),
    (
        "0704050Z0AAAAAA",
        "Sildenafil_Tab 25mg",
        "Sildenafil (erectile dysfunction)",
        2.0,
        8.0,
        0.20,
    ),
    (
        "0704050Z0BBAAAA",
        "Viagra_Tab 25mg",
        "Sildenafil (erectile dysfunction)",
        0.1,
        8.0,
        5.40,
    ),
    (
        "0704050R0BBABAB",
        "Cialis_Tab 20mg",
        "Tadalafil",
        0.1,
        8.0,
        7.10,
    ),
];

/// Chemical substances of the other presentations (none of them measured).
const OTHER_CHEMICALS: &[(&str, &str, &str)] = &[
    ("0103050P0", "Omeprazole", "01: Gastro-Intestinal System"),
    ("0103050L0", "Lansoprazole", "01: Gastro-Intestinal System"),
    ("0106040M0", "Macrogol 3350", "01: Gastro-Intestinal System"),
    ("0206020A0", "Amlodipine", "02: Cardiovascular System"),
    ("0205051R0", "Ramipril", "02: Cardiovascular System"),
    (
        "0204000H0",
        "Bisoprolol fumarate",
        "02: Cardiovascular System",
    ),
    ("0202020L0", "Furosemide", "02: Cardiovascular System"),
    (
        "0205052C0",
        "Candesartan cilexetil",
        "02: Cardiovascular System",
    ),
    ("0209000A0", "Aspirin", "02: Cardiovascular System"),
    ("0209000C0", "Clopidogrel", "02: Cardiovascular System"),
    (
        "0601022B0",
        "Metformin hydrochloride",
        "06: Endocrine System",
    ),
    ("0602010V0", "Levothyroxine sodium", "06: Endocrine System"),
    ("0601023AG", "Sitagliptin", "06: Endocrine System"),
    ("0601023AM", "Empagliflozin", "06: Endocrine System"),
    (
        "0403030Q0",
        "Sertraline hydrochloride",
        "04: Central Nervous System",
    ),
    (
        "0403030D0",
        "Citalopram hydrobromide",
        "04: Central Nervous System",
    ),
    ("0403040X0", "Mirtazapine", "04: Central Nervous System"),
    ("0408010AE", "Pregabalin", "04: Central Nervous System"),
    ("0408010G0", "Gabapentin", "04: Central Nervous System"),
    ("0409010N0", "Co-careldopa", "04: Central Nervous System"),
    (
        "0304010I0",
        "Cetirizine hydrochloride",
        "03: Respiratory System",
    ),
    (
        "0304010AB",
        "Fexofenadine hydrochloride",
        "03: Respiratory System",
    ),
    ("0603020T0", "Prednisolone", "06: Endocrine System"),
    (
        "0702010G0",
        "Estradiol",
        "07: Obstetrics, Gynaecology and Urinary-Tract Disorders",
    ),
    (
        "0704020N0",
        "Tamsulosin hydrochloride",
        "07: Obstetrics, Gynaecology and Urinary-Tract Disorders",
    ),
    (
        "0703021Q0",
        "Desogestrel",
        "07: Obstetrics, Gynaecology and Urinary-Tract Disorders",
    ),
    ("0501130R0", "Nitrofurantoin", "05: Infections"),
    ("0501080W0", "Trimethoprim", "05: Infections"),
    ("0501050B0", "Clarithromycin", "05: Infections"),
    ("0906040G0", "Colecalciferol", "09: Nutrition and Blood"),
    ("0901020G0", "Ferrous sulfate", "09: Nutrition and Blood"),
    ("0904010AA", "Ensure Plus", "09: Nutrition and Blood"),
    (
        "1001010P0",
        "Naproxen",
        "10: Musculoskeletal and Joint Diseases",
    ),
    (
        "1001030U0",
        "Methotrexate",
        "10: Musculoskeletal and Joint Diseases",
    ),
    ("1108010C0", "Hypromellose", "11: Eye"),
    ("1302010D0", "Diprobase", "13: Skin"),
    ("1302011A0", "Zerobase", "13: Skin"),
    ("1305020C0", "Hydrocortisone", "13: Skin"),
    ("1311070C0", "Chlorhexidine gluconate", "13: Skin"),
    ("2102000B0", "Bandages", "21: Appliances"),
];

/// Strength and form letters for the other presentations' codes.
const FORMS: &[&str] = &[
    "AA", "AB", "AC", "AD", "AE", "AF", "AG", "AH", "AI", "AJ", "AK", "AL", "AM", "AN", "AP", "AQ",
    "AR", "AS", "AT", "AU", "AV", "AW", "AX", "AY", "AZ", "BA", "BB", "BC", "BD", "BE",
];
/// Product letters (generic first).
const PRODUCTS: &[&str] = &["AA", "BB", "BC", "BD", "BE", "BF", "BG", "BH", "BI", "BJ"];
const FORM_NAMES: &[&str] = &[
    "Tab",
    "Cap",
    "Oral Soln",
    "Tab E/C",
    "Cap M/R",
    "Crm",
    "Gel",
];

/// The presentations: the measured ones (each marked by what the measures make of it), then
/// enough others that none of them is measured.
fn catalogue(measures: &[Measure]) -> (Vec<Presentation>, Vec<Presentation>) {
    let mut matcher = Matcher::new(measures);
    let measured = MEASURED
        .iter()
        .map(|&(code, name, chemical_name, rate, quantity, unit_cost)| {
            let hits = matcher.hits(code.as_bytes());
            let course = hits.iter().any(|h| {
                let m = &measures[h.measure];
                m.numerator_field != m.denominator_field && !m.per_1000() && h.numerator
            });
            let against = hits
                .iter()
                .any(|h| h.numerator && measures[h.measure].lower_is_better);
            let kind = if course {
                Kind::Course {
                    short: quantity,
                    long: (quantity * 1.4).round(),
                }
            } else if against {
                Kind::Against
            } else {
                Kind::Steady
            };
            Presentation::new(Presentation {
                csv: String::new(),
                code: code.to_owned(),
                name: name.to_owned(),
                chemical: code[..9].to_owned(),
                chemical_name: chemical_name.to_owned(),
                chapter: chapter_of(code),
                rate,
                quantity,
                unit_cost,
                kind,
            })
        })
        .collect();
    let mut others = Vec::new();
    for (p, product) in PRODUCTS.iter().enumerate() {
        for (f, form) in FORMS.iter().enumerate() {
            for (c, &(chemical, chemical_name, chapter)) in OTHER_CHEMICALS.iter().enumerate() {
                let code = format!("{chemical}{product}{form}{form}");
                if !matcher.hits(code.as_bytes()).is_empty() {
                    continue;
                }
                let strength = 5 * (f + 1);
                let spread = (c * 7 + f * 3 + p) % 11;
                others.push(Presentation::new(Presentation {
                    csv: String::new(),
                    name: format!(
                        "{}_{} {strength}mg{}",
                        chemical_name,
                        FORM_NAMES[f % FORM_NAMES.len()],
                        if p == 0 { "" } else { " (brand)" }
                    ),
                    code,
                    chemical: chemical.to_owned(),
                    chemical_name: chemical_name.to_owned(),
                    chapter,
                    rate: if p == 0 { 6.0 } else { 0.6 } / (1.0 + f as f64 * 0.3),
                    quantity: [28.0, 56.0, 30.0, 100.0, 14.0][spread % 5],
                    unit_cost: 0.02 + spread as f64 * 0.07 + p as f64 * 0.4,
                    kind: Kind::Steady,
                }));
            }
        }
    }
    (measured, others)
}

impl Presentation {
    fn new(mut p: Presentation) -> Presentation {
        p.csv = format!(
            "{},{},{},{},{}",
            p.chemical,
            csv_text(&p.chemical_name),
            p.code,
            csv_text(&p.name),
            csv_text(p.chapter)
        );
        p
    }

    /// Its EPD columns from `BNF_CHEMICAL_SUBSTANCE` to `BNF_CHAPTER_PLUS_CODE`.
    fn fields(&self) -> &str {
        &self.csv
    }
}

fn chapter_of(code: &str) -> &'static str {
    match &code[..2] {
        "02" => "02: Cardiovascular System",
        "03" => "03: Respiratory System",
        "04" => "04: Central Nervous System",
        "05" => "05: Infections",
        "06" => "06: Endocrine System",
        "07" => "07: Obstetrics, Gynaecology and Urinary-Tract Disorders",
        "10" => "10: Musculoskeletal and Joint Diseases",
        _ => "01: Gastro-Intestinal System",
    }
}

/// A small, fast, seedable generator (SplitMix64): the same seed gives the same files on any
/// machine and with any version of `rand`.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(parts: &[u64]) -> Self {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for part in parts {
            rng.0 ^= part.wrapping_mul(0xBF58_476D_1CE4_E5B9);
            rng.next();
        }
        rng
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [low, high).
    fn between(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// A whole number of about `mean` (at least 1), with Poisson-like noise.
    fn count(&mut self, mean: f64) -> u64 {
        let noisy = mean + mean.sqrt() * (self.unit() + self.unit() + self.unit() - 1.5) * 2.0;
        noisy.round().max(1.0) as u64
    }
}

fn text_seed(text: &str) -> u64 {
    text.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)
    })
}

/// A practice of the synthetic country.
#[derive(Debug, Clone)]
struct Practice {
    code: String,
    name: String,
    address: [String; 3],
    postcode: String,
    /// Index of its ICB at the start, in the ICB list.
    icb: usize,
    sub_icb: usize,
    list_size: f64,
    /// How far it leans towards what measures count against it (1.0 is typical).
    lean: f64,
}

const STREETS: &[&str] = &[
    "HIGH STREET",
    "STATION ROAD",
    "CHURCH LANE",
    "MARKET PLACE",
    "PARK ROAD",
    "MILL LANE",
    "VICTORIA ROAD",
    "NORTH ROAD",
    "QUEENS ROAD",
    "THE GREEN",
];
const NAMES: &[&str] = &[
    "HIGHFIELD",
    "BROOKSIDE",
    "PARKVIEW",
    "RIVERSIDE",
    "ELM TREE",
    "MEADOWBANK",
    "OAKWOOD",
    "ST JOHN'S",
    "ASHFIELD",
    "BEECHWOOD",
    "CASTLE",
    "ABBEY",
];
const KINDS: &[&str] = &[
    "SURGERY",
    "MEDICAL CENTRE",
    "HEALTH CENTRE",
    "MEDICAL PRACTICE",
];
/// Practice code letters by region (as the first letter of real ones varies by area).
const REGION_LETTERS: &[(&str, char)] = &[
    ("Y56", 'E'),
    ("Y58", 'L'),
    ("Y59", 'G'),
    ("Y60", 'M'),
    ("Y61", 'D'),
    ("Y62", 'P'),
    ("Y63", 'B'),
];

fn practices(spec: &SynthSpec, icbs: &[SynthIcb], base: &[usize]) -> Vec<Practice> {
    let per_icb = spec.practices_per_icb();
    let mut practices = Vec::new();
    for (k, &icb) in base.iter().enumerate() {
        let region = &icbs[icb].region_code;
        let letter = REGION_LETTERS
            .iter()
            .find(|(code, _)| code == region)
            .map_or('Y', |(_, l)| *l);
        for j in 0..per_icb {
            let mut rng = Rng::new(&[spec.seed, text_seed(&icbs[icb].code), j as u64]);
            let number = 10_000 + k * 2_000 + j;
            let name = format!(
                "{} {}",
                NAMES[rng.next() as usize % NAMES.len()],
                KINDS[rng.next() as usize % KINDS.len()]
            );
            let town = short_town(&icbs[icb].name, j);
            practices.push(Practice {
                code: format!("{letter}{:05}", number % 100_000),
                name,
                address: [
                    format!(
                        "{} {}",
                        1 + rng.next() % 200,
                        STREETS[rng.next() as usize % STREETS.len()]
                    ),
                    String::new(),
                    town,
                ],
                postcode: format!(
                    "{}{} {}{}{}",
                    ["PR", "LS", "BS", "NG", "CB", "SE", "NE"][k % 7],
                    1 + rng.next() % 20,
                    rng.next() % 10,
                    char::from(b'A' + (rng.next() % 26) as u8),
                    char::from(b'A' + (rng.next() % 26) as u8)
                ),
                icb,
                sub_icb: j % 3,
                list_size: rng.between(3_000.0, 16_000.0),
                lean: rng.between(0.7, 1.3),
            });
        }
    }
    practices
}

/// A town name from the ICB's name ("NHS Lancashire and South Cumbria Integrated Care Board").
fn short_town(icb_name: &str, j: usize) -> String {
    let words: Vec<&str> = icb_name
        .trim_start_matches("NHS ")
        .split(' ')
        .map(|w| w.trim_matches(|c: char| !c.is_alphabetic()))
        .filter(|w| w.chars().next().is_some_and(char::is_uppercase))
        .filter(|w| !matches!(*w, "Integrated" | "Care" | "Board" | "ICB"))
        .collect();
    words
        .get(j % words.len().max(1))
        .map_or_else(|| "ENGLAND".to_owned(), |w| w.to_uppercase())
}

/// How each ICB leans and moves, per chemical: the ICB effect, its yearly change.
fn icb_lean(spec: &SynthSpec, icb_code: &str, chemical: &str) -> (f64, f64) {
    let mut rng = Rng::new(&[spec.seed, text_seed(icb_code), text_seed(chemical)]);
    let lean = rng.between(0.55, 1.65);
    // Most improve by up to a fifth a year; some drift the wrong way.
    let yearly = if rng.unit() < 0.8 {
        rng.between(-0.2, 0.0)
    } else {
        rng.between(0.0, 0.1)
    };
    (lean, yearly)
}

/// Writes the files for every month of `spec` into `dir`; `icbs` are the ICBs (with their
/// successions) whose codes the files use.
pub fn write_files(
    dir: &Path,
    spec: &SynthSpec,
    icbs: &[SynthIcb],
    measures: &[Measure],
) -> anyhow::Result<Vec<MonthFiles>> {
    anyhow::ensure!(spec.scale > 0.0, "the scale must be more than 0");
    anyhow::ensure!(spec.from <= spec.to, "--from must not be after --to");
    std::fs::create_dir_all(dir)?;
    let base: Vec<usize> = (0..icbs.len())
        .filter(|&i| icbs[i].exists_in(spec.from))
        .collect();
    anyhow::ensure!(
        !base.is_empty(),
        "no ICB existed in {}: load the reference data first",
        spec.from.format("%Y-%m")
    );
    let practices = practices(spec, icbs, &base);
    let (measured, others) = catalogue(measures);
    let mut written = Vec::new();
    for month in spec.months() {
        let stem = format!("{:04}{:02}", month.year(), month.month());
        let csv_name = format!("EPD_{stem}.csv");
        let epd = if spec.zip {
            dir.join(format!("EPD_{stem}.zip"))
        } else {
            dir.join(&csv_name)
        };
        let file = BufWriter::with_capacity(1 << 20, File::create(&epd)?);
        let rows = if spec.zip {
            let mut zip = zip::ZipWriter::new(file);
            let now = chrono::Utc::now();
            let options = zip::write::SimpleFileOptions::default().last_modified_time(
                zip::DateTime::from_date_and_time(
                    u16::try_from(now.year()).unwrap_or(2107),
                    now.month() as u8,
                    now.day() as u8,
                    now.hour() as u8,
                    now.minute() as u8,
                    now.second() as u8,
                )
                .unwrap_or_default(),
            );
            zip.start_file(&csv_name, options)?;
            let rows = write_month(&mut zip, month, spec, icbs, &practices, &measured, &others)?;
            zip.finish()?.flush()?;
            rows
        } else {
            let mut file = file;
            let rows = write_month(&mut file, month, spec, icbs, &practices, &measured, &others)?;
            file.flush()?;
            rows
        };
        let list_sizes = dir.join(format!("gp-reg-pat-prac-all_{stem}.csv"));
        let mut file = BufWriter::new(File::create(&list_sizes)?);
        write_list_sizes(&mut file, month, spec, &practices)?;
        file.flush()?;
        written.push(MonthFiles {
            month,
            epd,
            list_sizes,
            rows,
        });
    }
    Ok(written)
}

/// The ICB a practice is in during `month`: its own, or whoever took over.
fn icb_in(icbs: &[SynthIcb], start: usize, month: NaiveDate) -> usize {
    let mut at = start;
    for _ in 0..8 {
        if icbs[at].exists_in(month) {
            break;
        }
        match icbs[at]
            .successor
            .as_ref()
            .and_then(|s| icbs.iter().position(|i| &i.code == s))
        {
            Some(next) => at = next,
            None => break,
        }
    }
    at
}

/// The practice's list size in `month` (it grows a little each month).
fn list_size(practice: &Practice, spec: &SynthSpec, month: NaiveDate) -> f64 {
    let months = f64::from((month.year() - 2020) * 12 + month.month() as i32);
    practice.list_size
        * (1.0 + 0.0008 * months)
        * (1.0
            + 0.01
                * (Rng::new(&[spec.seed, text_seed(&practice.code), months as u64]).unit() - 0.5))
}

fn write_month(
    out: &mut impl Write,
    month: NaiveDate,
    spec: &SynthSpec,
    icbs: &[SynthIcb],
    practices: &[Practice],
    measured: &[Presentation],
    others: &[Presentation],
) -> std::io::Result<u64> {
    // The current edition (with SNOMED codes) from July 2025, the retired one before.
    let snomed = month >= NaiveDate::from_ymd_opt(2025, 7, 1).unwrap_or(month);
    out.write_all(COLUMNS.join(",").as_bytes())?;
    if snomed {
        write!(out, ",{SNOMED_COLUMN}")?;
    }
    out.write_all(b"\n")?;
    let year_month = format!("{:04}{:02}", month.year(), month.month());
    let years = f64::from(month.year() - 2023) + f64::from(month.month() as i32 - 4) / 12.0;
    let others_each = spec.other_presentations().min(others.len());
    let mut rows = 0;
    for (p, practice) in practices.iter().enumerate() {
        let icb = &icbs[icb_in(icbs, practice.icb, month)];
        let patients = list_size(practice, spec, month);
        let mut rng = Rng::new(&[spec.seed, text_seed(&practice.code), text_seed(&year_month)]);
        let prefix = format!(
            "{year_month},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            icb.region_name.to_uppercase(),
            icb.region_code,
            csv_text(&icb.name.to_uppercase()),
            icb.code,
            csv_text(&format!(
                "{} - {}",
                icb.name.to_uppercase(),
                sub_icb_code(icb, practice.sub_icb)
            )),
            sub_icb_code(icb, practice.sub_icb),
            csv_text(&practice.name),
            practice.code,
            csv_text(&practice.address[0]),
            csv_text(&practice.address[1]),
            csv_text(&practice.address[2]),
            SYNTHETIC_MARKER,
            practice.postcode,
        );
        let row = |out: &mut dyn Write, item: &Presentation, items: u64, quantity: f64| {
            let total = items as f64 * quantity;
            let nic = total * item.unit_cost;
            write!(
                out,
                "{prefix},{},{quantity:.1},{items},{total:.1},{:.3},{nic:.2},{:.5},N",
                item.fields(),
                total * 0.5,
                nic * 0.9217,
            )?;
            if snomed {
                write!(
                    out,
                    ",{}",
                    3_000_000_000 + text_seed(&item.code) % 1_000_000_000
                )?;
            }
            out.write_all(b"\n")
        };
        for item in measured {
            let (icb_lean, yearly) = icb_lean(spec, &icb.code, &item.chemical);
            let lean = (icb_lean * practice.lean * (1.0 + yearly * years)).max(0.05);
            let mean = item.rate * patients / 1000.0;
            match item.kind {
                Kind::Steady => {
                    row(out, item, rng.count(mean), item.quantity)?;
                    rows += 1;
                }
                Kind::Against => {
                    // Rare presentations are only prescribed in some months.
                    let mean = mean * lean;
                    if mean >= 1.0 || rng.unit() < mean {
                        row(out, item, rng.count(mean), item.quantity)?;
                        rows += 1;
                    }
                }
                Kind::Course { short, long } => {
                    let items = rng.count(mean);
                    let long_items = (items as f64 * (0.3 * lean).clamp(0.0, 1.0)).round() as u64;
                    if items > long_items {
                        row(out, item, items - long_items, short)?;
                        rows += 1;
                    }
                    if long_items > 0 {
                        row(out, item, long_items, long)?;
                        rows += 1;
                    }
                }
            }
        }
        let start = (p * 131 + rng.next() as usize % 17) % others.len();
        for k in 0..others_each {
            let item = &others[(start + k * 7) % others.len()];
            let mean = item.rate * patients / 1000.0 * rng.between(0.5, 1.5);
            row(out, item, rng.count(mean), item.quantity)?;
            rows += 1;
        }
    }
    Ok(rows)
}

fn sub_icb_code(icb: &SynthIcb, n: usize) -> String {
    let seed = text_seed(&icb.code) as usize;
    format!(
        "{:02}{}",
        (seed + n * 7) % 100,
        char::from(b'A' + ((seed / 100 + n) % 26) as u8)
    )
}

/// A CSV field, quoted when it needs to be.
fn csv_text(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn write_list_sizes(
    out: &mut impl Write,
    month: NaiveDate,
    spec: &SynthSpec,
    practices: &[Practice],
) -> std::io::Result<()> {
    writeln!(
        out,
        "PUBLICATION,EXTRACT_DATE,TYPE,CODE,POSTCODE,SEX,AGE,NUMBER_OF_PATIENTS"
    )?;
    let date = month.format("%d%b%Y").to_string().to_uppercase();
    for practice in practices {
        let total = list_size(practice, spec, month).round() as u64;
        let male = total * 49 / 100;
        for (sex, n) in [("ALL", total), ("MALE", male), ("FEMALE", total - male)] {
            writeln!(
                out,
                "GP_PRAC_PAT_LIST,{date},GP,{},{},{sex},ALL,{n}",
                practice.code, practice.postcode
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prescribing::library;

    fn icbs() -> Vec<SynthIcb> {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        vec![
            SynthIcb {
                code: "QE1".into(),
                name: "NHS Lancashire and South Cumbria Integrated Care Board".into(),
                region_code: "Y62".into(),
                region_name: "North West".into(),
                valid_from: day(2022, 7, 1),
                valid_to: None,
                successor: None,
            },
            SynthIcb {
                code: "QKK".into(),
                name: "NHS South East London Integrated Care Board".into(),
                region_code: "Y56".into(),
                region_name: "London".into(),
                valid_from: day(2022, 7, 1),
                valid_to: Some(day(2026, 3, 31)),
                successor: Some("QZZ".into()),
            },
            SynthIcb {
                code: "QZZ".into(),
                name: "NHS South London Integrated Care Board".into(),
                region_code: "Y56".into(),
                region_name: "London".into(),
                valid_from: day(2026, 4, 1),
                valid_to: None,
                successor: None,
            },
        ]
    }

    #[test]
    fn every_measure_has_presentations_on_both_sides() {
        let measures = library::shipped().unwrap();
        let (measured, others) = catalogue(&measures);
        for m in &measures {
            assert!(
                measured
                    .iter()
                    .any(|p| m.numerator_codes.matches(p.code.as_bytes())),
                "{} has no numerator presentation",
                m.slug
            );
            if !m.per_1000() {
                assert!(
                    measured
                        .iter()
                        .any(|p| m.denominator_codes.matches(p.code.as_bytes())
                            && (m.numerator_field != m.denominator_field
                                || !m.numerator_codes.matches(p.code.as_bytes()))),
                    "{} has no presentation counted only in its denominator",
                    m.slug
                );
            }
        }
        let mut matcher = Matcher::new(&measures);
        assert!(others.len() > 2700, "enough others for national size");
        assert!(
            others
                .iter()
                .all(|p| matcher.hits(p.code.as_bytes()).is_empty())
        );
        assert!(others.iter().all(|p| p.code.len() == 15));
    }

    #[test]
    fn files_follow_the_published_layout_and_the_icbs_of_their_time() {
        let measures = library::shipped().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let spec = SynthSpec {
            from: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
            scale: 0.0005,
            seed: 7,
            zip: false,
        };
        let files = write_files(dir.path(), &spec, &icbs(), &measures).unwrap();
        assert_eq!(files.len(), 2);
        let march = std::fs::read_to_string(&files[0].epd).unwrap();
        let april = std::fs::read_to_string(&files[1].epd).unwrap();
        assert!(march.starts_with(&COLUMNS.join(",")));
        assert!(april.lines().next().unwrap().ends_with(",SNOMED_CODE"));
        assert_eq!(march.lines().count() as u64, files[0].rows + 1);
        let icb_codes = |text: &str| {
            let mut codes: Vec<String> = text
                .lines()
                .skip(1)
                .map(|l| csv_fields(l)[4].clone())
                .collect();
            codes.sort();
            codes.dedup();
            codes
        };
        assert_eq!(icb_codes(&march), ["QE1", "QKK"]);
        assert_eq!(
            icb_codes(&april),
            ["QE1", "QZZ"],
            "QKK's practices moved to QZZ"
        );
        assert!(march.lines().skip(1).all(|l| l.contains(SYNTHETIC_MARKER)));
        // The same seed gives the same files.
        let again = tempfile::tempdir().unwrap();
        let files_again = write_files(again.path(), &spec, &icbs(), &measures).unwrap();
        assert_eq!(
            std::fs::read(&files_again[0].epd).unwrap(),
            march.as_bytes()
        );
    }

    fn csv_fields(line: &str) -> Vec<String> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_bytes())
            .records()
            .next()
            .unwrap()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn scale_sets_the_size() {
        let spec = |scale| SynthSpec {
            from: NaiveDate::from_ymd_opt(2024, 4, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2025, 3, 1).unwrap(),
            scale,
            seed: 1,
            zip: false,
        };
        assert_eq!(spec(1.0).practices_per_icb(), 150);
        assert_eq!(spec(1.0).other_presentations(), 2700);
        assert_eq!(spec(0.0001).practices_per_icb(), 2);
        assert_eq!(spec(1.0).months().len(), 12);
    }
}
