//! An OpenID Connect identity provider for tests, served by hyper on
//! `127.0.0.1:0`, with real keys generated at test time.
//!
//! Under `<base>/realms/test` (the issuer) it serves:
//! - `/.well-known/openid-configuration`: discovery (`issuer`, `jwks_uri`,
//!   `introspection_endpoint`, supported client auth methods);
//! - `/protocol/openid-connect/certs`: the JWKS (rotatable with
//!   [`Idp::set_keys`]);
//! - `/extra/certs`: a second JWKS ([`Idp::set_extra_keys`]);
//! - `/protocol/openid-connect/token/introspect`: RFC 7662, which
//!   **verifies the client authentication** (Basic, form secret,
//!   `client_secret_jwt` HMAC, `private_key_jwt` signature with `iss`,
//!   `sub`, `aud`, `exp`, `iat` and one-time `jti`, or a public client) and
//!   records which method succeeded.
//!
//! - `/protocol/openid-connect/auth`: the authorization endpoint, which
//!   signs in the configured user at once and redirects (or form-posts)
//!   back with a one-time code (`browser`);
//! - `/protocol/openid-connect/token`: the token endpoint for the
//!   `authorization_code` (PKCE S256 checked, codes one-time),
//!   `refresh_token`, `client_credentials` and `password` grants, with the
//!   same client authentication check as introspection (`grants`);
//! - `/protocol/openid-connect/logout` (end session) and
//!   `/protocol/openid-connect/revoke` (RFC 7009), which record what they
//!   were sent;
//! - `/protocol/openid-connect/userinfo`: the claims of an active token for
//!   `Authorization: Bearer` (`userinfo`).
//!
//! Every endpoint counts its calls so tests can prove caching and
//! single-flight refreshes.

mod browser;
mod client_auth;
mod grants;
pub mod keys;
mod userinfo;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use parking_lot::Mutex;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

// Not every test binary uses them.
#[allow(unused_imports)]
pub use browser::{form_post_fields, param};
#[allow(unused_imports)]
pub use grants::s256;
pub use keys::TestKey;

/// Call counts of the provider's endpoints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Discovery document fetches.
    pub discovery: usize,
    /// JWKS fetches (main set).
    pub jwks: usize,
    /// Introspection calls (successful client auth or not).
    pub introspection: usize,
    /// Authorization endpoint calls.
    pub authorization: usize,
    /// Token endpoint calls (any grant, accepted or not).
    pub token: usize,
    /// End-session endpoint calls.
    pub end_session: usize,
    /// Revocation endpoint calls.
    pub revocation: usize,
    /// Userinfo endpoint calls.
    pub userinfo: usize,
}

/// How a registered client authenticates.
#[derive(Clone)]
enum Client {
    Secret(String),
    Jwk(Value),
    Public,
}

#[derive(Default)]
struct State {
    keys: Mutex<Vec<Value>>,
    extra_keys: Mutex<Vec<Value>>,
    auth_methods: Mutex<Option<Vec<String>>>,
    clients: Mutex<HashMap<String, Client>>,
    tokens: Mutex<HashMap<String, Value>>,
    jtis: Mutex<HashSet<String>>,
    last_auth: Mutex<Option<String>>,
    last_introspection: Mutex<Option<Introspected>>,
    last_discovery_headers: Mutex<Option<http::HeaderMap>>,
    token_param: Mutex<Option<String>>,
    refusals: Mutex<Vec<String>>,
    discovery: AtomicUsize,
    jwks: AtomicUsize,
    introspection: AtomicUsize,
    userinfo: AtomicUsize,
    grants: grants::GrantState,
    browser: browser::BrowserState,
}

/// What the last introspection request carried.
#[derive(Clone, Debug, Default)]
pub struct Introspected {
    /// Its form fields.
    pub form: HashMap<String, String>,
    /// Its headers.
    pub headers: http::HeaderMap,
}

/// A running identity provider; stops when dropped.
pub struct Idp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The issuer (`<base>/realms/test`).
    pub issuer: String,
    state: Arc<State>,
    task: JoinHandle<()>,
}

/// Unix time now.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

// === impl Idp ===

