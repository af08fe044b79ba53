//! The `openid-connect` browser login end to end over loopback: a scripted
//! browser with a cookie jar (`support::browser`), the real proxy, the echo
//! upstream and the test identity provider (`support::idp`), which signs
//! real tokens, checks PKCE and spends codes once.
//!
//! - `oidc_login/login.rs`: the redirect, the callback and its attacks
//!   (state, code replay, nonce, audience), `login_action`, response modes,
//!   open redirects, which requests get 401;
//! - `oidc_login/session.rs`: session cookies (tampering, timeouts,
//!   chunking, attributes), refreshes, the `refresh_token` method, Redis
//!   storage shared by two proxies;
//! - `oidc_login/logout.rs`: logout triggers, revocation, RP-initiated
//!   logout;
//! - `oidc_login/upstream.rs`: what the upstream gets of a login and a
//!   session (no plugin cookies, the session id header, hidden refresh
//!   tokens).
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

#[path = "oidc_login/login.rs"]
mod login;
#[path = "oidc_login/logout.rs"]
mod logout;
#[path = "oidc_login/session.rs"]
mod session;
#[path = "oidc_login/upstream.rs"]
mod upstream;

use kingress::model::{PluginConfig, PluginInstance, Table};
use serde_json::{Value, json};
use std::collections::HashMap;
use support::browser::{Browser, Page};
use support::idp::{Idp, TestKey};
use support::proxy::{TestProxy, route, service, source, table};
use support::upstream::Upstream;

/// The client the provider knows.
pub const CLIENT_ID: &str = "kong";
/// Its secret.
pub const CLIENT_SECRET: &str = "login-client-secret-0123456789";
/// The session secret of most tests.
pub const SESSION_SECRET: &str = "session-secret-0123456789abcdef";

/// A provider, an upstream and one proxy with `openid-connect` on `/`.
pub struct Env {
    pub idp: Idp,
    pub upstream: Upstream,
    pub proxy: TestProxy,
}

/// The config of most tests: code flow and sessions, `client_secret_post`
/// (as Kong's how-to), errors displayed, merged with `extra`.
pub fn config(idp: &Idp, extra: Value) -> Value {
    let mut c = json!({
        "issuer": idp.issuer,
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "client_auth": "client_secret_post",
        "auth_methods": ["authorization_code", "session"],
        "session_secret": SESSION_SECRET,
        "display_errors": true,
        "upstream_headers_claims": ["preferred_username"],
        "upstream_headers_names": ["x-user"],
    });
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

/// A provider with a signing key and the client registered.
pub async fn idp() -> Idp {
    let idp = Idp::start().await;
    idp.set_signing_key(&TestKey::rsa("login-key", jsonwebtoken::Algorithm::RS256));
    idp.register_secret_client(CLIENT_ID, CLIENT_SECRET);
    idp
}

/// A table with one route `/` carrying the plugin.
pub fn plugin_table(config: &Value, upstream: &Upstream) -> Table {
    let mut r = route("login", &["/"], "svc");
    r.plugins.push(PluginInstance {
        id: "oidc-login-plugin".to_string(),
        name: "openid-connect".to_string(),
        instance_name: None,
        source: source("KongPlugin", "oidc"),
        protocols: Vec::new(),
        ordering: Default::default(),
        config: PluginConfig::parse("openid-connect", config).unwrap(),
        scope: Default::default(),
    });
    table(vec![r], vec![service("svc", &[upstream.addr])])
}

// === impl Env ===

impl Env {
    /// Everything with [`config`]`(extra)`.
    pub async fn start(extra: Value) -> Env {
        let idp = idp().await;
        let config = config(&idp, extra);
        Self::start_for(idp, &config).await
    }

    /// A proxy with exactly `config` in front of `idp`.
    pub async fn start_for(idp: Idp, config: &Value) -> Env {
        let upstream = Upstream::start("echo").await;
        let proxy = TestProxy::start(plugin_table(config, &upstream)).await;
        Env {
            idp,
            upstream,
            proxy,
        }
    }

    /// A proxy URL.
    pub fn url(&self, path: &str) -> String {
        self.proxy.http_url(path)
    }
}

/// The query parameters of a URL.
pub fn query(url: &str) -> HashMap<String, String> {
    let q = url.split_once('?').map_or("", |(_, q)| q);
    let q = q.split('#').next().unwrap_or("");
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

/// Login claims that make a session too large for one cookie: random
/// text, since sealed records are deflated (repeated text would not do).
pub fn big_claims() -> Value {
    use rand::distr::{Alphanumeric, SampleString};
    json!({ "bio": Alphanumeric.sample_string(&mut rand::rng(), 6000) })
}

/// Asserts the upstream answered (the echo), and returns what it saw.
#[track_caller]
pub fn upstream_saw(page: &Page) -> Value {
    let body = page.json();
    assert_eq!(page.status, 200, "{page:?}");
    assert_eq!(body["upstream"], "echo", "{page:?}");
    body
}

/// Asserts a 401 carrying `reason` (config has `display_errors`).
#[track_caller]
pub fn assert_unauthorized(page: &Page, reason: &str) {
    assert_eq!(page.status, 401, "{page:?}");
    assert_eq!(
        page.json()["message"],
        format!("Unauthorized ({reason})"),
        "{page:?}"
    );
}

/// A logged-in browser.
pub async fn logged_in(env: &Env, path: &str) -> (Browser, Page) {
    let mut browser = Browser::new();
    let page = browser.login(&env.url(path)).await;
    (browser, page)
}

/// Tokens of a `password` grant for a provider user, straight from the
/// provider (as a client that holds a refresh token has them).
pub async fn password_tokens(env: &Env, user: &str, password: &str) -> Value {
    support::client::http1()
        .post(env.idp.token_url())
        .form(&[
            ("grant_type", "password"),
            ("username", user),
            ("password", password),
            ("scope", "openid"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
