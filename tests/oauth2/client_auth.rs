//! Client authentication at `/oauth2/token` as real OAuth 2.0 clients send
//! it: HTTP Basic with the id and secret form-encoded first (RFC 6749
//! §2.3.1, Go's `golang.org/x/oauth2` with `AuthStyleInHeader`), as well as
//! Kong's raw reading (curl `-u`), for plain and argon2id-hashed secrets;
//! wrong secrets fail in both forms. The Go client itself runs too.

use crate::support::oauth2::*;
use crate::support::proxy::TestProxy;
use crate::support::upstream::Upstream;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use kingress::model::{ClientSecret, Sensitive};
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// Secrets that form encoding changes: space, `+`, `:`, `%`, non-ASCII,
/// and characters Go escapes but a form serializer may not (`*`, `~`).
const SECRETS: [&str; 5] = [
    "a b+c:d%e",
    "pässwörd ✓",
    "100%+1",
    "*star~tilde*",
    "colon:at:end:",
];

/// Go's `url.QueryEscape`: letters, digits and `-_.~` kept, space as `+`,
/// every other byte `%XX` in upper-case hex.
fn query_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `Authorization` as x/oauth2 builds it: `SetBasicAuth(QueryEscape(id),
/// QueryEscape(secret))`.
fn rfc_basic(id: &str, secret: &str) -> String {
    let pair = format!("{}:{}", query_escape(id), query_escape(secret));
    format!("Basic {}", STANDARD.encode(pair))
}

/// `Authorization` as curl `-u id:secret` builds it (Kong's reading).
fn raw_basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// A proxy whose table adds `odd-<n>` (plain `SECRETS[n]`), `hashed-odd`
/// (argon2id of `SECRETS[0]`) and `my client` (a space in the id).
async fn start_with_odd_clients() -> (Upstream, TestProxy) {
    let (up, proxy) = start(&default_config()).await;
    let mut t = oauth_table(&up, &default_config());
    for (n, secret) in SECRETS.iter().enumerate() {
        add_client(
            &mut t,
            &format!("odd-{n}"),
            ClientSecret::Plain(Sensitive::new(*secret)),
        );
    }
    add_client(
        &mut t,
        "hashed-odd",
        ClientSecret::Hashed(argon2_hash(SECRETS[0])),
    );
    add_client(
        &mut t,
        "my client",
        ClientSecret::Plain(Sensitive::new(SECRETS[0])),
    );
    proxy.table.publish(t);
    (up, proxy)
}

async fn cc_with(proxy: &TestProxy, authorization: &str) -> Reply {
    post_form(
        &proxy.https_url("/mock/oauth2/token"),
        &[("grant_type", "client_credentials")],
        &[("authorization", authorization)],
    )
    .await
}

#[track_caller]
fn assert_refused(r: &Reply) {
    r.assert_error(401, "invalid_client", "Invalid client authentication");
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"OAuth2.0\"")
    );
}

#[test]
fn the_encoder_matches_go() {
    // Values from Go: url.QueryEscape("a b+c:d%e") and the others.
    assert_eq!(query_escape("a b+c:d%e"), "a+b%2Bc%3Ad%25e");
    assert_eq!(query_escape("*star~tilde*"), "%2Astar~tilde%2A");
    assert_eq!(query_escape("ä"), "%C3%A4");
}

#[tokio::test]
async fn both_basic_forms_authenticate_plain_and_hashed_secrets() {
    let (_up, proxy) = start_with_odd_clients().await;
    let mut clients: Vec<(String, &str)> = SECRETS
        .iter()
        .enumerate()
        .map(|(n, s)| (format!("odd-{n}"), *s))
        .collect();
    clients.push(("hashed-odd".into(), SECRETS[0]));
    clients.push(("my client".into(), SECRETS[0]));
    for (id, secret) in &clients {
        for authorization in [rfc_basic(id, secret), raw_basic(id, secret)] {
            let r = cc_with(&proxy, &authorization).await;
            assert_eq!(r.status, 200, "{id} with {authorization}: {}", r.body);
            let echo = get_with(&proxy.https_url("/mock/x"), r.str("access_token")).await;
            assert_eq!(echo.upstream_header("x-credential-identifier"), Some(&**id));
        }
    }
}

