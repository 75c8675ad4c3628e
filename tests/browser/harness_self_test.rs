//! The harness tests itself: each check must catch the problem it exists for (a page that
//! passed because a check was broken would prove nothing), a failing journey must leave its
//! screenshot and HTML behind, and the download and file-upload helpers must work.
//! Problems are planted in a real page with a script, then the check is run on it.

use std::future::Future;

use sqlx::PgPool;

use crate::browser::Browser;
use crate::harness::browser_test;
use crate::keyboard::Stop::Link;

/// Runs `check` in its own task and returns its panic message; fails if it did not panic.
async fn failure_of<F>(check: F) -> String
where
    F: Future<Output = ()> + Send + 'static,
{
    let error = tokio::spawn(check)
        .await
        .expect_err("the check should have failed");
    let panic = error.into_panic();
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

/// Plants `script`'s changes in the page shown.
async fn plant(b: &Browser, script: &str) {
    b.script(script, vec![]).await;
}

#[sqlx::test]
async fn the_checks_catch_what_they_are_for(pool: PgPool) {
    browser_test("the_checks_catch_what_they_are_for", pool, |site| async move {
        let b = site.open_browser("self-test").await;

        // axe-core: a text box nobody labelled.
        b.visit("/").await;
        plant(&b, "document.querySelector('main').insertAdjacentHTML('beforeend', '<input type=\"text\" id=\"planted\">');").await;
        let message = failure_of({
            let b = b.clone();
            async move { b.check_page().await }
        })
        .await;
        assert!(message.contains("axe label (critical)"), "{message}");
        assert!(message.contains("#planted"), "{message}");
        assert!(message.contains(&format!("{}/", site.base_url())), "names the page: {message}");

        // Reflow: something 600px wide that does not wrap.
        b.visit("/").await;
        plant(&b, "const d = document.createElement('div'); d.id = 'wide'; d.style.width = '600px'; d.textContent = 'wide'; document.querySelector('main').append(d);").await;
        let message = failure_of({
            let b = b.clone();
            async move { b.check_page().await }
        })
        .await;
        assert!(message.contains("scrolls sideways"), "{message}");
        assert!(message.contains("in a 320px viewport"), "all 320 px are the page's: {message}");
        assert!(message.contains("<div#wide>"), "{message}");

        // Structure: a skipped heading level, a title that is not the heading, a second h1.
        b.visit("/login").await;
        plant(&b, "document.querySelector('main').insertAdjacentHTML('beforeend', '<h3>Deep</h3>'); document.title = 'Somewhere – Medicines optimisation planning – NHS';").await;
        let message = failure_of({
            let b = b.clone();
            async move { b.check_page().await }
        })
        .await;
        assert!(message.contains("<h3> \"Deep\" comes after an <h1>"), "{message}");
        assert!(message.contains("does not start with the page's heading \"Sign in\""), "{message}");
        b.visit("/login").await;
        plant(&b, "document.querySelector('main').insertAdjacentHTML('beforeend', '<h1>Another</h1>');").await;
        let message = failure_of({
            let b = b.clone();
            async move { b.check_page().await }
        })
        .await;
        assert!(message.contains("2 <h1> headings"), "{message}");

        // Focus: a link styled to look the same focused and unfocused.
        b.visit("/").await;
        plant(&b, "const a = document.querySelector('.nhsuk-skip-link'); a.style.cssText = 'position: static; margin: 0; padding: 0; outline: none; box-shadow: none; background: none; color: #005eb8; text-decoration: underline; clip: auto; width: auto; height: auto';").await;
        let message = failure_of({
            let b = b.clone();
            async move { b.keyboard().tab_to(Link("Home")).await }
        })
        .await;
        assert!(message.contains("\"Skip to main content\" looks the same"), "{message}");
    })
    .await;
}

#[sqlx::test]
async fn a_failing_journey_leaves_a_screenshot_and_the_html(pool: PgPool) {
    let failed = tokio::spawn(browser_test(
        "harness_self_test_failure",
        pool,
        |site| async move {
            let b = site.open_browser("visitor").await;
            b.visit("/login").await;
            b.click_link("A link that is not there").await;
        },
    ))
    .await;
    let Err(error) = failed else {
        // Skipped: no browser here (the skip notice has been printed).
        return;
    };
    assert!(error.is_panic());
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()))
        .join("browser-failures/harness_self_test_failure");
    let png = std::fs::read(dir.join("visitor.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let html = std::fs::read_to_string(dir.join("visitor.html")).unwrap();
    let page = scraper::Html::parse_document(&html);
    let h1 = scraper::Selector::parse("h1").unwrap();
    let heading: String = page.select(&h1).flat_map(|h| h.text()).collect();
    assert_eq!(heading.trim(), "Sign in");
    std::fs::remove_dir_all(dir).unwrap();
}

#[sqlx::test]
async fn downloads_and_file_uploads_work(pool: PgPool) {
    browser_test("downloads_and_file_uploads_work", pool, |site| async move {
        let b = site.open_browser("self-test").await;
        b.visit("/").await;
        // A link that downloads a file, as an export link will.
        plant(&b, "const a = document.createElement('a'); a.href = 'data:text/csv;charset=utf-8,%EF%BB%BFods_code%2Cname%0D%0AQE1%2CLancashire%0D%0A'; a.download = 'icbs.csv'; a.textContent = 'Download the CSV'; document.querySelector('main').append(a);").await;
        let file = b.download("Download the CSV").await;
        assert_eq!(file.file_name, "icbs.csv");
        assert_eq!(file.text(), "ods_code,name\r\nQE1,Lancashire\r\n");
        assert_eq!(b.heading().await, "Medicines optimisation planning", "still on the page");

        // A file upload field, as the import page will have.
        plant(&b, "document.querySelector('main').insertAdjacentHTML('beforeend', '<label for=\"upload\">Upload a file</label><input type=\"file\" id=\"upload\" name=\"upload\">');").await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("actuals.csv");
        std::fs::write(&path, "month,amount\n2024-04,100\n").unwrap();
        b.attach_file("Upload a file", &path).await;
        let chosen = b
            .script("return document.getElementById('upload').files[0].name;", vec![])
            .await;
        assert_eq!(chosen, "actuals.csv");
    })
    .await;
}
