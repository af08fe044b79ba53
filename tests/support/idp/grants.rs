//! The provider's token endpoint (`authorization_code` with PKCE S256 and
//! one-time codes, `refresh_token`, `client_credentials`, `password`) and
//! its RFC 7009 revocation endpoint. Both check the client authentication
//! exactly as introspection does.
//!
//! Tokens are real: access and ID tokens are JWTs signed with the key given
//! to [`Idp::set_signing_key`] (also published in the JWKS); each access
//! token also introspects as active until revoked.

use super::browser::{Params, user_claims};
use super::{Client, Idp, State, TestKey, client_auth, now, reply};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use parking_lot::Mutex;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// How long a code may wait before it is exchanged.
const CODE_LIFETIME: u64 = 60;

/// An issued authorization code.
pub(super) struct Code {
    pub(super) client_id: String,
    pub(super) redirect_uri: String,
    pub(super) nonce: Option<String>,
    pub(super) challenge: Option<String>,
    pub(super) scope: String,
    pub(super) claims: Value,
    pub(super) issued: u64,
}

/// What a refresh token stands for.
#[derive(Clone)]
struct Refresh {
    client_id: String,
    claims: Value,
    nonce: Option<String>,
    scope: String,
}

/// What the token and revocation endpoints keep.
#[derive(Default)]
pub(super) struct GrantState {
    pub(super) calls: AtomicUsize,
    pub(super) revocation_calls: AtomicUsize,
    pub(super) codes: Mutex<HashMap<String, Code>>,
    refresh: Mutex<HashMap<String, Refresh>>,
    users: Mutex<HashMap<String, (String, Value)>>,
    signing: Mutex<Option<TestKey>>,
    /// Access/ID token lifetime in seconds; 0 means 300.
    lifetime: AtomicU64,
    id_token_patch: Mutex<Option<Value>>,
    forced_status: Mutex<Option<u16>>,
    requests: Mutex<Vec<Params>>,
    revocations: Mutex<Vec<Params>>,
}

// === impl Idp ===

impl Idp {
    /// Signs issued tokens with `key` and adds it to the published JWKS.
    pub fn set_signing_key(&self, key: &TestKey) {
        self.state.keys.lock().push(key.public_jwk());
        *self.state.grants.signing.lock() = Some(key.clone());
    }

    /// Lifetime (`expires_in`, `exp`) of issued access and ID tokens.
    pub fn set_token_lifetime(&self, seconds: u64) {
        self.state.grants.lifetime.store(seconds, Ordering::SeqCst);
    }

    /// Registers a resource owner for the `password` grant.
    pub fn add_user(&self, username: &str, password: &str, claims: Value) {
        self.state
            .grants
            .users
            .lock()
            .insert(username.into(), (password.into(), claims));
    }

    /// Merges `claims` into the next ID token issued (a wrong `nonce`,
    /// `aud`, `iss` or `exp`, for attacks).
    pub fn patch_next_id_token(&self, claims: Value) {
        *self.state.grants.id_token_patch.lock() = Some(claims);
    }

    /// Makes the token endpoint answer `status` (an outage or a refusal)
    /// until called with `None`.
    pub fn force_token_status(&self, status: Option<u16>) {
        *self.state.grants.forced_status.lock() = status;
    }

    /// The token requests received (form parameters), in order.
    pub fn token_requests(&self) -> Vec<Params> {
        self.state.grants.requests.lock().clone()
    }

    /// The revocation requests received (form parameters), in order.
    pub fn revocations(&self) -> Vec<Params> {
        self.state.grants.revocations.lock().clone()
    }

    /// Whether `refresh_token` is still accepted.
    pub fn refresh_token_valid(&self, refresh_token: &str) -> bool {
        self.state.grants.refresh.lock().contains_key(refresh_token)
    }

    /// The token endpoint.
    pub fn token_url(&self) -> String {
        format!("{}/protocol/openid-connect/token", self.issuer)
    }

    /// The revocation endpoint.
    pub fn revocation_url(&self) -> String {
        format!("{}/protocol/openid-connect/revoke", self.issuer)
    }
}

