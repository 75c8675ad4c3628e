//! The words of the demo dataset: local priorities, leads (role titles, never people), RAG
//! narratives, review comments, outcome measures and passphrase words.
//!
//! Kept apart from the generator so the arithmetic reads without the prose. Everything here is
//! invented for the demo; national opportunity titles come from the catalogue, not from here.

/// A local priority an ICB might add: (title, description).
pub const LOCAL_PRIORITIES: [(&str, &str); 16] = [
    (
        "Reducing inappropriate antibiotic prescribing in care homes",
        "Care home pharmacists review antibiotic courses for urinary tract infections against local guidance.",
    ),
    (
        "Medicines waste reduction in primary care",
        "Repeat ordering reviews and patient messages to cut medicines that are ordered but not used.",
    ),
    (
        "Structured medication reviews for people living with frailty",
        "Primary care network pharmacists offer structured reviews to people with moderate or severe frailty.",
    ),
    (
        "Reducing gabapentinoid prescribing",
        "Practice searches and tapering support for long-term pregabalin and gabapentin use.",
    ),
    (
        "Stopping prescribing of over-the-counter medicines for self-care conditions",
        "Signposting minor conditions to community pharmacy in line with national guidance.",
    ),
    (
        "Optimising vitamin D prescribing",
        "Moving maintenance vitamin D to self-care and switching to the best-value products.",
    ),
    (
        "Reducing the anticholinergic burden in older people",
        "Reviews of people over 65 with a high anticholinergic burden score.",
    ),
    (
        "Lipid management in secondary prevention",
        "Finding people after a cardiovascular event who are not on a statin at the recommended dose.",
    ),
    (
        "Optimising heart failure medicines",
        "Titrating heart failure medicines to target doses with community heart failure teams.",
    ),
    (
        "Switching to best-value continuous glucose monitoring",
        "Moving eligible people to the best-value continuous glucose monitoring systems.",
    ),
    (
        "Reducing hypnotic prescribing",
        "Reviews and patient information to reduce long-term Z-drug and benzodiazepine use.",
    ),
    (
        "Safer valproate prescribing",
        "Annual risk acknowledgement and specialist review for everyone prescribed valproate.",
    ),
    (
        "Improving uptake of the Discharge Medicines Service",
        "Hospital teams refer patients to their community pharmacy when they go home.",
    ),
    (
        "Reducing prescribing of oral nutritional supplements",
        "Dietitian-led reviews of oral nutritional supplements against a food-first approach.",
    ),
    (
        "Stoma appliance formulary",
        "A local formulary and a prescription ordering service for stoma products.",
    ),
    (
        "Dressings formulary compliance",
        "Supplying wound care products through a formulary instead of on prescription.",
    ),
];

/// Who leads a workstream: role titles, so no real person is named.
pub const LEADS: [&str; 12] = [
    "Lead pharmacist, prescribing",
    "Head of medicines optimisation",
    "Senior pharmacist, medicines optimisation",
    "Pharmacy technician, care homes",
    "Antimicrobial lead pharmacist",
    "Medicines optimisation pharmacist, primary care",
    "Clinical pharmacist, respiratory",
    "Interface pharmacist",
    "Prescribing support technician",
    "Deputy head of medicines optimisation",
    "Commissioning pharmacist, secondary care",
    "Cardiovascular lead pharmacist",
];

/// How a workstream is run, in a line.
pub const SUMMARIES: [&str; 8] = [
    "Practice searches, pharmacist visits and patient letters across every primary care network.",
    "Switches agreed with the area prescribing committee; practices supported by the prescribing team.",
    "Monthly dashboards to practices, with targeted visits where prescribing is highest.",
    "Clinical system alerts and a formulary change, backed by education sessions.",
    "Joint work with acute trusts through the system medicines optimisation group.",
    "Care home and community teams review residents, supported by pharmacy technicians.",
    "Incentive scheme for primary care networks, with quarterly feedback.",
    "Patient-facing materials and community pharmacy referrals.",
];

/// Narratives for an update on track.
pub const GREEN: [&str; 6] = [
    "Savings are in line with the phased plan. Prescribing data confirms the trend.",
    "Practice visits completed as planned; savings slightly ahead of plan.",
    "Searches shared with every primary care network and switches progressing well. On track for the annual target.",
    "Good engagement from practices this quarter. No risks to the target.",
    "Switches completed in most practices; the remaining ones are booked for next month.",
    "Ahead of plan after the formulary change; monitoring for supply issues.",
];

