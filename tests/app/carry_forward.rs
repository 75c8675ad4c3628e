//! "Start 2026/27 from 2025/26" (issue 12): the preview shows what would be copied and copies
//! nothing; confirming copies the chosen opportunities and local priorities, carries each
//! recurrent workstream's full-year effect as next year's secured saving (a non-recurrent one
//! starts with none), and copies the measures with their latest values as the baseline. It
//! says so clearly when next year does not exist, is closed, or the ICB is gone, and a stale
//! preview is refused.

use medopt::auth::Role;
use sqlx::PgPool;

use crate::common::{FormState, TestApp, sel, texts};
use crate::seed::{self, Ws, snapshot};

const FROM: &str = "/icbs/QE1/2025-26";

/// A copied workstream: opportunity number, local title, target, carried forward, the
/// workstream it came from, saving type, lead, summary.
type Copied = (
    Option<i16>,
    Option<String>,
    i64,
    i64,
    Option<i32>,
    Option<String>,
    String,
    String,
);

/// QE1's 2025/26 plan: a recurrent saving with the lead's full-year effect, one derived from
/// its actuals, a non-recurrent one, a recurrent local priority with no full-year effect yet,
/// and a removed one (not offered). Returns the workstream ids.
async fn plant(pool: &PgPool, icb: &str) -> Vec<i32> {
    let (_, ids) = seed::plan(
        pool,
        icb,
        2025,
        "agreed",
        &[
            Ws::national(1, 24_000).actuals(&[Some(2_000), Some(2_000)]),
            Ws::national(4, 12_000).actuals(&[None, Some(0), Some(900), Some(1_100)]),
            Ws::national(6, 5_000).actuals(&[Some(5_000)]),
            Ws::local("Care homes medication review", 3_000),
            Ws::national(9, 8_000).removed(),
        ],
    )
    .await;
    for (id, saving_type, benefit, setting, fye) in [
        (
            ids[0],
            "recurrent",
            "cash_releasing",
            "primary_care",
            Some(3_000_000),
        ),
        (
            ids[1],
            "recurrent",
            "cost_avoidance",
            "secondary_care",
            None,
        ),
        (ids[2], "non_recurrent", "cash_releasing", "system", None),
        (ids[3], "recurrent", "cash_releasing", "primary_care", None),
        (
            ids[4],
            "recurrent",
            "cash_releasing",
            "primary_care",
            Some(900_000),
        ),
    ] {
        sqlx::query(
            "update workstream set saving_type = $2::saving_type, benefit_type = $3::benefit_type,
                    setting = $4::saving_setting, full_year_effect_pence = $5,
                    lead_name = 'Lead pharmacist', summary = 'Carried summary',
                    objectives = '{value}', investment_pence = 50000
             where workstream_id = $1",
        )
        .bind(id)
        .bind(saving_type)
        .bind(benefit)
        .bind(setting)
        .bind(fye)
        .execute(pool)
        .await
        .unwrap();
    }
    seed::measure(
        pool,
        ids[0],
        "DOACs prescribed as best value",
        &[("2025-05-01", 61.5), ("2025-07-01", 68.25)],
    )
    .await;
    seed::measure(pool, ids[2], "Items per 1,000 patients", &[]).await;
    ids
}