#[tokio::test]
async fn wrong_secrets_fail_in_both_forms() {
    let (_up, proxy) = start_with_odd_clients().await;
    for id in ["odd-0", "hashed-odd", "my client"] {
        // Off by one character, `+` read as a space, nothing at all.
        for wrong in ["a b+c:d%f", "a b c:d%e", ""] {
            assert_refused(&cc_with(&proxy, &rfc_basic(id, wrong)).await);
            assert_refused(&cc_with(&proxy, &raw_basic(id, wrong)).await);
        }
    }
    // The encoded id with the raw secret is neither reading (the decoded
    // one offers `a b c:d%e`), and the id names a known client: 401.
    assert_refused(&cc_with(&proxy, &raw_basic("my+client", "a b+c:d%e")).await);
    // An id no reading knows stays Kong's 400 for client_credentials.
    let r = cc_with(&proxy, &rfc_basic("no such", "x")).await;
    assert_eq!(r.header("www-authenticate"), None);
    r.assert_error(400, "invalid_client", "Invalid client authentication");
    // Escapes of characters an encoder leaves alone still decode: the
    // second reading is RFC 6749's, not a stricter one of our own.
    let r = cc_with(&proxy, &raw_basic("client", "secre%74")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_refused(&cc_with(&proxy, &raw_basic("client", "secre%75")).await);
}

#[tokio::test]
async fn the_decoded_form_serves_every_grant_that_authenticates_the_client() {
    let (_up, proxy) = start_with_odd_clients().await;
    let r = post_form(
        &proxy.https_url("/mock/oauth2/token"),
        &[
            ("grant_type", "password"),
            ("provision_key", PROVISION_KEY),
            ("authenticated_userid", "u1"),
        ],
        &[("authorization", &rfc_basic("odd-0", SECRETS[0]))],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let refresh = r.str("refresh_token").to_string();
    let r = post_form(
        &proxy.https_url("/mock/oauth2/token"),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        &[("authorization", &rfc_basic("odd-0", SECRETS[0]))],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["token_type"], json!("bearer"));
}

/// The Go client, built once per test run from tests/fixtures (needs `go`
/// and the Go module proxy, as the chart tests do).
fn go_client() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/go-oauth2-client");
        let bin = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("go-oauth2-client");
        let out = Command::new("go")
            .args(["build", "-o"])
            .arg(&bin)
            .arg(".")
            .current_dir(&src)
            .output()
            .expect("`go` is needed to build the x/oauth2 client");
        assert!(
            out.status.success(),
            "go build failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        bin
    })
}

/// Runs the Go client: `Ok(token)` or `Err(its error text)`.
pub async fn go_token(url: &str, id: &str, secret: &str) -> Result<String, String> {
    let bin = go_client().clone();
    let (url, id, secret) = (url.to_string(), id.to_string(), secret.to_string());
    let out = tokio::task::spawn_blocking(move || {
        Command::new(bin)
            .args([&url, &id, &secret])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[tokio::test]
async fn go_x_oauth2_client_credentials_in_header() {
    let (_up, proxy) = start_with_odd_clients().await;
    let url = proxy.https_url("/mock/oauth2/token");
    for (id, secret) in [
        ("odd-0", SECRETS[0]),
        ("odd-1", SECRETS[1]),
        ("hashed-odd", SECRETS[0]),
        ("my client", SECRETS[0]),
        ("client", "secret"),
    ] {
        let token = go_token(&url, id, secret)
            .await
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        let echo = get_with(&proxy.https_url("/mock/x"), &token).await;
        assert_eq!(echo.status, 200, "{}", echo.body);
        assert_eq!(echo.upstream_header("x-credential-identifier"), Some(id));
    }
    let err = go_token(&url, "odd-0", "a b+c:d%f").await.unwrap_err();
    assert!(
        err.contains(r#""invalid_client" "Invalid client authentication""#),
        "{err}"
    );
}
