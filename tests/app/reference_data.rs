//! Loading the shipped reference data is idempotent and keeps administrators' edits.

use medopt::reference;
use sqlx::PgPool;

/// Everything the reference load writes, as text, to compare snapshots.
async fn snapshot(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "select format('%s', r) from region r
         union all select format('%s', i) from icb i
         union all select format('%s', y.programme_year_id || y.starts_on::text || y.open_for_editing) from programme_year y
         union all select format('%s', o) from opportunity o
         order by 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test]
async fn loading_twice_changes_nothing(pool: PgPool) {
    let first = reference::load(&pool).await.unwrap();
    assert!(first.rows_changed > 0);
    let before = snapshot(&pool).await;
    let second = reference::load(&pool).await.unwrap();
    assert_eq!(second.rows_changed, 0);
    assert_eq!(snapshot(&pool).await, before);
}

#[sqlx::test]
async fn reloading_keeps_an_administrators_edit(pool: PgPool) {
    reference::load(&pool).await.unwrap();
    // An administrator confirms the title of opportunity 12 for 2024/25 and renames an ICB.
    sqlx::query(
        "update opportunity set title = 'Confirmed title', title_confirmed = true, edited_at = now()
         where number = 12 and programme_year_id = (select programme_year_id from programme_year where starts_on = '2024-04-01')",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("update icb set name = 'Renamed ICB', edited_at = now() where ods_code = 'QE1'")
        .execute(&pool)
        .await
        .unwrap();

    reference::load(&pool).await.unwrap();

    let titles: Vec<(String, Option<String>, bool)> = sqlx::query_as(
        "select y.starts_on::text, o.title, o.title_confirmed from opportunity o join programme_year y using (programme_year_id)
         where o.number = 12 order by y.starts_on",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        titles,
        [
            ("2023-04-01".to_string(), None, false),
            (
                "2024-04-01".to_string(),
                Some("Confirmed title".to_string()),
                true
            ),
        ]
    );
    let name: String = sqlx::query_scalar("select name from icb where ods_code = 'QE1'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(name, "Renamed ICB");
}

#[sqlx::test]
async fn reloading_restores_a_row_nobody_edited(pool: PgPool) {
    reference::load(&pool).await.unwrap();
    // A stray change without `edited_at` (not through the admin pages) is put right.
    sqlx::query("update region set name = 'Wrong' where ods_code = 'Y56'")
        .execute(&pool)
        .await
        .unwrap();
    let report = reference::load(&pool).await.unwrap();
    assert_eq!(report.rows_changed, 1);
    let name: String = sqlx::query_scalar("select name from region where ods_code = 'Y56'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(name, "London");
}
