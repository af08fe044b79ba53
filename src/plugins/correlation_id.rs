//! Kong's `correlation-id` plugin (`kong/plugins/correlation-id/handler.lua`):
//! a request without the header (or with an empty one) gets an id from the
//! configured generator; the upstream, later plugins and the access log's
//! `request_id` see it, and with `echo_downstream` so does the client, on
//! every answer (the upstream's, a refusal, a 502).

use super::{Access, Exchange, Phases, PluginError, Runtime};
use crate::model::PluginInstance;
use crate::model::plugin::CorrelationIdConfig;
use crate::model::plugin::correlation_id::Generator;
use http::{HeaderName, HeaderValue};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The `uuid#counter` generator's state: one UUID per process (Kong's is
/// per worker) and a counter.
#[derive(Clone, Debug)]
pub struct State(Arc<Counter>);

#[derive(Debug)]
struct Counter {
    uuid: String,
    next: AtomicU64,
}

impl State {
    /// A new process UUID, the counter at 0.
    pub fn new() -> Self {
        Self(Arc::new(Counter {
            uuid: random_uuid(),
            next: AtomicU64::new(0),
        }))
    }
}

impl Default for State {
    fn default() -> Self {
        Self::new()
    }
}

fn random_uuid() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string()
}

/// A new id from `generator`.
fn generate(generator: Generator, exchange: &Exchange<'_>, runtime: &Runtime) -> String {
    match generator {
        Generator::Uuid => random_uuid(),
        Generator::UuidCounter => {
            let counter = &runtime.correlation_id.0;
            let n = counter.next.fetch_add(1, Ordering::Relaxed) + 1;
            format!("{}#{n}", counter.uuid)
        }
        Generator::Tracker => {
            let conn = exchange.connection;
            let (addr, port) = conn
                .local
                .map_or(("-".to_string(), 0), |a| (a.ip().to_string(), a.port()));
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            format!(
                "{addr}-{port}-{}-{}-{}-{now:.3}",
                std::process::id(),
                conn.serial,
                conn.requests
            )
        }
    }
}

impl Phases for CorrelationIdConfig {
    async fn access(
        config: &Arc<Self>,
        _instance: &PluginInstance,
        exchange: &mut Exchange<'_>,
        runtime: &Runtime,
    ) -> Result<Access, PluginError> {
        // Checked when the configuration was read.
        let Ok(name) = HeaderName::from_bytes(config.header_name.as_bytes()) else {
            return Ok(Access::Continue);
        };
        // nginx trims header values: a blank one counts as absent.
        let sent = exchange
            .headers()
            .get(&name)
            .filter(|v| !v.as_bytes().trim_ascii().is_empty())
            .cloned();
        let value = match sent {
            Some(value) => value,
            None => {
                let id = generate(config.generator, exchange, runtime);
                let Ok(value) = HeaderValue::from_str(&id) else {
                    return Ok(Access::Continue);
                };
                exchange
                    .request
                    .headers_mut()
                    .insert(name.clone(), value.clone());
                value
            }
        };
        exchange.request_id = Some(value.clone());
        if config.echo_downstream {
            exchange.response_headers.insert(name, value);
        }
        Ok(Access::Continue)
    }
}
