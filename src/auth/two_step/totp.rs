//! Time-based one-time passwords (RFC 6238) as authenticator apps make them: HMAC-SHA-1,
//! six digits, a 30-second step and a 160-bit secret from the operating system's generator.
//! One step either side is accepted for a phone whose clock is a little out; that a code is
//! used only once is the caller's job (see [`super::check_code`]).
//!
//! Pure: no database, no clock except through the `unix` arguments and [`now_unix`].

use anyhow::Context;
use base64::Engine;
use qrcode::QrCode;
use qrcode::render::svg;
use totp_rs::{Builder, Secret, Totp};

/// How authenticator apps name the service next to the account.
pub const ISSUER: &str = "NHS Medicines optimisation";
/// Seconds a code lasts.
pub const STEP_SECONDS: u64 = 30;

/// A new random secret, base32 as apps take it (32 characters).
pub fn generate_secret() -> String {
    Secret::generate().to_base32()
}

fn totp(secret: &str, account: &str) -> anyhow::Result<Totp> {
    let secret = Secret::try_from_base32(secret).context("two-step secret is not base32")?;
    // The label's parts may not contain a colon.
    Builder::new()
        .with_secret(secret)
        .with_step_duration(STEP_SECONDS)
        .with_skew(1)
        .with_account_name(account.replace(':', "_"))
        .with_issuer(Some(ISSUER))
        .build()
        .context("could not set up two-step verification")
}

/// The `otpauth://totp/…` link an authenticator app takes (as a QR code or pasted).
pub fn otpauth_url(secret: &str, account: &str) -> anyhow::Result<String> {
    totp(secret, account)?
        .to_url()
        .context("could not make the otpauth link")
}

/// `url` as a QR code: an SVG in a `data:` URI, for an `<img>` (the page needs no script, and
/// the Content-Security-Policy allows `data:` images).
pub fn qr_code_data_uri(url: &str) -> anyhow::Result<String> {
    let code = QrCode::new(url.as_bytes()).context("the otpauth link is too long for a QR code")?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    let encoded = base64::engine::general_purpose::STANDARD.encode(image);
    Ok(format!("data:image/svg+xml;base64,{encoded}"))
}

/// The six digits typed, without the spaces some apps show (`123 456`), if it is that.
pub fn normalise_code(input: &str) -> Option<String> {
    let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// The time step `code` belongs to at `unix` (within one step either side), if it is right.
pub fn check(secret: &str, code: &str, unix: u64) -> Option<u64> {
    let code = normalise_code(code)?;
    totp(secret, "check").ok()?.check(&code, unix)
}

/// The code for `unix`: what the authenticator app shows then (for tests and the demo).
pub fn code_at(secret: &str, unix: u64) -> anyhow::Result<String> {
    Ok(totp(secret, "code")?.generate(unix).to_string())
}

/// Now, in Unix seconds.
pub fn now_unix() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or_default()
}

/// The secret in groups of four, easier to type into an app than one long string.
pub fn grouped(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA-1 secret ("12345678901234567890") in base32.
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn codes_match_the_rfc_test_vectors() {
        // RFC 6238 gives 8 digits (94287082 at 59 s); apps show the last six.
        assert_eq!(code_at(RFC_SECRET, 59).unwrap(), "287082");
        assert_eq!(code_at(RFC_SECRET, 1_111_111_109).unwrap(), "081804");
        assert_eq!(code_at(RFC_SECRET, 2_000_000_000).unwrap(), "279037");
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_no_further() {
        let secret = generate_secret();
        assert_eq!(secret.len(), 32);
        let now = 1_800_000_015; // 15 s into step 60_000_000
        let code = code_at(&secret, now).unwrap();
        assert_eq!(check(&secret, &code, now), Some(60_000_000));
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(check(&secret, &spaced, now), Some(60_000_000));
        assert_eq!(check(&secret, &code, now + 30), Some(60_000_000));
        assert_eq!(check(&secret, &code, now - 30), Some(60_000_000));
        assert_eq!(check(&secret, &code, now + 60), None);
        assert_eq!(check(&secret, "12345", now), None);
        assert_eq!(check(&secret, "abcdef", now), None);
        assert_ne!(generate_secret(), secret);
    }

    #[test]
    fn the_link_and_qr_code_carry_the_secret() {
        let secret = generate_secret();
        let url = otpauth_url(&secret, "a.person@nhs.net").unwrap();
        assert!(url.starts_with("otpauth://totp/"), "{url}");
        assert!(url.contains(&format!("secret={secret}")), "{url}");
        assert!(
            url.contains("issuer=NHS%20Medicines%20optimisation"),
            "{url}"
        );
        let uri = qr_code_data_uri(&url).unwrap();
        let svg = base64::engine::general_purpose::STANDARD
            .decode(uri.trim_start_matches("data:image/svg+xml;base64,"))
            .unwrap();
        assert!(String::from_utf8(svg).unwrap().contains("<svg"));
        assert_eq!(grouped("ABCDEFGHIJ"), "ABCD EFGH IJ");
    }
}
