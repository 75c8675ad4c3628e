//! Journey 4: an ICB editor downloads a month's template, fills it in with a mistake, uploads
//! it and sees the problem reported by row and column; fixes the file, checks the changes and
//! applies them.

use medopt::auth::Role;
use medopt::demo::{self, DemoSpec};
use sqlx::PgPool;

use crate::harness::browser_test;

#[sqlx::test]
async fn an_editor_imports_a_month_and_corrects_a_mistake_first(pool: PgPool) {
    browser_test(
        "an_editor_imports_a_month_and_corrects_a_mistake_first",
        pool,
        |site| async move {
            let today = medopt::clock::Clock::system().today();
            demo::load(site.pool(), &DemoSpec::demo(today), today)
                .await
                .expect("the demo dataset loads");
            let editor = site.user(Role::IcbEditor, Some("QE1")).await;
            let b = site.open_browser("editor").await;
            b.sign_in_as(&editor).await;
            assert_eq!(b.heading().await, "2026/27 dashboard");
            b.click_link("2024/25").await;
            assert_eq!(b.heading().await, "2024/25 dashboard");

            b.click_link("Import a month's figures from a CSV file").await;
            assert_eq!(b.heading().await, "Import monthly figures");
            b.select_option("Month", "March 2025").await;
            let template = b.download_by_button("Download the template").await;
            assert_eq!(template.file_name, "medopt-import-QE1-2025-03.csv");
            let text = template.text();
            assert!(text.starts_with("icb_code,month,row_type,workstream_id"));

            // The first saving row gets an amount with three decimal places.
            let folder = tempfile::tempdir().expect("a folder for the file");
            let file = folder.path().join("march.csv");
            let (wrong, workstream_id) = with_first_actual(&text, "12,345.678");
            std::fs::write(&file, wrong).expect("file written");
            b.attach_file("CSV file", &file).await;
            b.press_button("Check the file").await;
            assert_eq!(
                b.texts("#import-problems tbody td").await,
                [
                    "2",
                    "I (actual_saving_gbp)",
                    "Enter no more than 2 decimal places (pence)"
                ]
            );
            b.follow_every_error(&["file"]).await;

            let (right, _) = with_first_actual(&text, "12,345.67");
            std::fs::write(&file, right).expect("file written");
            b.attach_file("CSV file", &file).await;
            b.press_button("Check the file").await;
            assert_eq!(b.texts("#import-changes tbody tr").await.len(), 1);
            assert_eq!(b.text("#import-changes [data-col=after]").await, "£12,345.67");
            b.press_button("Apply these changes").await;
            assert_eq!(b.text("#notice").await, "1 figure was imported.");

            let saved: Option<i64> = sqlx::query_scalar(
                "select actual_pence from workstream_month where workstream_id = $1 and month = '2025-03-01'",
            )
            .bind(workstream_id)
            .fetch_one(site.pool())
            .await
            .expect("the month's row");
            assert_eq!(saved, Some(1_234_567));
        },
    )
    .await;
}

/// The template `text` with the first saving row's actual set to `amount`, and that row's
/// workstream id.
fn with_first_actual(text: &str, amount: &str) -> (String, i32) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().expect("a header row").clone();
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&header).expect("header written");
    let mut workstream = None;
    for record in reader.records() {
        let mut row: Vec<String> = record.expect("a row").iter().map(str::to_owned).collect();
        if workstream.is_none() && row[2] == "saving" {
            workstream = row[3].parse().ok();
            row[8] = amount.to_owned();
        }
        writer.write_record(&row).expect("row written");
    }
    let bytes = writer.into_inner().expect("the file");
    (
        String::from_utf8(bytes).expect("UTF-8"),
        workstream.expect("a saving row"),
    )
}
