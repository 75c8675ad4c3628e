//! Finding your way, through the router: where each role lands after signing in, the
//! breadcrumbs of ICB pages (as far as the role reaches, every link one the user may open),
//! the menu's catalogue link, the export page's download buttons (which take the filters as
//! chosen, applied or not), and counts written in words that agree with them.

use medopt::auth::Role;
use sqlx::PgPool;

use crate::common::{PASSWORD, TestApp, sel, text_of, texts};
use crate::plans::{BASE, PLAN, choose};
use crate::seed::{self, Ws};

#[sqlx::test]
async fn each_role_lands_on_its_own_page_for_the_year(pool: PgPool) {
    // A day in 2024/25, so the landing year is fixed whatever today is.
    let app = TestApp::at(pool, chrono::NaiveDate::from_ymd_opt(2024, 11, 30).unwrap()).await;
    let cases = [
        (Role::IcbEditor, Some("QE1"), "/icbs/QE1/2024-25"),
        (Role::IcbViewer, Some("QE1"), "/icbs/QE1/2024-25"),
        (Role::RegionReviewer, Some("Y62"), "/regions/Y62/2024-25"),
        (Role::NationalAnalyst, None, "/national/2024-25"),
        (Role::Admin, None, "/"),
    ];
    for (role, org, landing) in cases {
        let user = app.user(role, org).await;
        let mut browser = app.browser();
        let mut response = browser.sign_in(&user.email, PASSWORD).await;
        if let Some(secret) = user.two_step_secret {
            // Reviewers and administrators pass two-step verification first.
            assert_eq!(response.location(), Some("/login/two-step"), "{role}");
            response = browser
                .submit_code(&crate::common::current_code(secret))
                .await;
        }
        assert_eq!(response.location(), Some(landing), "{role}");
        assert_eq!(browser.get(landing).await.status, 200, "{role}");
    }
    // Asking for a page still leads there.
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;
    let mut browser = app.browser();
    browser
        .sign_in_next(&reviewer.email, PASSWORD, "/icbs/QE1")
        .await;
    let secret = reviewer.two_step_secret.expect("reviewers have two-step");
    let response = browser
        .submit_code(&crate::common::current_code(secret))
        .await;
    assert_eq!(response.location(), Some("/icbs/QE1"));
}

/// The breadcrumb links of `path` as `user` sees them: (text, href).
async fn crumbs(app: &TestApp, role: Role, org: Option<&str>, path: &str) -> Vec<(String, String)> {
    let user = app.user(role, org).await;
    let mut browser = app.login_as(&user).await;
    let page = browser.get(path).await;
    assert_eq!(page.status, 200, "{path}");
    let found: Vec<(String, String)> = page
        .html()
        .select(&sel("#breadcrumbs a"))
        .map(|a| (text_of(&a), a.value().attr("href").unwrap().to_owned()))
        .collect();
    for (_, href) in &found {
        assert_eq!(browser.get(href).await.status, 200, "{role}: {href}");
    }
    found
}

fn crumb(text: &str, href: &str) -> (String, String) {
    (text.to_owned(), href.to_owned())
}

#[sqlx::test]
async fn icb_pages_have_breadcrumbs_as_far_as_the_role_reaches(pool: PgPool) {
    let app = TestApp::new(pool).await;
    seed::plan(&app.pool, "QE1", 2024, "draft", &[Ws::national(1, 1200)]).await;
    let icb = crumb("Lancashire and South Cumbria", "/icbs/QE1");
    let year = crumb("2024/25", BASE);
    let home = crumb("Home", "/");
    let region = crumb("North West", "/regions/Y62/2024-25");
    let england = crumb("England", "/national/2024-25");

    assert_eq!(
        crumbs(&app, Role::IcbEditor, Some("QE1"), PLAN).await,
        [home.clone(), icb.clone(), year.clone()],
        "an ICB user is offered no region or England"
    );
    assert_eq!(
        crumbs(&app, Role::IcbViewer, Some("QE1"), BASE).await,
        [home.clone(), icb.clone()]
    );
    assert_eq!(
        crumbs(
            &app,
            Role::RegionReviewer,
            Some("Y62"),
            &format!("{BASE}/grid")
        )
        .await,
        [home.clone(), region.clone(), icb.clone(), year.clone()]
    );
    assert_eq!(
        crumbs(&app, Role::NationalAnalyst, None, &format!("{BASE}/review")).await,
        [home.clone(), england, region, icb.clone(), year]
    );
    // The ICB's own page: up to its region, without the year.
    assert_eq!(
        crumbs(&app, Role::Admin, None, "/icbs/QE1").await,
        [
            home.clone(),
            crumb("England", "/national"),
            crumb("North West", "/regions/Y62")
        ]
    );
    assert_eq!(
        crumbs(&app, Role::IcbEditor, Some("QE1"), "/icbs/QE1").await,
        [home]
    );
}

#[sqlx::test]
async fn the_menu_links_to_the_current_years_catalogue(pool: PgPool) {
    let app = TestApp::at(pool, chrono::NaiveDate::from_ymd_opt(2024, 11, 30).unwrap()).await;
    let home = app.get("/").await.html();
    let menu: Vec<String> = home
        .select(&sel(".nhsuk-header__navigation-link"))
        .filter(|a| text_of(a) == "Opportunity catalogue")
        .filter_map(|a| a.value().attr("href").map(str::to_owned))
        .collect();
    assert_eq!(menu, ["/catalogue"]);
    // The programme year covering today.
    let response = app.get("/catalogue").await;
    assert_eq!(response.status, 200);
    assert_eq!(
        texts(&response.html(), ".nhsuk-caption-l"),
        ["Programme year 2024/25"]
    );
    assert_eq!(
        texts(&home, "main a[href^='/catalogue/']"),
        [
            "National opportunities for 2026/27",
            "National opportunities for 2025/26",
            "National opportunities for 2024/25",
            "National opportunities for 2023/24"
        ]
    );
}

