//! Kong's `key-auth` plugin (`kong/plugins/key-auth/handler.lua`): the key
//! is searched, name by name in `key_names`, in the headers, the query
//! string and (with `key_in_body`) form, JSON and multipart bodies; a name
//! given twice is "Duplicate API key found". A key that is unknown, or past
//! its `ttl`, is "Unauthorized"; a missing one "No API key found in
//! request", both 401 with `WWW-Authenticate: Key` (`Key realm="…"` with a
//! `realm`). With `anonymous`, failures continue as that consumer, and a
//! request another plugin already authenticated is left alone (Kong's
//! logical OR).
//!
//! Keys are found by a map lookup on the presented key, or on its keyed
//! digest when the table holds digests (`--hash-api-keys`), so a lookup
//! never depends on how many keys there are, and with digests the timing
//! of a lookup says nothing about any stored key.

use super::consumer;
use super::params::{self, Param, Params};
use super::{Access, Authenticated, Exchange, Phases, PluginError, Runtime};
use crate::model::plugin::KeyAuthConfig;
use crate::model::{ApiKey, Credential, CredentialType, PluginInstance};
use bytes::Bytes;
use http::{HeaderName, Method, Uri};
use std::sync::Arc;

/// Largest request body searched for a key, in bytes.
const BODY_LIMIT: usize = 1024 * 1024;

const NO_KEY: &str = "No API key found in request";
const DUPLICATE: &str = "Duplicate API key found";
const INVALID: &str = "Unauthorized";

impl Phases for KeyAuthConfig {
    async fn access(
        config: &Arc<Self>,
        instance: &PluginInstance,
        exchange: &mut Exchange<'_>,
        runtime: &Runtime,
    ) -> Result<Access, PluginError> {
        if !config.run_on_preflight && exchange.request.method() == Method::OPTIONS {
            return Ok(Access::Continue);
        }
        let Some(anonymous) = &config.anonymous else {
            authenticate(config, exchange, runtime).await?;
            return Ok(Access::Continue);
        };
        // Logical OR: a credential from an earlier plugin is enough.
        if consumer::has_credential(exchange) {
            return Ok(Access::Continue);
        }
        if authenticate(config, exchange, runtime).await.is_err() {
            consumer::set_anonymous(exchange, &instance.name, anonymous)?;
        }
        Ok(Access::Continue)
    }
}

/// Kong's `do_authentication`.
async fn authenticate(
    config: &KeyAuthConfig,
    exchange: &mut Exchange<'_>,
    runtime: &Runtime,
) -> Result<(), PluginError> {
    // Built only for a refusal: the accepted request pays for nothing.
    let refuse = |message: &str| PluginError::Unauthorized {
        message: message.to_string(),
        www_authenticate: config
            .realm
            .as_ref()
            .map_or_else(|| "Key".to_string(), |r| format!("Key realm=\"{r}\"")),
    };
    let key = match find_key(config, exchange).await {
        Ok(Some(key)) if !key.is_empty() => key,
        Ok(_) => return Err(refuse(NO_KEY)),
        Err(Duplicate) => return Err(refuse(DUPLICATE)),
    };
    let table = exchange.table;
    let Some(credential) = lookup(table, runtime, &key) else {
        return Err(refuse(INVALID));
    };
    if credential.expired(crate::tokens::unix_now() as i64) {
        return Err(refuse(INVALID));
    }
    let Some(who) = table.consumers.get(&credential.base.consumer_id) else {
        return Err(refuse(INVALID));
    };
    consumer::set_consumer(
        exchange,
        Authenticated {
            consumer: who.clone(),
            credential: Some(credential.base.id.clone()),
            anonymous: false,
        },
    );
    Ok(())
}

/// The key-auth credential whose key is `key`: by the key itself, or by
/// its digest when keys are kept digested. Each lookup accepts only the
/// form it looks for, so a digest presented as a key finds nothing.
fn lookup<'t>(
    table: &'t crate::model::Table,
    runtime: &Runtime,
    key: &str,
) -> Option<&'t crate::model::KeyAuthCredential> {
    let plain = match table.credentials.get(CredentialType::KeyAuth, key) {
        Some(Credential::KeyAuth(c)) if matches!(c.key, ApiKey::Plain(_)) => Some(c),
        _ => None,
    };
    plain.or_else(|| {
        let digest_key = runtime.api_keys.as_ref()?;
        let hex = crate::secret::api_key_digest(digest_key, key);
        match table
            .credentials
            .get(CredentialType::KeyAuth, &ApiKey::digest_key(&hex))
        {
            Some(Credential::KeyAuth(c)) if matches!(c.key, ApiKey::Digest(_)) => Some(c),
            _ => None,
        }
    })
}

