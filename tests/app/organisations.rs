//! `/organisations`: the 7 regions and their ICBs, closed ICBs marked.

use std::collections::BTreeMap;

use sqlx::PgPool;

use crate::common::{TestApp, sel, text_of, texts};

#[sqlx::test]
async fn database_holds_7_regions_and_42_icbs_in_the_right_regions(pool: PgPool) {
    let _app = TestApp::new(pool.clone()).await;
    let counts: BTreeMap<String, i64> = sqlx::query_as(
        "select r.ods_code, count(i.icb_id) from region r left join icb i using (region_id)
         group by r.ods_code",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    let expected: BTreeMap<String, i64> = [
        ("Y56", 5),
        ("Y58", 7),
        ("Y59", 6),
        ("Y60", 11),
        ("Y61", 6),
        ("Y62", 3),
        ("Y63", 4),
    ]
    .into_iter()
    .map(|(c, n)| (c.to_string(), n))
    .collect();
    assert_eq!(counts, expected);

    let closed: Vec<(String, chrono::NaiveDate)> = sqlx::query_as(
        "select ods_code, valid_to from icb where valid_to is not null order by ods_code",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(closed.len(), 12);
    assert!(closed.iter().all(|(_, d)| d.to_string() == "2026-03-31"));
    let valid_from: Vec<chrono::NaiveDate> =
        sqlx::query_scalar("select distinct valid_from from icb")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        valid_from,
        vec![chrono::NaiveDate::from_ymd_opt(2022, 7, 1).unwrap()]
    );
}

#[sqlx::test]
async fn page_lists_each_region_with_its_icbs(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let response = app.get("/organisations").await;
    assert_eq!(response.status, 200);
    let html = response.html();

    let sections: Vec<_> = html.select(&sel("section.region")).collect();
    assert_eq!(sections.len(), 7, "one section per region");
    let mut icbs_by_region = BTreeMap::new();
    for section in &sections {
        let heading = section
            .select(&sel("h2"))
            .next()
            .map(|h| text_of(&h))
            .unwrap();
        let codes: Vec<String> = section
            .select(&sel("tbody tr"))
            .map(|row| {
                row.select(&sel("td"))
                    .next()
                    .map(|td| text_of(&td))
                    .unwrap()
            })
            .collect();
        icbs_by_region.insert(heading, codes);
    }
    assert_eq!(icbs_by_region.values().map(Vec::len).sum::<usize>(), 42);
    let north_west = &icbs_by_region["North West Region Y62"];
    assert_eq!(
        north_west,
        &["QYG", "QOP", "QE1"],
        "North West ICBs, by name"
    );
    assert_eq!(icbs_by_region["London Region Y56"].len(), 5);
    assert_eq!(icbs_by_region["Midlands Region Y60"].len(), 11);
}

#[sqlx::test]
async fn closed_icbs_show_the_date_they_closed(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let html = app.get("/organisations").await.html();
    let mut closed = Vec::new();
    for row in html.select(&sel("tbody tr")) {
        let cells: Vec<String> = row.select(&sel("td")).map(|td| text_of(&td)).collect();
        let status = row
            .select(&sel(".nhsuk-tag"))
            .next()
            .map(|t| text_of(&t))
            .unwrap();
        if status != "Open" {
            assert_eq!(status, "Closed 31 March 2026", "{cells:?}");
            closed.push(cells[0].clone());
        }
    }
    closed.sort();
    assert_eq!(
        closed,
        [
            "QH8", "QHG", "QJG", "QM7", "QMJ", "QMM", "QNQ", "QNX", "QRV", "QU9", "QUE", "QXU"
        ]
    );
    // Lancashire and South Cumbria carries on.
    let qe1 = html
        .select(&sel(r#"tr[data-ods-code="QE1"] .nhsuk-tag"#))
        .next()
        .unwrap();
    assert_eq!(text_of(&qe1), "Open");
    assert_eq!(texts(&html, "h1"), ["Regions and integrated care boards"]);
}

#[sqlx::test]
async fn organisations_link_to_the_pages_each_viewer_may_open(pool: PgPool) {
    use medopt::auth::Role;
    let app = TestApp::new(pool).await;
    let linked = |html: &scraper::Html| -> Vec<String> {
        html.select(&sel("section.region a"))
            .map(|a| a.value().attr("href").unwrap().to_owned())
            .collect()
    };
    assert!(
        linked(&app.get("/organisations").await.html()).is_empty(),
        "visitors get no links"
    );

    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;
    let analyst = app.user(Role::NationalAnalyst, None).await;
    for (user, expected_len) in [(&editor, 1), (&reviewer, 4), (&analyst, 49)] {
        let mut browser = app.login_as(user).await;
        let links = linked(&browser.get("/organisations").await.html());
        assert_eq!(links.len(), expected_len, "{:?}: {links:?}", user.role);
        for link in links {
            assert_eq!(
                browser.get(&link).await.status,
                200,
                "{:?} {link}",
                user.role
            );
        }
    }
}
