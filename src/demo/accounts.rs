//! The demo accounts: one per role (`demo.icb-editor@example.nhs.uk` and so on), for the
//! demo's showcase ICB, its region and the nation. Each run gives every one a new random
//! passphrase, and the accounts whose role needs two-step verification (the administrator and
//! the regional reviewer) a new two-step secret, returned to be printed once and never logged.

use std::fmt;

use anyhow::Context;
use rand::Rng;
use rand::seq::IndexedRandom;
use sqlx::PgConnection;

use super::text::PASSPHRASE_WORDS;
use crate::audit::Actor;
use crate::auth::two_step::{self, totp};
use crate::auth::{OrgKind, Role, password};
use crate::users::{self, NewUser, OrgRef};

/// A demo account and its password as set by this run.
#[derive(Clone)]
pub struct DemoAccount {
    pub email: String,
    pub name: String,
    pub role: Role,
    /// ODS code of its ICB or region.
    pub organisation: Option<String>,
    /// The new password: show it to the operator once; never log it.
    pub password: String,
    /// The new two-step secret (base32) and its `otpauth://` link, for the roles that need
    /// two-step verification: show them once; never log them.
    pub two_step: Option<DemoTwoStep>,
    /// Created by this run (otherwise its password was reset).
    pub created: bool,
}

/// A demo account's two-step verification, to add to an authenticator app.
#[derive(Clone)]
pub struct DemoTwoStep {
    pub secret: String,
    pub otpauth_url: String,
}

/// Leaves the password and secret out, so a report can be logged or debug-printed safely.
impl fmt::Debug for DemoAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemoAccount")
            .field("email", &self.email)
            .field("role", &self.role)
            .field("organisation", &self.organisation)
            .field("created", &self.created)
            .field("two_step", &self.two_step.is_some())
            .finish_non_exhaustive()
    }
}

/// The demo account's e-mail address for `role`.
pub fn email(role: Role) -> String {
    format!("demo.{}@example.nhs.uk", role.as_str().replace('_', "-"))
}

fn name(role: Role) -> &'static str {
    match role {
        Role::IcbEditor => "Demo ICB editor",
        Role::IcbViewer => "Demo ICB viewer",
        Role::RegionReviewer => "Demo regional reviewer",
        Role::NationalAnalyst => "Demo national analyst",
        Role::Admin => "Demo administrator",
    }
}

/// Creates the demo accounts that are missing and gives every one a new password.
pub async fn ensure(conn: &mut PgConnection, icb_code: &str) -> anyhow::Result<Vec<DemoAccount>> {
    let region_code = sqlx::query_scalar!(
        "select r.ods_code from icb i join region r using (region_id) where i.ods_code = $1",
        icb_code
    )
    .fetch_optional(&mut *conn)
    .await?
    .with_context(|| format!("the demo accounts' ICB {icb_code} is not in the database"))?;
    let mut accounts = Vec::with_capacity(Role::ALL.len());
    for role in Role::ALL {
        let organisation = match role.org_kind() {
            Some(OrgKind::Icb) => Some(icb_code.to_owned()),
            Some(OrgKind::Region) => Some(region_code.clone()),
            None => None,
        };
        accounts.push(ensure_one(conn, role, organisation).await?);
    }
    Ok(accounts)
}

async fn ensure_one(
    conn: &mut PgConnection,
    role: Role,
    organisation: Option<String>,
) -> anyhow::Result<DemoAccount> {
    let email = email(role);
    let password = passphrase();
    password::check_rules(&password).map_err(|e| anyhow::anyhow!("demo passphrase: {e}"))?;
    let exists = sqlx::query_scalar!(
        r#"select exists (select 1 from app_user where email = $1) as "exists!""#,
        email
    )
    .fetch_one(&mut *conn)
    .await?;
    let actor = Actor::default();
    let user_id = if exists {
        users::set_password(conn, &actor, &email, password.clone())
            .await
            .map_err(|e| anyhow::anyhow!("could not reset {email}'s password: {e}"))?;
        sqlx::query_scalar!("select user_id from app_user where email = $1", email)
            .fetch_one(&mut *conn)
            .await?
    } else {
        let org = organisation
            .as_ref()
            .zip(role.org_kind())
            .map(|(code, kind)| OrgRef {
                kind,
                code: code.clone(),
            });
        let new = NewUser {
            email: &email,
            name: name(role),
            role,
            org: org.as_ref(),
            password: password.clone(),
            must_change_password: false,
        };
        users::create(conn, &actor, new)
            .await
            .map_err(|e| anyhow::anyhow!("could not create {email}: {e}"))?
    };
    let two_step = if two_step::always_required(role) {
        let secret = totp::generate_secret();
        two_step::enrol_with_secret(conn, &actor, user_id, &secret).await?;
        let otpauth_url = totp::otpauth_url(&secret, &email)?;
        Some(DemoTwoStep {
            secret,
            otpauth_url,
        })
    } else {
        None
    };
    Ok(DemoAccount {
        email,
        name: name(role).to_owned(),
        role,
        organisation,
        password,
        two_step,
        created: !exists,
    })
}

/// Four random words and two digits, e.g. `copper-meadow-heron-walnut-42` (about 30 bits:
/// plenty for a demo, easy to type in a meeting). From the operating system's generator,
/// never from the dataset's seed.
pub fn passphrase() -> String {
    let mut rng = rand::rng();
    let mut parts: Vec<String> = (0..4)
        .map(|_| (*PASSPHRASE_WORDS.choose(&mut rng).unwrap_or(&"demo")).to_owned())
        .collect();
    parts.push(format!("{:02}", rng.random_range(0..100)));
    parts.join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passphrases_pass_the_password_rules_and_differ() {
        let a = passphrase();
        assert_eq!(password::check_rules(&a), Ok(()));
        assert_eq!(a.split('-').count(), 5);
        assert_ne!(a, passphrase());
    }

    #[test]
    fn debug_output_leaves_the_password_out() {
        let account = DemoAccount {
            email: email(Role::IcbEditor),
            name: "Demo ICB editor".into(),
            role: Role::IcbEditor,
            organisation: Some("QE1".into()),
            password: "secret-words-here-99".into(),
            two_step: Some(DemoTwoStep {
                secret: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP".into(),
                otpauth_url: "otpauth://totp/x?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP".into(),
            }),
            created: true,
        };
        assert_eq!(account.email, "demo.icb-editor@example.nhs.uk");
        let debug = format!("{account:?}");
        assert!(!debug.contains("secret-words"), "{debug}");
        assert!(!debug.contains("JBSWY3DP"), "{debug}");
    }
}
