//! E-mail notifications against a real SMTP server ([`crate::smtp::SmtpServer`]): each
//! event's message reaches exactly the people it concerns (never an editor of another ICB or
//! a reviewer of another region); a status change succeeds while the mail server is down and
//! its message goes once the server is back; reminders and digests go at most once per
//! month (or week) however often the scheduler runs; two workers never send one message
//! twice; each person's choice of e-mails is respected; administrators see the outbox.

use chrono::{Duration, NaiveDate, Utc};
use medopt::auth::Role;
use medopt::clock::Clock;
use medopt::config::Config;
use medopt::notifications::{Pass, Worker};
use medopt::reference;
use sqlx::PgPool;

use crate::common::{FormState, TestApp, TestUser, sel, text_of, texts};
use crate::plans::{PLAN, plan_ready_to_submit, status};
use crate::seed::{self, Ws};
use crate::smtp::{Received, SmtpServer};

const BASE_URL: &str = "https://medopt.test.nhs.uk";
const QE1_NAME: &str = "NHS Lancashire and South Cumbria Integrated Care Board";

fn mail_config(smtp: &SmtpServer) -> Config {
    Config {
        smtp_url: Some(smtp.url()),
        mail_from: Some("Medicines optimisation <medopt@test.nhs.uk>".into()),
        base_url: Some(format!("{BASE_URL}/")),
        ..Config::for_tests()
    }
}

/// The app sending mail to `smtp`, with the reference data loaded; today is `today` if given.
async fn app_with_mail(pool: PgPool, smtp: &SmtpServer, today: Option<&str>) -> TestApp {
    reference::load(&pool).await.expect("reference data loads");
    let clock = today.map_or_else(Clock::system, |d| Clock::fixed(date(d)));
    TestApp::with_config_and_clock(pool, mail_config(smtp), clock)
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
}

fn worker(app: &TestApp) -> Worker {
    Worker::new(app.state.clone()).expect("the mail settings are usable")
}

/// One pass of the background worker, now.
async fn run(app: &TestApp) -> Pass {
    worker(app)
        .run_once(Utc::now())
        .await
        .expect("the pass runs")
}

fn recipients(mails: &[Received]) -> Vec<String> {
    let mut all: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    all.sort();
    all
}

fn emails(users: &[&TestUser]) -> Vec<String> {
    let mut all: Vec<String> = users.iter().map(|u| u.email.clone()).collect();
    all.sort();
    all
}

/// The links of a message's HTML body.
fn html_links(mail: &Received) -> Vec<String> {
    scraper::Html::parse_document(&mail.html)
        .select(&sel("a[href]"))
        .filter_map(|a| a.value().attr("href").map(str::to_owned))
        .collect()
}

async fn submit_plan(browser: &mut crate::common::Browser<'_>) {
    let submit = browser.form(PLAN, &format!("{PLAN}/submit")).await;
    let response = browser.submit(&submit).await;
    assert_eq!(response.status, 303, "{}", response.body);
}

async fn decide(browser: &mut crate::common::Browser<'_>, decision: &str, comment: &str) {
    // The decision is taken on the review page; its form posts to the plan's review route.
    let review_page = PLAN.replace("/plan", "/review");
    let mut review = browser.form(&review_page, &format!("{PLAN}/review")).await;
    review
        .set("decision", decision)
        .set("review_comment", comment);
    let response = browser.submit(&review).await;
    assert_eq!(response.status, 303, "{}", response.body);
}

