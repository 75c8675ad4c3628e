//! A property test over the whole route table: every POST route (and every GET route with a
//! path parameter) gets generated requests — control characters, very long strings,
//! duplicated and malformed fields, months spelt two ways, other tenants' ids in the path and
//! the form — as a signed-in user of each role. Whatever it sends:
//! - nothing answers 5xx;
//! - a refusal (4xx) changes no stored data;
//! - an applied change (3xx) leaves every other ICB's data, and (for roles that do not
//!   administer) the accounts, organisations and catalogue, as they were.
//!
//! The seed and case count are fixed, so a failure reproduces; `MEDOPT_FUZZ_CASES` runs more
//! (the default keeps `cargo test` quick).

use medopt::auth::Role;
use medopt::routes::RouteInfo;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use sqlx::PgPool;

use crate::common::{Browser, TestApp, TestResponse};
use crate::seed::{self, Ws};

/// Cases per role when `MEDOPT_FUZZ_CASES` is not set.
const DEFAULT_CASES: usize = 160;

/// Form fields the app's forms use (a month's fields are added with month keys).
const FIELDS: &[&str] = &[
    "version",
    "action",
    "annual_target",
    "confirm_remove",
    "content",
    "digest",
    "shown",
    "copy_from",
    "decision",
    "review_comment",
    "description",
    "effective_from",
    "efficiency_focus",
    "group_name",
    "icb",
    "region",
    "measure_direction",
    "measure_name",
    "measure_unit",
    "baseline_value",
    "baseline_month",
    "target_value",
    "target_month",
    "month",
    "name",
    "narrative",
    "objectives",
    "ods_code",
    "open",
    "opportunity",
    "organisation",
    "predecessors",
    "priority_title",
    "priority_description",
    "rag",
    "role",
    "successor",
    "summary",
    "title",
    "title_confirmed",
    "valid_from",
    "year",
    "email",
    "lead_name",
    "current_password",
    "new_password",
    "confirm_password",
    "cover_note",
    "saving_type",
    "benefit_type",
    "setting",
    "investment",
    "full_year_effect",
    "forecast_month",
    "likely_outturn",
    "confidence",
    "rag_reason",
    "risk_description",
    "risk_mitigation",
    "risk_owner",
    "risk_status",
    "savings_requirement",
    "source_version",
    "target_version",
    "workstream",
    "weight_high",
    "weight_medium",
    "weight_low",
    "rag_green",
    "rag_amber",
];

/// Routes a fuzzer must not drive: signing out or in changes the session under test.
fn skipped(route: &RouteInfo) -> bool {
    matches!(route.path, "/logout" | "/login")
}

/// What the tests planted, for paths and for "other tenants' ids".
struct Planted {
    own_workstream: i32,
    own_measure: i32,
    own_risk: i32,
    foreign_workstream: i32,
    foreign_measure: i32,
    foreign_risk: i32,
    victim_user: String,
}

/// A risk on a workstream, planted.
async fn risk(pool: &PgPool, workstream_id: i32) -> i32 {
    sqlx::query_scalar(
        "insert into workstream_risk (workstream_id, icb_id, description)
         select workstream_id, icb_id, 'Supply of the preferred product' from workstream
         where workstream_id = $1 returning risk_id",
    )
    .bind(workstream_id)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn plant(app: &TestApp) -> Planted {
    let pool = &app.pool;
    let (_, own) = seed::plan(
        pool,
        "QE1",
        2024,
        "draft",
        &[
            Ws::national(1, 12_000).actuals(&[Some(900), Some(1_100)]),
            Ws::national(2, 6_000),
            Ws::local("Care homes", 2_400),
        ],
    )
    .await;
    let own_measure =
        seed::measure(pool, own[0], "Best-value DOACs", &[("2024-05-01", 70.0)]).await;
    let (_, foreign) = seed::plan(pool, "QWE", 2024, "submitted", &[Ws::national(1, 12_000)]).await;
    let foreign_measure =
        seed::measure(pool, foreign[0], "Foreign measure", &[("2024-05-01", 5.0)]).await;
    let victim = app.user(Role::IcbViewer, Some("QWE")).await;
    Planted {
        own_workstream: own[0],
        own_measure,
        own_risk: risk(pool, own[0]).await,
        foreign_workstream: foreign[0],
        foreign_measure,
        foreign_risk: risk(pool, foreign[0]).await,
        victim_user: victim.user_id.to_string(),
    }
}

/// One generated request: choices for each path parameter and the form's fields.
#[derive(Debug, Clone)]
struct Case {
    route: usize,
    /// 0: own object, 1: another tenant's, 2: garbage.
    target: u8,
    garbage: String,
    fields: Vec<(String, String)>,
    right_version: bool,
}

fn text_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[ -~]{0,40}",
        "\\PC{0,20}",
        Just("\0".to_owned()),
        Just("a\u{0}b".to_owned()),
        Just("\u{1}\u{7f}\u{b}\r\n\t".to_owned()),
        Just("x".repeat(10_001)),
        Just("=HYPERLINK(\"http://evil\")".to_owned()),
        prop_oneof![
            Just("-5000"),
            Just("1,5"),
            Just("1e400"),
            Just("NaN"),
            Just("-0"),
            Just("99999999999999999999"),
            Just("£1,234.56"),
            Just("0.001"),
            Just("1/-5000"),
            Just("1/0"),
            Just("1/200000"),
            Just("2024-13"),
            Just("2024-6"),
            Just("agree"),
            Just("return"),
            Just("split"),
            Just("yes"),
            Just("green"),
            Just("higher_is_better"),
            Just("recurrent"),
            Just("non_recurrent"),
            Just("cash_releasing"),
            Just("primary_care"),
            Just("high"),
            Just("low"),
            Just("open"),
            Just("closed"),
            Just("none"),
            Just("2024-06"),
            Just("95%"),
            Just("2024-25"),
            Just("QWE"),
            Just("S1Y5D"),
            Just("Y56"),
            Just("admin"),
            Just("icb_editor"),
            Just("1"),
            Just("0"),
            Just("-1"),
            Just("2147483648"),
        ]
        .prop_map(str::to_owned),
    ]
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => proptest::sample::select(FIELDS).prop_map(str::to_owned),
        2 => (prop_oneof![Just("actual_"), Just("planned_"), Just("value_")], 2023..2027i32, 0..14u32)
            .prop_map(|(p, y, m)| format!("{p}{y}-{m:02}")),
        1 => (prop_oneof![Just("actual_"), Just("planned_")], 1..13u32).prop_map(|(p, m)| format!("{p}2024-{m}")),
        1 => "[a-z_]{1,12}",
    ]
}

