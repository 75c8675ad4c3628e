//! Where a user lands after signing in without asking for a page: their own work for the
//! current (or latest) programme year — an ICB user's dashboard, a reviewer's regional
//! roll-up, an analyst's national roll-up. Administrators land on the home page, which lists
//! their tasks.

use chrono::NaiveDate;
use sqlx::PgConnection;
use uuid::Uuid;

use super::context::landing_year;
use crate::auth::Role;

/// The page user `user_id` lands on, or `None` for the home page.
pub async fn landing_page(
    conn: &mut PgConnection,
    user_id: Uuid,
    today: NaiveDate,
) -> sqlx::Result<Option<String>> {
    let Some(account) = sqlx::query!(
        r#"
        select u.role as "role: Role", i.ods_code as "icb?", r.ods_code as "region?"
        from app_user u
        left join icb i on i.icb_id = u.icb_id
        left join region r on r.region_id = u.region_id
        where u.user_id = $1
        "#,
        user_id
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let Some(year) = landing_year(conn, today).await? else {
        return Ok(None);
    };
    let year = year.slug();
    Ok(match (account.role, account.icb, account.region) {
        (Role::IcbEditor | Role::IcbViewer, Some(icb), _) => Some(format!("/icbs/{icb}/{year}")),
        (Role::RegionReviewer, _, Some(region)) => Some(format!("/regions/{region}/{year}")),
        (Role::NationalAnalyst, _, _) => Some(format!("/national/{year}")),
        _ => None,
    })
}