#[sqlx::test]
async fn plan_events_reach_the_people_concerned_and_nobody_else(pool: PgPool) {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(pool, &smtp, None).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let colleague = app.user(Role::IcbEditor, Some("QE1")).await;
    let viewer = app.user(Role::IcbViewer, Some("QE1")).await;
    let neighbour = app.user(Role::IcbEditor, Some("QOP")).await;
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;
    let other_reviewer = app.user(Role::RegionReviewer, Some("Y56")).await;
    let analyst = app.user(Role::NationalAnalyst, None).await;

    let mut ed = app.login_as(&editor).await;
    plan_ready_to_submit(&mut ed).await;
    submit_plan(&mut ed).await;
    // The request wrote the message; only the worker sends it.
    assert!(smtp.received().is_empty());
    assert_eq!(run(&app).await.sent, 1);
    let mails = smtp.received();
    assert_eq!(recipients(&mails), emails(&[&reviewer]));
    assert_eq!(
        mails[0].subject,
        format!("Plan submitted for review: {QE1_NAME}, 2024/25")
    );
    let plan_url = format!("{BASE_URL}/icbs/QE1/2024-25/plan");
    assert!(html_links(&mails[0]).contains(&plan_url));
    assert!(mails[0].text.contains(&plan_url), "{}", mails[0].text);

    let comment = "Add a local priority on antimicrobial <b>stewardship</b> & reporting.";
    let mut rv = app.login_as(&reviewer).await;
    decide(&mut rv, "return", comment).await;
    assert_eq!(run(&app).await.sent, 2);
    let returned = &smtp.received()[1..];
    assert_eq!(recipients(returned), emails(&[&editor, &colleague]));
    for mail in returned {
        assert_eq!(
            mail.subject,
            format!("Your 2024/25 plan has been returned with comments: {QE1_NAME}")
        );
        assert!(mail.text.contains(comment), "{}", mail.text);
        // The comment is shown as text in the HTML, not as markup.
        let html = scraper::Html::parse_document(&mail.html);
        assert_eq!(texts(&html, "blockquote"), [comment]);
        assert!(html.select(&sel("blockquote b")).next().is_none());
        assert!(html_links(mail).contains(&plan_url));
    }

    submit_plan(&mut ed).await;
    decide(&mut rv, "agree", "").await;
    let pass = run(&app).await;
    assert_eq!(pass.sent, 3, "{pass:?}");
    let last = &smtp.received()[3..];
    let mut subjects: Vec<(String, String)> = last
        .iter()
        .map(|m| (m.to.join(","), m.subject.clone()))
        .collect();
    subjects.sort();
    let mut expected = vec![
        (
            editor.email.clone(),
            format!("Your 2024/25 plan has been agreed: {QE1_NAME}"),
        ),
        (
            colleague.email.clone(),
            format!("Your 2024/25 plan has been agreed: {QE1_NAME}"),
        ),
        (
            reviewer.email.clone(),
            format!("Plan submitted for review: {QE1_NAME}, 2024/25"),
        ),
    ];
    expected.sort();
    assert_eq!(subjects, expected);

    for outsider in [&viewer, &neighbour, &other_reviewer, &analyst] {
        assert!(
            smtp.received_by(&outsider.email).is_empty(),
            "{} got mail",
            outsider.email
        );
    }
    // Every message names only the plan's own ICB.
    for mail in smtp.received() {
        assert!(!mail.text.contains("QOP") && !mail.text.contains("QWE"));
    }
    // A further pass sends nothing again.
    assert_eq!(run(&app).await, Pass::default());
}

#[sqlx::test]
async fn a_change_succeeds_while_the_mail_server_is_down_and_its_message_goes_later(pool: PgPool) {
    let mut smtp = SmtpServer::start().await;
    let app = app_with_mail(pool, &smtp, None).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;
    let admin = app.user(Role::Admin, None).await;
    smtp.stop();

    let mut ed = app.login_as(&editor).await;
    plan_ready_to_submit(&mut ed).await;
    submit_plan(&mut ed).await;
    assert_eq!(status(&mut ed).await, "Submitted for review");

    let now = Utc::now();
    let first = worker(&app).run_once(now).await.expect("the pass runs");
    assert_eq!((first.sent, first.retrying, first.failed), (0, 1, 0));
    let (attempts, error, sent): (i32, Option<String>, bool) =
        sqlx::query_as("select attempts, last_error, sent_at is not null from outbox")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(attempts, 1);
    assert!(error.is_some());
    assert!(!sent);

    // The administrator sees it waiting, with the error.
    let mut ad = app.login_as(&admin).await;
    let page = ad.get("/admin/outbox").await;
    assert_eq!(page.status, 200);
    let html = page.html();
    let row = html.select(&sel("#outbox tbody tr")).next().expect("a row");
    assert_eq!(row.value().attr("data-status"), Some("waiting"));
    assert!(row.select(&sel("[data-col=error]")).next().is_some());
    assert_eq!(
        texts(&html, "#outbox [data-col=to]"),
        [reviewer.email.as_str()]
    );

    smtp.restart().await;
    // The retry waits (a minute after the first attempt): nothing yet…
    let early = worker(&app).run_once(now).await.expect("the pass runs");
    assert_eq!(early.sent, 0);
    assert!(smtp.received().is_empty());
    // …and goes once that time has passed.
    let later = worker(&app)
        .run_once(now + Duration::minutes(2))
        .await
        .expect("the pass runs");
    assert_eq!(later.sent, 1);
    assert_eq!(recipients(&smtp.received()), emails(&[&reviewer]));
    let again = worker(&app)
        .run_once(now + Duration::hours(1))
        .await
        .expect("the pass runs");
    assert_eq!(again.sent, 0);
    assert_eq!(smtp.received().len(), 1);
}

