//! Kong's `basic-auth` plugin (`kong/plugins/basic-auth/access.lua`):
//! credentials from `Proxy-Authorization`, then `Authorization`
//! (`Basic <base64 of user:password>`); every failure is 401
//! "Unauthorized" with `WWW-Authenticate: Basic realm="<realm>"`. With
//! `anonymous`, failures continue as that consumer, and a request another
//! plugin already authenticated is left alone (Kong's logical OR).
//!
//! Passwords are never compared in the clear: argon2id, PBKDF2 and bcrypt
//! hashes are verified on oauth2's bounded idle-priority pool with its
//! cache of successes; Kong's own stored form (`sha1(password ..
//! consumer_id)`) is recomputed and compared in constant time.

use super::consumer;
use super::{Access, Authenticated, Exchange, Phases, PluginError, Runtime};
use crate::model::plugin::BasicAuthConfig;
use crate::model::{BasicAuthCredential, Credential, CredentialType, Password, PluginInstance};
use base64::Engine;
use http::HeaderName;
use http::header::{AUTHORIZATION, PROXY_AUTHORIZATION};
use sha1::{Digest, Sha1};
use std::sync::Arc;
use subtle::ConstantTimeEq;

impl Phases for BasicAuthConfig {
    async fn access(
        config: &Arc<Self>,
        instance: &PluginInstance,
        exchange: &mut Exchange<'_>,
        runtime: &Runtime,
    ) -> Result<Access, PluginError> {
        let Some(anonymous) = &config.anonymous else {
            authenticate(config, exchange, runtime).await?;
            return Ok(Access::Continue);
        };
        if consumer::has_credential(exchange) {
            return Ok(Access::Continue);
        }
        match authenticate(config, exchange, runtime).await {
            Ok(()) => {}
            // The hashing pool is saturated: never a reason to let the
            // request through as someone else.
            Err(e @ (PluginError::Unavailable(_) | PluginError::Internal(_))) => return Err(e),
            Err(_) => consumer::set_anonymous(exchange, &instance.name, anonymous)?,
        }
        Ok(Access::Continue)
    }
}

/// Kong's `do_authentication`.
async fn authenticate(
    config: &BasicAuthConfig,
    exchange: &mut Exchange<'_>,
    runtime: &Runtime,
) -> Result<(), PluginError> {
    let refuse = || PluginError::Unauthorized {
        message: "Unauthorized".into(),
        www_authenticate: format!("Basic realm=\"{}\"", config.realm),
    };
    let proxy_header = header(exchange, &PROXY_AUTHORIZATION);
    let header_value = header(exchange, &AUTHORIZATION);
    if proxy_header.is_none() && header_value.is_none() {
        return Err(refuse());
    }
    let table = exchange.table;
    let mut found = None;
    if proxy_header.is_some() {
        let given = proxy_header.as_deref().and_then(decode);
        if config.hide_credentials {
            exchange.clear_upstream_header(PROXY_AUTHORIZATION);
        }
        if let Some((user, password)) = given {
            found = lookup(table, &user).map(|c| (c, password));
        }
    }
    if found.is_none() {
        let given = header_value.as_deref().and_then(decode);
        if config.hide_credentials {
            exchange.clear_upstream_header(AUTHORIZATION);
        }
        let Some((user, password)) = given else {
            return Err(refuse());
        };
        found = lookup(table, &user).map(|c| (c, password));
    }
    let Some((credential, password)) = found else {
        return Err(refuse());
    };
    if !verify(credential, &password, runtime).await? {
        return Err(refuse());
    }
    let Some(who) = table.consumers.get(&credential.base.consumer_id) else {
        return Err(refuse());
    };
    consumer::set_consumer(
        exchange,
        Authenticated {
            consumer: who.clone(),
            credential: Some(credential.username.clone()),
            anonymous: false,
        },
    );
    Ok(())
}

fn header(exchange: &Exchange<'_>, name: &HeaderName) -> Option<String> {
    exchange
        .headers()
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

fn lookup<'t>(table: &'t crate::model::Table, username: &str) -> Option<&'t BasicAuthCredential> {
    match table.credentials.get(CredentialType::BasicAuth, username)? {
        Credential::BasicAuth(c) => Some(c),
        _ => None,
    }
}

/// Kong's `\s*[Bb]asic\s*(.+)`, base64-decoded, split as `([^:]+):(.*)`.
fn decode(value: &str) -> Option<(String, String)> {
    let rest = value.trim_start();
    let scheme = rest.get(..5)?;
    if !(scheme == "Basic" || scheme == "basic") {
        return None;
    }
    let encoded = rest[5..].trim_start();
    if encoded.is_empty() {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim_end())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    if user.is_empty() {
        return None;
    }
    Some((user.to_string(), password.to_string()))
}

async fn verify(
    credential: &BasicAuthCredential,
    presented: &str,
    runtime: &Runtime,
) -> Result<bool, PluginError> {
    match &credential.password {
        Password::ToHash(plain) => Ok(plain.matches(presented)),
        Password::KongSha1(hex_digest) => {
            let mut sha = Sha1::new();
            sha.update(presented.as_bytes());
            sha.update(credential.base.consumer_id.as_bytes());
            let computed = hex::encode(sha.finalize());
            Ok(bool::from(computed.as_bytes().ct_eq(hex_digest.as_bytes())))
        }
        Password::Hashed(phc) => {
            runtime
                .oauth2
                .secrets()
                .verify_hash(&credential.base.id, phc, presented)
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn kong_header_forms() {
        let b = |s: &str| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, s);
        assert_eq!(
            decode(&format!("Basic {}", b("bob:kong"))),
            Some(("bob".into(), "kong".into()))
        );
        assert_eq!(
            decode(&format!("  basic{}", b("bob:a:b"))),
            Some(("bob".into(), "a:b".into()))
        );
        assert_eq!(
            decode(&format!("Basic {}", b("bob:"))),
            Some(("bob".into(), String::new()))
        );
        assert_eq!(decode(&format!("Basic {}", b(":pw"))), None);
        assert_eq!(decode(&format!("Basic {}", b("nocolon"))), None);
        assert_eq!(decode("Bearer abc"), None);
        assert_eq!(decode("Basic !!!"), None);
    }
}
