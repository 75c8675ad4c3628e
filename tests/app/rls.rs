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
    let updated = sqlx::query("update plan set review_comment = 'changed' where icb_id = $1")
        .bind(qwe)
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(updated, 0);
    let own = sqlx::query("update plan set review_comment = 'mine' where icb_id = $1")
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
