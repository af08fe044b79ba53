//! Kong's `transform_body`: form, JSON and multipart bodies, read whole
//! (at most [`BODY_LIMIT`]), edited, and sent with a new `Content-Length`.
//! `remove`, `rename` and `replace` act only on a non-empty body; `add` and
//! `append` may create one. A body that does not parse is forwarded as it
//! came, as in Kong.

use super::args::Args;
use super::env::Snapshot;
use super::multipart;
use crate::model::plugin::RequestTransformerConfig;
use crate::plugins::{Exchange, PluginError};
use bytes::Bytes;
use serde_json::{Map, Value};

/// The largest request body this plugin reads: 8 MiB. Kong reads whatever
/// fits `client_body_buffer_size` (8 KiB by default) and, past it, edits an
/// empty body, losing the client's. A larger body here is refused with
/// 413 instead.
pub const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// Body encodings Kong edits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Json,
    Multipart,
    Form,
}

/// Kong's `get_content_type`: a substring test, JSON first.
pub(super) fn kind(exchange: &Exchange<'_>) -> Option<Kind> {
    let ct = exchange
        .headers()
        .get(http::header::CONTENT_TYPE)?
        .to_str()
        .ok()?
        .to_ascii_lowercase();
    if ct.contains("application/json") {
        Some(Kind::Json)
    } else if ct.contains("multipart/form-data") {
        Some(Kind::Multipart)
    } else if ct.contains("application/x-www-form-urlencoded") {
        Some(Kind::Form)
    } else {
        None
    }
}

/// Applies the body entries of `config`.
pub(super) async fn apply(
    config: &RequestTransformerConfig,
    exchange: &mut Exchange<'_>,
    env: &Snapshot,
) -> Result<(), PluginError> {
    if !config.edits_body() {
        return Ok(());
    }
    let Some(kind) = kind(exchange) else {
        return Ok(());
    };
    let body = exchange.body(BODY_LIMIT).await?;
    let edited = match kind {
        Kind::Form => form(config, &body, env)?,
        Kind::Json => json(config, &body, env)?,
        Kind::Multipart => {
            let ct = exchange
                .headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            multipart::edit(config, body, &ct, env).await?
        }
    };
    if let Some(edited) = edited {
        exchange.set_body(edited);
    }
    Ok(())
}

fn form(
    config: &RequestTransformerConfig,
    body: &[u8],
    env: &Snapshot,
) -> Result<Option<Bytes>, PluginError> {
    let ops = &config.ops;
    let mut args = Args::decode(body);
    let sent = !body.is_empty();
    let mut changed = false;
    if sent {
        for op in &ops.remove.body {
            args.remove(&op.name);
            changed = true;
        }
        for op in &ops.rename.body {
            if let Some(new) = env.value(op)? {
                changed |= args.rename(&op.name, &new);
            }
        }
        for op in &ops.replace.body {
            if let Some(v) = env.value(op)?
                && args.has(&op.name)
            {
                args.set(&op.name, v);
                changed = true;
            }
        }
    }
    for op in &ops.add.body {
        if let Some(v) = env.value(op)?
            && !args.has(&op.name)
        {
            args.set(&op.name, v);
            changed = true;
        }
    }
    for op in &ops.append.body {
        args.append(&op.name, env.value(op)?);
        changed = true;
    }
    Ok(changed.then(|| Bytes::from(args.encode())))
}

fn json(
    config: &RequestTransformerConfig,
    body: &[u8],
    env: &Snapshot,
) -> Result<Option<Bytes>, PluginError> {
    let ops = &config.ops;
    let sent = !body.is_empty();
    let mut params = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => map,
        // Kong indexes whatever decoded; only an object has parameters.
        Ok(_) => return Ok(None),
        Err(_) if sent => return Ok(None),
        Err(_) => Map::new(),
    };
    // Lua's truthiness: a JSON `false` counts as absent, `null` does not.
    let truthy = |v: Option<&Value>| v.is_some_and(|v| *v != Value::Bool(false));
    let mut changed = false;
    if sent {
        for op in &ops.remove.body {
            params.remove(&op.name);
            changed = true;
        }
        for op in &ops.rename.body {
            let Some(new) = env.value(op)? else { continue };
            if op.name != new
                && truthy(params.get(&op.name))
                && let Some(v) = params.remove(&op.name)
            {
                params.insert(new, v);
                changed = true;
            }
        }
        for op in &ops.replace.body {
            let Some(v) = env.value(op)? else { continue };
            if truthy(params.get(&op.name)) {
                params.insert(op.name.clone(), Value::String(v));
                changed = true;
            }
        }
    }
    for op in &ops.add.body {
        let Some(v) = env.value(op)? else { continue };
        if !truthy(params.get(&op.name)) {
            params.insert(op.name.clone(), Value::String(v));
            changed = true;
        }
    }
    for op in &ops.append.body {
        let v = env.value(op)?.map_or(Value::Null, Value::String);
        let next = match params.remove(&op.name) {
            Some(Value::String(s)) => Value::Array(vec![Value::String(s), v]),
            Some(Value::Array(mut items)) => {
                items.push(v);
                Value::Array(items)
            }
            _ => Value::Array(vec![v]),
        };
        params.insert(op.name.clone(), next);
        changed = true;
    }
    if !changed {
        return Ok(None);
    }
    serde_json::to_vec(&Value::Object(params))
        .map(|v| Some(Bytes::from(v)))
        .map_err(|e| PluginError::Internal(format!("request-transformer: {e}")))
}
