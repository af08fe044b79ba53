//! Sealing with an AEAD (XChaCha20-Poly1305) under a keyring with key ids,
//! so keys can rotate: the first key seals, every key opens.
//!
//! A sealed value is `<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`. Each
//! value's AEAD key is the keyed digest (under the key id's key) of a
//! caller-given `subject`, e.g. the refresh token a row is sealed under:
//! without the subject, the database alone opens nothing, and with the
//! built-in key (id [`BUILTIN_ID`], no configuration) the subject is the
//! only secret, which is how token rows were sealed before key ids existed.
//! Associated data binds a value to its context (the row it belongs to), so
//! a value moved into another row does not open.

use super::DigestKey;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// Id of the built-in key, used when no key is configured.
pub const BUILTIN_ID: &str = "k0";
/// Domain separation of the per-value key derivation.
const LABEL: &[u8] = b"kingress-seal-v1";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const MAX_ID_LEN: usize = 32;

/// Keys by id; the first seals. `Debug` prints ids only.
#[derive(Clone)]
pub struct Keyring {
    keys: Vec<(String, DigestKey)>,
}

/// Why a keyring cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    /// No keys were given.
    #[error("a keyring needs at least one key")]
    Empty,
    /// A key id is empty, too long or not `[A-Za-z0-9_-]`.
    #[error("key id '{0}' must be 1-32 characters of A-Z a-z 0-9 _ -")]
    BadId(String),
    /// The same key id twice.
    #[error("key id '{0}' appears twice")]
    DuplicateId(String),
    /// A line of a key file is not `<id> <base64 of 32 bytes>`; the line's
    /// text is not repeated, it may hold a key.
    #[error("line {0}: expected '<key id> <base64 of 32 random bytes>'")]
    BadLine(usize),
}

/// Why a sealed value does not open. None of them carries key material or
/// the value.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Not `<id>.<base64url>`, or too short to hold a nonce and a tag.
    #[error("sealed value is malformed or truncated")]
    Malformed,
    /// Sealed under a key id this keyring does not have.
    #[error("sealed under unknown key id '{0}'")]
    UnknownKey(String),
    /// Authentication failed: tampered, wrong subject, or a different key
    /// under the same id.
    #[error("sealed value does not authenticate")]
    Rejected,
}

// === impl Keyring ===

impl Keyring {
    /// Keys by id; the first seals, all open.
    pub fn new(keys: Vec<(String, [u8; 32])>) -> Result<Self, KeyringError> {
        if keys.is_empty() {
            return Err(KeyringError::Empty);
        }
        let mut out: Vec<(String, DigestKey)> = Vec::with_capacity(keys.len());
        for (id, key) in keys {
            let valid = !id.is_empty()
                && id.len() <= MAX_ID_LEN
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !valid {
                return Err(KeyringError::BadId(id));
            }
            if out.iter().any(|(known, _)| *known == id) {
                return Err(KeyringError::DuplicateId(id));
            }
            out.push((id, DigestKey::from_bytes(key)));
        }
        Ok(Self { keys: out })
    }

    /// A keyring from a key file: one `<id> <base64 of 32 bytes>` per line
    /// (blank lines and `#` comments skipped); the first key seals.
    pub fn parse(text: &str) -> Result<Self, KeyringError> {
        use base64::engine::general_purpose::STANDARD;
        let mut keys = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = line.split_whitespace();
            let (Some(id), Some(key), None) = (words.next(), words.next(), words.next()) else {
                return Err(KeyringError::BadLine(n + 1));
            };
            let key: [u8; 32] = STANDARD
                .decode(key)
                .ok()
                .and_then(|k| k.try_into().ok())
                .ok_or(KeyringError::BadLine(n + 1))?;
            keys.push((id.to_string(), key));
        }
        Self::new(keys)
    }

    /// The built-in keyring: one public key, so the subject is the secret.
    pub fn builtin() -> Self {
        Self {
            keys: vec![(BUILTIN_ID.to_string(), DigestKey::from_bytes([0; 32]))],
        }
    }

    /// Id of the key that seals.
    pub fn sealing_id(&self) -> &str {
        &self.keys[0].0
    }

    /// Seals `plain` for `subject`, bound to `aad`, with a fresh nonce.
    pub fn seal(&self, subject: &[u8], plain: &[u8], aad: &[u8]) -> String {
        let (id, key) = &self.keys[0];
        let cipher = cipher(key, subject);
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = cipher
            .encrypt(&nonce, Payload { msg: plain, aad })
            // Encryption only fails for plaintexts beyond 256 GiB.
            .unwrap_or_else(|e| unreachable!("xchacha20poly1305 encrypt: {e}"));
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        format!("{id}.{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Opens a value sealed by [`Keyring::seal`] with the same subject and
    /// associated data, under any key id of this keyring.
    pub fn open(&self, sealed: &str, subject: &[u8], aad: &[u8]) -> Result<Vec<u8>, OpenError> {
        let (id, body) = sealed.split_once('.').ok_or(OpenError::Malformed)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| OpenError::Malformed)?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(OpenError::Malformed);
        }
        let key = self
            .keys
            .iter()
            .find(|(known, _)| known == id)
            .map(|(_, k)| k)
            .ok_or_else(|| OpenError::UnknownKey(id.chars().take(MAX_ID_LEN).collect()))?;
        let (nonce, text) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| OpenError::Malformed)?;
        cipher(key, subject)
            .decrypt(&XNonce::from(nonce), Payload { msg: text, aad })
            .map_err(|_| OpenError::Rejected)
    }
}