#[sqlx::test]
async fn download_buttons_take_the_filters_as_chosen(pool: PgPool) {
    let app = TestApp::new(pool).await;
    seed::plan(&app.pool, "QE1", 2023, "agreed", &[Ws::national(1, 1200)]).await;
    seed::plan(&app.pool, "QE1", 2024, "agreed", &[Ws::national(2, 2400)]).await;
    let analyst = app.user(Role::NationalAnalyst, None).await;
    let mut browser = app.login_as(&analyst).await;
    let html = browser.get("/exports").await.html();

    // Each download is a submit button of the filter form (a GET form), sending the form to the
    // dataset's address: no "Apply filters" first, and no script.
    let form = html.select(&sel("form#export-filters")).next().unwrap();
    assert_eq!(form.value().attr("method"), Some("get"));
    let buttons: Vec<(String, String, String)> = html
        .select(&sel("button.app-download"))
        .map(|b| {
            let v = b.value();
            (
                v.attr("type").unwrap().to_owned(),
                v.attr("form").unwrap().to_owned(),
                v.attr("formaction").unwrap().to_owned(),
            )
        })
        .collect();
    assert!(buttons.len() >= 4);
    for (kind, form, action) in &buttons {
        assert_eq!((kind.as_str(), form.as_str()), ("submit", "export-filters"));
        assert!(action.starts_with("/exports/") && action.ends_with(".csv"));
    }
    assert!(buttons.iter().any(|(_, _, a)| a == "/exports/plans.csv"));

    // What a browser sends for the form with 2024/25 chosen and the download pressed.
    let fields: Vec<(String, String)> = form
        .select(&sel("select[name], input[name]"))
        .map(|f| {
            let name = f.value().attr("name").unwrap().to_owned();
            let value = if name == "year" { "2024-25" } else { "" };
            (name, value.to_owned())
        })
        .collect();
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let file = browser.get(&format!("/exports/plans.csv?{query}")).await;
    assert_eq!(file.status, 200, "{}", file.body);
    let body = file.body.trim_start_matches('\u{feff}');
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let years: Vec<String> = reader.records().map(|r| r.unwrap()[0].to_owned()).collect();
    assert!(!years.is_empty());
    assert!(years.iter().all(|y| y == "2024/25"), "{years:?}");
}

#[sqlx::test]
async fn counts_agree_with_their_words(pool: PgPool) {
    let app = TestApp::new(pool).await;
    seed::plan(
        &app.pool,
        "QE1",
        2024,
        "submitted",
        &[Ws::national(1, 1200)],
    )
    .await;
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;
    let mut rv = app.login_as(&reviewer).await;
    let region = rv.get("/regions/Y62/2024-25").await.html();
    assert_eq!(
        texts(&region, "#region-summary li"),
        [
            "0 of 3 ICBs have an agreed plan",
            "1 plan is waiting for agreement",
            "2 ICBs have not started a plan",
            "1 plan has fewer than 5 national opportunities",
        ]
    );

    let analyst = app.user(Role::NationalAnalyst, None).await;
    let mut an = app.login_as(&analyst).await;
    let national = an.get("/national/2024-25").await.html();
    assert_eq!(
        texts(&national, "#national-summary li")[..2],
        [
            "0 of 42 ICBs have an agreed plan",
            "1 plan is waiting for their region's review"
        ]
    );

    // The plan says how many are chosen and how many are needed, and names its own year.
    let editor = app.user(Role::IcbEditor, Some("QOP")).await;
    let mut ed = app.login_as(&editor).await;
    let base = "/icbs/QOP/2024-25";
    let start = ed.form(base, "/icbs/QOP/plans").await;
    assert_eq!(ed.submit(&start).await.status, 303);
    let page = ed.get(&format!("{base}/plan")).await.html();
    assert_eq!(
        texts(&page, "#chosen-count"),
        ["0 chosen (at least 5 needed). Choose 5 more before you submit the plan."]
    );
    assert_eq!(
        texts(&page, "#efficiency-hint"),
        [
            "Opportunities marked \"Efficiency focus\" are the ones NHS England asked ICBs to prioritise in 2024/25."
        ]
    );
    // 2023/24 had no efficiency focus, so its plan has no such hint.
    let old = "/icbs/QOP/2023-24";
    let mut start = ed.form(old, "/icbs/QOP/plans").await;
    start.set("year", "2023-24");
    assert_eq!(ed.submit(&start).await.status, 303);
    let page = ed.get(&format!("{old}/plan")).await.html();
    assert!(page.select(&sel("#efficiency-hint")).next().is_none());
    assert!(
        page.select(&sel("[aria-describedby~=efficiency-hint]"))
            .next()
            .is_none()
    );

    // Six chosen (once the plan is back with the ICB).
    sqlx::query("update plan set status = 'returned' where status = 'submitted'")
        .execute(&app.pool)
        .await
        .unwrap();
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut qe1 = app.login_as(&editor).await;
    choose(&mut qe1, &[2, 3, 4, 5, 6]).await;
    assert_eq!(
        texts(&qe1.get(PLAN).await.html(), "#chosen-count"),
        ["6 chosen (at least 5 needed)."]
    );
}
