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
//! Every endpoint counts its calls so tests can prove caching and
//! single-flight refreshes.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use p256::pkcs8::EncodePrivateKey;
use parking_lot::Mutex;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One RSA key for the whole test binary: generating RSA keys is slow in
/// debug builds, and tests vary `kid` and `alg` instead.
static RSA_KEY: LazyLock<rsa::RsaPrivateKey> =
    LazyLock::new(|| rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap());

/// A private signing key with its public JWK.
#[derive(Clone)]
pub struct TestKey {
    /// Key id.
    pub kid: String,
    /// Algorithm tokens are signed with.
    pub alg: Algorithm,
    encoding: EncodingKey,
    public: Value,
    private: Value,
}

/// Call counts of the provider's endpoints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Discovery document fetches.
    pub discovery: usize,
    /// JWKS fetches (main set).
    pub jwks: usize,
    /// Introspection calls (successful client auth or not).
    pub introspection: usize,
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
    refusals: Mutex<Vec<String>>,
    discovery: AtomicUsize,
    jwks: AtomicUsize,
    introspection: AtomicUsize,
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

// === impl TestKey ===

impl TestKey {
    /// The shared RSA key, signing with `alg` (RS* or PS*).
    pub fn rsa(kid: &str, alg: Algorithm) -> TestKey {
        let key = &*RSA_KEY;
        let der = key.to_pkcs1_der().unwrap();
        let n = B64.encode(key.n().to_bytes_be());
        let e = B64.encode(key.e().to_bytes_be());
        let public = json!({ "kty": "RSA", "n": n, "e": e });
        let primes = key.primes();
        let private = json!({
            "kty": "RSA", "n": n, "e": e,
            "d": B64.encode(key.d().to_bytes_be()),
            "p": B64.encode(primes[0].to_bytes_be()),
            "q": B64.encode(primes[1].to_bytes_be()),
        });
        Self::assemble(
            kid,
            alg,
            EncodingKey::from_rsa_der(der.as_bytes()),
            public,
            private,
        )
    }

    /// A fresh P-256 key (ES256).
    pub fn p256(kid: &str) -> TestKey {
        let secret = p256::SecretKey::random(&mut rsa::rand_core::OsRng);
        let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
            &secret.public_key(),
            false,
        );
        let (x, y) = (
            B64.encode(point.x().unwrap()),
            B64.encode(point.y().unwrap()),
        );
        let der = secret.to_pkcs8_der().unwrap();
        let public = json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y });
        let private = json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y, "d": B64.encode(secret.to_bytes()) });
        Self::assemble(
            kid,
            Algorithm::ES256,
            EncodingKey::from_ec_der(der.as_bytes()),
            public,
            private,
        )
    }

    /// A fresh P-384 key (ES384).
    pub fn p384(kid: &str) -> TestKey {
        let secret = p384::SecretKey::random(&mut rsa::rand_core::OsRng);
        let point = p384::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
            &secret.public_key(),
            false,
        );
        let (x, y) = (
            B64.encode(point.x().unwrap()),
            B64.encode(point.y().unwrap()),
        );
        let der = secret.to_pkcs8_der().unwrap();
        let public = json!({ "kty": "EC", "crv": "P-384", "x": x, "y": y });
        let private = json!({ "kty": "EC", "crv": "P-384", "x": x, "y": y, "d": B64.encode(secret.to_bytes()) });
        Self::assemble(
            kid,
            Algorithm::ES384,
            EncodingKey::from_ec_der(der.as_bytes()),
            public,
            private,
        )
    }

    /// A fresh Ed25519 key (EdDSA).
    pub fn ed25519(kid: &str) -> TestKey {
        let key = ed25519_dalek::SigningKey::generate(&mut rsa::rand_core::OsRng);
        let der = key.to_pkcs8_der().unwrap();
        let x = B64.encode(key.verifying_key().as_bytes());
        let public = json!({ "kty": "OKP", "crv": "Ed25519", "x": x });
        let private =
            json!({ "kty": "OKP", "crv": "Ed25519", "x": x, "d": B64.encode(key.to_bytes()) });
        Self::assemble(
            kid,
            Algorithm::EdDSA,
            EncodingKey::from_ed_der(der.as_bytes()),
            public,
            private,
        )
    }

    fn assemble(
        kid: &str,
        alg: Algorithm,
        encoding: EncodingKey,
        mut public: Value,
        mut private: Value,
    ) -> TestKey {
        public["kid"] = json!(kid);
        public["use"] = json!("sig");
        private["kid"] = json!(kid);
        TestKey {
            kid: kid.to_string(),
            alg,
            encoding,
            public,
            private,
        }
    }

    /// The same key material under another `kid` (and `alg`).
    pub fn renamed(&self, kid: &str, alg: Algorithm) -> TestKey {
        let mut key = self.clone();
        key.kid = kid.to_string();
        key.alg = alg;
        key.public["kid"] = json!(kid);
        key.private["kid"] = json!(kid);
        key
    }

    /// The public JWK as published.
    pub fn public_jwk(&self) -> Value {
        self.public.clone()
    }

    /// The private JWK (for `client_jwk`).
    pub fn private_jwk(&self) -> Value {
        self.private.clone()
    }

    /// A JWS of `claims` with `alg` and `kid` in the header.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }

    /// A JWS of `claims` signed with this key but announcing `alg` and
    /// `kid` as given (for confusion attacks).
    pub fn sign_as(&self, alg: Algorithm, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(kid.to_string());
        let token = jsonwebtoken::encode(&header, claims, &self.encoding).unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        let mut h = Header::new(alg);
        h.kid = Some(kid.to_string());
        parts[0] = B64.encode(serde_json::to_vec(&h).unwrap());
        parts.join(".")
    }
}

