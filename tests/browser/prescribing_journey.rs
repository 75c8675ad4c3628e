//! Journey: an NHS England analyst looks at the national prescribing data. From the national
//! roll-up's prescribing tables to a region's, then to an ICB's measures against England (the
//! charts with their tables) and the measure library: every page checked like the others.

use chrono::NaiveDate;
use medopt::auth::Role;
use medopt::demo::{self, DemoSpec};
use medopt::prescribing::import::{self, ImportOptions};
use medopt::prescribing::synth::{self, SynthSpec};
use medopt::prescribing::{command, library};
use sqlx::PgPool;

use crate::harness::browser_test;

/// Three months of small synthetic prescribing, March (the 2024/25 baseline) to May 2024.
async fn load_prescribing(pool: &PgPool) {
    let mut conn = pool.acquire().await.expect("a connection");
    let icbs = command::synth_icbs(&mut conn).await.expect("ICBs");
    let measures: Vec<library::Measure> = library::stored(&mut conn)
        .await
        .expect("the measure library")
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    drop(conn);
    let dir = tempfile::tempdir().expect("a directory");
    let spec = SynthSpec {
        from: NaiveDate::from_ymd_opt(2024, 3, 1).expect("a month"),
        to: NaiveDate::from_ymd_opt(2024, 5, 1).expect("a month"),
        scale: 0.0004,
        seed: 5,
        zip: false,
    };
    let files = synth::write_files(dir.path(), &spec, &icbs, &measures).expect("files");
    for f in &files {
        import::load_list_sizes(pool, &f.list_sizes, None)
            .await
            .expect("list sizes load");
        import::import_file(pool, &f.epd, &ImportOptions::default())
            .await
            .expect("a month imports");
    }
}

#[sqlx::test]
async fn an_analyst_follows_the_prescribing_measures_from_england_to_an_icb(pool: PgPool) {
    browser_test(
        "an_analyst_follows_the_prescribing_measures_from_england_to_an_icb",
        pool,
        |site| async move {
            let today = medopt::clock::Clock::system().today();
            demo::load(site.pool(), &DemoSpec::demo(today), today)
                .await
                .expect("the demo dataset loads");
            load_prescribing(site.pool()).await;
            let analyst = site.user(Role::NationalAnalyst, None).await;
            let b = site.open_browser("analyst").await;
            b.sign_in_as(&analyst).await;

            // Analysts land on the current year's national roll-up; this data is 2024/25's.
            assert!(b.heading().await.starts_with("National roll-up, "));
            b.click_link("2024/25").await;
            assert_eq!(b.heading().await, "National roll-up, 2024/25");
            assert!(b.has("#prescribing .app-prescribing__rollup").await);
            assert!(
                b.text("#prescribing .app-prescribing__latest")
                    .await
                    .contains("May 2024")
            );
            b.click_link("North West regional roll-up").await;
            assert_eq!(b.heading().await, "Regional roll-up, 2024/25");
            let icbs = b.texts("#prescribing tbody th a").await;
            assert!(
                !icbs.is_empty(),
                "the region's ICBs chose measured opportunities"
            );
            b.click_link(&icbs[0]).await;
            assert_eq!(b.heading().await, "Prescribing measures, 2024/25");
            assert!(b.has("svg.medopt-chart--deciles").await);

            b.click_link("How the measures are defined").await;
            assert_eq!(b.heading().await, "Prescribing measures");
            assert_eq!(b.texts("#months-loaded tbody tr").await.len(), 3);
        },
    )
    .await;
}