impl Default for Keyring {
    fn default() -> Self {
        Self::builtin()
    }
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field(
                "ids",
                &self.keys.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The AEAD of one subject under one key.
fn cipher(key: &DigestKey, subject: &[u8]) -> XChaCha20Poly1305 {
    let derived = key.digest(&[LABEL, subject]);
    XChaCha20Poly1305::new(&derived.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(keys: &[(&str, u8)]) -> Keyring {
        Keyring::new(
            keys.iter()
                .map(|(id, b)| (id.to_string(), [*b; 32]))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn round_trips_and_a_fresh_nonce_each_time() {
        let k = Keyring::builtin();
        let sealed = k.seal(b"refresh-1", b"access", b"row");
        assert!(sealed.starts_with("k0."));
        assert_eq!(k.open(&sealed, b"refresh-1", b"row").unwrap(), b"access");
        assert_ne!(sealed, k.seal(b"refresh-1", b"access", b"row"));
    }

    #[test]
    fn wrong_subject_aad_or_key_is_rejected() {
        let a = ring(&[("a", 1)]);
        let sealed = a.seal(b"s", b"plain", b"row");
        assert_eq!(a.open(&sealed, b"t", b"row"), Err(OpenError::Rejected));
        assert_eq!(a.open(&sealed, b"s", b"other"), Err(OpenError::Rejected));
        // Same id, different key: a replica configured with another key.
        assert_eq!(
            ring(&[("a", 2)]).open(&sealed, b"s", b"row"),
            Err(OpenError::Rejected)
        );
        assert_eq!(
            ring(&[("b", 1)]).open(&sealed, b"s", b"row"),
            Err(OpenError::UnknownKey("a".into()))
        );
    }

    #[test]
    fn every_tampered_byte_and_every_truncation_is_rejected() {
        let k = ring(&[("a", 1)]);
        let sealed = k.seal(b"s", b"plain text", b"");
        let (_, body) = sealed.split_once('.').unwrap();
        let bytes = URL_SAFE_NO_PAD.decode(body).unwrap();
        for i in 0..bytes.len() {
            let mut t = bytes.clone();
            t[i] ^= 0x01;
            let tampered = format!("a.{}", URL_SAFE_NO_PAD.encode(&t));
            assert_eq!(
                k.open(&tampered, b"s", b""),
                Err(OpenError::Rejected),
                "byte {i}"
            );
        }
        for len in 0..bytes.len() {
            let cut = format!("a.{}", URL_SAFE_NO_PAD.encode(&bytes[..len]));
            assert!(k.open(&cut, b"s", b"").is_err(), "length {len}");
        }
        for bad in ["", "a", "a.", "a.!!!", "nodot"] {
            assert_eq!(k.open(bad, b"s", b""), Err(OpenError::Malformed), "{bad}");
        }
    }

    #[test]
    fn rotation_keeps_old_ids_open_while_the_new_key_seals() {
        let old = ring(&[("2025", 1)]);
        let rotated = ring(&[("2026", 2), ("2025", 1)]);
        let before = old.seal(b"s", b"v", b"");
        assert_eq!(rotated.open(&before, b"s", b"").unwrap(), b"v");
        let after = rotated.seal(b"s", b"v", b"");
        assert!(after.starts_with("2026."));
        assert_eq!(
            old.open(&after, b"s", b""),
            Err(OpenError::UnknownKey("2026".into()))
        );
    }

    #[test]
    fn bad_keyrings_are_refused_and_debug_shows_ids_only() {
        assert!(matches!(Keyring::new(vec![]), Err(KeyringError::Empty)));
        assert!(matches!(
            Keyring::new(vec![("a.b".into(), [0; 32])]),
            Err(KeyringError::BadId(_))
        ));
        assert!(matches!(
            Keyring::new(vec![("a".into(), [0; 32]), ("a".into(), [1; 32])]),
            Err(KeyringError::DuplicateId(_))
        ));
        let k32 = base64::engine::general_purpose::STANDARD.encode([1u8; 32]);
        let parsed = Keyring::parse(&format!("# rotated 2026\nnew {k32}\n\nold {k32}\n")).unwrap();
        assert_eq!(parsed.sealing_id(), "new");
        assert!(matches!(Keyring::parse(""), Err(KeyringError::Empty)));
        for bad in ["a", "a c2hvcnQ=", &format!("a {k32} extra")] {
            let err = Keyring::parse(bad).unwrap_err();
            assert!(matches!(err, KeyringError::BadLine(1)), "{bad}");
            assert!(!err.to_string().contains("c2hvcnQ"), "{err}");
        }
        let dbg = format!("{:?}", ring(&[("a", 0xAB)]));
        assert_eq!(dbg, r#"Keyring { ids: ["a"] }"#);
    }
}
