//! A hand-built table for the oauth2 tests: an echo upstream behind two
//! services, routes carrying `oauth2` plugin instances, consumer `jane` with
//! several applications (plain, argon2 and Kong-PBKDF2 secrets, a public
//! client, a client without redirect URIs), and small request helpers.

use super::client;
use super::proxy::{TestProxy, route, service, source, table};
use super::upstream::Upstream;
use http::StatusCode;
use kingress::metrics::Metrics;
use kingress::model::{
    ClientSecret, ClientType, Consumer, Credential, Oauth2Credential, PluginConfig, PluginInstance,
    Route, Sensitive, Table,
};
use kingress::plugins::{Runtime, TrustedIps};
use kingress::proxy::{Proxy, ProxyConfig};
use kingress::publish::TableHandle;
use kingress::tokens::TokenStore;
use serde_json::{Value, json};
use std::net::SocketAddr;

/// The provision key of the default configuration.
pub const PROVISION_KEY: &str = "provision123";
/// Registered redirect URIs of the confidential and public clients.
pub const REDIRECT: &str = "https://app.example/cb";
/// The second registered URI (with a query of its own).
pub const REDIRECT_2: &str = "https://app.example/alt?x=1";
/// Jane's consumer id.
pub const JANE: &str = "jane-id";

/// The default plugin configuration: every flow on, three scopes.
pub fn default_config() -> Value {
    json!({
        "scopes": ["email", "profile", "user.read"],
        "provision_key": PROVISION_KEY,
        "enable_authorization_code": true,
        "enable_client_credentials": true,
        "enable_implicit_grant": true,
        "enable_password_grant": true,
    })
}

/// `default_config` with `extra` fields replaced.
pub fn config_with(extra: Value) -> Value {
    let mut c = default_config();
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

/// An oauth2 plugin instance.
pub fn plugin(id: &str, config: &Value) -> PluginInstance {
    PluginInstance {
        id: id.to_string(),
        name: "oauth2".to_string(),
        instance_name: None,
        source: source("KongPlugin", id),
        protocols: Vec::new(),
        ordering: Default::default(),
        config: PluginConfig::parse("oauth2", config).unwrap(),
        scope: Default::default(),
    }
}

/// `route` with one oauth2 instance.
pub fn oauth_route(name: &str, path: &str, svc: &str, plugin_id: &str, config: &Value) -> Route {
    let mut r = route(name, &[path], svc);
    r.plugins = vec![plugin(plugin_id, config)];
    r
}

fn credential(
    id: &str,
    client_id: &str,
    secret: ClientSecret,
    kind: ClientType,
    uris: &[&str],
) -> Oauth2Credential {
    Oauth2Credential {
        id: id.to_string(),
        consumer_id: JANE.to_string(),
        name: format!("{client_id} app"),
        client_id: client_id.to_string(),
        client_secret: secret,
        redirect_uris: uris.iter().map(|u| u.to_string()).collect(),
        client_type: kind,
        hash_secret: false,
        source: source("Secret", id),
    }
}

/// The argon2id hash of `hsecret`, computed once per test binary (argon2 is
/// slow in debug builds).
fn hsecret_hash() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| argon2_hash("hsecret")).clone()
}

