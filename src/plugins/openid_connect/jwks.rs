//! Verification keys from JWKS documents, and which of them may check a
//! token signed with a given `alg`.
//!
//! Each key is tied to a family by its own members (`kty`, `crv`), never by
//! the token: an RSA key only checks RS*/PS*, a P-256 key only ES256, and so
//! on. Symmetric (`oct`) keys published in a JWKS are ignored: HS* tokens are
//! only ever checked with the configured client secret.

use crate::model::plugin::openid_connect::SigningAlg;
use jsonwebtoken::DecodingKey;
use serde_json::Value;

/// At most this many candidate keys are tried for one token, so a token
/// without `kid` cannot make us run many signature checks.
pub(super) const MAX_CANDIDATES: usize = 8;

/// A set of usable verification keys.
#[derive(Clone, Default)]
pub(super) struct KeySet {
    keys: Vec<Key>,
}

/// One verification key.
#[derive(Clone)]
pub(super) struct Key {
    kid: Option<String>,
    alg: Option<String>,
    kind: KeyKind,
    /// The key in jsonwebtoken's form.
    pub(super) decoding: DecodingKey,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    P256,
    P384,
    Ed25519,
}

/// Which keys fit a token.
pub(super) enum Candidates<'a> {
    /// Keys to try, best first.
    Keys(Vec<&'a Key>),
    /// Keys with the token's `kid` exist but none fits its `alg`.
    Mismatch,
    /// No key has the token's `kid` (or, without `kid`, none fits `alg`).
    Unknown,
}

// === impl KeySet ===

impl KeySet {
    /// Parses a JWKS document, skipping keys that are malformed, not for
    /// signatures, or of an unsupported type.
    pub(super) fn parse(jwks: &Value) -> Self {
        let keys = jwks
            .get("keys")
            .and_then(Value::as_array)
            .map(|keys| keys.iter().filter_map(Key::parse).collect())
            .unwrap_or_default();
        Self { keys }
    }

    /// Adds another set's keys (extra JWKS URIs).
    pub(super) fn extend(&mut self, other: KeySet) {
        self.keys.extend(other.keys);
    }

    /// Number of usable keys.
    pub(super) fn len(&self) -> usize {
        self.keys.len()
    }

    /// The keys that may verify a token with this `alg` and `kid`.
    pub(super) fn candidates(&self, alg: SigningAlg, kid: Option<&str>) -> Candidates<'_> {
        let named: Vec<&Key> = match kid {
            Some(kid) => self
                .keys
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid))
                .collect(),
            None => self.keys.iter().collect(),
        };
        if named.is_empty() {
            return Candidates::Unknown;
        }
        let fitting: Vec<&Key> = named
            .into_iter()
            .filter(|k| k.fits(alg))
            .take(MAX_CANDIDATES)
            .collect();
        match (fitting.is_empty(), kid) {
            (false, _) => Candidates::Keys(fitting),
            (true, Some(_)) => Candidates::Mismatch,
            (true, None) => Candidates::Unknown,
        }
    }
}

// === impl Key ===

impl Key {
    fn parse(jwk: &Value) -> Option<Self> {
        let member = |name: &str| jwk.get(name).and_then(Value::as_str);
        if member("use").is_some_and(|u| u != "sig") {
            return None;
        }
        if let Some(ops) = jwk.get("key_ops").and_then(Value::as_array)
            && !ops.iter().any(|o| o.as_str() == Some("verify"))
        {
            return None;
        }
        let (kind, decoding) = match (member("kty")?, member("crv")) {
            ("RSA", _) => (
                KeyKind::Rsa,
                DecodingKey::from_rsa_components(member("n")?, member("e")?).ok()?,
            ),
            ("EC", Some(crv @ ("P-256" | "P-384"))) => (
                if crv == "P-256" {
                    KeyKind::P256
                } else {
                    KeyKind::P384
                },
                DecodingKey::from_ec_components(member("x")?, member("y")?).ok()?,
            ),
            ("OKP", Some("Ed25519")) => (
                KeyKind::Ed25519,
                DecodingKey::from_ed_components(member("x")?).ok()?,
            ),
            _ => return None,
        };
        Some(Self {
            kid: member("kid").map(str::to_string),
            alg: member("alg").map(str::to_string),
            kind,
            decoding,
        })
    }

    /// Whether this key may check a signature made with `alg`: the key
    /// type must match, and a key that declares its `alg` only checks that.
    fn fits(&self, alg: SigningAlg) -> bool {
        use SigningAlg::*;
        let family = match self.kind {
            KeyKind::Rsa => matches!(alg, RS256 | RS384 | RS512 | PS256 | PS384 | PS512),
            KeyKind::P256 => alg == ES256,
            KeyKind::P384 => alg == ES384,
            KeyKind::Ed25519 => alg == EdDSA,
        };
        family && self.alg.as_deref().is_none_or(|a| a == alg.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set() -> KeySet {
        KeySet::parse(&json!({ "keys": [
            { "kty": "RSA", "kid": "r1", "n": "sXch", "e": "AQAB", "use": "sig" },
            { "kty": "RSA", "kid": "r2", "n": "sXch", "e": "AQAB", "alg": "PS256" },
            { "kty": "EC", "kid": "e1", "crv": "P-256", "x": "AQ", "y": "AQ" },
            { "kty": "OKP", "kid": "d1", "crv": "Ed25519", "x": "AQ" },
            { "kty": "RSA", "kid": "enc", "n": "sXch", "e": "AQAB", "use": "enc" },
            { "kty": "oct", "kid": "h1", "k": "c2VjcmV0" },
            { "kty": "EC", "kid": "e9", "crv": "P-521", "x": "AQ", "y": "AQ" },
            { "kty": "RSA", "kid": "bad" },
        ]}))
    }

    fn count(c: Candidates<'_>) -> Option<usize> {
        match c {
            Candidates::Keys(k) => Some(k.len()),
            _ => None,
        }
    }

    #[test]
    fn only_signature_keys_of_known_types_are_kept() {
        assert_eq!(set().len(), 4);
    }

    #[test]
    fn key_type_must_match_the_algorithm() {
        let s = set();
        assert_eq!(count(s.candidates(SigningAlg::RS256, Some("r1"))), Some(1));
        assert!(matches!(
            s.candidates(SigningAlg::ES256, Some("r1")),
            Candidates::Mismatch
        ));
        assert!(matches!(
            s.candidates(SigningAlg::RS256, Some("e1")),
            Candidates::Mismatch
        ));
        assert!(matches!(
            s.candidates(SigningAlg::ES384, Some("e1")),
            Candidates::Mismatch
        ));
        assert_eq!(count(s.candidates(SigningAlg::EdDSA, Some("d1"))), Some(1));
        // A key that declares PS256 does not check RS256.
        assert!(matches!(
            s.candidates(SigningAlg::RS256, Some("r2")),
            Candidates::Mismatch
        ));
        assert!(matches!(
            s.candidates(SigningAlg::HS256, Some("h1")),
            Candidates::Unknown
        ));
    }

    #[test]
    fn unknown_kid_and_no_kid() {
        let s = set();
        assert!(matches!(
            s.candidates(SigningAlg::RS256, Some("zz")),
            Candidates::Unknown
        ));
        assert_eq!(count(s.candidates(SigningAlg::RS256, None)), Some(1));
        assert_eq!(count(s.candidates(SigningAlg::PS256, None)), Some(2));
        assert!(matches!(
            s.candidates(SigningAlg::ES384, None),
            Candidates::Unknown
        ));
    }
}
