//! The stored forms of token rows and codes (JSON without token values)
//! and the sealing of a row's access token under its refresh token.

use crate::model::Sensitive;
use crate::tokens::{AuthCode, IssuedToken, StoreError, TokenSummary, digest_hex, unix_now};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// A token row as stored (no plaintext token values).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct TokenRecord {
    pub(super) credential_id: String,
    pub(super) service: Option<String>,
    pub(super) scope: Option<String>,
    pub(super) authenticated_userid: Option<String>,
    pub(super) expires_in: u64,
    pub(super) created_at: u64,
    pub(super) ttl: Option<u64>,
    /// SHA-256 (hex) of the refresh token.
    pub(super) refresh_hash: Option<String>,
    /// The access token sealed under the refresh token (hex nonce ‖ text).
    pub(super) sealed_access: Option<String>,
}

/// A code as stored (without the code).
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct CodeRecord {
    pub(super) credential_id: String,
    pub(super) service: Option<String>,
    pub(super) plugin_id: String,
    pub(super) authenticated_userid: Option<String>,
    pub(super) scope: Option<String>,
    pub(super) challenge: Option<String>,
    pub(super) challenge_method: Option<String>,
    pub(super) created_at: u64,
}

// === impl TokenRecord ===

impl TokenRecord {
    /// The stored form of `t` and the hash of its refresh token.
    pub(super) fn seal(t: &IssuedToken) -> (Self, Option<String>) {
        let refresh_hash = t.refresh_token.as_ref().map(|r| digest_hex(r.expose()));
        let sealed_access = t
            .refresh_token
            .as_ref()
            .map(|r| seal(t.access_token.expose(), r.expose()));
        let record = Self {
            credential_id: t.credential_id.clone(),
            service: t.service.clone(),
            scope: t.scope.clone(),
            authenticated_userid: t.authenticated_userid.clone(),
            expires_in: t.expires_in,
            created_at: t.created_at,
            ttl: t.ttl,
            refresh_hash: refresh_hash.clone(),
            sealed_access,
        };
        (record, refresh_hash)
    }

    pub(super) fn open(self, access: String, refresh: Option<String>) -> IssuedToken {
        IssuedToken {
            access_token: Sensitive::new(access),
            refresh_token: refresh.map(Sensitive::new),
            credential_id: self.credential_id,
            service: self.service,
            scope: self.scope,
            authenticated_userid: self.authenticated_userid,
            expires_in: self.expires_in,
            created_at: self.created_at,
            ttl: self.ttl,
        }
    }

    pub(super) fn summary(self, id: String) -> TokenSummary {
        TokenSummary {
            id,
            has_refresh_token: self.refresh_hash.is_some(),
            credential_id: self.credential_id,
            service: self.service,
            scope: self.scope,
            authenticated_userid: self.authenticated_userid,
            expires_in: self.expires_in,
            created_at: self.created_at,
            ttl: self.ttl,
        }
    }
}

impl From<&AuthCode> for CodeRecord {
    fn from(c: &AuthCode) -> Self {
        Self {
            credential_id: c.credential_id.clone(),
            service: c.service.clone(),
            plugin_id: c.plugin_id.clone(),
            authenticated_userid: c.authenticated_userid.clone(),
            scope: c.scope.clone(),
            challenge: c.challenge.clone(),
            challenge_method: c.challenge_method.clone(),
            created_at: c.created_at,
        }
    }
}

pub(super) fn open_code(raw: Option<String>, code: &str) -> Option<AuthCode> {
    let r = parse::<CodeRecord>(&raw?)?;
    let code = AuthCode {
        code: Sensitive::new(code),
        credential_id: r.credential_id,
        service: r.service,
        plugin_id: r.plugin_id,
        authenticated_userid: r.authenticated_userid,
        scope: r.scope,
        challenge: r.challenge,
        challenge_method: r.challenge_method,
        created_at: r.created_at,
    };
    Some(code).filter(|c| !c.is_expired(unix_now()))
}

/// The credential id of a stored token row or code.
pub(super) fn credential_of(raw: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Credential {
        credential_id: String,
    }
    serde_json::from_str::<Credential>(raw)
        .ok()
        .map(|c| c.credential_id)
}

pub(super) fn to_json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Unavailable(format!("cannot encode row: {e}")))
}

pub(super) fn parse<T: for<'de> Deserialize<'de>>(raw: &str) -> Option<T> {
    match serde_json::from_str(raw) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(error = %e, "unreadable row in the redis token store; treating it as absent");
            None
        }
    }
}

type HmacSha256 = Hmac<Sha256>;

/// `hex(nonce ‖ (plain XOR keystream))` with keystream blocks
/// `HMAC-SHA256(key, "kingress-seal" ‖ nonce ‖ counter)`.
pub(super) fn seal(plain: &str, key: &str) -> String {
    let mut nonce = [0u8; 16];
    rand::Rng::fill(&mut rand::rng(), &mut nonce);
    let mut out = nonce.to_vec();
    out.extend(xor_keystream(plain.as_bytes(), key, &nonce));
    hex::encode(out)
}

pub(super) fn unseal(sealed: &str, key: &str) -> Option<String> {
    let bytes = hex::decode(sealed).ok()?;
    if bytes.len() < 16 {
        return None;
    }
    let (nonce, text) = bytes.split_at(16);
    String::from_utf8(xor_keystream(text, key, nonce)).ok()
}

fn xor_keystream(data: &[u8], key: &str, nonce: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    for (counter, chunk) in data.chunks(32).enumerate() {
        // HMAC accepts keys of any length; this cannot fail.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(key.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(b"kingress-seal");
        mac.update(nonce);
        mac.update(&(counter as u64).to_be_bytes());
        let block = mac.finalize().into_bytes();
        out.extend(chunk.iter().zip(block.iter()).map(|(a, b)| a ^ b));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealing_round_trips_only_with_the_right_key() {
        let access = "AbCdEfGhIjKlMnOpQrStUvWxYz012345-and-longer-than-one-block";
        let sealed = seal(access, "refresh-1");
        assert!(!sealed.contains(&hex::encode(access)));
        assert_eq!(unseal(&sealed, "refresh-1").as_deref(), Some(access));
        assert_ne!(unseal(&sealed, "refresh-2").as_deref(), Some(access));
        // A fresh nonce each time: the same value never seals the same way.
        assert_ne!(sealed, seal(access, "refresh-1"));
    }

    #[test]
    fn records_hold_no_token_values() {
        let t = IssuedToken {
            access_token: Sensitive::new("access-value-123"),
            refresh_token: Some(Sensitive::new("refresh-value-456")),
            credential_id: "c".into(),
            service: Some("svc".into()),
            scope: None,
            authenticated_userid: None,
            expires_in: 1,
            created_at: 2,
            ttl: Some(3),
        };
        let (record, _) = TokenRecord::seal(&t);
        let json = serde_json::to_string(&record).unwrap();
        assert!(!json.contains("access-value-123") && !json.contains("refresh-value-456"));
        assert_eq!(
            record.refresh_hash.as_deref(),
            Some(digest_hex("refresh-value-456").as_str())
        );
    }
}
