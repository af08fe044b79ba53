//! Kong's "refusals" describe block, plus alg confusion.

use crate::support::jwt::*;
use crate::support::oauth2::{Reply, request};
use serde_json::json;

const INVALID: &str = "Bearer error=\"invalid_token\"";

async fn get(url: &str, headers: &[(&str, &str)]) -> Reply {
    request("GET", url, headers, None).await
}

#[track_caller]
fn assert_refused(r: &Reply, message: &str, challenge: &str) {
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.body, json!({ "message": message }));
    assert_eq!(r.header("www-authenticate"), Some(challenge));
}

#[tokio::test]
async fn no_token_no_key_claim_unknown_key_bad_signature() {
    let (up, proxy) = start().await;
    let url = proxy.http_url("/jwt1/request");
    // "returns 401 Unauthorized if no JWT is found in the request"
    let r = get(&url, &[]).await;
    assert_refused(&r, "Unauthorized", "Bearer");

    // "returns 401 if the claims do not contain the key to identify a secret"
    let mut claims = payload("x");
    claims.as_object_mut().unwrap().remove("iss");
    let bearer = format!("Bearer {}", encode(&claims, "foo", "HS256"));
    let r = get(&url, &[("authorization", &bearer)]).await;
    assert_refused(&r, "No mandatory 'iss' in claims", INVALID);

    // "returns 401 if the claims do not contain a valid key to identify a secret"
    let bearer = format!("Bearer {}", encode(&payload(""), "foo", "HS256"));
    let r = get(&url, &[("authorization", &bearer)]).await;
    assert_refused(&r, "Invalid 'iss' in claims", INVALID);

    // "returns 401 Unauthorized if the iss does not match a credential"
    let bearer = format!("Bearer {}", encode(&payload("123456789"), SECRET, "HS256"));
    let r = get(&url, &[("authorization", &bearer)]).await;
    assert_refused(&r, "No credentials found for given 'iss'", INVALID);

    // "returns 401 Unauthorized if the signature is invalid"
    let bearer = format!("Bearer {}", encode(&payload(KEY), "foo", "HS256"));
    let r = get(&url, &[("authorization", &bearer)]).await;
    assert_refused(&r, "Invalid signature", INVALID);
    assert_eq!(up.requests(), 0, "nothing refused reached the upstream");
}

#[tokio::test]
async fn the_algorithm_is_the_credentials() {
    let (up, proxy) = start().await;
    let url = proxy.http_url("/jwt1/request");
    // "returns 401 Unauthorized if the alg does not match the credential"
    let header = json!({"typ": "JWT", "alg": "RS256"});
    let token = encode_with(&payload(KEY), SECRET, "HS256", &header);
    let r = get(&url, &[("authorization", &format!("Bearer {token}"))]).await;
    assert_refused(&r, "Invalid algorithm", INVALID);

    // Alg confusion: an RS256 credential refuses an HS256 token whose MAC
    // key is the credential's public key, however the header is written.
    let public = pem("rsa_public");
    let confused = encode(&payload("key-rs256"), &public, "HS256");
    let r = get(&url, &[("authorization", &format!("Bearer {confused}"))]).await;
    assert_refused(&r, "Invalid algorithm", INVALID);
    let lying = encode_with(
        &payload("key-rs256"),
        &public,
        "HS256",
        &json!({"typ": "JWT", "alg": "RS256"}),
    );
    let r = get(&url, &[("authorization", &format!("Bearer {lying}"))]).await;
    assert_refused(&r, "Invalid signature", INVALID);
    // `none` is no algorithm at all.
    let none = format!(
        "{}.",
        signing_input(&json!({"alg": "none"}), &payload("key-rs256"))
    );
    let r = get(&url, &[("authorization", &format!("Bearer {none}"))]).await;
    assert_refused(&r, "Bad token; invalid alg", INVALID);
    assert_eq!(up.requests(), 0);
}

#[tokio::test]
async fn preflight_and_multiple_tokens() {
    let (_up, proxy) = start().await;
    // "returns 200 on OPTIONS requests if run_on_preflight is false"
    let r = request("OPTIONS", &proxy.http_url("/jwt8/request"), &[], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["method"], "OPTIONS");
    // … while other methods are still checked.
    let r = get(&proxy.http_url("/jwt8/request"), &[]).await;
    assert_refused(&r, "Unauthorized", "Bearer");
    // "returns Unauthorized on OPTIONS requests if run_on_preflight is true"
    let r = request("OPTIONS", &proxy.http_url("/jwt1/request"), &[], None).await;
    assert_refused(&r, "Unauthorized", "Bearer");

    // "reject if multiple different tokens found"
    let jwt = encode(&payload(KEY), SECRET, "HS256");
    let url = proxy.http_url(&format!("/jwt1/request?jwt={jwt}"));
    let r = get(&url, &[("authorization", "Bearer invalid.jwt.token")]).await;
    assert_refused(&r, "Multiple tokens provided", INVALID);
    // The same token twice is one token.
    let r = get(&url, &[("authorization", &format!("Bearer {jwt}"))]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // A bare `?jwt` is Kong's boolean `true`: no token string.
    let r = get(&proxy.http_url("/jwt1/request?jwt"), &[]).await;
    assert_refused(&r, "Unrecognizable token", INVALID);
}

#[tokio::test]
async fn malformed_tokens_in_kongs_words() {
    let (_up, proxy) = start().await;
    let url = proxy.http_url("/jwt1/request");
    let jwt = encode(&payload(KEY), SECRET, "HS256");
    for (token, message) in [
        ("invalid.jwt.token", "Bad token; invalid JSON"),
        ("only-one-part", "Bad token; invalid JSON"),
        (&format!("x{jwt}"), "Bad token; invalid JSON"),
        (&format!("{jwt}.extra"), "Bad token; invalid signature"),
    ] {
        let r = get(&url, &[("authorization", &format!("Bearer {token}"))]).await;
        assert_refused(&r, message, INVALID);
    }
    let claims = format!(
        "{}.",
        signing_input(&json!({"alg": "HS256"}), &json!([KEY]))
    );
    let r = get(&url, &[("authorization", &format!("Bearer {claims}"))]).await;
    assert_refused(&r, "Bad token; invalid claims", INVALID);
    // A credential's key that is not a string names no credential.
    let number = encode(&json!({"iss": 42}), SECRET, "HS256");
    let r = get(&url, &[("authorization", &format!("Bearer {number}"))]).await;
    assert_refused(&r, "No credentials found for given 'iss'", INVALID);
}

#[tokio::test]
async fn a_credential_without_its_consumer() {
    // Kong's "should not happen" branch: 401 naming the key, no challenge.
    let up = crate::support::upstream::Upstream::start("jwt").await;
    let mut table = jwt_table(&up);
    table
        .credentials
        .insert(hs("ghost", "key-ghost", "HS256", "ghost-secret"))
        .unwrap();
    let proxy = crate::support::proxy::TestProxy::start(table).await;
    let bearer = format!(
        "Bearer {}",
        encode(&payload("key-ghost"), "ghost-secret", "HS256")
    );
    let r = get(
        &proxy.http_url("/jwt1/request"),
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.body,
        json!({"message": "Could not find consumer for 'iss=key-ghost'"})
    );
    assert_eq!(r.header("www-authenticate"), None);
    assert_eq!(up.requests(), 0);
}