/// An HS* token signed with `secret`.
pub fn sign_hmac(alg: Algorithm, secret: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret)).unwrap()
}

/// An unsigned (`alg: none`) token.
pub fn unsigned(claims: &Value) -> String {
    let header = B64.encode(br#"{"alg":"none","typ":"JWT"}"#);
    format!(
        "{header}.{}.",
        B64.encode(serde_json::to_vec(claims).unwrap())
    )
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
        }
    }

    /// The client authentication method of the last accepted introspection.
    pub fn last_client_auth(&self) -> Option<String> {
        self.state.last_auth.lock().clone()
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
    let body = request.into_body().collect().await.unwrap().to_bytes();
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let endpoint = format!("{issuer}/protocol/openid-connect/token/introspect");
    match authenticate(state, issuer, &endpoint, basic.as_deref(), &form) {
        Ok(method) => *state.last_auth.lock() = Some(method),
        Err(reason) => {
            state.refusals.lock().push(reason);
            return reply(
                StatusCode::UNAUTHORIZED,
                json!({ "error": "invalid_client" }),
            );
        }
    }
    let Some(token) = form.get("token") else {
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

/// Checks the client authentication; returns the method name.
fn authenticate(
    state: &State,
    issuer: &str,
    endpoint: &str,
    basic: Option<&str>,
    form: &HashMap<String, String>,
) -> Result<String, String> {
    let clients = state.clients.lock().clone();
    if let Some(header) = basic {
        let encoded = header.strip_prefix("Basic ").ok_or("not Basic")?;
        let decoded = String::from_utf8(STANDARD.decode(encoded).map_err(|_| "bad base64")?)
            .map_err(|_| "bad utf8")?;
        let (id, secret) = decoded.split_once(':').ok_or("no colon")?;
        let decode = |s: &str| {
            form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .unwrap()
                .1
                .into_owned()
        };
        return match clients.get(&decode(id)) {
            Some(Client::Secret(s)) if *s == decode(secret) => Ok("client_secret_basic".into()),
            _ => Err("basic: wrong client or secret".into()),
        };
    }
    let id = form.get("client_id").cloned();
    if let Some(assertion) = form.get("client_assertion") {
        if form.get("client_assertion_type").map(String::as_str)
            != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        {
            return Err("assertion: wrong type".into());
        }
        let header =
            jsonwebtoken::decode_header(assertion).map_err(|e| format!("assertion header: {e}"))?;
        let unverified = jsonwebtoken::dangerous::insecure_decode::<Value>(assertion)
            .map_err(|e| e.to_string())?;
        let client_id = unverified.claims["iss"]
            .as_str()
            .ok_or("assertion: no iss")?
            .to_string();
        let (key, method) = match clients.get(&client_id) {
            Some(Client::Secret(s)) => {
                (DecodingKey::from_secret(s.as_bytes()), "client_secret_jwt")
            }
            Some(Client::Jwk(jwk)) => {
                let jwk: jsonwebtoken::jwk::Jwk =
                    serde_json::from_value(jwk.clone()).map_err(|e| e.to_string())?;
                (
                    DecodingKey::from_jwk(&jwk).map_err(|e| e.to_string())?,
                    "private_key_jwt",
                )
            }
            _ => return Err("assertion: unknown client".into()),
        };
        let hmac = matches!(
            header.alg,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
        );
        if hmac != (method == "client_secret_jwt") {
            return Err("assertion: algorithm does not fit the client".into());
        }
        let mut validation = Validation::new(header.alg);
        validation.set_audience(&[endpoint, issuer]);
        validation.set_issuer(&[&client_id]);
        validation.sub = Some(client_id.clone());
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
        let claims = jsonwebtoken::decode::<Value>(assertion, &key, &validation)
            .map_err(|e| format!("assertion: {e}"))?
            .claims;
        let now = now();
        let exp = claims["exp"].as_u64().ok_or("assertion: exp")?;
        if exp > now + 300 || claims["iat"].as_u64().is_none_or(|iat| iat > now + 5) {
            return Err("assertion: lifetime".into());
        }
        let jti = claims["jti"]
            .as_str()
            .ok_or("assertion: no jti")?
            .to_string();
        if !state.jtis.lock().insert(jti) {
            return Err("assertion: jti replayed".into());
        }
        if id.as_ref().is_some_and(|id| *id != client_id) {
            return Err("assertion: client_id differs".into());
        }
        return Ok(method.into());
    }
    let id = id.ok_or("no client_id")?;
    match (clients.get(&id), form.get("client_secret")) {
        (Some(Client::Secret(s)), Some(given)) if s == given => Ok("client_secret_post".into()),
        (Some(Client::Public), None) => Ok("none".into()),
        _ => Err("post: wrong client or secret".into()),
    }
}

fn reply(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}
