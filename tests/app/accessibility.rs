//! `/accessibility`: the accessibility statement, in the GOV.UK model form, linked from the
//! footer of every page.

use sqlx::PgPool;

use crate::common::{TestApp, sel, texts};

#[sqlx::test]
async fn the_accessibility_statement_has_the_model_sections(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let response = app.get("/accessibility").await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.h1(),
        "Accessibility statement for Medicines optimisation planning"
    );
    let html = response.html();
    assert_eq!(
        texts(&html, "main h2"),
        [
            "How accessible this website is",
            "Feedback and contact information",
            "Reporting accessibility problems with this website",
            "Enforcement procedure",
            "Technical information about this website's accessibility",
            "Non-accessible content",
            "What we're doing to improve accessibility",
            "Preparation of this accessibility statement",
        ]
    );
    assert_eq!(
        texts(&html, "main h3"),
        [
            "Compliance status",
            "Non-compliance with the accessibility regulations",
            "Disproportionate burden",
            "Content that's not within the scope of the accessibility regulations",
        ]
    );
    // The enforcement procedure names the EHRC and links to the EASS.
    let enforcement = texts(&html, "#enforcement + p").join(" ");
    assert!(enforcement.contains("Equality and Human Rights Commission (EHRC)"));
    let eass: Vec<_> = html
        .select(&sel("#enforcement + p a"))
        .filter_map(|a| a.value().attr("href"))
        .collect();
    assert_eq!(eass, ["https://www.equalityadvisoryservice.com/"]);
    // It says when it was prepared.
    let preparation = texts(&html, "#preparation ~ p").join(" ");
    assert!(
        preparation.starts_with("This statement was prepared on "),
        "{preparation}"
    );
}

#[sqlx::test]
async fn every_page_links_to_the_statement_from_its_footer(pool: PgPool) {
    let app = TestApp::new(pool).await;
    for path in ["/", "/login", "/organisations", "/no-such-page"] {
        let html = app.get(path).await.html();
        let footer_links: Vec<_> = html
            .select(&sel("footer a"))
            .map(|a| {
                (
                    crate::common::text_of(&a),
                    a.value().attr("href").unwrap_or_default().to_owned(),
                )
            })
            .collect();
        assert!(
            footer_links.contains(&("Accessibility statement".into(), "/accessibility".into())),
            "{path}: {footer_links:?}"
        );
    }
}
