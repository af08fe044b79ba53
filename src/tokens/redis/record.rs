//! The stored forms of token rows and codes (JSON without token values),
//! each authenticated with `secret::Keyring`: a row carries `seal`, an AEAD
//! tag over its fields under a key derived from its access token (a code's,
//! from its code), so a row edited in Redis (scope, credential, lifetime)
//! is rejected; and a row's access token is sealed under its refresh token,
//! bound to the same fields. A record that does not open (tampered,
//! truncated, another key, an unknown key id, or the pre-AEAD format) is
//! treated as absent and logged without values.

use crate::model::Sensitive;
use crate::secret::Keyring;
use crate::tokens::{AuthCode, IssuedToken, StoreError, TokenSummary, digest_hex, unix_now};
use serde::{Deserialize, Serialize};

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
    /// The access token sealed under the refresh token (`<key id>.<base64>`).
    pub(super) sealed_access: Option<String>,
    /// AEAD tag over the fields above, keyed by the access token.
    pub(super) seal: String,
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
    /// AEAD tag over the fields above, keyed by the code.
    pub(super) seal: String,
}

// === impl TokenRecord ===

impl TokenRecord {
    /// The stored form of `t` and the hash of its refresh token.
    pub(super) fn seal(t: &IssuedToken, keys: &Keyring) -> (Self, Option<String>) {
        let refresh_hash = t.refresh_token.as_ref().map(|r| digest_hex(r.expose()));
        let mut record = Self {
            credential_id: t.credential_id.clone(),
            service: t.service.clone(),
            scope: t.scope.clone(),
            authenticated_userid: t.authenticated_userid.clone(),
            expires_in: t.expires_in,
            created_at: t.created_at,
            ttl: t.ttl,
            refresh_hash: refresh_hash.clone(),
            sealed_access: None,
            seal: String::new(),
        };
        let binding = record.binding();
        record.sealed_access = t.refresh_token.as_ref().map(|r| {
            keys.seal(
                r.expose().as_bytes(),
                t.access_token.expose().as_bytes(),
                &binding,
            )
        });
        record.reseal(keys, t.access_token.expose());
        (record, refresh_hash)
    }

    /// Seals the row's fields again under `access`, after the Admin API
    /// changed them (`PATCH /oauth2_tokens/{access token}`). The sealed
    /// access token is bound only to fields that never change, so the
    /// refresh token keeps working.
    pub(super) fn reseal(&mut self, keys: &Keyring, access: &str) {
        self.seal = keys.seal(access.as_bytes(), b"", &self.fields());
    }

