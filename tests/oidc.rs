//! The `openid-connect` plugin end to end over loopback: a client, the real
//! proxy (`TestProxy`), the echo upstream, and an identity provider written
//! in the test (`support::idp`) with real RSA, EC and Ed25519 keys.
//!
//! - `oidc/acl.rs`: acl on the token's groups (`authenticated_groups_claim`);
//! - `oidc/bearer.rs`: JWS verification, attacks, time claims, issuer, key
//!   rotation, extra JWKS, unreachable provider;
//! - `oidc/claims.rs`: scopes/audience/groups/roles rules (403);
//! - `oidc/grants.rs`: `password` and `client_credentials` through the
//!   provider's token endpoint, the token cache;
//! - `oidc/identity.rs`: consumers, credentials and groups from claims
//!   (with acl), downstream and record headers, preflight, the
//!   introspection request's fields, a `deck dump` config;
//! - `oidc/introspection.rs`: RFC 7662 with each client authentication,
//!   caching;
//! - `oidc/kong_oauth2.rs`: tokens from the token store, the seed config;
//! - `oidc/upstream.rs`: upstream headers, clearing, hiding, token
//!   locations, consumer mapping, anonymous, error bodies;
//! - `oidc/userinfo.rs`: `userinfo`, its cache and `search_user_info`.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

#[path = "oidc/acl.rs"]
mod acl;
#[path = "oidc/bearer.rs"]
mod bearer;
#[path = "oidc/claims.rs"]
mod claims;
#[path = "oidc/grants.rs"]
mod grants;
#[path = "oidc/identity.rs"]
mod identity;
#[path = "oidc/introspection.rs"]
mod introspection;
#[path = "oidc/kong_oauth2.rs"]
mod kong_oauth2;
#[path = "oidc/upstream.rs"]
mod upstream;
#[path = "oidc/userinfo.rs"]
mod userinfo;

use kingress::model::{
    ClientSecret, ClientType, Consumer, Credential, Oauth2Credential, PluginConfig, PluginInstance,
    Table,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::idp::Idp;
use support::proxy::{TestProxy, route, service, source, table};
use support::upstream::Upstream;

/// The plugin instance id used by every test route.
pub const PLUGIN_ID: &str = "oidc-test-plugin";

/// A proxy with one route `/` → echo upstream, carrying `openid-connect`.
pub struct Env {
    pub idp: Idp,
    pub proxy: TestProxy,
    pub upstream: Upstream,
}

/// What a request through the proxy returned.
pub struct Reply {
    pub status: StatusCode,
    pub www_authenticate: Option<String>,
    /// The upstream's echo (on 2xx) or the proxy's error body.
    pub body: Value,
}

// === impl Env ===

impl Env {
    /// Starts a provider and a proxy whose plugin config is `config` with
    /// `issuer` defaulting to the provider's.
    pub async fn start(config: Value) -> Env {
        Self::start_with(config, |_| {}).await
    }

    /// Like [`Env::start`], letting the test add consumers/credentials.
    pub async fn start_with(config: Value, edit: impl FnOnce(&mut Table)) -> Env {
        let idp = Idp::start().await;
        Self::start_for(idp, config, edit).await
    }

    /// Like [`Env::start_with`], with more plugins on the route (acl…).
    pub async fn start_with_plugins(
        config: Value,
        more: Vec<PluginInstance>,
        edit: impl FnOnce(&mut Table),
    ) -> Env {
        Self::start_full(Idp::start().await, config, more, edit).await
    }

    /// Uses an existing provider.
    pub async fn start_for(idp: Idp, config: Value, edit: impl FnOnce(&mut Table)) -> Env {
        Self::start_full(idp, config, Vec::new(), edit).await
    }

    async fn start_full(
        idp: Idp,
        mut config: Value,
        more: Vec<PluginInstance>,
        edit: impl FnOnce(&mut Table),
    ) -> Env {
        if config.get("issuer").is_none() {
            config["issuer"] = json!(idp.issuer);
        }
        let upstream = Upstream::start("echo").await;
        let mut r = route("oidc", &["/"], "svc");
        r.plugins.push(plugin(&config));
        r.plugins.extend(more);
        let mut t = table(vec![r], vec![service("svc", &[upstream.addr])]);
        edit(&mut t);
        let proxy = TestProxy::start(t).await;
        Env {
            idp,
            proxy,
            upstream,
        }
    }

    /// A GET to `path` on the proxy.
    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        support::client::http1().get(self.proxy.http_url(path))
    }

    /// GET `/` with `Authorization: Bearer <token>`.
    pub async fn call(&self, token: &str) -> Reply {
        send(self.get("/").bearer_auth(token)).await
    }
}

