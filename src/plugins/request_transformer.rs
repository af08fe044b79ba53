//! Kong's `request-transformer` (`kong/plugins/request-transformer/access.lua`):
//! in the access phase, in Kong's order, the upstream path
//! (`replace.uri`), the method (`http_method`; to GET/HEAD/TRACE a form
//! body's parameters join the query), the headers, the body, then the
//! query string, each with remove, rename, replace, add, append.
//!
//! A template that renders a value the request cannot carry (a repeated
//! header or a bare query flag concatenated, a CR/LF in a header) fails the
//! request with Kong's 500.

mod args;
mod body;
mod env;
mod headers;
mod multipart;

use super::{Access, Exchange, Phases, PluginError, Runtime};
use crate::model::PluginInstance;
use crate::model::plugin::RequestTransformerConfig;
use args::Args;
use http::Method;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use std::sync::Arc;

pub use body::BODY_LIMIT;

/// What Kong's `kong.tools.uri.escape` escapes in an upstream path: all but
/// the reserved and unreserved characters and `%`.
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

impl Phases for RequestTransformerConfig {
    async fn access(
        config: &Arc<Self>,
        _instance: &PluginInstance,
        exchange: &mut Exchange<'_>,
        _runtime: &Runtime,
    ) -> Result<Access, PluginError> {
        let env = env::Snapshot::take(config, exchange);
        if let Some(uri) = &config.ops.uri {
            let path = uri
                .render(&env)
                .map_err(|e| PluginError::Internal(format!("request-transformer: {e}")))?;
            if !path.starts_with('/') {
                return Err(PluginError::Internal(
                    "request-transformer: replace.uri did not render a path starting with /".into(),
                ));
            }
            exchange.upstream_path = Some(utf8_percent_encode(&path, PATH).to_string());
        }
        method(config, exchange).await?;
        headers::apply(config, exchange, &env)?;
        body::apply(config, exchange, &env).await?;
        query(config, exchange, &env)?;
        Ok(Access::Continue)
    }
}

/// Kong's `transform_method`.
async fn method(
    config: &RequestTransformerConfig,
    exchange: &mut Exchange<'_>,
) -> Result<(), PluginError> {
    let Some(name) = &config.http_method else {
        return Ok(());
    };
    let method = Method::from_bytes(name.as_bytes())
        .map_err(|_| PluginError::Internal(format!("request-transformer: method {name}")))?;
    *exchange.request.method_mut() = method.clone();
    let bodiless = [Method::GET, Method::HEAD, Method::TRACE].contains(&method);
    if !bodiless || body::kind(exchange) != Some(body::Kind::Form) {
        return Ok(());
    }
    let form = Args::decode(&exchange.body(BODY_LIMIT).await?);
    if form.is_empty() {
        return Ok(());
    }
    let mut query = Args::decode(
        exchange
            .request
            .uri()
            .query()
            .unwrap_or_default()
            .as_bytes(),
    );
    for (name, values) in form.iter() {
        for value in values {
            query.append(name, value.clone());
        }
    }
    exchange.set_query(Some(&query.encode()));
    Ok(())
}

/// Kong's `transform_querystrings`: only when some entry edits the query
/// (otherwise the query goes upstream byte for byte).
fn query(
    config: &RequestTransformerConfig,
    exchange: &mut Exchange<'_>,
    env: &env::Snapshot,
) -> Result<(), PluginError> {
    if !config.edits_query() {
        return Ok(());
    }
    let ops = &config.ops;
    let mut args = Args::decode(
        exchange
            .request
            .uri()
            .query()
            .unwrap_or_default()
            .as_bytes(),
    );
    for op in &ops.remove.querystring {
        args.remove(&op.name);
    }
    for op in &ops.rename.querystring {
        if let Some(new) = env.value(op)? {
            args.rename(&op.name, &new);
        }
    }
    for op in &ops.replace.querystring {
        if let Some(v) = env.value(op)?
            && args.has(&op.name)
        {
            args.set(&op.name, v);
        }
    }
    for op in &ops.add.querystring {
        if let Some(v) = env.value(op)?
            && !args.has(&op.name)
        {
            args.set(&op.name, v);
        }
    }
    for op in &ops.append.querystring {
        args.append(&op.name, env.value(op)?);
    }
    exchange.set_query(Some(&args.encode()));
    Ok(())
}
