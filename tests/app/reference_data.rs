//! Loading the shipped reference data is idempotent, keeps administrators' edits, and gives
//! a fresh install the organisations of every programme year (the 36 ICBs of 2026/27 and
//! which ICBs each came from) and the catalogue of 2023/24 to 2026/27.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use medopt::reference;
use sqlx::PgPool;

/// Everything the reference load writes, as text, to compare snapshots.
async fn snapshot(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "select format('%s', r) from region r
         union all select format('%s', i) from icb i
         union all select format('%s', y.programme_year_id || y.starts_on::text || y.open_for_editing) from programme_year y
         union all select format('%s', o) from opportunity o
         union all select format('%s', (s.predecessor_icb_id, s.successor_icb_id, s.effective_from)) from icb_succession s
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
    // An administrator confirms the title of opportunity 13 for 2024/25 and renames two ICBs.
    sqlx::query(
        "update opportunity set title = 'Confirmed title', title_confirmed = true, edited_at = now()
         where number = 13 and programme_year_id = (select programme_year_id from programme_year where starts_on = '2024-04-01')",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "update icb set name = 'Renamed ICB', edited_at = now() where ods_code in ('QE1', 'S1Y5D')",
    )
    .execute(&pool)
    .await
    .unwrap();

    reference::load(&pool).await.unwrap();

    let titles: Vec<(String, String, bool)> = sqlx::query_as(
        "select y.starts_on::text, o.title, o.title_confirmed from opportunity o join programme_year y using (programme_year_id)
         where o.number = 13 order by y.starts_on",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let working = || "Sodium valproate safety — title to be confirmed".to_string();
    assert_eq!(
        titles,
        [
            ("2023-04-01".to_string(), working(), false),
            (
                "2024-04-01".to_string(),
                "Confirmed title".to_string(),
                true
            ),
            ("2025-04-01".to_string(), working(), false),
            ("2026-04-01".to_string(), working(), false),
        ]
    );
    let names: Vec<String> =
        sqlx::query_scalar("select name from icb where ods_code in ('QE1', 'S1Y5D')")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(names, ["Renamed ICB", "Renamed ICB"]);
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

#[sqlx::test]
async fn a_fresh_install_knows_the_36_icbs_of_2026_27_and_where_they_came_from(pool: PgPool) {
    reference::load(&pool).await.unwrap();
    // ICBs that existed for any part of 2026/27, by region.
    let by_region: BTreeMap<String, i64> = sqlx::query_as(
        "select r.ods_code, count(i.icb_id) from region r
         left join icb i on i.region_id = r.region_id
          and i.valid_from <= '2027-03-31' and (i.valid_to is null or i.valid_to >= '2026-04-01')
         group by r.ods_code",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    assert_eq!(by_region.len(), 7);
    assert!(by_region.values().all(|&n| n > 0), "{by_region:?}");
    assert_eq!(by_region.values().sum::<i64>(), 36);
    assert_eq!(
        by_region["Y61"], 3,
        "East of England: Central East, Essex, Norfolk and Suffolk"
    );
    assert_eq!(
        by_region["Y59"], 4,
        "South East: Thames Valley, Surrey and Sussex, HIOW, Kent"
    );
    assert_eq!(
        by_region["Y56"], 4,
        "London: West and North London joined three others"
    );

    // Each succession of the shipped file, effective 1 April 2026.
    let recorded: Vec<(String, String, NaiveDate)> = sqlx::query_as(
        "select p.ods_code, n.ods_code, s.effective_from from icb_succession s
         join icb p on p.icb_id = s.predecessor_icb_id join icb n on n.icb_id = s.successor_icb_id
         order by 1, 2",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let april = NaiveDate::from_ymd_opt(2026, 4, 1).unwrap();
    let mut expected: Vec<(String, String, NaiveDate)> = [
        ("QHG", "S1Y5D"),
        ("QUE", "S1Y5D"),
        ("QM7", "S1Y5D"),
        ("QM7", "D7T5G"),
        ("QH8", "D7T5G"),
        ("QJG", "D7T5G"),
        ("QJG", "T6Y0W"),
        ("QMM", "T6Y0W"),
        ("QNQ", "S0E4D"),
        ("QNQ", "S9B9J"),
        ("QNQ", "QRL"),
        ("QU9", "S0E4D"),
        ("QXU", "S9B9J"),
        ("QNX", "S9B9J"),
        ("QMJ", "Z9B2Z"),
        ("QRV", "Z9B2Z"),
    ]
    .into_iter()
    .map(|(p, s)| (p.to_owned(), s.to_owned(), april))
    .collect();
    expected.sort();
    assert_eq!(recorded, expected);

    // The new ICBs start that day in their predecessors' region; QRL carries on.
    let formed: Vec<(String, String, NaiveDate, Option<NaiveDate>)> = sqlx::query_as(
        "select i.ods_code, r.ods_code, i.valid_from, i.valid_to from icb i join region r using (region_id)
         where i.ods_code in ('S1Y5D', 'D7T5G', 'T6Y0W', 'S9B9J', 'S0E4D', 'Z9B2Z', 'QRL') order by 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let established = NaiveDate::from_ymd_opt(2022, 7, 1).unwrap();
    let new = |code: &str, region: &str| (code.to_owned(), region.to_owned(), april, None);
    assert_eq!(
        formed,
        [
            new("D7T5G", "Y61"),
            ("QRL".to_owned(), "Y59".to_owned(), established, None),
            new("S0E4D", "Y59"),
            new("S1Y5D", "Y61"),
            new("S9B9J", "Y59"),
            new("T6Y0W", "Y61"),
            new("Z9B2Z", "Y56"),
        ]
    );
}
