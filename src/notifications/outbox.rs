//! Writing messages to the outbox: one row per recipient, chosen by role and organisation in
//! the same statement that writes the rows, so the recipients are exactly the active people
//! whose role covers the plan at that moment, less those who turned the kind off.
//!
//! This runs inside the caller's transaction: a request's (scoped, as `medopt_app`: row-level
//! security lets it write only messages about ICBs it can read) or the scheduler's.

use sqlx::PgConnection;

use super::message::Message;

/// Who gets a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The ICB's editors.
    IcbEditors { icb_id: i32 },
    /// The region's reviewers.
    RegionReviewers { region_id: i16 },
}

/// A message to write.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    pub message: &'a Message,
    pub audience: Audience,
    /// The ICB it is about (none for a digest).
    pub icb_id: Option<i32>,
    /// The region it is about.
    pub region_id: i16,
    /// For scheduled messages: written at most once per recipient with this key.
    pub dedupe_key: Option<String>,
}

/// Writes the message for each of its recipients; returns how many rows were written (none
/// for a recipient who already has a message with the same key).
pub async fn enqueue(conn: &mut PgConnection, outgoing: Outgoing<'_>) -> sqlx::Result<u64> {
    let (editors_of, reviewers_of) = match outgoing.audience {
        Audience::IcbEditors { icb_id } => (Some(icb_id), None),
        Audience::RegionReviewers { region_id } => (None, Some(region_id)),
    };
    let payload =
        serde_json::to_value(outgoing.message).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let written = sqlx::query!(
        r#"
        insert into outbox (kind, recipient_user_id, icb_id, region_id, subject, payload, dedupe_key)
        select $1, u.user_id, $2, $3, $4, $5, $6
        from app_user u
        left join notification_setting s on s.user_id = u.user_id
        where u.active
          and ((u.role = 'icb_editor' and u.icb_id = $7)
               or (u.role = 'region_reviewer' and u.region_id = $8))
          and not coalesce($1 = any(s.turned_off), false)
        on conflict (dedupe_key, recipient_user_id) do nothing
        "#,
        outgoing.message.kind().key(),
        outgoing.icb_id,
        outgoing.region_id,
        outgoing.message.subject(),
        payload,
        outgoing.dedupe_key,
        editors_of,
        reviewers_of
    )
    .execute(conn)
    .await?;
    Ok(written.rows_affected())
}