fn case(routes: usize) -> impl Strategy<Value = Case> {
    (
        0..routes,
        prop_oneof![6 => Just(0u8), 2 => Just(1u8), 2 => Just(2u8)],
        prop_oneof![
            Just("%00"),
            Just("QE1%00"),
            Just("-1"),
            Just("99999999999"),
            Just("%C0%AF"),
            Just("..%2F..%2Fetc"),
            Just("2024-2"),
            Just("1/0"),
            Just("%FF"),
            Just("S1Y5D"),
        ]
        .prop_map(str::to_owned),
        proptest::collection::vec((field_name(), text_value()), 0..10),
        any::<bool>(),
    )
        .prop_map(|(route, target, garbage, mut fields, right_version)| {
            // Repeat a field now and then, as a tampered form would.
            if let Some(first) = fields.first().cloned()
                && fields.len() % 3 == 0
            {
                fields.push(first);
            }
            Case {
                route,
                target,
                garbage,
                fields,
                right_version,
            }
        })
}

/// The path with its parameters filled in for `case`.
fn path_for(route: &RouteInfo, case: &Case, planted: &Planted) -> String {
    let own_region = "Y62";
    let fill = |own: String, foreign: String| match case.target {
        0 => own,
        1 => foreign,
        _ => case.garbage.clone(),
    };
    route
        .path
        .replace("{icb}", &fill("QE1".into(), "QWE".into()))
        .replace("{year}", &fill("2024-25".into(), "2023-24".into()))
        .replace(
            "{workstream}",
            &fill(
                planted.own_workstream.to_string(),
                planted.foreign_workstream.to_string(),
            ),
        )
        .replace(
            "{measure}",
            &fill(
                planted.own_measure.to_string(),
                planted.foreign_measure.to_string(),
            ),
        )
        .replace(
            "{risk}",
            &fill(
                planted.own_risk.to_string(),
                planted.foreign_risk.to_string(),
            ),
        )
        .replace("{region}", &fill(own_region.into(), "Y56".into()))
        .replace(
            "{user_id}",
            &fill(
                planted.victim_user.clone(),
                "00000000-0000-0000-0000-000000000000".into(),
            ),
        )
        .replace(
            "{dataset}",
            &fill("plans.csv".into(), "audit-log.csv".into()),
        )
}