/// The S256 code challenge of `verifier` (RFC 7636 §4.2).
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn grant_error(error: &str, why: &str) -> Response<Full<Bytes>> {
    reply(
        StatusCode::BAD_REQUEST,
        json!({ "error": error, "error_description": why }),
    )
}

/// Reads a form POST and checks the client; returns the form and the
/// authenticated client id, or the error response.
async fn authenticated(
    state: &State,
    issuer: &str,
    endpoint: &str,
    request: Request<Incoming>,
) -> Result<(HashMap<String, String>, Params, String), Response<Full<Bytes>>> {
    if request.method() != http::Method::POST {
        return Err(reply(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({ "error": "invalid_request" }),
        ));
    }
    let basic = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = request.into_body().collect().await.unwrap().to_bytes();
    let params: Params = form_urlencoded::parse(&body).into_owned().collect();
    let form: HashMap<String, String> = params.iter().cloned().collect();
    match client_auth::authenticate(state, issuer, endpoint, basic.as_deref(), &form) {
        Ok(method) => *state.last_auth.lock() = Some(method),
        Err(reason) => {
            state.refusals.lock().push(reason);
            return Err(reply(
                StatusCode::UNAUTHORIZED,
                json!({ "error": "invalid_client" }),
            ));
        }
    }
    let client_id = client_id_of(basic.as_deref(), &form);
    Ok((form, params, client_id))
}