impl Idp {
    /// Starts a provider with no keys, clients or tokens.
    pub async fn start() -> Idp {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let issuer = format!("{base}/realms/test");
        let state = Arc::new(State::default());
        let (s, i) = (state.clone(), issuer.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (state, issuer) = (s.clone(), i.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let (state, issuer) = (state.clone(), issuer.clone());
                        async move { Ok::<_, Infallible>(answer(&state, &issuer, request).await) }
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Idp {
            base,
            issuer,
            state,
            task,
        }
    }

    /// Replaces the published JWKS.
    pub fn set_keys(&self, keys: &[&TestKey]) {
        *self.state.keys.lock() = keys.iter().map(|k| k.public_jwk()).collect();
    }

    /// Publishes raw JWK values (for malformed or unusual keys).
    pub fn set_raw_keys(&self, keys: Vec<Value>) {
        *self.state.keys.lock() = keys;
    }

    /// Replaces the JWKS served at [`Idp::extra_jwks_url`].
    pub fn set_extra_keys(&self, keys: &[&TestKey]) {
        *self.state.extra_keys.lock() = keys.iter().map(|k| k.public_jwk()).collect();
    }

    /// Sets `introspection_endpoint_auth_methods_supported`.
    pub fn set_auth_methods(&self, methods: &[&str]) {
        *self.state.auth_methods.lock() = Some(methods.iter().map(|s| s.to_string()).collect());
    }

    /// Registers a client authenticating with a secret (Basic, post, or
    /// `client_secret_jwt`).
    pub fn register_secret_client(&self, id: &str, secret: &str) {
        self.state
            .clients
            .lock()
            .insert(id.into(), Client::Secret(secret.into()));
    }

    /// Registers a `private_key_jwt` client by its public JWK.
    pub fn register_jwk_client(&self, id: &str, public_jwk: Value) {
        self.state
            .clients
            .lock()
            .insert(id.into(), Client::Jwk(public_jwk));
    }

    /// Registers a public client (`none`).
    pub fn register_public_client(&self, id: &str) {
        self.state.clients.lock().insert(id.into(), Client::Public);
    }

    /// Makes `token` introspect to `response` (`active` must be included).
    pub fn add_token(&self, token: &str, response: Value) {
        self.state.tokens.lock().insert(token.into(), response);
    }

    /// The call counts so far.
    pub fn counts(&self) -> Counts {
        Counts {
            discovery: self.state.discovery.load(Ordering::SeqCst),
            jwks: self.state.jwks.load(Ordering::SeqCst),
            introspection: self.state.introspection.load(Ordering::SeqCst),
            authorization: self.state.browser.calls.load(Ordering::SeqCst),
            token: self.state.grants.calls.load(Ordering::SeqCst),
            end_session: self.state.browser.end_session_calls.load(Ordering::SeqCst),
            revocation: self.state.grants.revocation_calls.load(Ordering::SeqCst),
            userinfo: self.state.userinfo.load(Ordering::SeqCst),
        }
    }

    /// The client authentication method of the last accepted introspection,
    /// token or revocation request.
    pub fn last_client_auth(&self) -> Option<String> {
        self.state.last_auth.lock().clone()
    }

    /// The last introspection request (form and headers), accepted or not.
    pub fn last_introspection(&self) -> Option<Introspected> {
        self.state.last_introspection.lock().clone()
    }

    /// The headers of the last discovery request.
    pub fn last_discovery_headers(&self) -> Option<http::HeaderMap> {
        self.state.last_discovery_headers.lock().clone()
    }

    /// Reads the token of an introspection from this form field instead
    /// of RFC 7662's `token`.
    pub fn set_token_param_name(&self, name: &str) {
        *self.state.token_param.lock() = Some(name.to_string());
    }

    /// Why client authentications were refused, in order.
    pub fn refusals(&self) -> Vec<String> {
        self.state.refusals.lock().clone()
    }

    /// The introspection endpoint.
    pub fn introspection_url(&self) -> String {
        format!("{}/protocol/openid-connect/token/introspect", self.issuer)
    }

    /// The main JWKS URL.
    pub fn jwks_url(&self) -> String {
        format!("{}/protocol/openid-connect/certs", self.issuer)
    }

    /// The extra JWKS URL.
    pub fn extra_jwks_url(&self) -> String {
        format!("{}/extra/certs", self.issuer)
    }

    /// Standard claims from this issuer, valid for five minutes, merged
    /// with `extra`.
    pub fn claims(&self, extra: Value) -> Value {
        let now = now();
        let mut claims = json!({
            "iss": self.issuer, "sub": "user-1", "aud": "account",
            "iat": now, "exp": now + 300, "jti": uuid::Uuid::new_v4().to_string(),
        });
        if let Value::Object(extra) = extra {
            for (k, v) in extra {
                claims[k] = v;
            }
        }
        claims
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(state: &State, issuer: &str, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_string();
    let Some(rest) = path.strip_prefix("/realms/test") else {
        return reply(StatusCode::NOT_FOUND, json!({ "error": "not_found" }));
    };
    match rest {
        "/.well-known/openid-configuration" => {
            state.discovery.fetch_add(1, Ordering::SeqCst);
            *state.last_discovery_headers.lock() = Some(request.headers().clone());
            let methods = state.auth_methods.lock().clone().unwrap_or_else(|| {
                [
                    "client_secret_basic",
                    "client_secret_post",
                    "client_secret_jwt",
                    "private_key_jwt",
                ]
                .map(String::from)
                .to_vec()
            });
            reply(
                StatusCode::OK,
                json!({
                    "issuer": issuer,
                    "jwks_uri": format!("{issuer}/protocol/openid-connect/certs"),
                    "token_endpoint": format!("{issuer}/protocol/openid-connect/token"),
                    "introspection_endpoint": format!("{issuer}/protocol/openid-connect/token/introspect"),
                    "introspection_endpoint_auth_methods_supported": methods,
                    "token_endpoint_auth_methods_supported": methods,
                    "authorization_endpoint": format!("{issuer}/protocol/openid-connect/auth"),
                    "end_session_endpoint": format!("{issuer}/protocol/openid-connect/logout"),
                    "revocation_endpoint": format!("{issuer}/protocol/openid-connect/revoke"),
                    "userinfo_endpoint": format!("{issuer}/protocol/openid-connect/userinfo"),
                    "code_challenge_methods_supported": ["S256"],
                    "response_modes_supported": ["query", "form_post"],
                }),
            )
        }
        "/protocol/openid-connect/certs" => {
            state.jwks.fetch_add(1, Ordering::SeqCst);
            reply(StatusCode::OK, json!({ "keys": *state.keys.lock() }))
        }
        "/extra/certs" => reply(StatusCode::OK, json!({ "keys": *state.extra_keys.lock() })),
        "/protocol/openid-connect/token/introspect" => {
            state.introspection.fetch_add(1, Ordering::SeqCst);
            introspect(state, issuer, request).await
        }
        "/protocol/openid-connect/auth" => browser::authorize(state, request),
        "/protocol/openid-connect/logout" => browser::end_session(state, request).await,
        "/protocol/openid-connect/token" => grants::token(state, issuer, request).await,
        "/protocol/openid-connect/revoke" => grants::revoke(state, issuer, request).await,
        "/protocol/openid-connect/userinfo" => userinfo::userinfo(state, &request),
        _ => reply(StatusCode::NOT_FOUND, json!({ "error": "not_found" })),
    }
}

async fn introspect(
    state: &State,
    issuer: &str,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    if request.method() != http::Method::POST {
        return reply(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({ "error": "invalid_request" }),
        );
    }
    let basic = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let headers = request.headers().clone();
    let body = request.into_body().collect().await.unwrap().to_bytes();
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    *state.last_introspection.lock() = Some(Introspected {
        form: form.clone(),
        headers,
    });
    let endpoint = format!("{issuer}/protocol/openid-connect/token/introspect");
    match client_auth::authenticate(state, issuer, &endpoint, basic.as_deref(), &form) {
        Ok(method) => *state.last_auth.lock() = Some(method),
        Err(reason) => {
            state.refusals.lock().push(reason);
            return reply(
                StatusCode::UNAUTHORIZED,
                json!({ "error": "invalid_client" }),
            );
        }
    }
    let param = state
        .token_param
        .lock()
        .clone()
        .unwrap_or_else(|| "token".to_string());
    let Some(token) = form.get(&param) else {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({ "error": "invalid_request" }),
        );
    };
    let response = state
        .tokens
        .lock()
        .get(token)
        .cloned()
        .unwrap_or_else(|| json!({ "active": false }));
    reply(StatusCode::OK, response)
}

fn reply(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}
