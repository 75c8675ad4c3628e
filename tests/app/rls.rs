//! Row-level security, proved with the application role: with a scope set, a query with no
//! tenant filter returns only in-scope rows; with none set it returns nothing.

use medopt::auth::scope::{self, Scope};
use sqlx::PgPool;

use crate::common::TestApp;

/// Plans for QE1 and QOP (North West) and QWE (London) in 2024/25; returns their icb ids.
async fn seed_plans(app: &TestApp) -> (i32, i32, i32) {
    let id = |code: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i32>("select icb_id from icb where ods_code = $1")
                .bind(code)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let (qe1, qop, qwe) = (id("QE1").await, id("QOP").await, id("QWE").await);
    sqlx::query(
        "insert into plan (icb_id, programme_year_id)
         select i, programme_year_id from programme_year, unnest($1::int[]) i where starts_on = '2024-04-01'",
    )
    .bind(vec![qe1, qop, qwe])
    .execute(&app.pool)
    .await
    .unwrap();
    (qe1, qop, qwe)
}

async fn visible_icbs(app: &TestApp, scope: &Scope) -> Vec<i32> {
    let mut tx = scope::begin(&app.state, scope).await.unwrap();
    // Deliberately no tenant filter: row-level security alone decides.
    sqlx::query_scalar("select icb_id from plan order by icb_id")
        .fetch_all(&mut *tx)
        .await
        .unwrap()
}

#[sqlx::test]
async fn scoped_transactions_see_only_their_rows(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (qe1, qop, qwe) = seed_plans(&app).await;
    let north_west: i16 = sqlx::query_scalar("select region_id from region where ods_code = 'Y62'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let mut all = vec![qe1, qop, qwe];
    all.sort();
    let mut region = vec![qe1, qop];
    region.sort();

    assert_eq!(
        visible_icbs(
            &app,
            &Scope::Icb {
                icb_id: qe1,
                can_edit: true
            }
        )
        .await,
        [qe1]
    );
    assert_eq!(
        visible_icbs(
            &app,
            &Scope::Region {
                region_id: north_west
            }
        )
        .await,
        region
    );
    assert_eq!(visible_icbs(&app, &Scope::National).await, all);
    assert!(visible_icbs(&app, &Scope::Nothing).await.is_empty());
}

#[sqlx::test]
async fn with_no_scope_set_the_app_role_sees_nothing(pool: PgPool) {
    let app = TestApp::new(pool).await;
    seed_plans(&app).await;
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("set local role medopt_app")
        .execute(&mut *tx)
        .await
        .unwrap();
    let rows: i64 = sqlx::query_scalar("select count(*) from plan")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    tx.rollback().await.unwrap();
    // The role switch ended with the transaction: the owner's pool connection is unaffected.
    let rows: i64 = sqlx::query_scalar("select count(*) from plan")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 3);
}

#[sqlx::test]
async fn the_app_role_cannot_write_outside_its_scope(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (qe1, _, qwe) = seed_plans(&app).await;
    let scope = Scope::Icb {
        icb_id: qe1,
        can_edit: true,
    };

    let mut tx = scope::begin(&app.state, &scope).await.unwrap();
    let updated = sqlx::query("update plan set updated_at = now() where icb_id = $1")
        .bind(qwe)
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(updated, 0);
    let own = sqlx::query("update plan set updated_at = now() where icb_id = $1")
        .bind(qe1)
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(own, 1);
    tx.commit().await.unwrap();

    let mut tx = scope::begin(&app.state, &scope).await.unwrap();
    let moved = sqlx::query("update plan set icb_id = $2 where icb_id = $1")
        .bind(qe1)
        .bind(qwe)
        .execute(&mut *tx)
        .await;
    assert!(moved.is_err(), "a row cannot be moved to another ICB");
    drop(tx);

    let mut tx = scope::begin(
        &app.state,
        &Scope::Icb {
            icb_id: qe1,
            can_edit: false,
        },
    )
    .await
    .unwrap();
    let viewer_update = sqlx::query("update plan set review_comment = 'viewer' where icb_id = $1")
        .bind(qe1)
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(
        viewer_update, 0,
        "read-only scope cannot change its own ICB's rows"
    );
}