#[sqlx::test]
async fn two_workers_at_once_send_each_message_once(pool: PgPool) {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(pool, &smtp, None).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut reviewers = Vec::new();
    for _ in 0..12 {
        reviewers.push(app.user(Role::RegionReviewer, Some("Y62")).await);
    }
    let mut ed = app.login_as(&editor).await;
    plan_ready_to_submit(&mut ed).await;
    submit_plan(&mut ed).await;

    let (one, two) = (worker(&app), worker(&app));
    let now = Utc::now();
    let (a, b) = tokio::join!(one.run_once(now), two.run_once(now));
    let (a, b) = (a.expect("pass"), b.expect("pass"));
    assert_eq!(a.sent + b.sent, 12, "{a:?} {b:?}");
    let all: Vec<&TestUser> = reviewers.iter().collect();
    assert_eq!(recipients(&smtp.received()), emails(&all));
}

/// Plants 2024/25 plans: QE1 reported April and May, QOP April only, QYG April to June, QWE
/// (another region) nothing yet.
async fn plant_reporting(pool: &PgPool) {
    let reported = |months: usize| {
        let actuals: Vec<Option<i64>> = (0..12).map(|i| (i < months).then_some(900)).collect();
        Ws::national(1, 12_000).actuals(&actuals)
    };
    seed::plan(pool, "QE1", 2024, "agreed", &[reported(2)]).await;
    seed::plan(pool, "QOP", 2024, "agreed", &[reported(1)]).await;
    seed::plan(pool, "QYG", 2024, "agreed", &[reported(3)]).await;
    seed::plan(pool, "QWE", 2024, "draft", &[reported(0)]).await;
}

/// The subjects each user received.
fn subjects(smtp: &SmtpServer, user: &TestUser) -> Vec<String> {
    let mut all: Vec<String> = smtp
        .received_by(&user.email)
        .into_iter()
        .map(|m| m.subject)
        .collect();
    all.sort();
    all
}