    /// Whether the row was sealed for `access` and is unchanged since.
    pub(super) fn verify(&self, keys: &Keyring, access: &str) -> bool {
        match keys.open(&self.seal, access.as_bytes(), &self.fields()) {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(error = %e, "redis token row does not authenticate; treating it as absent");
                false
            }
        }
    }

    /// The access token sealed under `refresh`, if it opens.
    pub(super) fn unseal_access(&self, keys: &Keyring, refresh: &str) -> Option<String> {
        let sealed = self.sealed_access.as_deref()?;
        // Only the binding here: the caller verifies `seal`, over every
        // field, with the access token this opens.
        match keys.open(sealed, refresh.as_bytes(), &self.binding()) {
            Ok(plain) => String::from_utf8(plain).ok(),
            Err(e) => {
                tracing::warn!(error = %e, "redis token row does not open with its refresh token; treating it as absent");
                None
            }
        }
    }

    /// The fields that never change after issue, as associated data of the
    /// sealed access token: it opens only in the row it was issued into.
    fn binding(&self) -> Vec<u8> {
        serde_json::to_vec(&(
            &self.credential_id,
            &self.service,
            self.created_at,
            &self.refresh_hash,
        ))
        // A tuple of strings and integers always serialises.
        .unwrap_or_default()
    }

    /// The authenticated fields, as associated data.
    fn fields(&self) -> Vec<u8> {
        serde_json::to_vec(&(
            &self.credential_id,
            &self.service,
            &self.scope,
            &self.authenticated_userid,
            self.expires_in,
            self.created_at,
            self.ttl,
            &self.refresh_hash,
        ))
        // A tuple of strings and integers always serialises.
        .unwrap_or_default()
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

// === impl CodeRecord ===

impl CodeRecord {
    /// The stored form of `c`, sealed under the code.
    pub(super) fn seal(c: &AuthCode, keys: &Keyring) -> Self {
        let mut record = Self {
            credential_id: c.credential_id.clone(),
            service: c.service.clone(),
            plugin_id: c.plugin_id.clone(),
            authenticated_userid: c.authenticated_userid.clone(),
            scope: c.scope.clone(),
            challenge: c.challenge.clone(),
            challenge_method: c.challenge_method.clone(),
            created_at: c.created_at,
            seal: String::new(),
        };
        record.seal = keys.seal(c.code.expose().as_bytes(), b"", &record.fields());
        record
    }

    fn fields(&self) -> Vec<u8> {
        serde_json::to_vec(&(
            &self.credential_id,
            &self.service,
            &self.plugin_id,
            &self.authenticated_userid,
            &self.scope,
            &self.challenge,
            &self.challenge_method,
            self.created_at,
        ))
        // A tuple of strings and integers always serialises.
        .unwrap_or_default()
    }
}

pub(super) fn open_code(raw: Option<String>, code: &str, keys: &Keyring) -> Option<AuthCode> {
    let r = parse::<CodeRecord>(&raw?)?;
    if let Err(e) = keys.open(&r.seal, code.as_bytes(), &r.fields()) {
        tracing::warn!(error = %e, "redis code does not authenticate; treating it as absent");
        return None;
    }
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

/// The token of the stored row `raw` (read by the access token's hash)
/// when it opens with `access`, expired or not.
pub(super) fn open_token(raw: Option<String>, access: &str, keys: &Keyring) -> Option<IssuedToken> {
    let record = parse::<TokenRecord>(&raw?)?;
    record
        .verify(keys, access)
        .then(|| record.open(access.to_string(), None))
}

/// The token of the stored row `raw` (read by `access_hash`, which the
/// refresh index gave) when its access token unseals with `refresh`, hashes
/// to `access_hash` and opens the row, expired or not.
pub(super) fn open_by_refresh(
    raw: Option<String>,
    refresh: &str,
    access_hash: &str,
    keys: &Keyring,
) -> Option<IssuedToken> {
    let record = parse::<TokenRecord>(&raw?)?;
    if record.refresh_hash.as_deref() != Some(digest_hex(refresh).as_str()) {
        return None;
    }
    let access = record
        .unseal_access(keys, refresh)
        .filter(|a| digest_hex(a) == access_hash && record.verify(keys, a))?;
    Some(record.open(access, Some(refresh.to_string())))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> IssuedToken {
        IssuedToken {
            access_token: Sensitive::new("access-value-123"),
            refresh_token: Some(Sensitive::new("refresh-value-456")),
            credential_id: "c".into(),
            service: Some("svc".into()),
            scope: Some("read".into()),
            authenticated_userid: None,
            expires_in: 1,
            created_at: 2,
            ttl: Some(3),
        }
    }

    #[test]
    fn a_row_opens_only_with_its_tokens_and_unchanged() {
        let keys = Keyring::builtin();
        let (record, _) = TokenRecord::seal(&token(), &keys);
        assert!(record.verify(&keys, "access-value-123"));
        assert!(!record.verify(&keys, "access-value-124"));
        assert_eq!(
            record.unseal_access(&keys, "refresh-value-456").as_deref(),
            Some("access-value-123")
        );
        assert_eq!(record.unseal_access(&keys, "refresh-value-457"), None);
        // A hostile Redis widening the scope: neither path accepts the row.
        let json = serde_json::to_string(&record).unwrap();
        let widened: TokenRecord =
            serde_json::from_str(&json.replace("\"read\"", "\"admin\"")).unwrap();
        assert!(!widened.verify(&keys, "access-value-123"));
        // The refresh path opens the access token (bound to the fields that
        // never change) and then verifies the row with it: refused too.
        let opened = widened.unseal_access(&keys, "refresh-value-456").unwrap();
        assert!(!widened.verify(&keys, &opened));
        // A row moved to another credential does not even open.
        let moved = json.replace("\"credential_id\":\"c\"", "\"credential_id\":\"other\"");
        assert_ne!(moved, json);
        let moved: TokenRecord = serde_json::from_str(&moved).unwrap();
        assert_eq!(moved.unseal_access(&keys, "refresh-value-456"), None);
    }

    #[test]
    fn a_row_resealed_after_a_change_opens_on_both_paths() {
        let keys = Keyring::builtin();
        let (mut record, _) = TokenRecord::seal(&token(), &keys);
        record.scope = Some("write".into());
        assert!(!record.verify(&keys, "access-value-123"));
        record.reseal(&keys, "access-value-123");
        assert!(record.verify(&keys, "access-value-123"));
        let opened = record.unseal_access(&keys, "refresh-value-456").unwrap();
        assert!(record.verify(&keys, &opened));
    }

    #[test]
    fn rows_of_the_pre_aead_format_are_absent() {
        let old = r#"{"credential_id":"c","service":null,"scope":null,"authenticated_userid":null,"expires_in":7200,"created_at":1,"ttl":null,"refresh_hash":"ab","sealed_access":"00112233445566778899aabbccddeeff0011"}"#;
        assert!(parse::<TokenRecord>(old).is_none());
    }

    #[test]
    fn a_code_opens_only_with_its_code_and_unchanged() {
        let keys = Keyring::builtin();
        let code = AuthCode {
            code: Sensitive::new("code-1"),
            credential_id: "c".into(),
            service: None,
            plugin_id: "p".into(),
            authenticated_userid: Some("u".into()),
            scope: Some("read".into()),
            challenge: None,
            challenge_method: None,
            created_at: unix_now(),
        };
        let json = to_json(&CodeRecord::seal(&code, &keys)).unwrap();
        assert!(open_code(Some(json.clone()), "code-1", &keys).is_some());
        assert!(open_code(Some(json.clone()), "code-2", &keys).is_none());
        let widened = json.replace("\"read\"", "\"admin\"");
        assert!(open_code(Some(widened), "code-1", &keys).is_none());
        let mut unsealed: serde_json::Value = serde_json::from_str(&json).unwrap();
        unsealed["seal"] = "".into();
        assert!(open_code(Some(unsealed.to_string()), "code-1", &keys).is_none());
    }

    #[test]
    fn records_hold_no_token_values() {
        let (record, _) = TokenRecord::seal(&token(), &Keyring::builtin());
        let json = serde_json::to_string(&record).unwrap();
        assert!(!json.contains("access-value-123") && !json.contains("refresh-value-456"));
        assert_eq!(
            record.refresh_hash.as_deref(),
            Some(digest_hex("refresh-value-456").as_str())
        );
    }
}
