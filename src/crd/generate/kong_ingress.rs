//! The KongIngress CRD: Kong's v1 schema with its enums and bounds, but
//! without KIC 3's rules that refuse `proxy` and `route` (kingress applies
//! them). Health checks stay free-form, in Kong's upstream format.

use super::{Names, common_schema, crd, free_form, property, structural};
use crate::crd::{KongIngress, VERSION};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::json;

/// `kongingresses.configuration.konghq.com`. KongIngress has no status.
pub fn kong_ingresses() -> CustomResourceDefinition {
    let mut schema = structural::<KongIngress>();
    common_schema(&mut schema);
    let proxy = property(&mut schema, "proxy");
    property(proxy, "protocol")["enum"] = json!([
        "http",
        "https",
        "grpc",
        "grpcs",
        "tcp",
        "tls",
        "udp",
        "tls_passthrough",
        "ws",
        "wss"
    ]);
    property(proxy, "path")["pattern"] = json!("^/.*$");
    for field in [
        "retries",
        "connect_timeout",
        "read_timeout",
        "write_timeout",
    ] {
        property(proxy, field)["minimum"] = json!(0);
    }
    let route = property(&mut schema, "route");
    property(route, "protocols")["items"]["enum"] = json!([
        "http",
        "https",
        "grpc",
        "grpcs",
        "tcp",
        "tls",
        "udp",
        "tls_passthrough",
        "ws",
        "wss"
    ]);
    let upstream = property(&mut schema, "upstream");
    property(upstream, "algorithm")["enum"] = json!([
        "round-robin",
        "consistent-hashing",
        "least-connections",
        "latency"
    ]);
    let hashes = json!([
        "none",
        "consumer",
        "ip",
        "header",
        "cookie",
        "path",
        "query_arg",
        "uri_capture"
    ]);
    property(upstream, "hash_on")["enum"] = hashes.clone();
    property(upstream, "hash_fallback")["enum"] = hashes;
    let slots = property(upstream, "slots");
    slots["minimum"] = json!(10);
    slots["maximum"] = json!(65536);
    free_form(upstream, "healthchecks");
    let mut crd = crd(Names {
        kind: "KongIngress",
        plural: "kongingresses",
        short: "ki",
        scope: "Namespaced",
        version: VERSION,
        schema,
        columns: json!([]),
    });
    for version in &mut crd.spec.versions {
        version.subresources = None;
        version.additional_printer_columns = None;
    }
    crd
}