#[sqlx::test]
async fn figure_reminders_go_once_a_month_to_each_icbs_editors(pool: PgPool) {
    let smtp = SmtpServer::start().await;
    // Thursday 25 July 2024: June's figures are due by 31 July, May's were due by 30 June.
    let app = app_with_mail(pool.clone(), &smtp, Some("2024-07-25")).await;
    plant_reporting(&app.pool).await;
    let qe1 = app.user(Role::IcbEditor, Some("QE1")).await;
    let qe1_opted_out = app.user(Role::IcbEditor, Some("QE1")).await;
    let qe1_viewer = app.user(Role::IcbViewer, Some("QE1")).await;
    let qop = app.user(Role::IcbEditor, Some("QOP")).await;
    let qyg = app.user(Role::IcbEditor, Some("QYG")).await;
    let qwe = app.user(Role::IcbEditor, Some("QWE")).await;
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;

    // One editor turns the "due" reminder off on their page.
    let mut browser = app.login_as(&qe1_opted_out).await;
    let mut form = browser
        .form("/account/notifications", "/account/notifications")
        .await;
    form.untick("kind", "figures_due");
    assert_eq!(browser.submit(&form).await.status, 303);

    let first = run(&app).await;
    // Due: QE1 (one editor left), QOP and QWE; overdue: QOP and QWE.
    assert_eq!(first.scheduled, 5, "{first:?}");
    assert_eq!(first.sent, 5);
    let second = run(&app).await;
    assert_eq!(second, Pass::default());

    let due = |name: &str| format!("June 2024 figures are due by 31 July 2024: {name}");
    let overdue = |name: &str| format!("May 2024 figures are overdue: {name}");
    assert_eq!(subjects(&smtp, &qe1), [due(QE1_NAME)]);
    let qop_name = "NHS Greater Manchester Integrated Care Board";
    assert_eq!(subjects(&smtp, &qop), [due(qop_name), overdue(qop_name)]);
    assert_eq!(subjects(&smtp, &qwe).len(), 2);
    for nobody in [&qe1_opted_out, &qe1_viewer, &qyg, &reviewer] {
        assert!(subjects(&smtp, nobody).is_empty(), "{}", nobody.email);
    }
    let mail = &smtp.received_by(&qe1.email)[0];
    assert!(
        mail.text
            .contains("The latest month with figures is May 2024.")
    );
    assert!(html_links(mail).contains(&format!("{BASE_URL}/icbs/QE1/2024-25")));
    assert!(html_links(mail).contains(&format!("{BASE_URL}/icbs/QE1/2024-25/import")));

    // Later the same month (another instance, another day): nothing new.
    let later = app_with_mail(pool.clone(), &smtp, Some("2024-07-30")).await;
    assert_eq!(run(&later).await, Pass::default());

    // Next month QE1 still has not reported June: June is overdue now (and July due soon).
    let next = app_with_mail(pool, &smtp, Some("2024-08-26")).await;
    run(&next).await;
    assert_eq!(
        subjects(&smtp, &qe1),
        [
            "July 2024 figures are due by 31 August 2024: NHS Lancashire and South Cumbria Integrated Care Board".to_owned(),
            due(QE1_NAME),
            format!("June 2024 figures are overdue: {QE1_NAME}"),
        ]
    );
    let keys: Vec<String> = sqlx::query_scalar(
        "select distinct dedupe_key from outbox where dedupe_key like '%/QE1/%' order by 1",
    )
    .fetch_all(&next.pool)
    .await
    .unwrap();
    assert_eq!(
        keys,
        [
            "figures_due/QE1/2024-06",
            "figures_due/QE1/2024-07",
            "figures_overdue/QE1/2024-06"
        ]
    );
}

#[sqlx::test]
async fn the_weekly_digest_lists_only_the_reviewers_own_region(pool: PgPool) {
    let smtp = SmtpServer::start().await;
    // Monday 4 November 2024.
    let app = app_with_mail(pool.clone(), &smtp, Some("2024-11-04")).await;
    let ws = [Ws::national(1, 12_000)];
    seed::plan(&app.pool, "QE1", 2024, "submitted", &ws).await;
    seed::plan(&app.pool, "QOP", 2024, "agreed", &ws).await;
    seed::plan(&app.pool, "QWE", 2024, "submitted", &ws).await;
    sqlx::query("update plan set submitted_at = '2024-11-01 10:00:00+00'")
        .execute(&app.pool)
        .await
        .unwrap();
    let north_west = app.user(Role::RegionReviewer, Some("Y62")).await;
    let london = app.user(Role::RegionReviewer, Some("Y56")).await;
    let east = app.user(Role::RegionReviewer, Some("Y61")).await;
    let viewer = app.user(Role::IcbViewer, Some("QE1")).await;

    run(&app).await;
    assert_eq!(
        run(&app).await,
        Pass::default(),
        "a second pass sends nothing"
    );
    let digests = smtp.received_by(&north_west.email);
    assert_eq!(digests.len(), 1);
    assert_eq!(
        digests[0].subject,
        "1 plan is waiting for review: North West"
    );
    let html = scraper::Html::parse_document(&digests[0].html);
    let items = texts(&html, "li");
    assert_eq!(
        items,
        [format!(
            "{QE1_NAME} (QE1), 2024/25: submitted 1 November 2024, 3 days ago"
        )]
    );
    assert!(!digests[0].text.contains("QWE"));
    let london_mail = smtp.received_by(&london.email);
    assert_eq!(london_mail.len(), 1);
    assert!(london_mail[0].text.contains("(QWE)"));
    assert!(!london_mail[0].text.contains("QE1"));
    assert!(smtp.received_by(&east.email).is_empty());
    assert!(smtp.received_by(&viewer.email).is_empty());

    // The next week brings the next digest.
    let next_week = app_with_mail(pool, &smtp, Some("2024-11-12")).await;
    run(&next_week).await;
    assert_eq!(smtp.received_by(&north_west.email).len(), 2);
}

