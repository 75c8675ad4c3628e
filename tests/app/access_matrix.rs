//! The access matrix, generated from the router's own route table: every route × every role
//! (and anonymous) × an object of the user's own tenant and of another tenant or region.
//! Each case checks the status the route's declared access implies, that no other tenant's
//! data appears in the body, and that refused writes changed nothing. A route added later
//! joins the matrix by existing.

use medopt::auth::Role;
use medopt::routes::{Access, RouteInfo};
use sqlx::PgPool;

use crate::common::{Browser, TestApp, TestUser};

/// Tenant data planted in the ICB outside every scoped user's reach.
const FOREIGN_MARKER: &str = "FOREIGN-MARKER-QWE";
const OWN_MARKER: &str = "OWN-MARKER-QE1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allowed,
    SignIn,
    NotFound,
    Forbidden,
}

fn expected(access: Access, role: Option<Role>, own: bool) -> Expect {
    use Expect::*;
    let Some(role) = role else {
        return if access == Access::Public {
            Allowed
        } else {
            SignIn
        };
    };
    let scoped = |covered: bool| if covered { Allowed } else { NotFound };
    match (access, role) {
        (Access::Public | Access::SignedIn, _) => Allowed,
        (Access::IcbRead, Role::IcbEditor | Role::IcbViewer | Role::RegionReviewer) => scoped(own),
        (Access::IcbRead, Role::NationalAnalyst | Role::Admin) => Allowed,
        (Access::IcbWrite, Role::IcbEditor) => scoped(own),
        (Access::IcbWrite, Role::IcbViewer | Role::RegionReviewer) => {
            if own {
                Forbidden
            } else {
                NotFound
            }
        }
        (Access::IcbWrite, Role::NationalAnalyst | Role::Admin) => Forbidden,
        (Access::IcbReview, Role::RegionReviewer) => scoped(own),
        (Access::IcbReview, Role::IcbEditor | Role::IcbViewer) => {
            if own {
                Forbidden
            } else {
                NotFound
            }
        }
        (Access::IcbReview, Role::NationalAnalyst | Role::Admin) => Forbidden,
        (Access::RegionRead, Role::RegionReviewer) => scoped(own),
        (Access::RegionRead, Role::IcbEditor | Role::IcbViewer) => NotFound,
        (Access::RegionRead, Role::NationalAnalyst | Role::Admin) => Allowed,
        (Access::National, Role::NationalAnalyst | Role::Admin) => Allowed,
        (Access::National, _) => Forbidden,
        (Access::Admin, Role::Admin) => Allowed,
        (Access::Admin, _) => Forbidden,
    }
}

/// Whether the path names a tenant object, so own and foreign cases differ.
fn has_tenant_param(path: &str) -> bool {
    [
        "{icb}",
        "{region}",
        "{user_id}",
        "{workstream}",
        "{measure}",
        "{risk}",
    ]
    .iter()
    .any(|p| path.contains(p))
}

struct Fixture {
    own_target: TestUser,
    foreign_target: TestUser,
    own: Planted,
    foreign: Planted,
}

impl Fixture {
    fn path(&self, route: &RouteInfo, own: bool) -> String {
        let (icb, region, user, planted) = if own {
            ("QE1", "Y62", self.own_target.user_id, &self.own)
        } else {
            ("QWE", "Y56", self.foreign_target.user_id, &self.foreign)
        };
        route
            .path
            .replace("{icb}", icb)
            .replace("{region}", region)
            .replace("{year}", "2024-25")
            .replace("{number}", "12")
            .replace("{dataset}", "monthly-savings.csv")
            .replace("{user_id}", &user.to_string())
            .replace("{workstream}", &planted.workstream_id.to_string())
            .replace("{measure}", &planted.measure_id.to_string())
            .replace("{month}", "2024-06")
            .replace("{risk}", &planted.risk_id.to_string())
    }
}

