//! Journey 6: an ICB editor reports a month on one page — from the dashboard's link to the
//! month that is due, every workstream's actual saving and a measure's value in one form, a
//! mistake reported by its field, then saved together — and reads the year as plan against
//! actual; a viewer sees the same month as tables.

use medopt::auth::Role;
use serde_json::json;
use sqlx::PgPool;

use crate::browser::Browser;
use crate::harness::browser_test;
use crate::plan_journey::FIVE_OPPORTUNITIES;

const MEASURE: &str = "Patients on 10 or more medicines";

#[sqlx::test]
async fn an_icb_editor_reports_a_month_on_one_page(pool: PgPool) {
    browser_test(
        "an_icb_editor_reports_a_month_on_one_page",
        pool,
        |site| async move {
            let editor = site.user(Role::IcbEditor, Some("QE1")).await;
            let viewer = site.user(Role::IcbViewer, Some("QE1")).await;
            let b = site.open_browser("editor").await;

            b.sign_in_as(&editor).await;
            // Sign-in lands on the current year; this journey reports a finished one.
            b.click_link("2024/25").await;
            b.press_button("Start the 2024/25 plan").await;
            for opportunity in &FIVE_OPPORTUNITIES[..3] {
                b.tick(opportunity).await;
            }
            b.press_button("Save chosen opportunities").await;
            let first = FIVE_OPPORTUNITIES[0];
            b.click_link(first).await;
            b.fill("Annual savings target", "12,000").await;
            b.press_button("Save target and split evenly").await;
            b.fill("Measure", MEASURE).await;
            b.fill("Unit", "%").await;
            b.choose("Lower is better").await;
            b.fill("Baseline value", "12.5").await;
            b.fill("Baseline month (for example 2024-03)", "2024-03")
                .await;
            b.fill("Target value", "10").await;
            b.fill("Target month (for example 2025-03)", "2025-03")
                .await;
            b.press_button("Add measure").await;

            // The year 2024/25 is over, so its last month is the one due.
            b.click_link("2024/25").await;
            assert_eq!(b.heading().await, "2024/25 dashboard");
            b.click_link("Report the figures for March 2025").await;
            assert_eq!(b.heading().await, "March 2025 figures");
            assert_eq!(
                b.text("fieldset[data-workstream] [data-col=planned]").await,
                "£1,000"
            );

            // A mistake in each kind of figure is reported by its field; nothing is saved.
            let actual = "Actual saving in March 2025";
            let value = format!("{MEASURE} (%)");
            b.fill_in(first, actual, "lots").await;
            b.fill_in(first, &value, "about half").await;
            b.fill_in(FIVE_OPPORTUNITIES[1], actual, "300").await;
            b.press_button("Save March 2025 figures").await;
            let ids = b
                .script(
                    "return [...document.querySelectorAll('.nhsuk-error-summary a')].map((a) => a.getAttribute('href').slice(1));",
                    vec![],
                )
                .await;
            let ids: Vec<String> = serde_json::from_value(ids).expect("error links");
            assert_eq!(ids.len(), 2, "{ids:?}");
            let fields: Vec<&str> = ids.iter().map(String::as_str).collect();
            b.follow_every_error(&fields).await;

            b.fill_in(first, actual, "1,250.50").await;
            b.fill_in(first, &value, "11.8").await;
            b.press_button("Save March 2025 figures").await;
            assert!(b.error_summary().await.is_empty());
            assert_eq!(
                b.text("#notice").await,
                "The month's figures have been saved."
            );
            assert!(
                b.text("#month-totals [data-figure=actual]")
                    .await
                    .starts_with("£1,551"),
                "the two workstreams' savings together"
            );

            // The year at a glance: every month of every workstream, readable at this width.
            b.click_link("Every month").await;
            assert_eq!(b.heading().await, "2024/25 plan against actual");
            fits_without_scrolling(&b, "#grid").await;
            columns_in_view(&b, "#grid", &["To date", "Variance", "% of plan"]).await;
            assert_eq!(
                b.text("#grid-total tr[data-kind=actual] [data-col=to_date]")
                    .await,
                "£1,551"
            );
            b.click_link("Mar").await;
            assert_eq!(b.heading().await, "March 2025 figures");
            b.click_link("Previous month: February 2025").await;
            assert_eq!(b.heading().await, "February 2025 figures");

            // A viewer sees the month as tables, not as a form.
            let v = site.open_browser("viewer").await;
            v.sign_in_as(&viewer).await;
            v.click_link("2024/25").await;
            v.click_link("See the figures for March 2025").await;
            assert_eq!(v.heading().await, "March 2025 figures");
            assert!(!v.has("form.app-month-form").await);
            assert_eq!(
                v.texts("#month-figures tbody [data-col=actual]").await,
                ["£1,251", "£300", "Not reported"]
            );
            assert_eq!(v.texts("#month-measures [data-col=value]").await, ["11.8"]);
            v.click_link(first).await;
            assert!(v.has("#saved-months").await, "the workstream's figures as a table");
            assert!(!v.has("main input:not([type=hidden])").await);
        },
    )
    .await;
}

/// Asserts the table `table` fits its scrolling wrapper at the window's width: nothing to
/// scroll sideways to read it.
pub async fn fits_without_scrolling(b: &Browser, table: &str) {
    let sizes = b
        .script(
            "const wrapper = document.querySelector(arguments[0]).closest('.app-table-wrapper');
             return [wrapper.scrollWidth, wrapper.clientWidth, window.innerWidth];",
            vec![json!(table)],
        )
        .await;
    let [scroll, client, window] = serde_json::from_value::<[i64; 3]>(sizes).expect("sizes");
    assert!(
        scroll <= client,
        "{}",
        b.failure(format!(
            "{table} is {scroll}px wide in a {client}px wrapper at a {window}px window"
        ))
        .await
    );
}

/// Asserts the columns headed `headings` of `table` are in view without scrolling sideways
/// (their right edges inside the table's wrapper and the window).
pub async fn columns_in_view(b: &Browser, table: &str, headings: &[&str]) {
    let problems = b
        .script(
            r#"
            const [table, wanted] = arguments;
            const norm = (s) => s.replace(/\s+/g, ' ').trim();
            const t = document.querySelector(table);
            const wrapper = t.closest('.app-table-wrapper') || t.parentElement;
            const limit = Math.min(wrapper.getBoundingClientRect().right, document.documentElement.clientWidth);
            const heads = [...t.querySelectorAll('thead th')];
            const problems = [];
            for (const w of wanted) {
              const th = heads.find((h) => norm(h.textContent) === w);
              if (!th) { problems.push(`no heading "${w}" among ${JSON.stringify(heads.map((h) => norm(h.textContent)))}`); continue; }
              const right = th.getBoundingClientRect().right;
              if (right > limit + 1) problems.push(`"${w}" ends at ${Math.round(right)}px, past ${Math.round(limit)}px`);
            }
            return problems;
            "#,
            vec![json!(table), json!(headings)],
        )
        .await;
    let problems: Vec<String> = serde_json::from_value(problems).expect("a list");
    assert!(
        problems.is_empty(),
        "{}",
        b.failure(format!("columns of {table} out of view: {problems:?}"))
            .await
    );
}
