//! `/organisations`: the 7 regions and their ICBs, closed ICBs marked with what happened to
//! them; ICBs with five-character ODS codes; plans only for years an ICB existed in.

use std::collections::BTreeMap;

use sqlx::PgPool;

use crate::common::{TestApp, sel, text_of, texts};

#[sqlx::test]
async fn database_holds_7_regions_and_48_icbs_in_the_right_regions(pool: PgPool) {
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
    // The 42 ICBs of July 2022 and the 6 formed on 1 April 2026.
    let expected: BTreeMap<String, i64> = [
        ("Y56", 6),
        ("Y58", 7),
        ("Y59", 8),
        ("Y60", 11),
        ("Y61", 9),
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
    let valid_from: Vec<(chrono::NaiveDate, i64)> = sqlx::query_as(
        "select valid_from, count(*) from icb group by valid_from order by valid_from",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
    assert_eq!(valid_from, [(day(2022, 7, 1), 42), (day(2026, 4, 1), 6)]);
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
    assert_eq!(icbs_by_region.values().map(Vec::len).sum::<usize>(), 48);
    let north_west = &icbs_by_region["North West Region Y62"];
    assert_eq!(
        north_west,
        &["QYG", "QOP", "QE1"],
        "North West ICBs, by name"
    );
    assert_eq!(icbs_by_region["London Region Y56"].len(), 6);
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
async fn what_happened_to_each_icb_is_said_in_plain_words(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let html = app.get("/organisations").await.html();
    let history = |code: &str| {
        texts(
            &html,
            &format!(r#"tr[data-ods-code="{code}"] .icb-history"#),
        )
    };
    assert_eq!(
        history("QNQ"),
        [
            "Succeeded by NHS Hampshire and Isle of Wight Integrated Care Board (QRL), \
          NHS Surrey and Sussex Integrated Care Board (S9B9J) and \
          NHS Thames Valley Integrated Care Board (S0E4D) from 1 April 2026."
        ]
    );
    assert_eq!(
        history("QHG"),
        ["Succeeded by NHS Central East Integrated Care Board (S1Y5D) from 1 April 2026."]
    );
    assert_eq!(
        history("S1Y5D"),
        ["Formed on 1 April 2026 from \
          NHS Bedfordshire, Luton and Milton Keynes Integrated Care Board (QHG), \
          NHS Cambridgeshire and Peterborough Integrated Care Board (QUE) and \
          part of NHS Hertfordshire and West Essex Integrated Care Board (QM7)."]
    );
    assert_eq!(
        history("QRL"),
        ["Took on part of NHS Frimley Integrated Care Board (QNQ) from 1 April 2026."]
    );
    assert!(history("QE1").is_empty(), "nothing happened to QE1");
    // Every status cell says only the state and what happened: no research notes.
    for cell in html.select(&sel("tbody td:nth-child(3)")) {
        let text = text_of(&cell);
        let words = text
            .strip_prefix("Open")
            .or_else(|| text.strip_prefix("Closed 31 March 2026"))
            .unwrap_or_else(|| panic!("status: {text}"))
            .trim();
        assert!(
            words.is_empty()
                || ["Succeeded by ", "Formed on ", "Took on "]
                    .iter()
                    .any(|start| words.starts_with(start)),
            "{text}"
        );
        for note in ["LMC", "unverified", "likely", "per "] {
            assert!(!text.contains(note), "{text}");
        }
    }
}

/// ODS codes of the new five-character kind work everywhere an ICB is named: addresses (in
/// any case), the admin form, export filters.
#[sqlx::test]
async fn five_character_ods_codes_work_like_three_character_ones(pool: PgPool) {
    use medopt::auth::Role;
    let app = TestApp::new(pool).await;
    let editor = app.user(Role::IcbEditor, Some("S1Y5D")).await;
    let mut browser = app.login_as(&editor).await;
    let page = browser.get("/icbs/s1y5d").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        texts(&page.html(), "h1"),
        ["NHS Central East Integrated Care Board"]
    );
    let export = browser.get("/exports/plans.csv?icb=S1Y5D").await;
    assert_eq!(export.status, 200);

    let admin = app.user(Role::Admin, None).await;
    let mut browser = app.login_as(&admin).await;
    for (code, accepted) in [
        ("A1B2C", true),
        ("q9z", true),
        ("A1B2", false),
        ("A1B2C3", false),
    ] {
        let response = browser
            .post(
                "/admin/organisations/icbs",
                &[
                    ("ods_code", code),
                    ("name", &format!("NHS Test {code} Integrated Care Board")),
                    ("region", "Y62"),
                    ("valid_from", "2027-04-01"),
                ],
            )
            .await;
        if accepted {
            assert_eq!(response.status, 303, "{code}: {}", response.body);
        } else {
            assert_eq!(response.status, 422, "{code}");
            assert_eq!(
                response.field_error("ods_code").as_deref(),
                Some(
                    "Error: Enter the ICB's ODS code: 3 or 5 letters or digits, for example QE1 or S1Y5D"
                ),
                "{code}"
            );
        }
    }
    let added: Vec<String> =
        sqlx::query_scalar("select ods_code from icb where valid_from = '2027-04-01' order by 1")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(added, ["A1B2C", "Q9Z"]);
}

#[sqlx::test]
async fn an_icb_has_plans_only_for_years_it_existed_in(pool: PgPool) {
    use medopt::auth::Role;
    let app = TestApp::new(pool).await;
    // An ICB abolished on 31 March 2025, its editor signed in from before.
    let editor = app.user(Role::IcbEditor, Some("QOX")).await;
    let mut theirs = app.login_as(&editor).await;
    let admin = app.user(Role::Admin, None).await;
    let mut browser = app.login_as(&admin).await;
    let added = browser
        .post(
            "/admin/organisations/icbs",
            &[
                ("ods_code", "W1X2Y"),
                ("name", "NHS Wessex Integrated Care Board"),
                ("region", "Y58"),
                ("valid_from", "2025-04-01"),
            ],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    let merged = browser
        .post(
            "/admin/organisations/successions",
            &[
                ("predecessors", "QOX"),
                ("successor", "W1X2Y"),
                ("effective_from", "2025-04-01"),
            ],
        )
        .await;
    assert_eq!(merged.status, 303, "{}", merged.body);

    let name = "NHS Bath and North East Somerset, Swindon and Wiltshire Integrated Care Board";
    let refused = theirs.post("/icbs/QOX/plans", &[("year", "2025-26")]).await;
    assert_eq!(refused.status, 422);
    assert_eq!(
        texts(&refused.html(), ".nhsuk-error-summary__list a"),
        [format!(
            "{name} closed on 31 March 2025, so it cannot have a plan for 2025/26"
        )]
    );
    let page = theirs.get("/icbs/QOX").await.html();
    assert_eq!(
        texts(&page, r#"tr[data-year="2025-26"] .plan-status"#),
        ["After the ICB closed"]
    );
    assert!(page.select(&sel("#start-2025-26")).next().is_none());
    assert_eq!(
        theirs
            .post("/icbs/QOX/plans", &[("year", "2024-25")])
            .await
            .location(),
        Some("/icbs/QOX/2024-25/plan")
    );

    // An ICB formed on 1 April 2026 has no plan for earlier years.
    let editor = app.user(Role::IcbEditor, Some("S1Y5D")).await;
    let mut theirs = app.login_as(&editor).await;
    let refused = theirs
        .post("/icbs/S1Y5D/plans", &[("year", "2023-24")])
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(
        texts(&refused.html(), ".nhsuk-error-summary__list a"),
        [
            "NHS Central East Integrated Care Board was formed on 1 April 2026, so it cannot have a plan for 2023/24"
        ]
    );
    assert_eq!(
        theirs
            .post("/icbs/S1Y5D/plans", &[("year", "2026-27")])
            .await
            .location(),
        Some("/icbs/S1Y5D/2026-27/plan")
    );
    let plans: Vec<(String, String)> = sqlx::query_as(
        "select i.ods_code, y.starts_on::text from plan p join icb i using (icb_id)
         join programme_year y using (programme_year_id) order by 1, 2",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        plans,
        [
            ("QOX".to_owned(), "2024-04-01".to_owned()),
            ("S1Y5D".to_owned(), "2026-04-01".to_owned())
        ]
    );
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
    for (user, expected_len) in [(&editor, 1), (&reviewer, 4), (&analyst, 55)] {
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
