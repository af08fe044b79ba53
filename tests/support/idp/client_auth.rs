//! The introspection endpoint's check of the client authentication: HTTP
//! Basic, form secret, `client_secret_jwt` (HMAC), `private_key_jwt`
//! (signature, `iss`, `sub`, `aud`, `exp`, `iat`, one-time `jti`), or a
//! public client.

use super::{Client, State, now};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use std::collections::HashMap;

/// Checks the client authentication; returns the method name.
pub(super) fn authenticate(
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