/// Narratives for an update at risk.
pub const AMBER: [&str; 6] = [
    "Behind plan after a slow start in two primary care networks; extra technician sessions agreed to catch up.",
    "Supply problems delayed some switches. We expect to recover most of the gap by year end.",
    "Savings behind the phased plan while the clinical protocol is reviewed. Recovery plan agreed.",
    "Practice capacity is stretched over winter, so visits have slipped. Monitoring monthly.",
    "Price changes have reduced the saving per item. Target still reachable with wider uptake.",
    "Uptake is uneven between practices; targeted visits planned for the lowest.",
];

/// Narratives for an update off track.
pub const RED: [&str; 5] = [
    "Well behind plan: practice capacity is limited by vacancies. Escalated to the medicines optimisation board.",
    "Drug Tariff price changes have removed much of the achievable saving. Target under review with the region.",
    "Work paused while the formulary decision is reviewed. The target will not be met this year.",
    "The switch was not supported by secondary care colleagues; a revised approach is being agreed.",
    "Reporting problems mean savings are under-recorded; validation under way with the data team.",
];

/// Narratives before any month has been reported.
pub const STARTING: [&str; 4] = [
    "Baseline agreed and searches built. Practice engagement starts next month.",
    "Project plan agreed with clinical leads; first practice visits booked.",
    "Data pack shared with primary care networks. Work begins this quarter.",
    "Lead appointed and governance agreed through the prescribing committee.",
];

/// A regional reviewer's comments on a plan returned to the ICB.
pub const RETURN_COMMENTS: [&str; 5] = [
    "Please add phasing for the local priorities and confirm a lead for every workstream.",
    "Some targets look high against last year's outturn. Please review them and resubmit.",
    "Please add a local priority on antimicrobial stewardship, in line with the regional plan.",
    "Phasing is front-loaded; please explain it or spread the savings across the year.",
    "Please add outcome measures so progress can be seen beyond the savings.",
];

/// A regional reviewer's comments on an agreed plan (most agree without comment).
pub const AGREE_COMMENTS: [&str; 3] = [
    "Agreed. Thank you for a clear and well-evidenced plan.",
    "Agreed. Please keep the region updated on the biosimilar switches.",
    "Agreed, with thanks. Good to see the focus on care homes.",
];

/// An ICB's cover note when it submits its plan.
pub const COVER_NOTES: [&str; 4] = [
    "Our plan as agreed by the ICB's medicines optimisation group. Targets were set with the finance team.",
    "We have added phasing for every workstream and named a lead for each, as the region asked.",
    "Targets follow last year's outturn; the biosimilar switches are phased from the second quarter.",
    "Resubmitted with outcome measures for each national opportunity.",
];

/// An outcome measure someone might track.
#[derive(Debug, Clone, Copy)]
pub struct MeasureTemplate {
    pub name: &'static str,
    pub unit: &'static str,
    pub higher_is_better: bool,
    /// Where an ICB starts: a range to pick the baseline from.
    pub baseline: (f64, f64),
    /// How far the target is from the baseline (in the better direction): a range.
    pub improvement: (f64, f64),
}

const fn measure(
    name: &'static str,
    unit: &'static str,
    higher_is_better: bool,
    baseline: (f64, f64),
    improvement: (f64, f64),
) -> MeasureTemplate {
    MeasureTemplate {
        name,
        unit,
        higher_is_better,
        baseline,
        improvement,
    }
}