#[sqlx::test]
async fn next_years_plan_starts_from_this_one_after_a_preview(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let ids = plant(&app.pool, "QE1").await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut ed = app.login_as(&editor).await;

    // The assurance page links to the preview; the preview copies nothing.
    let assurance = ed.get(&format!("{FROM}/assurance")).await;
    assert_eq!(
        texts(&assurance.html(), "#next-year-link"),
        ["Start 2026/27 from 2025/26"]
    );
    let before = snapshot(&app.pool).await;
    let preview = ed.get(&format!("{FROM}/next-year")).await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(snapshot(&app.pool).await, before);
    let html = preview.html();
    let item = |id: i32, col: &str| {
        texts(
            &html,
            &format!("[data-workstream=\"{id}\"] [data-col={col}]"),
        )
    };
    assert_eq!(
        item(ids[0], "carried"),
        ["£30,000"],
        "the lead's full-year effect"
    );
    // April not reported, May nothing, then £900 and £1,100: 12 × £1,000.
    assert_eq!(
        item(ids[1], "carried"),
        ["£12,000"],
        "derived from the actuals"
    );
    assert!(item(ids[2], "carried").is_empty(), "non-recurrent");
    assert!(
        item(ids[3], "carried").is_empty(),
        "recurrent with no full-year effect yet"
    );
    assert!(
        html.select(&sel(&format!("#workstream-{}", ids[4])))
            .next()
            .is_none(),
        "a removed workstream is not offered"
    );
    assert_eq!(item(ids[0], "fate"), ["Copied into 2026/27"]);
    assert_eq!(
        texts(&html, "#carried-total"),
        ["Secured from 2025/26 if every workstream that can be copied is ticked: £42,000."]
    );
    let opened = FormState::of(&html, &format!("{FROM}/next-year"));
    assert_eq!(
        opened
            .fields
            .iter()
            .filter(|(n, _)| n == "workstream")
            .count(),
        4
    );

    // Nothing ticked: refused by the field.
    let mut none = opened.clone();
    none.fields.retain(|(n, _)| n != "workstream");
    let response = ed.submit(&none).await;
    assert_eq!(response.status, 422);
    assert_eq!(
        response.field_error("workstreams").as_deref(),
        Some("Error: Choose at least one workstream to copy into 2026/27")
    );
    assert_eq!(snapshot(&app.pool).await, before);

    // All but the non-recurrent one.
    let mut form = opened.clone();
    form.untick("workstream", &ids[2].to_string());
    let done = ed.submit(&form).await;
    assert_eq!(
        done.location(),
        Some("/icbs/QE1/2026-27/assurance?notice=carried"),
        "{}",
        done.body
    );
    let copied: Vec<Copied> = sqlx::query_as(
        "select o.number, w.title, w.annual_target_pence, w.carried_forward_pence,
                    w.carried_from_workstream_id, w.saving_type::text, w.lead_name, w.summary
             from workstream w join plan p using (plan_id)
             join programme_year y using (programme_year_id)
             left join opportunity o on o.opportunity_id = w.opportunity_id
             where y.starts_on = '2026-04-01' order by w.workstream_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        copied,
        [
            (
                Some(1),
                None,
                3_000_000,
                3_000_000,
                Some(ids[0]),
                Some("recurrent".into()),
                "Lead pharmacist".into(),
                "Carried summary".into()
            ),
            (
                Some(4),
                None,
                1_200_000,
                1_200_000,
                Some(ids[1]),
                Some("recurrent".into()),
                "Lead pharmacist".into(),
                "Carried summary".into()
            ),
            (
                None,
                Some("Care homes medication review".into()),
                0,
                0,
                Some(ids[3]),
                Some("recurrent".into()),
                "Lead pharmacist".into(),
                "Carried summary".into()
            ),
        ]
    );
    // The secured saving is phased evenly over 2026/27; nothing else is copied.
    let phasing: Vec<(i64, i64, Option<i64>)> = sqlx::query_as(
        "select count(*), sum(m.planned_pence)::bigint, sum(m.actual_pence)::bigint
         from workstream_month m join workstream w using (workstream_id)
         where w.carried_from_workstream_id = $1 and m.month between '2026-04-01' and '2027-03-01'",
    )
    .bind(ids[0])
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(phasing, [(12, 3_000_000, None)]);
    let investment: i64 = sqlx::query_scalar(
        "select sum(investment_pence)::bigint from workstream where carried_from_workstream_id is not null",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        investment, 0,
        "next year's investment is next year's to set"
    );
    // The measure starts from its latest value.
    let measure: (String, Option<f64>, Option<chrono::NaiveDate>) = sqlx::query_as(
        "select m.name, m.baseline_value, m.baseline_month from measure m
         join workstream w using (workstream_id) where w.carried_from_workstream_id = $1",
    )
    .bind(ids[0])
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        measure,
        (
            "DOACs prescribed as best value".into(),
            Some(68.25),
            chrono::NaiveDate::from_ymd_opt(2025, 7, 1)
        )
    );

    // Next year's pages show the secured saving apart from new savings.
    let next = ed.get("/icbs/QE1/2026-27/assurance?notice=carried").await;
    let html = next.html();
    assert_eq!(
        texts(&html, "#plan-assurance [data-figure=carried_forward] dd"),
        ["£42,000 Recurrent full-year effects carried from last year's plan; new savings are £0"]
    );
    assert!(texts(&html, "#notice")[0].starts_with("The plan has been started from last year's"));
    let dash = ed.get("/icbs/QE1/2026-27").await.html();
    assert_eq!(
        texts(
            &dash,
            "#assurance-headline [data-figure=carried_forward] dd"
        ),
        ["£42,000; new savings £0"]
    );
    let events: Vec<String> = sqlx::query_scalar(
        "select action from audit_event where action in ('plan.created', 'workstream.carried_forward', 'plan.carried_forward') order by audit_event_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        events,
        [
            "plan.created",
            "workstream.carried_forward",
            "workstream.carried_forward",
            "workstream.carried_forward",
            "plan.carried_forward"
        ]
    );

    // Confirming the old preview again is stale: nothing more is copied.
    let before = snapshot(&app.pool).await;
    let stale = ed.submit(&form).await;
    assert_eq!(stale.status, 409);
    assert!(stale.html().select(&sel("#conflict")).next().is_some());
    assert_eq!(snapshot(&app.pool).await, before);
    // A fresh preview offers only what is not there yet.
    let html = ed.get(&format!("{FROM}/next-year")).await.html();
    assert_eq!(
        texts(
            &html,
            &format!("[data-workstream=\"{}\"] [data-col=fate]", ids[0])
        ),
        ["Already in the 2026/27 plan"]
    );
    let form = FormState::of(&html, &format!("{FROM}/next-year"));
    assert_eq!(
        form.fields
            .iter()
            .filter(|(n, _)| n == "workstream")
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>(),
        [ids[2].to_string()]
    );
}