/// An argon2id PHC string of `secret`.
pub fn argon2_hash(secret: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

/// The table: `/mock` → `svc` with `config` (plugin `p-mock`), `/other` →
/// `svc2` with `config` (plugin `p-other`), `/global-a` → `svc` and
/// `/global-b` → `svc2` with `global_credentials` (plugins `p-ga`, `p-gb`);
/// consumers `jane` and `guest`; applications:
/// - `client`/`secret` (confidential, plain, two redirect URIs),
/// - `hashed`/`hsecret` (argon2id), `kong`/`tofu` (Kong PBKDF2),
/// - `public` (public, no secret), `cc-only`/`ccsecret` (no redirect URIs).
pub fn oauth_table(up: &Upstream, config: &Value) -> Table {
    let global = {
        let mut c = config.clone();
        c["global_credentials"] = json!(true);
        c
    };
    let mut t = table(
        vec![
            oauth_route("mock", "/mock", "svc", "p-mock", config),
            oauth_route("other", "/other", "svc2", "p-other", config),
            oauth_route("global-a", "/global-a", "svc", "p-ga", &global),
            oauth_route("global-b", "/global-b", "svc2", "p-gb", &global),
        ],
        vec![service("svc", &[up.addr]), service("svc2", &[up.addr])],
    );
    for (id, username, custom) in [
        (JANE, "jane", Some("jane-custom")),
        ("guest-id", "guest", None),
    ] {
        t.consumers.insert(
            id.to_string(),
            Consumer {
                id: id.to_string(),
                username: Some(username.to_string()),
                custom_id: custom.map(str::to_string),
                groups: Vec::new(),
                source: source("KongConsumer", username),
                header_values: Default::default(),
            }
            .into(),
        );
    }
    let plain = |s: &str| ClientSecret::Plain(Sensitive::new(s));
    let kong_hash = kingress::secret::pbkdf2_phc("tofu", b"sixteen byte sal", 10_000);
    // Kong also stores bcrypt; `$2y$` (PHP's spelling) of a cost-4 hash.
    let bcrypt_hash = format!("$2y${}", &bcrypt::hash("tofu", 4).unwrap()[4..]);
    let creds = [
        credential(
            "cred-client",
            "client",
            plain("secret"),
            ClientType::Confidential,
            &[REDIRECT, REDIRECT_2],
        ),
        credential(
            "cred-hashed",
            "hashed",
            ClientSecret::Hashed(hsecret_hash()),
            ClientType::Confidential,
            &[REDIRECT],
        ),
        credential(
            "cred-kong",
            "kong",
            ClientSecret::Hashed(kong_hash),
            ClientType::Confidential,
            &[REDIRECT],
        ),
        credential(
            "cred-bcrypt",
            "bcrypt",
            ClientSecret::Hashed(bcrypt_hash),
            ClientType::Confidential,
            &[REDIRECT],
        ),
        credential(
            "cred-public",
            "public",
            ClientSecret::None,
            ClientType::Public,
            &[REDIRECT],
        ),
        credential(
            "cred-cc",
            "cc-only",
            plain("ccsecret"),
            ClientType::Confidential,
            &[],
        ),
    ];
    for c in creds {
        t.credentials.insert(Credential::Oauth2(c)).unwrap();
    }
    t
}

/// Adds a confidential application of jane's, `client_id` with `secret`
/// (plain or a PHC hash) and the one redirect URI [`REDIRECT`].
pub fn add_client(t: &mut Table, client_id: &str, secret: ClientSecret) {
    let c = credential(
        &format!("cred-{client_id}"),
        client_id,
        secret,
        ClientType::Confidential,
        &[REDIRECT],
    );
    t.credentials.insert(Credential::Oauth2(c)).unwrap();
}

/// An upstream and a proxy serving `oauth_table(config)`.
pub async fn start(config: &Value) -> (Upstream, TestProxy) {
    let up = Upstream::start("echo").await;
    let proxy = TestProxy::start(oauth_table(&up, config)).await;
    (up, proxy)
}

/// An upstream and a proxy trusting `trusted` for `X-Forwarded-Proto`.
pub async fn start_trusting(config: &Value, trusted: &str) -> (Upstream, TestProxy) {
    let up = Upstream::start("echo").await;
    let proxy =
        TestProxy::start_unpublished(TrustedIps::parse(&[trusted.to_string()]).unwrap()).await;
    proxy.table.publish(oauth_table(&up, config));
    (up, proxy)
}

/// A bare proxy around `store` (for token-store failure tests); returns
/// the HTTPS address. The listener stops when the handle is aborted.
pub async fn start_with_store(
    table: Table,
    store: TokenStore,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let handle = TableHandle::new();
    handle.publish(table);
    let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let config = ProxyConfig::new(loopback, loopback);
    let runtime = Runtime::new(store, TrustedIps::default());
    let proxy = Proxy::bind(&config, handle, runtime, Metrics::new())
        .await
        .unwrap();
    let addr = proxy.https_addr();
    (addr, tokio::spawn(proxy.serve()))
}

/// A response reduced to what the tests look at.
#[derive(Debug)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: http::HeaderMap,
    /// JSON body (`Null` when empty or not JSON).
    pub body: Value,
}

impl Reply {
    async fn from(res: reqwest::Response) -> Reply {
        let status = StatusCode::from_u16(res.status().as_u16()).unwrap();
        let mut headers = http::HeaderMap::new();
        for (k, v) in res.headers() {
            headers.append(
                http::HeaderName::from_bytes(k.as_str().as_bytes()).unwrap(),
                http::HeaderValue::from_bytes(v.as_bytes()).unwrap(),
            );
        }
        let text = res.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// Asserts an OAuth error with `Cache-Control: no-store` and
    /// `Pragma: no-cache`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, error: &str, description: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(self.body["error"], error, "{}", self.body);
        assert_eq!(self.body["error_description"], description, "{}", self.body);
        assert_eq!(self.header("cache-control"), Some("no-store"));
        assert_eq!(self.header("pragma"), Some("no-cache"));
    }

    /// A string field of the body.
    #[track_caller]
    pub fn str(&self, field: &str) -> &str {
        self.body[field]
            .as_str()
            .unwrap_or_else(|| panic!("no {field} in {}", self.body))
    }

    /// A header the upstream received (from the echo body).
    pub fn upstream_header(&self, name: &str) -> Option<&str> {
        self.body["headers"][name].as_str()
    }
}

/// `POST url` with a form body and extra headers.
pub async fn post_form(url: &str, form: &[(&str, &str)], headers: &[(&str, &str)]) -> Reply {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut req = client::http1()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    Reply::from(req.send().await.unwrap()).await
}

/// A `multipart/form-data` body as browsers and curl `-F` send it: one part
/// per field, CRLF line ends, the closing delimiter. Returns the
/// `Content-Type` (naming `boundary`) and the body.
pub fn multipart_body(boundary: &str, fields: &[(&str, &str)]) -> (String, String) {
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// `POST url` with a `multipart/form-data` body of `fields` and extra headers.
pub async fn post_multipart(url: &str, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> Reply {
    let (content_type, body) = multipart_body("------------------------d74496d66958873e", fields);
    request("POST", url, headers, Some((&content_type, &body))).await
}

/// `method url` with extra headers and an optional body.
pub async fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &str)>,
) -> Reply {
    let mut req =
        client::http1().request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some((content_type, body)) = body {
        req = req
            .header("content-type", content_type)
            .body(body.to_string());
    }
    Reply::from(req.send().await.unwrap()).await
}

/// `GET url` with `Authorization: Bearer token`.
pub async fn get_with(url: &str, token: &str) -> Reply {
    request(
        "GET",
        url,
        &[("authorization", &format!("Bearer {token}"))],
        None,
    )
    .await
}

/// A client-credentials token from `proxy` at `path` (panics on failure).
pub async fn cc_token(proxy: &TestProxy, path: &str, extra: &[(&str, &str)]) -> Reply {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", "client"),
        ("client_secret", "secret"),
    ];
    form.extend_from_slice(extra);
    let r = post_form(
        &proxy.https_url(&format!("{path}/oauth2/token")),
        &form,
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r
}