/// Stored data, in three parts: QE1's, everyone else's tenant data, and the shared tables.
async fn snapshot(pool: &PgPool) -> (Vec<String>, Vec<String>, Vec<String>) {
    let tenant = |own: bool| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "with qe1 as (select icb_id from icb where ods_code = 'QE1')
                 select format('%s', p) from plan p where (p.icb_id = (select icb_id from qe1)) = $1
                 union all select format('%s', w) from workstream w where (w.icb_id = (select icb_id from qe1)) = $1
                 union all select format('%s', m) from workstream_month m where (m.icb_id = (select icb_id from qe1)) = $1
                 union all select format('%s', u) from workstream_update u where (u.icb_id = (select icb_id from qe1)) = $1
                 union all select format('%s', m) from measure m where (m.icb_id = (select icb_id from qe1)) = $1
                 union all select format('%s', v) from measure_value v where (v.icb_id = (select icb_id from qe1)) = $1
                 union all select format('%s', f) from workstream_forecast f where (f.icb_id = (select icb_id from qe1)) = $1
                 union all select format('%s', r) from workstream_risk r where (r.icb_id = (select icb_id from qe1)) = $1
                 order by 1",
            )
            .bind(own)
            .fetch_all(&pool)
            .await
            .unwrap()
        }
    };
    let shared = sqlx::query_scalar::<_, String>(
        "select format('%s|%s|%s|%s|%s|%s', email, name, role, icb_id, region_id, active) from app_user
         union all select format('%s', y) from programme_year y
         union all select format('%s', o) from opportunity o
         union all select format('%s', i) from icb i
         union all select format('%s', s) from icb_succession s
         order by 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    (tenant(true).await, tenant(false).await, shared)
}

/// The version a form would carry for the route's object, read now.
async fn current_version(pool: &PgPool, path: &str, planted: &Planted) -> Option<i32> {
    let (table, id) = if path.contains("/measures/") {
        ("measure", planted.own_measure)
    } else if path.contains("/risks/") {
        ("risk", planted.own_risk)
    } else if path.contains("/workstreams/") {
        ("workstream", planted.own_workstream)
    } else {
        ("plan", 0)
    };
    let sql = match table {
        "measure" => "select version from measure where measure_id = $1",
        "risk" => "select version from workstream_risk where risk_id = $1",
        "workstream" => "select version from workstream where workstream_id = $1",
        _ => {
            "select version from plan where icb_id = (select icb_id from icb where ods_code = 'QE1') and $1 = 0"
        }
    };
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_optional(pool)
        .await
        .unwrap()
}

async fn send(
    browser: &mut Browser<'_>,
    route: &RouteInfo,
    path: &str,
    fields: &[(String, String)],
) -> TestResponse {
    if route.method == "GET" {
        return browser.get(path).await;
    }
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    browser.post(path, &pairs).await
}

fn cases() -> usize {
    std::env::var("MEDOPT_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

#[sqlx::test]
async fn generated_requests_never_fail_or_change_what_they_may_not(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let planted = plant(&app).await;
    let routes: Vec<RouteInfo> = medopt::http::route_table()
        .into_iter()
        .filter(|r| !skipped(r) && (r.method == "POST" || r.path.contains('{')))
        .collect();
    let config = Config {
        cases: cases() as u32,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]));
    let strategy = case(routes.len());
    let roles = [
        (Role::IcbEditor, Some("QE1")),
        (Role::IcbViewer, Some("QE1")),
        (Role::RegionReviewer, Some("Y62")),
        (Role::NationalAnalyst, None),
        (Role::Admin, None),
    ];
    let mut sent = 0;
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for (role, org) in roles {
        let user = app.user(role, org).await;
        let mut browser = app.login_as(&user).await;
        for _ in 0..cases() {
            let case = strategy.new_tree(&mut runner).expect("a case").current();
            let route = &routes[case.route];
            let path = path_for(route, &case, &planted);
            let mut fields = case.fields.clone();
            if case.right_version
                && let Some(v) = current_version(&app.pool, &path, &planted).await
            {
                fields.retain(|(k, _)| k != "version");
                fields.push(("version".into(), v.to_string()));
            }
            let before = snapshot(&app.pool).await;
            let response = send(&mut browser, route, &path, &fields).await;
            sent += 1;
            let status = response.status.as_u16();
            *statuses.entry(status).or_default() += 1;
            let what = format!("{role:?} {} {path} {fields:?} → {status}", route.method);
            assert!(
                status < 500,
                "{what}: {}",
                response.body.chars().take(2000).collect::<String>()
            );
            let after = snapshot(&app.pool).await;
            if (400..500).contains(&status) {
                assert_eq!(before, after, "{what}: a refusal changed stored data");
            }
            assert_eq!(before.1, after.1, "{what}: another ICB's data changed");
            if role != Role::Admin {
                assert_eq!(before.2, after.2, "{what}: shared data changed");
            }
            if !matches!(role, Role::IcbEditor) {
                assert_eq!(
                    before.0, after.0,
                    "{what}: a role that cannot edit changed QE1's data"
                );
            }
            // A changed password or a deactivation ends the session: sign in again.
            if response.location().is_some_and(|l| l.starts_with("/login")) {
                browser = app.login_as(&user).await;
            }
        }
    }
    eprintln!("fuzz: {sent} requests, answers by status {statuses:?}");
    assert_eq!(sent, roles.len() * cases());
}