/// A key name given more than once.
struct Duplicate;

/// The key, searched name by name; hides it when asked.
async fn find_key(
    config: &KeyAuthConfig,
    exchange: &mut Exchange<'_>,
) -> Result<Option<String>, Duplicate> {
    // Parsed only when a name is not in the headers.
    let mut query: Option<Params> = None;
    let mut body: Option<Params> = None;
    for (name, header_name) in config.key_names.iter().zip(config.header_names()) {
        let mut value = None;
        if config.key_in_header
            && let Some(header_name) = header_name
        {
            value = header(exchange, header_name);
        }
        if value.is_none() && config.key_in_query {
            let query =
                query.get_or_insert_with(|| Params::from_query(exchange.request.uri().query()));
            value = query.get(name).cloned();
        }
        if value.is_none() && config.key_in_body {
            if body.is_none() {
                // Boxed: the body's future would otherwise make every
                // key-auth future as large, even with the key in a header.
                body = Some(Box::pin(body_params(exchange)).await);
            }
            value = body.as_ref().and_then(|b| b.get(name)).cloned();
        }
        match value {
            Some(Param::One(key)) => {
                if config.hide_credentials {
                    Box::pin(hide(config, exchange, name)).await;
                }
                return Ok(Some(key));
            }
            Some(Param::Many(_)) => return Err(Duplicate),
            Some(Param::Other) | None => {}
        }
    }
    Ok(None)
}

/// The header `name`: one value, several (a duplicate), or none.
fn header(exchange: &Exchange<'_>, name: &HeaderName) -> Option<Param> {
    let mut values = exchange.headers().get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => None,
        (Some(v), None) => Some(
            v.to_str()
                .map_or(Param::Other, |s| Param::One(s.to_string())),
        ),
        (Some(_), Some(_)) => Some(Param::Many(Vec::new())),
    }
}

/// The body's parameters; a body that cannot be read (or is larger than
/// searched) has none, as Kong's `get_body()` failing gives none.
async fn body_params(exchange: &mut Exchange<'_>) -> Params {
    let Some(kind) = params::body_kind(exchange.headers()) else {
        return Params::default();
    };
    if too_large(exchange) {
        return Params::default();
    }
    match exchange.body(BODY_LIMIT).await {
        Ok(body) => Params::from_body(&kind, body).await,
        Err(_) => Params::default(),
    }
}

fn too_large(exchange: &Exchange<'_>) -> bool {
    exchange
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .is_some_and(|len| len > BODY_LIMIT)
}

/// `hide_credentials`: the header and query parameter go, and with
/// `key_in_body` the body parameter of a form or JSON body.
async fn hide(config: &KeyAuthConfig, exchange: &mut Exchange<'_>, name: &str) {
    if let Ok(header) = HeaderName::from_bytes(name.as_bytes()) {
        exchange.clear_upstream_header(header);
    }
    let uri = exchange.request.uri().clone();
    if let Some(query) = uri.query() {
        let kept = params::without_param(query, name);
        if kept != query {
            let path_and_query = if kept.is_empty() {
                uri.path().to_string()
            } else {
                format!("{}?{kept}", uri.path())
            };
            let mut parts = uri.into_parts();
            if let Ok(pq) = path_and_query.parse() {
                parts.path_and_query = Some(pq);
                if let Ok(new) = Uri::from_parts(parts) {
                    *exchange.request.uri_mut() = new;
                }
            }
        }
    }
    if !config.key_in_body || too_large(exchange) {
        return;
    }
    let kind = params::body_kind(exchange.headers());
    let Ok(body) = exchange.body(BODY_LIMIT).await else {
        return;
    };
    match kind {
        Some(params::BodyKind::Form) => {
            if let Ok(text) = std::str::from_utf8(&body) {
                let kept = params::without_param(text, name);
                if kept != text {
                    exchange.set_body(Bytes::from(kept));
                }
            }
        }
        Some(params::BodyKind::Json) => {
            if let Ok(serde_json::Value::Object(mut map)) = serde_json::from_slice(&body)
                && map.remove(name).is_some()
                && let Ok(bytes) = serde_json::to_vec(&map)
            {
                exchange.set_body(Bytes::from(bytes));
            }
        }
        _ => {}
    }
}
