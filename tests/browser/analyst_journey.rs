//! Journey 3: an NHS England analyst signs in (landing on the national roll-up), drills down
//! to a region and one of its ICBs and back up its breadcrumbs, then chooses export filters and
//! downloads a CSV without applying them first, and checks its header and rows.

use medopt::auth::Role;
use medopt::demo::{self, DemoSpec};
use medopt::exports::DATASETS;
use sqlx::PgPool;

use crate::harness::browser_test;

#[sqlx::test]
async fn an_analyst_drills_down_from_england_to_an_icb_and_downloads_the_figures(pool: PgPool) {
    browser_test(
        "an_analyst_drills_down_from_england_to_an_icb_and_downloads_the_figures",
        pool,
        |site| async move {
            let today = medopt::clock::Clock::system().today();
            demo::load(site.pool(), &DemoSpec::demo(today), today)
                .await
                .expect("the demo dataset loads");
            let analyst = site.user(Role::NationalAnalyst, None).await;
            let b = site.open_browser("analyst").await;
            b.sign_in_as(&analyst).await;
            assert_eq!(b.heading().await, "National roll-up, 2026/27");
            // At a laptop's width the figures people compare are in view without scrolling.
            crate::month_journey::columns_in_view(
                &b,
                "#region-figures",
                &["Target to date", "Actual to date", "% of target to date", "Forecast outturn"],
            )
            .await;
            assert_eq!(b.texts("#region-figures tbody th").await.len(), 7);
            assert_eq!(b.text("#national-totals [data-col=icbs]").await, "36");

            b.click_link("North West").await;
            assert_eq!(b.heading().await, "Regional roll-up, 2026/27");
            assert_eq!(
                b.texts("#icb-figures tbody th a").await,
                [
                    "Cheshire and Merseyside",
                    "Greater Manchester",
                    "Lancashire and South Cumbria"
                ]
            );
            crate::month_journey::columns_in_view(
                &b,
                "#icb-figures",
                &["Target to date", "Actual to date", "% of target to date", "Forecast outturn"],
            )
            .await;
            let actual_in_region = b
                .text("#icb-figures tr[data-ods-code=QE1] [data-col=actual_to_date]")
                .await;

            b.click_link("Lancashire and South Cumbria").await;
            assert_eq!(b.heading().await, "2026/27 dashboard");
            assert_eq!(
                b.text("[data-figure=actual_to_date] dd").await,
                actual_in_region,
                "the roll-up shows the ICB's own figure"
            );
            assert_eq!(
                b.texts("#breadcrumbs a").await,
                ["Home", "England", "North West", "Lancashire and South Cumbria"]
            );
            b.click_link("Plan against actual").await;
            assert_eq!(b.heading().await, "2026/27 plan against actual");
            b.click_link("North West").await;
            assert_eq!(b.heading().await, "Regional roll-up, 2026/27");

            b.click_link("Home").await;
            b.click_link("Download data as CSV").await;
            assert_eq!(b.heading().await, "Download data as CSV");
            b.select_option("Programme year", "2024/25").await;
            b.select_option("Region", "North West").await;
            // No "Apply filters": the download takes the filters as chosen.
            let file = b
                .download_by_button("Download monthly savings (CSV)")
                .await;
            assert_eq!(file.file_name, "medopt-monthly-savings-2024-25-Y62.csv");

            let text = file.text();
            let mut reader = csv::Reader::from_reader(text.as_bytes());
            let header: Vec<String> = reader
                .headers()
                .expect("a header row")
                .iter()
                .map(str::to_owned)
                .collect();
            let documented: Vec<&str> = DATASETS
                .iter()
                .find(|d| d.slug == "monthly-savings")
                .map(|d| d.columns.iter().map(|c| c.name).collect())
                .unwrap_or_default();
            assert_eq!(header, documented);
            let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a row")).collect();
            let expected: i64 = sqlx::query_scalar(
                "select count(*) from workstream_month m
                 join workstream w using (workstream_id, icb_id)
                 join plan p on p.plan_id = w.plan_id
                 join icb i on i.icb_id = w.icb_id
                 join region r on r.region_id = i.region_id
                 where r.ods_code = 'Y62' and w.removed_at is null
                   and p.programme_year_id = (select programme_year_id from programme_year where starts_on = '2024-04-01')",
            )
            .fetch_one(site.pool())
            .await
            .expect("a count");
            assert_eq!(rows.len() as i64, expected);
            assert!(rows.iter().all(|r| &r[0] == "2024/25" && &r[1] == "Y62"));
        },
    )
    .await;
}
