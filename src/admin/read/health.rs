//! `GET /upstreams/{upstream}/health` in Kong's shape: each target with
//! its health (`HEALTHY`, `UNHEALTHY`, or `HEALTHCHECKS_OFF` when the
//! upstream has no health checks) and its one address.

use super::entities;
use crate::model::Service;
use crate::publish::Published;
use serde_json::{Value, json};

/// The health of `service`'s targets, as this node's balancer sees them.
pub(super) fn targets(published: &Published, service: &Service, node_id: &str) -> Value {
    let balancer = published
        .balancers
        .get(&service.name)
        .filter(|b| b.checked());
    let data: Vec<Value> = service
        .targets
        .iter()
        .enumerate()
        .map(|(i, target)| {
            let health = match balancer {
                None => "HEALTHCHECKS_OFF",
                Some(b) if b.is_healthy(i) => "HEALTHY",
                Some(_) => "UNHEALTHY",
            };
            let mut entity = entities::target(service, target);
            entity["health"] = json!(health);
            entity["data"] = json!({
                "addresses": [{
                    "ip": target.host,
                    "port": target.port,
                    "health": health,
                    "weight": target.weight,
                }],
                "weight": {
                    "total": target.weight,
                    "available": if health == "UNHEALTHY" { 0 } else { target.weight },
                    "unavailable": if health == "UNHEALTHY" { target.weight } else { 0 },
                },
            });
            entity
        })
        .collect();
    json!({
        "data": data,
        "next": null,
        "node_id": node_id,
        "total": service.targets.len(),
    })
}