/// Measures for a national opportunity, by its catalogue slug (empty for unknown slugs).
pub fn national_measures(slug: &str) -> &'static [MeasureTemplate] {
    const POLYPHARMACY: &[MeasureTemplate] = &[
        measure(
            "% of people on 10 or more medicines who had a structured medication review",
            "%",
            true,
            (18.0, 32.0),
            (8.0, 15.0),
        ),
        measure(
            "People on 10 or more medicines per 1,000 patients",
            "per 1,000 patients",
            false,
            (38.0, 52.0),
            (2.0, 5.0),
        ),
    ];
    const LOW_PRIORITY: &[MeasureTemplate] = &[measure(
        "Low priority prescribing cost per 1,000 patients",
        "£",
        false,
        (1_600.0, 2_600.0),
        (150.0, 400.0),
    )];
    const COST_EFFECTIVE: &[MeasureTemplate] = &[measure(
        "% uptake of best-value generics and biosimilars",
        "%",
        true,
        (55.0, 70.0),
        (8.0, 15.0),
    )];
    const FRAMEWORKS: &[MeasureTemplate] = &[measure(
        "% of secondary care spend through national framework agreements",
        "%",
        true,
        (70.0, 85.0),
        (5.0, 10.0),
    )];
    const ASEPTIC: &[MeasureTemplate] = &[measure(
        "% of aseptic products in standard formulations",
        "%",
        true,
        (40.0, 60.0),
        (10.0, 20.0),
    )];
    const BIOLOGICS: &[MeasureTemplate] = &[measure(
        "% of adalimumab prescribed as a best-value biosimilar",
        "%",
        true,
        (70.0, 85.0),
        (5.0, 10.0),
    )];
    const ANTIDEPRESSANTS: &[MeasureTemplate] = &[measure(
        "People on antidepressants for more than two years per 1,000 patients",
        "per 1,000 patients",
        false,
        (55.0, 75.0),
        (3.0, 8.0),
    )];
    const GLUCOSE: &[MeasureTemplate] = &[measure(
        "% of blood glucose test strips costing less than £10 for 50",
        "%",
        true,
        (50.0, 70.0),
        (10.0, 20.0),
    )];
    const DOAC: &[MeasureTemplate] = &[
        measure(
            "% of DOACs prescribed as best-value",
            "%",
            true,
            (35.0, 55.0),
            (20.0, 30.0),
        ),
        measure(
            "% of people with atrial fibrillation on anticoagulation",
            "%",
            true,
            (84.0, 89.0),
            (2.0, 5.0),
        ),
    ];
    const HYPERTENSION: &[MeasureTemplate] = &[measure(
        "% of people with hypertension treated to target",
        "%",
        true,
        (60.0, 67.0),
        (5.0, 10.0),
    )];
    const INHALERS: &[MeasureTemplate] = &[
        measure(
            "% of inhalers that are low-carbon",
            "%",
            true,
            (25.0, 40.0),
            (8.0, 15.0),
        ),
        measure(
            "Mean carbon footprint per inhaler",
            "kg CO2e",
            false,
            (14.0, 19.0),
            (1.5, 3.5),
        ),
    ];
    const COURSE_LENGTH: &[MeasureTemplate] = &[measure(
        "% of amoxicillin prescriptions for a 5-day course",
        "%",
        true,
        (45.0, 65.0),
        (10.0, 20.0),
    )];
    const OPIOIDS: &[MeasureTemplate] = &[measure(
        "High-dose opioid items per 1,000 patients",
        "per 1,000 patients",
        false,
        (6.0, 11.0),
        (0.8, 2.0),
    )];
    const IV_TO_ORAL: &[MeasureTemplate] = &[measure(
        "% of eligible patients switched from intravenous to oral antibiotics within 24 hours",
        "%",
        true,
        (40.0, 60.0),
        (10.0, 20.0),
    )];
    match slug {
        "polypharmacy" => POLYPHARMACY,
        "low_priority_prescribing" => LOW_PRIORITY,
        "cost_effective_uptake" => COST_EFFECTIVE,
        "commercial_frameworks" => FRAMEWORKS,
        "aseptic_standardisation" => ASEPTIC,
        "best_value_biologics" => BIOLOGICS,
        "antidepressants" => ANTIDEPRESSANTS,
        "blood_glucose_meters_strips" => GLUCOSE,
        "af_doac" => DOAC,
        "hypertension" => HYPERTENSION,
        "inhalers_respiratory_carbon" => INHALERS,
        "antimicrobial_course_length" => COURSE_LENGTH,
        "opioids_chronic_pain" => OPIOIDS,
        "iv_to_oral_antibiotics" => IV_TO_ORAL,
        _ => &[],
    }
}

/// Measures that fit any workstream (local priorities, or opportunities without their own).
pub const GENERAL_MEASURES: [MeasureTemplate; 3] = [
    measure(
        "% of practices taking part",
        "%",
        true,
        (40.0, 65.0),
        (20.0, 30.0),
    ),
    measure(
        "Structured medication reviews completed per 1,000 patients",
        "per 1,000 patients",
        true,
        (8.0, 14.0),
        (3.0, 6.0),
    ),
    measure(
        "Items prescribed per 1,000 patients",
        "per 1,000 patients",
        false,
        (120.0, 180.0),
        (10.0, 25.0),
    ),
];

/// Words for demo passphrases: short, common, unambiguous when read aloud.
pub const PASSPHRASE_WORDS: [&str; 64] = [
    "amber", "anchor", "apple", "autumn", "badger", "barley", "beacon", "bramble", "breeze",
    "bridge", "candle", "canyon", "cedar", "cobalt", "comet", "copper", "coral", "cotton",
    "crystal", "dolphin", "ember", "falcon", "fern", "fiddle", "forest", "garnet", "glacier",
    "harbour", "hazel", "heron", "indigo", "island", "juniper", "kestrel", "kettle", "lantern",
    "lemon", "linen", "maple", "meadow", "marble", "meteor", "nutmeg", "orchard", "otter",
    "pebble", "pepper", "pillow", "quartz", "raven", "ribbon", "river", "saffron", "salmon",
    "silver", "spruce", "thistle", "timber", "tulip", "velvet", "violet", "walnut", "willow",
    "yonder",
];
