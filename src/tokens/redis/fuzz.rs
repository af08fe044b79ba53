//! The entry points of the `redis_record` fuzz target (`fuzz/`): rows and
//! codes sealed as they are stored, and what a stored value, as a hostile
//! Redis may return it, opens to on each read path. Not an API; hidden from
//! the docs.

use super::record::{
    CodeRecord, TokenRecord, credential_of, open_by_refresh, open_code, open_token, parse, to_json,
};
use crate::secret::Keyring;
use crate::tokens::{AuthCode, IssuedToken, TokenSummary, digest_hex};

/// The stored form of `token` (its row's JSON).
pub fn row(token: &IssuedToken, keys: &Keyring) -> String {
    to_json(&TokenRecord::seal(token, keys).0).unwrap_or_default()
}

/// The stored form of `code`.
pub fn code(code: &AuthCode, keys: &Keyring) -> String {
    to_json(&CodeRecord::seal(code, keys)).unwrap_or_default()
}

/// What one stored value opens to on every read path.
#[derive(Debug)]
pub struct Opened {
    /// By access token (`TokenStore::token`).
    pub by_access: Option<IssuedToken>,
    /// By refresh token, the index pointing at the access token's hash.
    pub by_refresh: Option<IssuedToken>,
    /// As a code.
    pub code: Option<AuthCode>,
    /// As listed by the Admin API (no token values; not authenticated).
    pub listed: Option<TokenSummary>,
    /// The credential id the credential sweep reads.
    pub credential: Option<String>,
}

/// Reads `raw` on every path: as the row of `access` (and of `refresh`) and
/// as the code `code`.
pub fn open(raw: &str, access: &str, refresh: &str, code: &str, keys: &Keyring) -> Opened {
    let owned = || Some(raw.to_string());
    Opened {
        by_access: open_token(owned(), access, keys),
        by_refresh: open_by_refresh(owned(), refresh, &digest_hex(access), keys),
        code: open_code(owned(), code, keys),
        listed: parse::<TokenRecord>(raw).map(|r| r.summary("id".into())),
        credential: credential_of(raw),
    }
}
