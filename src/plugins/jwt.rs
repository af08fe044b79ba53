//! Kong's `jwt` plugin (OSS): a JWT from the query, a cookie or a
//! `Bearer` header names a `jwt_secrets` credential by its `key`
//! (`key_claim_name`), is verified with that credential's algorithm and
//! key, and its `exp`/`nbf` are checked when asked.
//!
//! Behaviour follows Kong's handler and parser (messages, statuses,
//! `WWW-Authenticate`, order of checks), with these deliberate differences:
//! - the algorithm is the credential's; the token's `alg` must equal it
//!   (Kong's "Invalid algorithm") and is never used to pick a verifier;
//! - HMAC signatures are compared in constant time (Kong compares strings);
//! - a malformed signature (an ES256 signature that is not 64 bytes, a PS*
//!   signature of a key other than 2048 bits) is "Invalid signature", where
//!   Kong's assertions answer 500;
//! - a token whose header or claims are JSON but not objects is "Bad token;
//!   invalid alg" / "Bad token; invalid claims" where Kong raises a 500;
//! - `secret_is_base64` accepts the standard base64 alphabet as well as
//!   Kong's URL-safe one.
//!
//! Files: `token` (finding the token), `decode` (Kong's JWT parser),
//! `claims` (registered-claim checks).

mod claims;
mod decode;
mod token;

use super::consumer;
use super::{Access, Authenticated, Exchange, Phases, PluginError, Runtime};
use crate::model::plugin::JwtConfig;
use crate::model::{JwtCredential, PluginInstance};
use crate::tokens::unix_now;
use http::Method;
use serde_json::{Value, json};
use std::sync::Arc;
use token::Found;

impl Phases for JwtConfig {
    async fn access(
        config: &Arc<Self>,
        instance: &PluginInstance,
        exchange: &mut Exchange<'_>,
        _runtime: &Runtime,
    ) -> Result<Access, PluginError> {
        access(config, &instance.id, exchange)
    }
}

/// Kong's `access`: preflight skip, then "logical OR" with `anonymous`
/// (an earlier plugin's real credential wins; any failure falls back to the
/// anonymous consumer) or "logical AND" without it (any failure answers).
fn access(
    config: &JwtConfig,
    plugin: &str,
    exchange: &mut Exchange<'_>,
) -> Result<Access, PluginError> {
    if !config.run_on_preflight && exchange.request.method() == Method::OPTIONS {
        return Ok(Access::Continue);
    }
    let Some(anonymous) = &config.anonymous else {
        authenticate(config, exchange)?;
        return Ok(Access::Continue);
    };
    if exchange
        .authenticated
        .as_ref()
        .is_some_and(|a| !a.anonymous)
    {
        return Ok(Access::Continue);
    }
    if authenticate(config, exchange).is_err() {
        consumer::set_anonymous(exchange, plugin, anonymous)?;
    }
    Ok(Access::Continue)
}

/// `WWW-Authenticate` without and with `error="invalid_token"`.
struct Challenge {
    base: String,
    invalid: String,
}

impl Challenge {
    fn new(realm: Option<&str>) -> Self {
        match realm {
            Some(realm) => {
                let base = format!("Bearer realm=\"{realm}\"");
                let invalid = format!("{base}, error=\"invalid_token\"");
                Self { base, invalid }
            }
            None => Self {
                base: "Bearer".into(),
                invalid: "Bearer error=\"invalid_token\"".into(),
            },
        }
    }

    /// A 401 `{"message": …}` with the `invalid_token` challenge.
    fn invalid(&self, message: impl Into<String>) -> PluginError {
        PluginError::Unauthorized {
            message: message.into(),
            www_authenticate: self.invalid.clone(),
        }
    }
}

/// Kong's `do_authentication`.
fn authenticate(config: &JwtConfig, exchange: &mut Exchange<'_>) -> Result<(), PluginError> {
    let challenge = Challenge::new(config.realm.as_deref());
    let token = match token::find(config, &exchange.request) {
        Found::None => {
            return Err(PluginError::Unauthorized {
                message: "Unauthorized".into(),
                www_authenticate: challenge.base,
            });
        }
        Found::Many => return Err(challenge.invalid("Multiple tokens provided")),
        Found::Unrecognizable => return Err(challenge.invalid("Unrecognizable token")),
        Found::One(token) => token,
    };
    let jwt = decode::Jwt::parse(&token)
        .map_err(|reason| challenge.invalid(format!("Bad token; {reason}")))?;

    let claim = &config.key_claim_name;
    let named = jwt
        .claims
        .get(claim)
        .filter(|v| !matches!(v, Value::Null | Value::Bool(false)))
        .or_else(|| jwt.header.get(claim));
    let key = match named {
        None | Some(Value::Null | Value::Bool(false)) => {
            return Err(challenge.invalid(format!("No mandatory '{claim}' in claims")));
        }
        Some(Value::String(key)) if key.is_empty() => {
            return Err(challenge.invalid(format!("Invalid '{claim}' in claims")));
        }
        Some(Value::String(key)) => key.as_str(),
        // A number or an object names no credential.
        Some(_) => "",
    };
    let no_credential = || challenge.invalid(format!("No credentials found for given '{claim}'"));
    let table = exchange.table;
    let credential = table
        .credentials
        .jwt(key)
        .filter(|_| !key.is_empty())
        .ok_or_else(no_credential)?;

    if jwt.alg != credential.algorithm.as_str() {
        return Err(challenge.invalid("Invalid algorithm"));
    }
    verify_signature(config, credential, &jwt, &challenge)?;

    let now = unix_now() as f64;
    claims::verify(config.claims(), &jwt.claims, now)
        .and_then(|()| claims::maximum_expiration(config.maximum_expiration, &jwt.claims, now))
        .map_err(|errors| PluginError::UnauthorizedJson {
            body: Value::Object(errors),
            www_authenticate: Some(challenge.invalid.clone()),
        })?;

    let Some(found) = table.consumers.get(&credential.base.consumer_id) else {
        // Kong's "should not happen": a credential whose consumer is gone.
        return Err(PluginError::UnauthorizedJson {
            body: json!({ "message": format!("Could not find consumer for '{claim}={key}'") }),
            www_authenticate: None,
        });
    };
    consumer::set_consumer(
        exchange,
        Authenticated {
            consumer: found.clone(),
            credential: Some(credential.key.clone()),
            anonymous: false,
        },
    );
    Ok(())
}

/// The signature, with the credential's secret or public key.
fn verify_signature(
    config: &JwtConfig,
    credential: &JwtCredential,
    jwt: &decode::Jwt<'_>,
    challenge: &Challenge,
) -> Result<(), PluginError> {
    let algorithm = credential.algorithm;
    let message = jwt.signing_input.as_bytes();
    let verified = if algorithm.is_hmac() {
        let secret = credential.secret.as_ref().map(|s| s.expose());
        let bytes = match secret {
            Some(secret) if config.secret_is_base64 => decode::base64_secret(secret),
            Some(secret) => Some(secret.as_bytes().to_vec()),
            None => None,
        };
        let Some(bytes) = bytes else {
            return Err(challenge.invalid("Invalid key/secret"));
        };
        algorithm.verify_hmac(&bytes, message, &jwt.signature)
    } else {
        let Some(key) = &credential.rsa_public_key else {
            return Err(challenge.invalid("Invalid key/secret"));
        };
        key.verify(algorithm, message, &jwt.signature)
    };
    if verified {
        Ok(())
    } else {
        Err(challenge.invalid("Invalid signature"))
    }
}