#[sqlx::test]
async fn a_plan_submitted_this_week_waits_for_next_weeks_digest(pool: PgPool) {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(pool, &smtp, Some("2024-11-06")).await;
    seed::plan(
        &app.pool,
        "QE1",
        2024,
        "submitted",
        &[Ws::national(1, 1_200)],
    )
    .await;
    sqlx::query("update plan set submitted_at = '2024-11-05 09:00:00+00'")
        .execute(&app.pool)
        .await
        .unwrap();
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;
    assert_eq!(run(&app).await.scheduled, 0);
    assert!(smtp.received_by(&reviewer.email).is_empty());
}

#[sqlx::test]
async fn each_person_chooses_their_emails_and_a_stale_form_changes_nothing(pool: PgPool) {
    let smtp = SmtpServer::start().await;
    let app = app_with_mail(pool, &smtp, None).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let colleague = app.user(Role::IcbEditor, Some("QE1")).await;
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;
    let analyst = app.user(Role::NationalAnalyst, None).await;
    const PAGE: &str = "/account/notifications";

    let mut ed = app.login_as(&editor).await;
    let page = ed.get(PAGE).await;
    assert_eq!(page.status, 200);
    let html = page.html();
    let offered: Vec<(String, bool)> = html
        .select(&sel("input[name=kind]"))
        .map(|i| {
            (
                i.value().attr("value").unwrap_or_default().to_owned(),
                i.value().attr("checked").is_some(),
            )
        })
        .collect();
    assert_eq!(
        offered,
        [
            ("plan_returned".to_owned(), true),
            ("plan_agreed".to_owned(), true),
            ("figures_due".to_owned(), true),
            ("figures_overdue".to_owned(), true),
        ]
    );
    let opened = FormState::of(&html, PAGE);
    let mut form = opened.clone();
    form.untick("kind", "plan_returned");
    let saved = ed.submit(&form).await;
    assert_eq!(
        saved.location(),
        Some("/account/notifications?notice=saved")
    );
    let page = ed.get("/account/notifications?notice=saved").await;
    assert_eq!(
        texts(&page.html(), "#notice"),
        ["Your choice of e-mails has been saved."]
    );
    let html = page.html();
    let returned = html
        .select(&sel("#kind-plan_returned"))
        .next()
        .expect("the checkbox");
    assert!(returned.value().attr("checked").is_none());

    // The page as first opened is stale now: refused with both choices, nothing changed.
    let mut stale = opened.clone();
    stale.untick("kind", "figures_due");
    let refused = ed.submit(&stale).await;
    assert_eq!(refused.status, 409);
    let html = refused.html();
    assert!(
        texts(&html, "#conflict-yours li")
            .contains(&"A month's figures are due within 7 days: off".to_owned())
    );
    assert!(
        texts(&html, "#conflict-saved li")
            .contains(&"Your ICB's plan is returned with comments: off".to_owned())
    );
    // A form with something not offered is refused by the field.
    let mut odd = FormState::of(&ed.get(PAGE).await.html(), PAGE);
    odd.tick("kind", "review_digest");
    let refused = ed.submit(&odd).await;
    assert_eq!(refused.status, 422);
    assert_eq!(
        refused.field_error("kind").as_deref(),
        Some("Error: Choose from the e-mails listed")
    );
    // Two saves of one page at once: exactly one applies.
    let current = FormState::of(&ed.get(PAGE).await.html(), PAGE);
    let answers = ed.submit_all(&[current.clone(), current]).await;
    let mut statuses: Vec<u16> = answers.iter().map(|a| a.status.as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, [303, 409]);
    let (turned_off, version): (Vec<String>, i32) =
        sqlx::query_as("select turned_off, version from notification_setting where user_id = $1")
            .bind(editor.user_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((turned_off, version), (vec!["plan_returned".to_owned()], 2));
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action = 'notifications.changed' and actor_user_id = $1",
    )
    .bind(editor.user_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, 2);

    // The choice is respected: a returned plan is mailed to the colleague only.
    seed::plan(
        &app.pool,
        "QE1",
        2024,
        "submitted",
        &[Ws::national(1, 1_200)],
    )
    .await;
    let mut rv = app.login_as(&reviewer).await;
    let review_page = rv.get(PLAN).await;
    assert_eq!(review_page.status, 200);
    decide(&mut rv, "return", "Please add measures.").await;
    run(&app).await;
    assert!(smtp.received_by(&editor.email).is_empty());
    assert_eq!(smtp.received_by(&colleague.email).len(), 1);

    // Reviewers choose among their own kinds; other roles get none.
    let mut rv = app.login_as(&reviewer).await;
    let html = rv.get(PAGE).await.html();
    let kinds: Vec<&str> = html
        .select(&sel("input[name=kind]"))
        .filter_map(|i| i.value().attr("value"))
        .collect();
    assert_eq!(kinds, ["plan_submitted", "review_digest"]);
    let mut an = app.login_as(&analyst).await;
    let page = an.get(PAGE).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        texts(&page.html(), "#no-emails"),
        ["Your role does not get e-mails from this service."]
    );
}

