//! `GET /` of the admin API: who this node is and how it is configured.

use crate::model::plugin::AVAILABLE;
use crate::plugins::Runtime;
use crate::publish::{Published, TableHandle};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Instant;

/// What the Admin API's reads answer from: the published table and this
/// node's own facts.
#[derive(Debug)]
pub(crate) struct Node {
    /// The routing table.
    pub table: TableHandle,
    /// Plugin state (token store kind for `GET /`, the token listing).
    pub runtime: Runtime,
    /// This process's node id (random per start, like Kong's).
    pub node_id: String,
    /// Host name.
    pub hostname: String,
    /// The admin listener address.
    pub listen: SocketAddr,
    /// Process start.
    pub started: Instant,
}

/// Node information in Kong's shape.
pub(super) fn info(state: &Node, published: &Published) -> Value {
    let enabled: BTreeSet<&str> = published
        .table
        .plugins
        .values()
        .map(|p| p.name.as_str())
        .collect();
    let available: serde_json::Map<String, Value> = AVAILABLE
        .iter()
        .map(|name| {
            (
                name.to_string(),
                json!({ "version": env!("CARGO_PKG_VERSION") }),
            )
        })
        .collect();
    json!({
        "tagline": "Welcome to kingress",
        "version": env!("CARGO_PKG_VERSION"),
        "hostname": state.hostname,
        "node_id": state.node_id,
        "pids": { "master": std::process::id() },
        "plugins": {
            "available_on_server": available,
            "enabled_in_cluster": enabled,
        },
        "configuration": {
            "database": "off",
            "role": "traditional",
            "router_flavor": "traditional_compatible",
            "admin_listen": [state.listen.to_string()],
            "token_store": state.runtime.tokens.backend(),
            "configuration_generation": published.generation,
        },
    })
}

/// The machine's host name, for `hostname`.
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_string())
}
