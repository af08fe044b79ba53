//! Stored hashes: verifying a presented secret against argon2id, Kong's
//! PBKDF2 (`$pbkdf2-sha512$i=…,l=…$salt$hash`) or bcrypt (`$2b$`, `$2a$`,
//! `$2y$`, which Kong also stores), and Kong's PBKDF2 encoding.
//! Comparisons are constant-time.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use sha2::Sha512;
use subtle::ConstantTimeEq;

/// Bounds on PBKDF2 parameters read from a (trusted, but possibly mistyped)
/// configuration, so one credential cannot pin a core for minutes.
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
const MAX_PBKDF2_LEN: usize = 1024;
/// bcrypt cost bound: 2^16 rounds take ~5 s; beyond that a stored hash is a
/// way to pin a core, not a password policy.
const MAX_BCRYPT_COST: u32 = 16;

/// Verifies `presented` against a stored hash (argon2, Kong's PBKDF2 or
/// bcrypt); a malformed or unsupported hash never verifies.
pub fn verify_phc(phc: &str, presented: &str) -> bool {
    if phc.starts_with("$argon2") {
        use argon2::password_hash::{PasswordHash, PasswordVerifier};
        return PasswordHash::new(phc)
            .map(|h| {
                argon2::Argon2::default()
                    .verify_password(presented.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false);
    }
    if phc.starts_with("$pbkdf2-sha512$") {
        return verify_pbkdf2(phc, presented).unwrap_or(false);
    }
    if crate::model::is_hashed_secret(phc) && phc.starts_with("$2") {
        return verify_bcrypt(phc, presented);
    }
    tracing::warn!("oauth2: unsupported client secret hash format; refusing");
    false
}

/// `$pbkdf2-sha512$i=<iterations>,l=<length>$<salt>$<hash>` with unpadded
/// standard base64; `None` when the string is malformed.
fn verify_pbkdf2(phc: &str, presented: &str) -> Option<bool> {
    let mut parts = phc.split('$');
    let (Some(""), Some("pbkdf2-sha512"), Some(params), Some(salt), Some(hash), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let mut iterations = None;
    let mut length = None;
    for kv in params.split(',') {
        match kv.split_once('=')? {
            ("i", v) => iterations = v.parse::<u32>().ok(),
            ("l", v) => length = v.parse::<usize>().ok(),
            _ => return None,
        }
    }
    let (iterations, length) = (iterations?, length?);
    if iterations == 0
        || iterations > MAX_PBKDF2_ITERATIONS
        || length == 0
        || length > MAX_PBKDF2_LEN
    {
        return None;
    }
    let salt = STANDARD_NO_PAD.decode(salt.trim_end_matches('=')).ok()?;
    let expected = STANDARD_NO_PAD.decode(hash.trim_end_matches('=')).ok()?;
    if expected.len() != length {
        return None;
    }
    let mut derived = vec![0u8; length];
    pbkdf2::pbkdf2_hmac::<Sha512>(presented.as_bytes(), &salt, iterations, &mut derived);
    Some(bool::from(derived.ct_eq(&expected)))
}

/// bcrypt (the crate compares in constant time). bcrypt reads only the
/// first 72 bytes of a secret; longer secrets are refused rather than
/// matched on a prefix.
fn verify_bcrypt(hash: &str, presented: &str) -> bool {
    let cost = hash.get(4..6).and_then(|c| c.parse::<u32>().ok());
    if cost.is_none_or(|c| c > MAX_BCRYPT_COST) || presented.len() > 72 {
        return false;
    }
    bcrypt::verify(presented, hash).unwrap_or(false)
}

/// Kong's PBKDF2 encoding of `secret` with `salt` (SHA-512, `iterations`,
/// 32 bytes).
pub fn pbkdf2_phc(secret: &str, salt: &[u8], iterations: u32) -> String {
    let mut derived = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha512>(secret.as_bytes(), salt, iterations, &mut derived);
    format!(
        "$pbkdf2-sha512$i={iterations},l=32${}${}",
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(derived)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kong's `05-kdf_spec.lua` vector.
    const KONG_VECTOR: &str = "$pbkdf2-sha512$i=10000,l=32$YSBsaXR0ZSBiaXQsIGp1c3QgYSBsaXR0bGUgYml0$z6ysNworexAhDELywIDi0ba0B0T7F/MBZ6Ige9lWRYI";

    #[test]
    fn kong_pbkdf2_vector() {
        assert_eq!(
            pbkdf2_phc("tofu", b"a litte bit, just a little bit", 10_000),
            KONG_VECTOR
        );
        assert!(verify_phc(KONG_VECTOR, "tofu"));
        assert!(!verify_phc(KONG_VECTOR, "tofu "));
        assert!(!verify_phc(KONG_VECTOR, ""));
    }

    #[test]
    fn malformed_pbkdf2_strings_never_verify() {
        for bad in [
            "$pbkdf2-sha512$i=10000$YQ$YQ",
            "$pbkdf2-sha512$i=0,l=32$YQ$z6ysNworexAhDELywIDi0ba0B0T7F/MBZ6Ige9lWRYI",
            "$pbkdf2-sha512$i=10000,l=16$YSBsaXR0ZSBiaXQsIGp1c3QgYSBsaXR0bGUgYml0$z6ysNworexAhDELywIDi0ba0B0T7F/MBZ6Ige9lWRYI",
            "$pbkdf2-sha512$i=10000,l=32,x=1$YQ$YQ",
            "$pbkdf2-sha512$i=10000,l=32$!!$YQ",
            "$md5$whatever",
        ] {
            assert!(!verify_phc(bad, "tofu"), "{bad}");
        }
    }

    #[test]
    fn bcrypt_hashes_of_every_version_verify() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        assert!(hash.starts_with("$2b$04$"));
        assert!(crate::model::is_hashed_secret(&hash));
        for version in ["$2a$", "$2b$", "$2y$"] {
            let h = format!("{version}{}", &hash[4..]);
            assert!(crate::model::is_hashed_secret(&h), "{h}");
            assert!(verify_phc(&h, "s3cret"), "{version}");
            assert!(!verify_phc(&h, "s3cres"), "{version}");
            assert!(!verify_phc(&h, ""), "{version}");
        }
        // A known vector (OpenBSD's test suite, cost 5).
        assert!(verify_phc(
            "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
            "U*U"
        ));
    }

    #[test]
    fn malformed_or_costly_bcrypt_never_verifies() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        // Truncated: no longer a bcrypt hash, so it stays plaintext.
        assert!(!crate::model::is_hashed_secret(&hash[..59]));
        assert!(!verify_phc(&hash[..59], "s3cret"));
        let too_costly = format!("$2b$17${}", &hash[7..]);
        assert!(crate::model::is_hashed_secret(&too_costly));
        assert!(!verify_phc(&too_costly, "s3cret"));
        assert!(!verify_phc(&hash, &"s".repeat(73)));
        // Plaintext that merely starts like bcrypt is not a hash.
        assert!(!crate::model::is_hashed_secret("$2b$ my plain secret"));
    }

    #[test]
    fn argon2_hashes_verify() {
        use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
        let salt = SaltString::generate(&mut OsRng);
        let phc = argon2::Argon2::default()
            .hash_password(b"s3cret", &salt)
            .unwrap()
            .to_string();
        assert!(verify_phc(&phc, "s3cret"));
        assert!(!verify_phc(&phc, "s3cres"));
    }
}
