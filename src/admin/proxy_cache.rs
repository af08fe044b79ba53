//! Kong's proxy-cache Admin API (`kong/plugins/proxy-cache/api.lua`),
//! which Kong serves in DB-less mode too (a purge is not a configuration
//! write, so cluster mode answers it as well):
//! - `DELETE /proxy-cache`: flushes every entry, 204;
//! - `GET|DELETE /proxy-cache/{key}`: the entry of `key` under any
//!   proxy-cache instance (200 with the entry, or 204), else 404;
//! - `GET|DELETE /proxy-cache/{plugin id}/caches/{key}`: the same under
//!   that instance's dictionary; 404 for an unknown instance or key.

use super::read::Node;
use super::reply;
use crate::model::{PluginConfig, PluginInstance};
use bytes::Bytes;
use http::{Method, Response};
use http_body_util::Full;

/// The path's first segment.
pub(super) const COLLECTION: &str = "proxy-cache";

/// Answers `method` on `/proxy-cache[/…]` (`segments` includes the first).
pub(super) fn handle(node: &Node, method: &Method, segments: &[&str]) -> Response<Full<Bytes>> {
    let store = &node.runtime.proxy_cache;
    let published = node.table.load();
    let table = &published.table;
    let dictionary = |plugin: &PluginInstance| match &plugin.config {
        PluginConfig::ProxyCache(c) => Some(c.memory.dictionary_name.clone()),
        _ => None,
    };
    let dictionaries: Vec<String> = match segments {
        [_] | [_, _] => table.plugins.values().filter_map(dictionary).collect(),
        [_, plugin, "caches", _] => table
            .plugins
            .get(*plugin)
            .and_then(dictionary)
            .into_iter()
            .collect(),
        _ => return reply::not_found(),
    };
    let key = match segments {
        [_] if method == Method::DELETE => {
            store.flush();
            return reply::no_content();
        }
        [_] => return reply::method_not_allowed(),
        [.., key] => *key,
        [] => return reply::not_found(),
    };
    match *method {
        Method::GET | Method::HEAD => dictionaries
            .iter()
            .find_map(|d| store.fetch(d, key))
            .map_or_else(reply::not_found, |entry| reply::ok(&entry.to_json())),
        Method::DELETE => {
            // Every instance's dictionary is purged (Kong stops at the first
            // holding it; a key is a hash of the route, so one at most).
            let mut purged = false;
            for d in &dictionaries {
                purged |= store.purge(d, key);
            }
            if purged {
                reply::no_content()
            } else {
                reply::not_found()
            }
        }
        _ => reply::method_not_allowed(),
    }
}