/// Every tenant row and the accounts: what a refused write must leave alone.
async fn tenant_snapshot(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "select format('%s', p) from plan p
         union all select format('%s', w) from workstream w
         union all select format('%s', m) from workstream_month m
         union all select format('%s', u) from workstream_update u
         union all select format('%s', m) from measure m
         union all select format('%s', v) from measure_value v
         union all select format('%s', f) from workstream_forecast f
         union all select format('%s', r) from workstream_risk r
         union all select format('%s', y) from programme_year y
         union all select format('%s %s %s %s %s %s', user_id, email, role, icb_id, region_id, active) from app_user
         order by 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// A workstream (with a month, an update, a measure, a forecast and a risk) planted in an
/// ICB's 2024/25 plan.
struct Planted {
    workstream_id: i32,
    measure_id: i32,
    risk_id: i32,
}

async fn plant_plans(pool: &PgPool) -> (Planted, Planted) {
    sqlx::query(
        "insert into plan (icb_id, programme_year_id, status, review_comment)
         select i.icb_id, y.programme_year_id, 'returned', c.comment
         from (values ('QE1', $1), ('QWE', $2)) as c(code, comment)
         join icb i on i.ods_code = c.code
         join programme_year y on y.starts_on = '2024-04-01'",
    )
    .bind(OWN_MARKER)
    .bind(FOREIGN_MARKER)
    .execute(pool)
    .await
    .unwrap();
    let mut planted = Vec::new();
    for (code, marker) in [("QE1", OWN_MARKER), ("QWE", FOREIGN_MARKER)] {
        let (workstream_id, measure_id): (i32, i32) = sqlx::query_as(
            "with w as (
                 insert into workstream (icb_id, plan_id, title, lead_name, annual_target_pence)
                 select p.icb_id, p.plan_id, $2 || ' priority', $2 || ' lead', 100000
                 from plan p join icb i using (icb_id) where i.ods_code = $1
                 returning workstream_id, icb_id),
             m as (
                 insert into workstream_month (workstream_id, icb_id, month, planned_pence, actual_pence)
                 select workstream_id, icb_id, '2024-04-01', 100000, 98765 from w),
             u as (
                 insert into workstream_update (workstream_id, icb_id, rag, narrative, author_name)
                 select workstream_id, icb_id, 'amber', $2 || ' narrative', 'Someone' from w),
             ms as (
                 insert into measure (workstream_id, icb_id, name, unit, direction)
                 select workstream_id, icb_id, $2 || ' measure', '%', 'higher_is_better' from w
                 returning measure_id, icb_id)
             select (select workstream_id from w), (select measure_id from ms)",
        )
        .bind(code)
        .bind(marker)
        .fetch_one(pool)
        .await
        .unwrap();
        sqlx::query("insert into measure_value (measure_id, icb_id, month, value) select measure_id, icb_id, '2024-04-01', 42 from measure where measure_id = $1")
            .bind(measure_id)
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("insert into workstream_forecast (workstream_id, icb_id, month, likely_outturn_pence, confidence) select workstream_id, icb_id, '2024-04-01', 1100000, 'medium' from workstream where workstream_id = $1")
            .bind(workstream_id)
            .execute(pool)
            .await
            .unwrap();
        let risk_id: i32 = sqlx::query_scalar("insert into workstream_risk (workstream_id, icb_id, description, owner) select workstream_id, icb_id, $2 || ' risk', $2 || ' owner' from workstream where workstream_id = $1 returning risk_id")
            .bind(workstream_id)
            .bind(marker)
            .fetch_one(pool)
            .await
            .unwrap();
        planted.push(Planted {
            workstream_id,
            measure_id,
            risk_id,
        });
    }
    let foreign = planted.pop().unwrap();
    let own = planted.pop().unwrap();
    (own, foreign)
}

/// The redirect that asks a visitor to sign in (not the one after signing out).
fn is_sign_in_redirect(location: &str) -> bool {
    location == "/login" || location.starts_with("/login?next=")
}

async fn check_case(
    app: &TestApp,
    browser: &mut Browser<'_>,
    route: &RouteInfo,
    role: Option<Role>,
    own: bool,
    fixture: &Fixture,
) -> Result<(), String> {
    let path = fixture.path(route, own);
    let expect = expected(route.access, role, own);
    let before = if route.method == "POST" {
        Some(tenant_snapshot(&app.pool).await)
    } else {
        None
    };
    let response = match route.method {
        "GET" => browser.get(&path).await,
        _ => browser.post(&path, &[("year", "2023-24")]).await,
    };
    let case = format!(
        "{} {path} as {role:?}: expected {expect:?}, got {}",
        route.method, response.status
    );
    let status = response.status.as_u16();
    let ok = match expect {
        Expect::Allowed => match route.method {
            "GET" => status == 200,
            _ => {
                matches!(status, 200 | 303 | 409 | 422)
                    && !response.location().is_some_and(is_sign_in_redirect)
            }
        },
        Expect::SignIn => status == 303 && response.location().is_some_and(is_sign_in_redirect),
        Expect::NotFound => status == 404,
        Expect::Forbidden => status == 403,
    };
    if !ok {
        return Err(case);
    }
    let national = matches!(role, Some(Role::NationalAnalyst | Role::Admin));
    if !national && response.body.contains(FOREIGN_MARKER) {
        return Err(format!("{case}: another tenant's data is in the body"));
    }
    if let (Some(before), Expect::NotFound | Expect::Forbidden | Expect::SignIn) = (before, expect)
        && tenant_snapshot(&app.pool).await != before
    {
        return Err(format!("{case}: a refused request changed stored data"));
    }
    Ok(())
}

