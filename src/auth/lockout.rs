//! Failed sign-in attempts and the lock they lead to, counted in the database so that
//! attempts sent together cannot outrun the count.
//!
//! An attempt is *claimed* before its password or code is checked: one `update … returning`
//! counts it and, at the limit, locks the account, and it only matches while the account is
//! not locked. PostgreSQL runs concurrent claims on one account one after another (the row
//! lock), so however many requests arrive at once, at most [`MAX_FAILED_LOGINS`] are checked
//! per lock period and the rest are refused without looking at what they sent. A full sign-in
//! resets the count. The claim is a statement of its own: no connection is held while the
//! (deliberately slow) password hash runs.

use sqlx::PgPool;
use uuid::Uuid;

/// Attempts (wrong passwords and wrong two-step codes) in a row before an account is locked.
pub const MAX_FAILED_LOGINS: i32 = 5;
/// How long a lock lasts before it lifts by itself (an administrator can lift it sooner).
pub const LOCKOUT_MINUTES: i32 = 15;

/// An attempt that may be checked.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub user_id: Uuid,
    pub password_hash: String,
    /// This attempt locked the account (it was the last allowed): if it fails, say so.
    pub locks_account: bool,
}

/// Why an attempt may not be checked at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    UnknownAccount,
    Inactive,
    Locked,
}

impl Refusal {
    /// For the audit log.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::UnknownAccount => "unknown_account",
            Refusal::Inactive => "inactive",
            Refusal::Locked => "locked",
        }
    }
}

/// Claims a sign-in attempt on the active account with `email`. A lock that has run out
/// starts a new count.
pub async fn claim_by_email(db: &PgPool, email: &str) -> sqlx::Result<Result<Claimed, Refusal>> {
    // Every value on the right is the row as it is when this statement gets its lock, so
    // concurrent claims count one after another.
    let claimed = sqlx::query_as!(
        Claimed,
        r#"
        update app_user
           set failed_logins = case when locked_until is null then failed_logins + 1 else 1 end,
               locked_until = case
                   when (case when locked_until is null then failed_logins + 1 else 1 end) >= $2
                   then now() + make_interval(mins => $3) end
         where email = $1 and active and (locked_until is null or locked_until <= now())
        returning user_id, password_hash, locked_until is not null as "locks_account!"
        "#,
        email,
        MAX_FAILED_LOGINS,
        LOCKOUT_MINUTES,
    )
    .fetch_optional(db)
    .await?;
    match claimed {
        Some(claimed) => Ok(Ok(claimed)),
        None => refusal(db, email).await.map(Err),
    }
}

/// Claims an attempt at a two-step code for `user_id` (whose password was right moments ago).
pub async fn claim_by_id(db: &PgPool, user_id: Uuid) -> sqlx::Result<Result<Claimed, Refusal>> {
    let email = sqlx::query_scalar!("select email from app_user where user_id = $1", user_id)
        .fetch_optional(db)
        .await?;
    match email {
        Some(email) => claim_by_email(db, &email).await,
        None => Ok(Err(Refusal::UnknownAccount)),
    }
}

/// Why `email`'s claim matched nothing.
async fn refusal(db: &PgPool, email: &str) -> sqlx::Result<Refusal> {
    let account = sqlx::query!(
        r#"select active, coalesce(locked_until > now(), false) as "locked!" from app_user where email = $1"#,
        email
    )
    .fetch_optional(db)
    .await?;
    Ok(match account {
        None => Refusal::UnknownAccount,
        Some(a) if !a.active => Refusal::Inactive,
        Some(_) => Refusal::Locked,
    })
}

/// The owner of `email`, for the audit row of a refused attempt.
pub async fn account_of(db: &PgPool, email: &str) -> sqlx::Result<Option<(Uuid, Option<String>)>> {
    let row = sqlx::query!(
        r#"
        select u.user_id, coalesce(i.ods_code, r.ods_code) as org_code
        from app_user u
        left join icb i on i.icb_id = u.icb_id
        left join region r on r.region_id = u.region_id
        where u.email = $1
        "#,
        email
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.user_id, r.org_code)))
}

/// A full sign-in: the count starts again.
pub async fn reset<'e>(db: impl sqlx::PgExecutor<'e>, user_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "update app_user set failed_logins = 0, locked_until = null where user_id = $1",
        user_id
    )
    .execute(db)
    .await?;
    Ok(())
}
