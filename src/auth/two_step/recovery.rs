//! Recovery codes: ten single-use codes, shown once, for signing in when the authenticator
//! app is lost. Each is 10 characters from a 31-letter alphabet without look-alikes (about
//! 50 bits), so they are stored as argon2id hashes with their own salt (ASVS 5.0 6.5.2 asks
//! for a password hash below 112 bits), never as text.

use rand::Rng;

use crate::auth::password;

/// How many codes a user gets at a time.
pub const COUNT: usize = 10;
/// Letters and digits that are not easily mistaken for one another.
const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// New codes, written as people read them: `abcde-fghjk`.
pub fn generate() -> Vec<String> {
    let mut rng = rand::rng();
    (0..COUNT)
        .map(|_| {
            let letters: String = (0..10)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect();
            format!("{}-{}", &letters[..5], &letters[5..])
        })
        .collect()
}

/// A code as typed, in the form it is hashed: lower case, without dashes or spaces.
pub fn normalise(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether `input` could be a recovery code (so it is worth hashing to compare).
pub fn looks_like_code(input: &str) -> bool {
    let code = normalise(input);
    code.len() == 10 && code.bytes().all(|b| ALPHABET.contains(&b))
}

/// The hashes to store for `codes`.
pub async fn hash_all(codes: &[String]) -> anyhow::Result<Vec<String>> {
    let mut hashes = Vec::with_capacity(codes.len());
    for code in codes {
        hashes.push(password::hash(normalise(code)).await?);
    }
    Ok(hashes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_readable_and_normalise() {
        let codes = generate();
        assert_eq!(codes.len(), COUNT);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), COUNT);
        for code in &codes {
            assert_eq!(code.len(), 11);
            assert!(looks_like_code(code), "{code}");
        }
        assert_eq!(normalise(" ABCDE-fghjk "), "abcdefghjk");
        assert!(looks_like_code("ABCDE FGHJK"));
        assert!(!looks_like_code("123456"));
        assert!(!looks_like_code("abcde-fghj1"));
    }
}
