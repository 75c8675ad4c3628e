//! Password hashing and rules.
//!
//! Argon2id with the crate's defaults (19 MiB, 2 passes) is deliberately slow, so hashing runs
//! on the blocking pool behind a semaphore sized to the cores: a burst of sign-ins queues
//! there instead of starving the threads that serve pages.

use std::sync::{Arc, LazyLock};

use anyhow::Context;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Argon2, PasswordHash};
use tokio::sync::Semaphore;

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 12;
/// Longest password accepted (hashing cost grows with length).
pub const MAX_LENGTH: usize = 256;

static HASHING_PERMITS: LazyLock<Arc<Semaphore>> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    Arc::new(Semaphore::new(cores))
});

/// A hash verified when the e-mail address is unknown, so that answer takes as long as a
/// wrong password does.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_now("dummy password for unknown accounts").unwrap_or_default());

/// Lower-case common passwords of 12 characters or more (shorter ones fail the length rule).
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// Why a new password was refused, worded for the person choosing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRuleError {
    #[error("Password must be {MIN_LENGTH} characters or more")]
    TooShort,
    #[error("Password must be {MAX_LENGTH} characters or fewer")]
    TooLong,
    #[error(
        "Password is too common. Choose a password that is harder to guess, such as three random words"
    )]
    TooCommon,
}

/// Checks a new password against the rules.
pub fn check_rules(password: &str) -> Result<(), PasswordRuleError> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(PasswordRuleError::TooShort);
    }
    if length > MAX_LENGTH {
        return Err(PasswordRuleError::TooLong);
    }
    let lowered = password.to_lowercase();
    let one_repeated_char = lowered.chars().all(|c| lowered.starts_with(c));
    if one_repeated_char
        || COMMON_PASSWORDS
            .lines()
            .any(|common| common.trim() == lowered)
    {
        return Err(PasswordRuleError::TooCommon);
    }
    Ok(())
}

/// Hashes a password to a PHC string (`$argon2id$…`).
pub async fn hash(password: String) -> anyhow::Result<String> {
    let _permit = HASHING_PERMITS.clone().acquire_owned().await?;
    tokio::task::spawn_blocking(move || hash_now(&password)).await?
}

/// Whether `password` matches `phc`. With `None` (unknown account) a dummy hash is checked
/// and the answer is always false.
pub async fn verify(password: String, phc: Option<String>) -> anyhow::Result<bool> {
    let _permit = HASHING_PERMITS.clone().acquire_owned().await?;
    tokio::task::spawn_blocking(move || {
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| DUMMY_HASH.clone());
        let parsed = PasswordHash::new(&phc).context("stored password hash is malformed")?;
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(known && matches)
    })
    .await?
}

/// Which of `phcs` (if any) `candidate` matches: for recovery codes, checked in one go on
/// the blocking pool.
pub async fn verify_any(candidate: String, phcs: Vec<String>) -> anyhow::Result<Option<usize>> {
    let _permit = HASHING_PERMITS.clone().acquire_owned().await?;
    tokio::task::spawn_blocking(move || {
        for (index, phc) in phcs.iter().enumerate() {
            let parsed = PasswordHash::new(phc).context("stored code hash is malformed")?;
            if Argon2::default()
                .verify_password(candidate.as_bytes(), &parsed)
                .is_ok()
            {
                return Ok(Some(index));
            }
        }
        Ok(None)
    })
    .await?
}

/// The permits every hash waits for. Holding them all pauses hashing everywhere in the
/// process: a test does that to prove that a sign-in waiting to hash holds no database
/// connection.
pub fn hashing_permits() -> Arc<Semaphore> {
    HASHING_PERMITS.clone()
}

fn hash_now(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("could not hash password: {e}"))
}

/// A random one-time password for new accounts and resets: 4 groups of 5 letters and digits
/// (about 100 bits), easy to read out.
pub fn one_time_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..4)
        .map(|_| {
            (0..5)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_refuse_short_long_and_common_passwords() {
        assert_eq!(check_rules("short"), Err(PasswordRuleError::TooShort));
        assert_eq!(
            check_rules(&"x".repeat(300)),
            Err(PasswordRuleError::TooLong)
        );
        assert_eq!(
            check_rules("Password1234"),
            Err(PasswordRuleError::TooCommon)
        );
        assert_eq!(
            check_rules("aaaaaaaaaaaaaaa"),
            Err(PasswordRuleError::TooCommon)
        );
        assert_eq!(
            check_rules("correct horse battery staple"),
            Err(PasswordRuleError::TooCommon)
        );
        assert_eq!(check_rules("violet kettle harbour 42"), Ok(()));
    }

    #[test]
    fn one_time_passwords_pass_the_rules_and_differ() {
        let a = one_time_password();
        assert_eq!(a.len(), 23);
        assert_eq!(check_rules(&a), Ok(()));
        assert_ne!(a, one_time_password());
    }

    #[tokio::test]
    async fn hashes_verify_and_unknown_accounts_never_match() {
        let phc = hash("violet kettle harbour 42".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(
            verify("violet kettle harbour 42".into(), Some(phc.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify("violet kettle harbour 43".into(), Some(phc))
                .await
                .unwrap()
        );
        assert!(
            !verify("dummy password for unknown accounts".into(), None)
                .await
                .unwrap()
        );
    }
}