#[sqlx::test]
async fn it_says_why_next_year_cannot_be_started_yet(pool: PgPool) {
    let app = TestApp::new(pool).await;
    // 2026/27's next year, 2027/28, has not been created.
    seed::plan(&app.pool, "QE1", 2026, "draft", &[Ws::national(1, 1_000)]).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut ed = app.login_as(&editor).await;
    let path = "/icbs/QE1/2026-27/next-year";
    let page = ed.get(path).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        texts(&page.html(), "#blocked p"),
        [
            "2027/28 has not been set up yet, so there is no 2027/28 plan to start. An administrator creates it under Administration, Opportunity catalogue, by copying 2026/27's catalogue. Come back here once it exists."
        ]
    );
    assert!(
        page.html()
            .select(&sel("button[type=submit]"))
            .all(|b| crate::common::text_of(&b) != "Start 2027/28 from 2026/27")
    );
    let before = snapshot(&app.pool).await;
    let refused = ed
        .post(
            path,
            &[
                ("source_version", "1"),
                ("target_version", "none"),
                ("workstream", "1"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(snapshot(&app.pool).await, before);

    // An administrator creates it, closed: the page says so.
    let admin = app.user(Role::Admin, None).await;
    let mut ad = app.login_as(&admin).await;
    let mut create = ad.form("/admin/catalogue", "/admin/catalogue/years").await;
    create.set("year", "2027/28").set("copy_from", "2026/27");
    assert_eq!(ad.submit(&create).await.status, 303);
    let close = ad
        .form(
            "/admin/catalogue/2027-28",
            "/admin/catalogue/2027-28/status",
        )
        .await;
    assert_eq!(ad.submit(&close).await.status, 303);
    assert_eq!(
        texts(&ed.get(path).await.html(), "#blocked p"),
        ["2027/28 is closed for editing, so a plan for it cannot be started from this one."]
    );
    // Opened, it can be started.
    let open = ad
        .form(
            "/admin/catalogue/2027-28",
            "/admin/catalogue/2027-28/status",
        )
        .await;
    assert_eq!(ad.submit(&open).await.status, 303);
    let html = ed.get(path).await.html();
    assert!(html.select(&sel("#blocked")).next().is_none());
    let form = FormState::of(&html, path);
    assert_eq!(
        ed.submit(&form).await.location(),
        Some("/icbs/QE1/2027-28/assurance?notice=carried")
    );

    // An ICB that closes before next year (a merger recorded later) has no plan to start.
    sqlx::query("update icb set valid_to = '2027-03-31' where ods_code = 'QE1'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        texts(&ed.get(path).await.html(), "#blocked p"),
        [
            "NHS Lancashire and South Cumbria Integrated Care Board closed on 31 March 2027, so it has no 2027/28 plan to start."
        ]
    );
    // Viewers and reviewers cannot start it.
    let viewer = app.user(Role::IcbViewer, Some("QE1")).await;
    let mut vw = app.login_as(&viewer).await;
    assert_eq!(vw.get(path).await.status, 403);
}
