//! Unit tests of session records: timeouts, sealing format, `Debug`.

use super::*;
use crate::model::plugin::OidcConfig;

fn config(extra: Value) -> SessionConfig {
    let mut v = serde_json::json!({ "issuer": "https://idp.test" });
    v.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    OidcConfig::parse(&v).unwrap().session
}

pub(super) fn record(at: u64) -> Record {
    Record {
        sid: random_id(),
        created: at,
        rolled: at,
        touched: at,
        method: "authorization_code".into(),
        access_token: "at".into(),
        expires_at: None,
        expires_in: None,
        refresh_token: None,
        id_token: None,
        claims: Arc::new(Value::Null),
        claims_in: None,
        headers: Derived::default(),
    }
}

/// A use at `now`: checked, then renewed as found due.
fn used(r: &mut Record, c: &SessionConfig, now: u64) -> Result<bool, Invalid> {
    let due = r.check(c, now)?;
    if due {
        r.renew(c, now);
    }
    Ok(due)
}

#[test]
fn kong_defaults_rolling_absolute_idle() {
    let c = config(serde_json::json!({}));
    assert_eq!(
        (c.rolling_timeout, c.absolute_timeout, c.idling_timeout),
        (3600, 86400, 900)
    );
    // Idle: unused for the idling period.
    let mut r = record(1000);
    assert_eq!(
        used(&mut r, &c, 1000 + 89),
        Ok(false),
        "touched after a tenth"
    );
    assert_eq!(used(&mut r, &c, 1000 + 899), Ok(true));
    assert_eq!(r.touched, 1899);
    let mut r = record(1000);
    assert_eq!(used(&mut r, &c, 1000 + 900), Err(Invalid::Expired));
    // Rolling: used all the time, but never renewed.
    let c = config(serde_json::json!({ "session_idling_timeout": 0 }));
    let mut r = record(1000);
    r.rolled = 1000;
    assert_eq!(used(&mut r, &c, 1000 + 3600), Err(Invalid::Expired));
    // Not renewed before three quarters of the period (no write)...
    let mut r = record(1000);
    assert_eq!(used(&mut r, &c, 1000 + 2699), Ok(false));
    assert_eq!(r.rolled, 1000);
    // ...renewed then, and good for another period.
    assert_eq!(used(&mut r, &c, 1000 + 2700), Ok(true));
    assert_eq!(r.rolled, 3700);
    assert_eq!(used(&mut r, &c, 3700 + 2699), Ok(false));
    assert_eq!(used(&mut r, &c, 3700 + 3599), Ok(true));
    // Absolute: renewals do not extend it.
    let mut r = record(1000);
    r.rolled = 1000 + 86000;
    assert_eq!(used(&mut r, &c, 1000 + 86400), Err(Invalid::Expired));
    // Off means off.
    let c = config(serde_json::json!({
        "session_idling_timeout": 0, "session_rolling_timeout": 0,
        "session_absolute_timeout": 0,
    }));
    let mut r = record(0);
    assert_eq!(used(&mut r, &c, 10_000_000), Ok(false));
    assert_eq!(r.remaining(&c, 10), None);
}

/// An unsigned JWT with `claims` as its payload.
fn jwt(claims: &Value) -> String {
    use base64::Engine;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.sig",
        b64(&serde_json::json!({"alg": "RS256"})),
        b64(claims)
    )
}

#[test]
fn claims_a_token_carries_are_sealed_once() {
    let claims = serde_json::json!({"sub": "alice", "email": "a@example.test", "n": 1.5});
    let marker = "a@example.test";
    // The access token's payload: left out, read back.
    let mut r = record(1000);
    r.access_token = jwt(&claims);
    r.claims = Arc::new(claims.clone());
    let json = r.to_json().unwrap();
    let text = String::from_utf8(json.clone()).unwrap();
    assert_eq!(text.matches(&jwt(&claims)).count(), 1);
    assert!(!text.contains(marker), "claims in plain JSON: {text}");
    let back = Record::from_json(&json).unwrap();
    assert_eq!(*back.claims, claims);
    assert_eq!(back.claims_in, None);
    // The ID token's, when the access token is opaque.
    let mut r = record(1000);
    r.id_token = Some(jwt(&claims));
    r.claims = Arc::new(claims.clone());
    let json = r.to_json().unwrap();
    assert!(!String::from_utf8_lossy(&json).contains(marker));
    assert_eq!(*Record::from_json(&json).unwrap().claims, claims);
    // Claims no token carries as they are (merged user info): kept.
    let mut merged = claims.clone();
    merged["name"] = "Alice".into();
    r.claims = Arc::new(merged.clone());
    let json = r.to_json().unwrap();
    assert!(String::from_utf8_lossy(&json).contains("Alice"));
    assert_eq!(*Record::from_json(&json).unwrap().claims, merged);
    // A record sealed before this format (claims inside) still opens;
    // a marker whose token is gone does not.
    let old = serde_json::to_vec(&r).unwrap();
    assert_eq!(*Record::from_json(&old).unwrap().claims, merged);
    let mut broken: Value = serde_json::from_slice(&r.to_json().unwrap()).unwrap();
    broken["claims_in"] = "it".into();
    broken["id_token"] = Value::Null;
    assert!(Record::from_json(&serde_json::to_vec(&broken).unwrap()).is_none());
}

#[test]
fn debug_hides_tokens() {
    let mut r = record(0);
    r.access_token = "secret-access".into();
    assert!(!format!("{r:?}").contains("secret"));
}

#[test]
fn records_are_sealed_deflated() {
    let claims = serde_json::json!({"iss": "https://idp.test", "sub": "alice", "aud": "web"});
    let mut r = record(1000);
    r.access_token = jwt(&claims);
    r.id_token = Some(jwt(
        &serde_json::json!({"iss": "https://idp.test", "nonce": "n"}),
    ));
    r.refresh_token = Some("r".repeat(40));
    r.claims = Arc::new(claims.clone());
    let json = r.to_json().unwrap();
    let plain = r.to_plain().unwrap();
    assert_eq!(plain[0], DEFLATED);
    assert!(
        plain.len() < json.len(),
        "{} >= {}",
        plain.len(),
        json.len()
    );
    let back = Record::from_plain(&plain).unwrap();
    assert_eq!(
        (back.access_token, back.id_token, back.refresh_token),
        (
            r.access_token.clone(),
            r.id_token.clone(),
            r.refresh_token.clone()
        )
    );
    assert_eq!(*back.claims, claims);
    // Plain JSON, as earlier versions sealed it, still opens.
    assert_eq!(Record::from_plain(&json).unwrap().sid, r.sid);
    // Inflating is bounded, and garbage after the marker is no record.
    let mut bomb = vec![DEFLATED];
    bomb.extend(miniz_oxide::deflate::compress_to_vec(
        &vec![b' '; MAX_RECORD + 1],
        6,
    ));
    assert!(Record::from_plain(&bomb).is_none());
    assert!(Record::from_plain(b"z\x01\x02\x03").is_none());
}