#[sqlx::test]
async fn the_app_role_cannot_change_or_delete_audit_events(pool: PgPool) {
    let app = TestApp::new(pool).await;
    medopt::audit::record_now(
        &app.pool,
        &Default::default(),
        medopt::audit::AuditEvent::new("test.event"),
    )
    .await;
    for statement in [
        "delete from audit_event",
        "update audit_event set action = 'x'",
        "truncate audit_event",
    ] {
        let mut tx = scope::begin(&app.state, &Scope::National).await.unwrap();
        let result = sqlx::query(statement).execute(&mut *tx).await;
        let error = result.expect_err(statement);
        assert_eq!(
            error.as_database_error().and_then(|e| e.code()).as_deref(),
            Some("42501"),
            "{statement}: permission denied"
        );
    }
    let count: i64 =
        sqlx::query_scalar("select count(*) from audit_event where action = 'test.event'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(count, 1);
}

#[sqlx::test]
async fn every_table_that_holds_tenant_data_has_forced_row_level_security(pool: PgPool) {
    // A table with an `icb_id` holds an ICB's data (the schema's convention), so a new one
    // is covered without anyone remembering. `icb` is the organisation list itself and
    // `app_user` the accounts, which only administrators manage. `prescribing_*` hold
    // national open data (NHSBSA's prescribing figures per ICB), the same for every role.
    let tables: Vec<(String, bool, bool, i64)> = sqlx::query_as(
        "select c.relname::text, c.relrowsecurity, c.relforcerowsecurity,
                (select count(*) from pg_policy p where p.polrelid = c.oid and p.polcmd in ('r', '*'))
         from pg_class c join pg_attribute a on a.attrelid = c.oid
         where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'
           and a.attname = 'icb_id' and c.relname not in ('icb', 'app_user')
           and c.relname not like 'prescribing%'
         order by 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let names: Vec<&str> = tables.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "measure",
            "measure_value",
            "outbox",
            "plan",
            "plan_review_event",
            "workstream",
            "workstream_forecast",
            "workstream_month",
            "workstream_risk",
            "workstream_update"
        ]
    );
    for (table, enabled, forced, read_policies) in &tables {
        assert!(
            *enabled && *forced,
            "{table}: row-level security not enabled and forced"
        );
        assert_eq!(*read_policies, 1, "{table}: one read policy");
    }
}

#[sqlx::test]
async fn workstream_figures_are_filtered_by_scope_too(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (qe1, _, qwe) = seed_plans(&app).await;
    sqlx::query(
        "with w as (insert into workstream (icb_id, plan_id, title, annual_target_pence)
                    select icb_id, plan_id, 'Priority', 100 from plan returning workstream_id, icb_id)
         insert into workstream_month (workstream_id, icb_id, month, planned_pence, actual_pence)
         select workstream_id, icb_id, '2024-04-01', 100, 90 from w",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let months = |scope: Scope| {
        let app = &app;
        async move {
            let mut tx = scope::begin(&app.state, &scope).await.unwrap();
            sqlx::query_scalar::<_, i32>("select icb_id from workstream_month order by icb_id")
                .fetch_all(&mut *tx)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        months(Scope::Icb {
            icb_id: qe1,
            can_edit: false
        })
        .await,
        [qe1]
    );
    assert!(months(Scope::Nothing).await.is_empty());
    // An ICB editor cannot write a row for another ICB even if the application tried.
    let mut tx = scope::begin(
        &app.state,
        &Scope::Icb {
            icb_id: qe1,
            can_edit: true,
        },
    )
    .await
    .unwrap();
    let refused = sqlx::query("update workstream_month set actual_pence = 0 where icb_id = $1")
        .bind(qwe)
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(refused.rows_affected(), 0);
}

/// The SQLSTATE of a refused statement.
fn refusal(result: Result<sqlx::postgres::PgQueryResult, sqlx::Error>) -> Option<String> {
    result
        .expect_err("the statement is refused")
        .as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned())
}

