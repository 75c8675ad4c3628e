//! Board reports in Chromium: an ICB editor opens the board report from the dashboard and a
//! reviewer the region's assurance report from the roll-up; both pages pass every page check
//! (axe-core at 1280 and 320 px, no sideways scrolling, structure), and both print to A4
//! PDFs (through the DevTools protocol's `Page.printToPDF`, as the print dialog would) with a
//! sane number of pages. The PDFs are kept under `target/browser-reports/` to look at.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use medopt::auth::Role;
use serde_json::json;
use sqlx::PgPool;

use crate::browser::Browser;
use crate::harness::browser_test;

/// A plan for QE1 in 2024/25 with six workstreams (RAG, actuals, narratives, a measure each),
/// and plans for the two other ICBs of the North West.
async fn plant(pool: &PgPool) {
    let statements = [
        "insert into plan (icb_id, programme_year_id, status, submitted_at, reviewed_at)
         select i.icb_id, y.programme_year_id, 'agreed', now() - interval '40 days', now() - interval '30 days'
         from icb i, programme_year y
         where i.ods_code in ('QE1', 'QOP', 'QYG') and y.starts_on = '2024-04-01'",
        "insert into workstream (icb_id, plan_id, opportunity_id, lead_name, annual_target_pence, rag)
         select p.icb_id, p.plan_id, o.opportunity_id, 'Lead pharmacist', 1200000 * o.number,
                (array['red', 'amber', 'green']::rag_status[])[1 + o.number % 3]
         from plan p join opportunity o on o.programme_year_id = p.programme_year_id
         where o.number <= 6",
        "insert into workstream_month (workstream_id, icb_id, month, planned_pence, actual_pence)
         select w.workstream_id, w.icb_id, m::date, w.annual_target_pence / 12,
                case when m < '2024-10-01' then w.annual_target_pence / 12 * (70 + w.workstream_id % 50) / 100 end
         from workstream w, generate_series('2024-04-01'::date, '2025-03-01', interval '1 month') m",
        "insert into workstream_update (workstream_id, icb_id, rag, narrative, author_name)
         select w.workstream_id, w.icb_id, w.rag,
                'Prescribing data for the quarter shows the switch progressing in most practices; '
                || 'two primary care networks need more support from the medicines optimisation team.',
                'Lead pharmacist'
         from workstream w",
        "insert into measure (workstream_id, icb_id, name, unit, direction, baseline_value, baseline_month, target_value, target_month)
         select w.workstream_id, w.icb_id, 'Share of items prescribed as the preferred product', '%',
                'higher_is_better', 40, '2024-03-01', 75, '2025-03-01'
         from workstream w",
        "insert into measure_value (measure_id, icb_id, month, value)
         select m.measure_id, m.icb_id, '2024-09-01', 55.5 from measure m",
    ];
    // One transaction: a workstream's phasing must add up to its target when it commits.
    let mut tx = pool.begin().await.expect("a transaction");
    for statement in statements {
        sqlx::query(statement)
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("planting the report's data: {e}\n{statement}"));
    }
    tx.commit().await.expect("the report's data adds up");
}

/// Where a test's PDFs are kept: `<target>/browser-reports/`.
fn report_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|dir| manifest.join(dir))
        .unwrap_or_else(|| manifest.join("target"));
    target.join("browser-reports")
}

/// The page shown, printed as the browser prints it (A4 from the page's `@page` rule, with
/// background colours), saved as `name`; returns the PDF.
async fn print_to_pdf(browser: &Browser, name: &str) -> Vec<u8> {
    let printed = browser
        .driver()
        .cdp()
        .send_raw(
            "Page.printToPDF",
            json!({ "printBackground": true, "preferCSSPageSize": true }),
        )
        .await
        .unwrap_or_else(|e| panic!("the page could not be printed: {e}"));
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(printed["data"].as_str().expect("PDF data"))
        .expect("base64 PDF");
    let dir = report_dir();
    std::fs::create_dir_all(&dir).expect("a folder for the PDFs");
    std::fs::write(dir.join(name), &pdf).expect("the PDF is saved");
    pdf
}

/// The number of pages of a PDF: its page objects (`/Type /Page`, not `/Pages`), checked
/// against the page tree's `/Count`.
fn page_count(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    let pages = text
        .match_indices("/Type")
        .filter(|(at, _)| {
            let rest = text[at + 5..].trim_start();
            rest.starts_with("/Page") && !rest.starts_with("/Pages")
        })
        .count();
    let counted = text.match_indices("/Count").filter_map(|(at, _)| {
        text[at + 6..]
            .trim_start()
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse::<usize>().ok())
    });
    assert_eq!(
        counted.max(),
        Some(pages),
        "the page tree disagrees with the page objects"
    );
    pages
}

#[sqlx::test]
async fn board_reports_pass_the_page_checks_and_print_on_a_few_a4_pages(pool: PgPool) {
    browser_test(
        "board_reports_pass_the_page_checks_and_print_on_a_few_a4_pages",
        pool,
        |site| async move {
            plant(site.pool()).await;
            let editor = site.user(Role::IcbEditor, Some("QE1")).await;
            let reviewer = site.user(Role::RegionReviewer, Some("Y62")).await;

            let ed = site.open_browser("editor").await;
            ed.sign_in_as(&editor).await;
            ed.visit("/icbs/QE1/2024-25").await;
            ed.click_link("Board report").await;
            assert_eq!(
                ed.heading().await,
                "Medicines optimisation board report, 2024/25"
            );
            assert_eq!(ed.texts("#workstreams tbody tr").await.len(), 6);
            let pdf = print_to_pdf(&ed, "icb-report.pdf").await;
            assert!(pdf.starts_with(b"%PDF-"));
            let pages = page_count(&pdf);
            assert!(
                (2..=6).contains(&pages),
                "the ICB report printed on {pages} pages"
            );

            let rv = site.open_browser("reviewer").await;
            rv.sign_in_as(&reviewer).await;
            rv.visit("/regions/Y62/2024-25").await;
            rv.click_link("Assurance report").await;
            assert_eq!(
                rv.heading().await,
                "Medicines optimisation assurance report, 2024/25"
            );
            let pdf = print_to_pdf(&rv, "region-report.pdf").await;
            let pages = page_count(&pdf);
            assert!(
                (2..=10).contains(&pages),
                "the region's report printed on {pages} pages"
            );
        },
    )
    .await;
}