/// The authenticated client's id (authentication already succeeded).
fn client_id_of(basic: Option<&str>, form: &HashMap<String, String>) -> String {
    if let Some(encoded) = basic.and_then(|b| b.strip_prefix("Basic ")) {
        let decoded = String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap();
        let id = decoded.split_once(':').unwrap().0;
        return form_urlencoded::parse(format!("x={id}").as_bytes())
            .next()
            .unwrap()
            .1
            .into_owned();
    }
    if let Some(id) = form.get("client_id") {
        return id.clone();
    }
    let assertion = &form["client_assertion"];
    jsonwebtoken::dangerous::insecure_decode::<Value>(assertion)
        .unwrap()
        .claims["iss"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `POST /token`.
pub(super) async fn token(
    state: &State,
    issuer: &str,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let g = &state.grants;
    g.calls.fetch_add(1, Ordering::SeqCst);
    if let Some(status) = *g.forced_status.lock() {
        return reply(
            StatusCode::from_u16(status).unwrap(),
            json!({ "error": "forced" }),
        );
    }
    let endpoint = format!("{issuer}/protocol/openid-connect/token");
    let (form, params, client_id) = match authenticated(state, issuer, &endpoint, request).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    g.requests.lock().push(params);
    let get = |k: &str| form.get(k).map(String::as_str);
    match get("grant_type") {
        Some("authorization_code") => {
            // One-time: the code is gone whether or not the rest checks out.
            let Some(code) = get("code").and_then(|c| g.codes.lock().remove(c)) else {
                return grant_error("invalid_grant", "unknown or used code");
            };
            if code.client_id != client_id {
                return grant_error("invalid_grant", "code of another client");
            }
            if get("redirect_uri") != Some(code.redirect_uri.as_str()) {
                return grant_error("invalid_grant", "redirect_uri differs");
            }
            if now() > code.issued + CODE_LIFETIME {
                return grant_error("invalid_grant", "code expired");
            }
            if let Some(challenge) = &code.challenge
                && get("code_verifier").map(s256).as_deref() != Some(challenge.as_str())
            {
                return grant_error("invalid_grant", "PKCE verification failed");
            }
            let r = Refresh {
                client_id,
                claims: code.claims,
                nonce: code.nonce,
                scope: code.scope,
            };
            issue(state, issuer, &r, true)
        }
        Some("refresh_token") => {
            let found = get("refresh_token").and_then(|t| g.refresh.lock().get(t).cloned());
            match found {
                Some(r) if r.client_id == client_id => issue(state, issuer, &r, true),
                _ => grant_error("invalid_grant", "unknown refresh token"),
            }
        }
        Some("client_credentials") => {
            if !matches!(
                state.clients.lock().get(&client_id),
                Some(Client::Secret(_) | Client::Jwk(_))
            ) {
                return grant_error("unauthorized_client", "public client");
            }
            let name = format!("service-account-{client_id}");
            let r = Refresh {
                claims: json!({ "sub": name, "preferred_username": name, "client_id": client_id }),
                client_id,
                nonce: None,
                scope: get("scope").unwrap_or("").to_string(),
            };
            issue(state, issuer, &r, false)
        }
        Some("password") => {
            let user = get("username").and_then(|u| g.users.lock().get(u).cloned());
            match user {
                Some((password, claims)) if get("password") == Some(password.as_str()) => {
                    let mut all = user_claims(state);
                    for (k, v) in claims.as_object().cloned().unwrap_or_default() {
                        all[k] = v;
                    }
                    let r = Refresh {
                        client_id,
                        claims: all,
                        nonce: None,
                        scope: get("scope").unwrap_or("").to_string(),
                    };
                    issue(state, issuer, &r, true)
                }
                _ => grant_error("invalid_grant", "invalid user credentials"),
            }
        }
        _ => grant_error("unsupported_grant_type", "unknown grant_type"),
    }
}

/// Signs and answers the tokens for `r`.
fn issue(state: &State, issuer: &str, r: &Refresh, with_refresh: bool) -> Response<Full<Bytes>> {
    let g = &state.grants;
    let Some(key) = g.signing.lock().clone() else {
        return reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "error": "no signing key (Idp::set_signing_key)" }),
        );
    };
    let lifetime = match g.lifetime.load(Ordering::SeqCst) {
        0 => 300,
        n => n,
    };
    let now = now();
    let merge = |mut base: Value, extra: &Value| {
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            base[k] = v;
        }
        base
    };
    let common = json!({
        "iss": issuer, "iat": now, "exp": now + lifetime, "azp": r.client_id,
        "jti": uuid::Uuid::new_v4().to_string(),
    });
    let mut access = merge(common.clone(), &r.claims);
    access["aud"] = json!("account");
    access["typ"] = json!("Bearer");
    access["scope"] = json!(r.scope);
    let access_token = key.sign(&access);
    let mut introspected = access.clone();
    introspected["active"] = json!(true);
    state
        .tokens
        .lock()
        .insert(access_token.clone(), introspected);
    let mut body = json!({
        "access_token": access_token, "token_type": "Bearer", "expires_in": lifetime,
        "scope": r.scope,
    });
    if with_refresh {
        let refresh = uuid::Uuid::new_v4().to_string();
        g.refresh.lock().insert(refresh.clone(), r.clone());
        body["refresh_token"] = json!(refresh);
    }
    if r.scope.split(' ').any(|s| s == "openid") {
        let mut id = merge(common, &r.claims);
        id["aud"] = json!(r.client_id);
        id["typ"] = json!("ID");
        id["auth_time"] = json!(now);
        if let Some(nonce) = &r.nonce {
            id["nonce"] = json!(nonce);
        }
        if let Some(patch) = g.id_token_patch.lock().take() {
            id = merge(id, &patch);
        }
        body["id_token"] = json!(key.sign(&id));
    }
    reply(StatusCode::OK, body)
}

/// `POST /revoke` (RFC 7009): forgets the token; always 200 for a known
/// client.
pub(super) async fn revoke(
    state: &State,
    issuer: &str,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let g = &state.grants;
    g.revocation_calls.fetch_add(1, Ordering::SeqCst);
    let endpoint = format!("{issuer}/protocol/openid-connect/revoke");
    let (form, params, _) = match authenticated(state, issuer, &endpoint, request).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    g.revocations.lock().push(params);
    let Some(token) = form.get("token") else {
        return grant_error("invalid_request", "token is required");
    };
    g.refresh.lock().remove(token);
    if let Some(entry) = state.tokens.lock().get_mut(token) {
        *entry = json!({ "active": false });
    }
    reply(StatusCode::OK, json!({}))
}