/// Sends a request and collects the parts tests look at.
pub async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.unwrap();
    let status = response.status();
    let www_authenticate = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string());
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Reply {
        status,
        www_authenticate,
        body,
    }
}

// === impl Reply ===

impl Reply {
    /// A header the upstream received, if any.
    pub fn upstream_header(&self, name: &str) -> Option<&str> {
        self.body["headers"].get(name).and_then(Value::as_str)
    }

    /// Asserts a 401 whose message carries `reason` (tests set
    /// `display_errors`).
    #[track_caller]
    pub fn assert_unauthorized(&self, reason: &str) {
        assert_eq!(self.status, StatusCode::UNAUTHORIZED, "{:?}", self.body);
        assert_eq!(
            self.body["message"],
            format!("Unauthorized ({reason})"),
            "{:?}",
            self.body
        );
        let challenge = self.www_authenticate.as_deref().unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer realm=\"127.0.0.1\""),
            "{challenge}"
        );
    }

    /// Asserts the 503 of an identity-provider outage: retry later, no
    /// challenge that would tell the client its token is bad.
    pub fn assert_idp_unavailable(&self) {
        assert_eq!(
            self.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{:?}",
            self.body
        );
        assert_eq!(
            self.body["message"], "the identity provider is unavailable, try again later",
            "{:?}",
            self.body
        );
        assert_eq!(self.www_authenticate, None);
    }

    /// Asserts a 403 with `insufficient_scope` and `reason`.
    #[track_caller]
    pub fn assert_forbidden(&self, reason: &str) {
        assert_eq!(self.status, StatusCode::FORBIDDEN, "{:?}", self.body);
        assert_eq!(
            self.body["message"],
            format!("Forbidden ({reason})"),
            "{:?}",
            self.body
        );
        let challenge = self.www_authenticate.as_deref().unwrap_or_default();
        assert!(
            challenge.contains("error=\"insufficient_scope\""),
            "{challenge}"
        );
    }

    /// Asserts the request reached the upstream.
    #[track_caller]
    pub fn assert_ok(&self) {
        assert_eq!(self.status, StatusCode::OK, "{:?}", self.body);
        assert_eq!(self.body["upstream"], "echo", "{:?}", self.body);
    }
}

/// An `openid-connect` plugin instance with `config`.
pub fn plugin(config: &Value) -> PluginInstance {
    PluginInstance {
        id: PLUGIN_ID.to_string(),
        name: "openid-connect".to_string(),
        instance_name: None,
        source: source("KongPlugin", "oidc"),
        protocols: Vec::new(),
        ordering: Default::default(),
        config: PluginConfig::parse("openid-connect", config).unwrap(),
        scope: Default::default(),
    }
}

/// An instance of another plugin `name` with `config`.
pub fn other_plugin(name: &str, config: &Value) -> PluginInstance {
    PluginInstance {
        id: format!("{name}-test-plugin"),
        name: name.to_string(),
        instance_name: None,
        source: source("KongPlugin", name),
        protocols: Vec::new(),
        ordering: Default::default(),
        config: PluginConfig::parse(name, config).unwrap(),
        scope: Default::default(),
    }
}

/// Adds a consumer.
pub fn add_consumer(t: &mut Table, id: &str, username: Option<&str>, custom_id: Option<&str>) {
    t.consumers.insert(
        id.to_string(),
        Consumer {
            id: id.to_string(),
            username: username.map(str::to_string),
            custom_id: custom_id.map(str::to_string),
            groups: Vec::new(),
            source: source("KongConsumer", id),
            header_values: Default::default(),
        }
        .into(),
    );
}

/// Adds an oauth2 credential for `consumer_id`.
pub fn add_credential(t: &mut Table, id: &str, client_id: &str, consumer_id: &str) {
    t.credentials
        .insert(Credential::Oauth2(Oauth2Credential {
            id: id.to_string(),
            consumer_id: consumer_id.to_string(),
            name: "app".to_string(),
            client_id: client_id.to_string(),
            client_secret: ClientSecret::None,
            redirect_uris: Vec::new(),
            client_type: ClientType::Confidential,
            hash_secret: false,
            source: source("Secret", id),
        }))
        .unwrap();
}