#[sqlx::test]
async fn administrators_see_sent_waiting_and_failed_emails(pool: PgPool) {
    let mut smtp = SmtpServer::start().await;
    let app = app_with_mail(pool, &smtp, None).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;
    let unknown = app.user(Role::RegionReviewer, Some("Y62")).await;
    let admin = app.user(Role::Admin, None).await;
    smtp.refuse(&unknown.email);

    let mut ed = app.login_as(&editor).await;
    plan_ready_to_submit(&mut ed).await;
    submit_plan(&mut ed).await;
    let pass = run(&app).await;
    assert_eq!((pass.sent, pass.failed), (1, 1), "{pass:?}");

    // With the server down, the next message waits.
    smtp.stop();
    let mut rv = app.login_as(&reviewer).await;
    decide(&mut rv, "agree", "").await;
    assert_eq!(run(&app).await.retrying, 1);

    let mut ad = app.login_as(&admin).await;
    let page = ad.get("/admin/outbox").await;
    assert_eq!(page.status, 200);
    let html = page.html();
    let rows: Vec<(String, String)> = html
        .select(&sel("#outbox tbody tr"))
        .map(|r| {
            (
                r.value().attr("data-status").unwrap_or_default().to_owned(),
                r.select(&sel("[data-col=to]"))
                    .next()
                    .map(|c| text_of(&c))
                    .unwrap_or_default(),
            )
        })
        .collect();
    let mut rows_sorted = rows.clone();
    rows_sorted.sort();
    let mut expected = vec![
        ("failed".to_owned(), unknown.email.clone()),
        ("sent".to_owned(), reviewer.email.clone()),
        ("waiting".to_owned(), editor.email.clone()),
    ];
    expected.sort();
    assert_eq!(rows_sorted, expected);
    let failed = ad.get("/admin/outbox?status=failed").await.html();
    assert_eq!(texts(&failed, "#outbox tbody tr").len(), 1);
    let error = texts(&failed, "#outbox [data-col=error]");
    assert_eq!(error.len(), 1);
    assert!(error[0].contains("No such user here"), "{error:?}");
    assert!(
        texts(&failed, "#status-filter")
            .join(" ")
            .contains("Failed (1)")
    );
    // Nobody else sees the outbox.
    let mut ed = app.login_as(&editor).await;
    assert_eq!(ed.get("/admin/outbox").await.status, 403);
}