#[sqlx::test]
async fn a_reviewers_scope_writes_only_the_review_of_its_regions_plans(pool: PgPool) {
    let app = TestApp::new(pool).await;
    let (qe1, _, _) = seed_plans(&app).await;
    // QE1's plan is submitted and has a workstream with June's figures (written as the owner).
    let workstream_id: i32 = sqlx::query_scalar(
        "with p as (update plan set status = 'submitted' where icb_id = $1 returning plan_id, icb_id),
              w as (insert into workstream (icb_id, plan_id, title, annual_target_pence)
                    select icb_id, plan_id, 'Local', 10000 from p returning workstream_id, icb_id)
         insert into workstream_month (workstream_id, icb_id, month, planned_pence, actual_pence)
         select workstream_id, icb_id, '2024-06-01', 10000, 9000 from w returning workstream_id",
    )
    .bind(qe1)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let north_west: i16 = sqlx::query_scalar("select region_id from icb where icb_id = $1")
        .bind(qe1)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let reviewer = Scope::Region {
        region_id: north_west,
    };

    let mut tx = scope::begin(&app.state, &reviewer).await.unwrap();
    let figure = sqlx::query(
        "update workstream_month set actual_pence = 1 where workstream_id = $1 and month = '2024-06-01'",
    )
    .bind(workstream_id)
    .execute(&mut *tx)
    .await
    .unwrap()
    .rows_affected();
    assert_eq!(figure, 0, "a reviewer cannot change a workstream figure");
    let target =
        sqlx::query("update workstream set annual_target_pence = 1 where workstream_id = $1")
            .bind(workstream_id)
            .execute(&mut *tx)
            .await
            .unwrap()
            .rows_affected();
    assert_eq!(target, 0, "nor a target");
    let added = sqlx::query(
        "insert into workstream (icb_id, plan_id, title) select icb_id, plan_id, 'Sneaky' from plan where icb_id = $1",
    )
    .bind(qe1)
    .execute(&mut *tx)
    .await;
    assert_eq!(
        refusal(added).as_deref(),
        Some("42501"),
        "nor add a workstream"
    );
    drop(tx);

    // The review fields of a submitted plan: yes. Anything else about the plan: no.
    let mut tx = scope::begin(&app.state, &reviewer).await.unwrap();
    let content =
        sqlx::query("update plan set created_at = now() - interval '1 day' where icb_id = $1")
            .bind(qe1)
            .execute(&mut *tx)
            .await;
    assert_eq!(refusal(content).as_deref(), Some("42501"));
    drop(tx);
    let mut tx = scope::begin(&app.state, &reviewer).await.unwrap();
    let agreed = sqlx::query(
        "update plan set status = 'agreed', review_comment = 'Fine', version = version + 1 where icb_id = $1",
    )
    .bind(qe1)
    .execute(&mut *tx)
    .await
    .unwrap()
    .rows_affected();
    assert_eq!(agreed, 1);
    tx.commit().await.unwrap();
    let mut tx = scope::begin(&app.state, &reviewer).await.unwrap();
    let again = sqlx::query("update plan set status = 'returned' where icb_id = $1")
        .bind(qe1)
        .execute(&mut *tx)
        .await;
    assert_eq!(
        refusal(again).as_deref(),
        Some("42501"),
        "a decision is only taken on a submitted plan"
    );
    drop(tx);

    // Nor can an editor decide their own plan's review.
    let editor = Scope::Icb {
        icb_id: qe1,
        can_edit: true,
    };
    sqlx::query("update plan set status = 'submitted' where icb_id = $1")
        .bind(qe1)
        .execute(&app.pool)
        .await
        .unwrap();
    let mut tx = scope::begin(&app.state, &editor).await.unwrap();
    let own = sqlx::query("update plan set status = 'agreed' where icb_id = $1")
        .bind(qe1)
        .execute(&mut *tx)
        .await;
    assert_eq!(refusal(own).as_deref(), Some("42501"));
    drop(tx);

    let actual: Option<i64> = sqlx::query_scalar(
        "select actual_pence from workstream_month where workstream_id = $1 and month = '2024-06-01'",
    )
    .bind(workstream_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        actual,
        Some(9000),
        "nothing a refused write touched changed"
    );
}