#[sqlx::test]
async fn every_route_answers_every_role_as_declared(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (own, foreign) = plant_plans(&app.pool).await;
    let fixture = Fixture {
        own_target: app.user(Role::IcbViewer, Some("QE1")).await,
        foreign_target: app.user(Role::IcbViewer, Some("QWE")).await,
        own,
        foreign,
    };
    let actors = [
        app.user(Role::IcbEditor, Some("QE1")).await,
        app.user(Role::IcbViewer, Some("QE1")).await,
        app.user(Role::RegionReviewer, Some("Y62")).await,
        app.user(Role::NationalAnalyst, None).await,
        app.user(Role::Admin, None).await,
    ];
    let routes = medopt::http::route_table();
    let mut failures = Vec::new();
    let mut cases = 0;

    let mut anonymous = app.browser();
    anonymous.get("/login").await; // a session and form token, as a visitor would have
    anonymous.csrf = crate::common::token_on(&anonymous.get("/login").await.html());
    let mut signed_in = Vec::new();
    for actor in &actors {
        signed_in.push((Some(actor.role), Some(actor), app.login_as(actor).await));
    }
    signed_in.insert(0, (None, None, anonymous));

    for (role, actor, browser) in &mut signed_in {
        for route in &routes {
            let sides: &[bool] = if has_tenant_param(route.path) {
                &[true, false]
            } else {
                &[true]
            };
            for &own in sides {
                cases += 1;
                if let Err(failure) = check_case(&app, browser, route, *role, own, &fixture).await {
                    failures.push(failure);
                }
                // Signing out (or in) changes the session: start the next case signed in again.
                if let (Some(actor), "/logout" | "/login") = (*actor, route.path) {
                    *browser = app.login_as(actor).await;
                }
            }
        }
    }
    println!(
        "access matrix: {} routes, {cases} route × role × tenant cases",
        routes.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(cases >= 150, "{cases}");
}

#[sqlx::test]
async fn out_of_scope_attempts_are_audited(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let editor = app.user(Role::IcbEditor, Some("QE1")).await;
    let mut browser = app.login_as(&editor).await;
    assert_eq!(browser.get("/icbs/QWE").await.status, 404);
    assert_eq!(browser.get("/admin/users").await.status, 403);
    let events: Vec<(String, Option<String>)> = sqlx::query_as(
        "select action, organisation_code from audit_event where actor_user_id = $1 and action = 'access.denied' order by audit_event_id",
    )
    .bind(editor.user_id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        events,
        [
            ("access.denied".into(), Some("QWE".into())),
            ("access.denied".into(), None)
        ]
    );
}

#[sqlx::test]
async fn own_tenant_data_is_shown_to_those_it_belongs_to(pool: PgPool) {
    // The other half of the matrix's "no foreign data": the marker check would pass if pages
    // showed nothing, so prove the page shows the tenant's own data.
    let app = TestApp::new(pool).await;
    plant_plans(&app.pool).await;
    for (role, org, path) in [
        (Role::IcbViewer, Some("QE1"), "/icbs/QE1"),
        (Role::RegionReviewer, Some("Y62"), "/regions/Y62"),
        (Role::NationalAnalyst, None, "/icbs/QWE"),
    ] {
        let user = app.user(role, org).await;
        let mut browser = app.login_as(&user).await;
        let body = browser.get(path).await.body;
        let marker = if path == "/icbs/QWE" {
            FOREIGN_MARKER
        } else {
            OWN_MARKER
        };
        assert!(body.contains(marker), "{role:?} on {path}");
    }
}
