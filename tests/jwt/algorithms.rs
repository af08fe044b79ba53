//! Every algorithm Kong's spec covers (RS256/384/512, ES384/512, PS256/
//! 384/512, EdDSA, HS384/512; ES256 too): "verifies JWT" and "identifies
//! Consumer", and a token signed by another key refused.

use crate::support::jwt::*;
use crate::support::oauth2::request;
use serde_json::json;

#[tokio::test]
async fn every_asymmetric_algorithm_verifies_and_identifies_the_consumer() {
    let (_up, proxy) = start().await;
    let url = proxy.http_url("/jwt1/request");
    for (key, alg, _, private, username) in ASYMMETRIC {
        let bearer = format!("Bearer {}", encode(&payload(key), &pem(private), alg));
        let r = request("GET", &url, &[("authorization", &bearer)], None).await;
        assert_eq!(r.status, 200, "{alg}: {}", r.body);
        let headers = &r.body["headers"];
        assert_eq!(headers["authorization"], bearer.as_str(), "{alg}");
        assert_eq!(headers["x-consumer-username"], username, "{alg}");
        assert_eq!(headers["x-credential-identifier"], key, "{alg}");
        assert!(headers.get("x-credential-username").is_none(), "{alg}");
    }
}

#[tokio::test]
async fn another_keys_signature_is_invalid() {
    let (up, proxy) = start().await;
    let url = proxy.http_url("/jwt1/request");
    let other = |alg: &str| match alg {
        "RS512" => pem("rsa_private"),
        a if a.starts_with('R') || a.starts_with('P') => pem("rsa2_private"),
        _ => String::new(),
    };
    for (key, alg, _, _, _) in ASYMMETRIC.iter().filter(|a| a.1.starts_with(['R', 'P'])) {
        let token = encode(&payload(key), &other(alg), alg);
        let r = request(
            "GET",
            &url,
            &[("authorization", &format!("Bearer {token}"))],
            None,
        )
        .await;
        assert_eq!(r.status, 401, "{alg}");
        assert_eq!(r.body, json!({"message": "Invalid signature"}), "{alg}");
    }
    // A signature of the wrong length is refused, not a 500 as in Kong.
    let token = encode(&payload("key-es256"), &pem("p256_private"), "ES256");
    let cut = &token[..token.len() - 4];
    let r = request(
        "GET",
        &url,
        &[("authorization", &format!("Bearer {cut}"))],
        None,
    )
    .await;
    assert_eq!(r.body, json!({"message": "Invalid signature"}));
    assert_eq!(up.requests(), 0);
}

#[tokio::test]
async fn hs384_and_hs512() {
    let (_up, proxy) = start().await;
    let url = proxy.http_url("/jwt1/request");
    // "HS386" / "HS512": "proxies the request with token and consumer headers if it was verified"
    for (key, alg, secret, username) in [
        (
            "key-hs384",
            "HS384",
            "secret-hs384",
            "jwt_tests_hs_consumer_7",
        ),
        (
            "key-hs512",
            "HS512",
            "secret-hs512",
            "jwt_tests_hs_consumer_8",
        ),
    ] {
        let bearer = format!("Bearer {}", encode(&payload(key), secret, alg));
        let r = request("GET", &url, &[("authorization", &bearer)], None).await;
        assert_eq!(r.status, 200, "{alg}: {}", r.body);
        assert_eq!(r.body["headers"]["x-consumer-username"], username);
        assert_eq!(r.body["headers"]["x-credential-identifier"], key);
        // The same secret under another HMAC size is the wrong algorithm.
        let token = encode(&payload(key), secret, "HS256");
        let r = request(
            "GET",
            &url,
            &[("authorization", &format!("Bearer {token}"))],
            None,
        )
        .await;
        assert_eq!(r.body, json!({"message": "Invalid algorithm"}));
    }
}
