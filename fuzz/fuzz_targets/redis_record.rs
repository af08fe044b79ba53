//! Token rows and codes as a hostile Redis may return them.
//!
//! Input: `0` then a stored value as is; or `1`, a byte choosing one of the
//! genuine values (a row with a refresh token, a row without, a code), a
//! big-endian u16 offset, a byte count to cut there, and bytes to splice in.
//!
//! Invariants: nothing panics; a value opens (by access token, by refresh
//! token, as a code) only to exactly what was sealed for that token or code;
//! a value sealed for another token never opens.
#![no_main]

use kingress::model::Sensitive;
use kingress::secret::Keyring;
use kingress::tokens::redis::fuzz::{code, open, row};
use kingress::tokens::{AuthCode, IssuedToken, unix_now};
use libfuzzer_sys::fuzz_target;
use std::sync::{Mutex, OnceLock};

const ACCESS: &str = "access0123456789abcdefghijklmnop";
const REFRESH: &str = "refresh123456789abcdefghijklmnop";
const CODE: &str = "code0123456789abcdefghijklmnopqr";

struct Fixture {
    keys: Keyring,
    token: IssuedToken,
    /// Genuine stored rows: of `token`, and of another token (no refresh
    /// token).
    rows: [String; 2],
}

/// A recent code (one older than 300 s no longer opens, and runs last
/// longer) and its stored value, renewed every minute: sealing on every
/// input would halve the speed.
fn recent_code(keys: &Keyring) -> (AuthCode, String) {
    static CODE_NOW: Mutex<Option<(AuthCode, String)>> = Mutex::new(None);
    let mut held = CODE_NOW.lock().unwrap_or_else(|e| e.into_inner());
    let now = unix_now();
    match &*held {
        Some((c, stored)) if now < c.created_at + 60 => (c.clone(), stored.clone()),
        _ => {
            let value = AuthCode {
                code: Sensitive::new(CODE),
                credential_id: "credential".into(),
                service: None,
                plugin_id: "plugin".into(),
                authenticated_userid: Some("alice".into()),
                scope: Some("read".into()),
                challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
                challenge_method: Some("S256".into()),
                created_at: now,
            };
            let stored = code(&value, keys);
            *held = Some((value.clone(), stored.clone()));
            (value, stored)
        }
    }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let keys = Keyring::builtin();
        let token = IssuedToken {
            access_token: Sensitive::new(ACCESS),
            refresh_token: Some(Sensitive::new(REFRESH)),
            credential_id: "credential".into(),
            service: Some("service".into()),
            scope: Some("read write".into()),
            authenticated_userid: Some("alice".into()),
            expires_in: 7200,
            created_at: 1_800_000_000,
            ttl: Some(1_209_600),
        };
        let other = IssuedToken {
            access_token: Sensitive::new("other0123456789abcdefghijklmnopq"),
            refresh_token: None,
            scope: Some("admin".into()),
            ..token.clone()
        };
        let rows = [row(&token, &keys), row(&other, &keys)];
        Fixture { keys, token, rows }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let (code_value, code_stored) = recent_code(&f.keys);
    let raw = match data {
        [b'0', raw @ ..] => raw.to_vec(),
        [b'1', which, hi, lo, cut, splice @ ..] => {
            let mut value = match which % 3 {
                2 => code_stored,
                i => f.rows[usize::from(i)].clone(),
            }
            .into_bytes();
            let at = usize::from(u16::from_be_bytes([*hi, *lo])).min(value.len());
            let end = (at + usize::from(*cut)).min(value.len());
            value.splice(at..end, splice.iter().copied());
            value
        }
        _ => return,
    };
    // The redis client returns a value that is not UTF-8 as an error.
    let Ok(raw) = String::from_utf8(raw) else {
        return;
    };
    let opened = open(&raw, ACCESS, REFRESH, CODE, &f.keys);
    if let Some(t) = &opened.by_access {
        let expected = IssuedToken {
            refresh_token: None,
            ..f.token.clone()
        };
        assert_eq!(*t, expected, "opened by access token from {raw}");
    }
    if let Some(t) = &opened.by_refresh {
        assert_eq!(*t, f.token, "opened by refresh token from {raw}");
    }
    if let Some(c) = &opened.code {
        assert_eq!(*c, code_value, "opened as a code from {raw}");
    }
});