#[sqlx::test]
async fn without_a_mail_server_nothing_is_sent_and_messages_wait(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    app.user(Role::RegionReviewer, Some("Y62")).await;
    let admin = app.user(Role::Admin, None).await;
    let worker = worker(&app);
    assert!(!worker.sends_email());

    let mut ed = app.login_as(&editor).await;
    plan_ready_to_submit(&mut ed).await;
    submit_plan(&mut ed).await;
    assert_eq!(
        worker.run_once(Utc::now()).await.expect("the pass runs"),
        Pass::default()
    );
    let waiting: i64 = sqlx::query_scalar(
        "select count(*) from outbox where sent_at is null and failed_at is null and attempts = 0",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(waiting, 1);
    let mut ad = app.login_as(&admin).await;
    let page = ad.get("/admin/outbox").await.html();
    assert_eq!(texts(&page, "#email-off h2").len(), 1);
    assert_eq!(
        texts(&page, "#outbox tbody tr[data-status=waiting]").len(),
        1
    );
}

#[sqlx::test]
async fn unusable_mail_settings_are_refused_at_start(pool: PgPool) {
    let smtp = SmtpServer::start().await;
    let app = TestApp::with_config(
        pool.clone(),
        Config {
            mail_from: None,
            ..mail_config(&smtp)
        },
    );
    let error = Worker::new(app.state.clone())
        .err()
        .expect("no sender is refused");
    assert!(error.to_string().contains("MEDOPT_MAIL_FROM"), "{error}");
    let app = TestApp::with_config(
        pool,
        Config {
            smtp_url: Some("gopher://mail.example".into()),
            ..mail_config(&smtp)
        },
    );
    let error = Worker::new(app.state.clone())
        .err()
        .expect("an unknown scheme is refused");
    assert!(error.to_string().contains("MEDOPT_SMTP_URL"), "{error}");
}

#[sqlx::test]
async fn the_outbox_is_scoped_like_the_data_it_is_about(pool: PgPool) {
    use medopt::auth::scope::{self, Scope};
    let app = TestApp::new(pool).await;
    let reviewer = app.user(Role::RegionReviewer, Some("Y62")).await;
    let ids = |code: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_as::<_, (i32, i16)>("select icb_id, region_id from icb where ods_code = $1")
                .bind(code)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let (qe1, north_west) = ids("QE1").await;
    let (qwe, london) = ids("QWE").await;
    // A message about QE1, and a digest for London.
    sqlx::query(
        "insert into outbox (kind, recipient_user_id, icb_id, region_id, subject, payload)
         values ('plan_submitted', $1, $2, $3, 'About QE1', '{}'),
                ('review_digest', $1, null, $4, 'London digest', '{}')",
    )
    .bind(reviewer.user_id)
    .bind(qe1)
    .bind(north_west)
    .bind(london)
    .execute(&app.pool)
    .await
    .unwrap();
    let visible = |scope: Scope| {
        let state = app.state.clone();
        async move {
            let mut tx = scope::begin(&state, &scope).await.unwrap();
            sqlx::query_scalar::<_, String>("select subject from outbox order by subject")
                .fetch_all(&mut *tx)
                .await
                .unwrap()
        }
    };
    // An ICB's scope does not cover its region's digest (which lists other ICBs).
    assert!(
        visible(Scope::Icb {
            icb_id: qwe,
            can_edit: true
        })
        .await
        .is_empty()
    );
    assert_eq!(
        visible(Scope::Region { region_id: london }).await,
        ["London digest"]
    );
    assert_eq!(
        visible(Scope::Region {
            region_id: north_west
        })
        .await,
        ["About QE1"]
    );
    assert_eq!(
        visible(Scope::National).await,
        ["About QE1", "London digest"]
    );
    // A request cannot write a message about an ICB outside its scope, nor change any.
    let mut tx = scope::begin(
        &app.state,
        &Scope::Icb {
            icb_id: qwe,
            can_edit: true,
        },
    )
    .await
    .unwrap();
    let refused = sqlx::query(
        "insert into outbox (kind, recipient_user_id, icb_id, region_id, subject, payload)
         values ('plan_agreed', $1, $2, $3, 'Forged', '{}')",
    )
    .bind(reviewer.user_id)
    .bind(qe1)
    .bind(north_west)
    .execute(&mut *tx)
    .await
    .expect_err("outside the scope");
    assert_eq!(
        refused
            .as_database_error()
            .and_then(|e| e.code())
            .as_deref(),
        Some("42501")
    );
    drop(tx);
    let mut tx = scope::begin(&app.state, &Scope::National).await.unwrap();
    let refused = sqlx::query("update outbox set sent_at = now()")
        .execute(&mut *tx)
        .await
        .expect_err("requests do not update the outbox");
    assert_eq!(
        refused
            .as_database_error()
            .and_then(|e| e.code())
            .as_deref(),
        Some("42501")
    );
}
