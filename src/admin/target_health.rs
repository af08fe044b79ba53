//! Kong's health writes (`kong/api/routes/upstreams.lua`):
//! `PUT /upstreams/{u}/targets/{t}/healthy|unhealthy` and
//! `…/targets/{t}/{address}/healthy|unhealthy` (POST too, as Kong before
//! 3.0 took it), 204. The target (by `host:port` or id) is set healthy or
//! unhealthy in this node's balancer until the health checks decide
//! otherwise, as Kong's `set_target_status`. Like proxy-cache purges,
//! these are not configuration writes: cluster mode answers them too.

use super::read::{Node, entities};
use super::reply;
use bytes::Bytes;
use http::{Method, Response, StatusCode};
use http_body_util::Full;
use serde_json::json;

/// Whether `segments` name a health write (any method: others get 405).
pub(super) fn matches(segments: &[&str]) -> bool {
    matches!(
        segments,
        ["upstreams", _, "targets", _, "healthy" | "unhealthy"]
            | ["upstreams", _, "targets", _, _, "healthy" | "unhealthy"]
    )
}

/// Answers `method` on a path [`matches`] accepted.
pub(super) fn handle(node: &Node, method: &Method, segments: &[&str]) -> Response<Full<Bytes>> {
    if !matches!(*method, Method::PUT | Method::POST) {
        return reply::method_not_allowed();
    }
    let (upstream, target, address, verb) = match segments {
        ["upstreams", u, "targets", t, verb] => (*u, *t, None, *verb),
        ["upstreams", u, "targets", t, a, verb] => (*u, *t, Some(*a), *verb),
        _ => return reply::not_found(),
    };
    let published = node.table.load();
    let Some(service) = super::read::upstream(&published.table, upstream) else {
        return reply::not_found();
    };
    let Some(index) = service.targets.iter().position(|t| {
        let name = t.to_string();
        name == target || entities::target_id(service.upstream_name(), &name) == target
    }) else {
        return reply::not_found();
    };
    // A target has one address (kingress resolves names per connection):
    // an address must be that one, with or without the target's port.
    if let Some(address) = address {
        let t = &service.targets[index];
        let bare = address.trim_start_matches('[').trim_end_matches(']');
        if bare != t.host && address != t.to_string() {
            return bad_request(&format!("target not found: {address}"));
        }
    }
    let balancer = published
        .balancers
        .get(&service.name)
        .filter(|b| b.checked());
    let Some(balancer) = balancer else {
        // Kong's answer when the upstream has no health checks.
        let name = service.upstream_name();
        return bad_request(&format!("no healthchecker found for {name}"));
    };
    let healthy = verb == "healthy";
    balancer.set_health(index, healthy);
    tracing::info!(
        upstream = service.upstream_name(),
        target = %service.targets[index],
        healthy,
        "target health set through the Admin API"
    );
    reply::no_content()
}

fn bad_request(message: &str) -> Response<Full<Bytes>> {
    reply::json(StatusCode::BAD_REQUEST, &json!({ "message": message }))
}
