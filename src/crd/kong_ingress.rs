use super::kong_resource;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// `KongIngress` (`configuration.konghq.com/v1`), deprecated by Kong: Kong
/// service (`proxy`), route (`route`) and upstream (`upstream`) settings
/// that an Ingress or Service attaches with `konghq.com/override` (same
/// namespace). Fields sit at the top level, in Kong's own spelling.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KongIngress {
    /// `apiVersion`, kept so objects round-trip.
    #[serde(
        rename = "apiVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub api_version: Option<String>,
    /// `kind`, kept so objects round-trip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Standard object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Kong service settings (read from a Service's KongIngress).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<Box<KongIngressService>>,
    /// Kong route settings (read from an Ingress's KongIngress).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<Box<KongIngressRoute>>,
    /// Kong upstream settings (read from a Service's KongIngress).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<Box<KongIngressUpstream>>,
}

/// `proxy`: the Kong service.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KongIngressService {
    /// The protocol used to communicate with the upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// The path to be used in requests to the upstream server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The number of retries to execute upon failure to proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<i64>,
    /// The timeout in milliseconds for establishing a connection to the upstream server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<i64>,
    /// The timeout in milliseconds between two successive read operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_timeout: Option<i64>,
    /// The timeout in milliseconds between two successive write operations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_timeout: Option<i64>,
    /// Fields kingress does not know (each is reported).
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(skip)]
    pub other: BTreeMap<String, Value>,
}

/// `route`: the Kong routes of an Ingress.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KongIngressRoute {
    /// A list of HTTP methods that match this Route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
    /// Headers contains one or more lists of values indexed by header name
    /// that will cause this Route to match if present in the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, Vec<String>>>,
    /// An array of the protocols this Route should allow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocols: Option<Vec<String>>,
    /// A number used to choose which route resolves a given request when
    /// several routes match it using regexes simultaneously.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex_priority: Option<i64>,
    /// When matching a Route via one of the paths, strip the matching
    /// prefix from the upstream request URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strip_path: Option<bool>,
    /// When matching a Route via one of the hosts domain names, use the
    /// request Host header in the upstream request headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preserve_host: Option<bool>,
    /// The status code Kong responds with when all properties of a Route
    /// match except the protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub https_redirect_status_code: Option<i64>,
    /// Controls how the Service path, Route path and requested path are
    /// combined when sending a request to the upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_handling: Option<String>,
    /// SNIs is a list of SNIs that match this Route when using stream routing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snis: Option<Vec<String>>,
    /// Enable or disable buffering of the request body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_buffering: Option<bool>,
    /// Enable or disable buffering of the response body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_buffering: Option<bool>,
    /// Fields kingress does not know (each is reported).
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(skip)]
    pub other: BTreeMap<String, Value>,
}

/// `upstream`: the Kong upstream of a Service.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KongIngressUpstream {
    /// The hostname to be used as Host header when proxying requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_header: Option<String>,
    /// Which load balancing algorithm to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// The number of slots in the load balancer algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slots: Option<i64>,
    /// Health checks, in Kong's upstream format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthchecks: Option<Value>,
    /// What to use as hashing input: none, consumer, ip, header, cookie,
    /// path, query_arg or uri_capture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_on: Option<String>,
    /// What to use as hashing input if the primary hash_on does not return a hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_fallback: Option<String>,
    /// The header name to take the value from as hash input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_on_header: Option<String>,
    /// The header name to take the value from as hash input (fallback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_fallback_header: Option<String>,
    /// The cookie name to take the value from as hash input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_on_cookie: Option<String>,
    /// The cookie path to set in the response headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_on_cookie_path: Option<String>,
    /// The query argument to take the value from as hash input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_on_query_arg: Option<String>,
    /// The query argument to take the value from as hash input (fallback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_fallback_query_arg: Option<String>,
    /// The name of the route URI capture to take the value from as hash input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_on_uri_capture: Option<String>,
    /// The name of the route URI capture to take the value from as hash
    /// input (fallback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_fallback_uri_capture: Option<String>,
    /// Fields kingress does not know (each is reported).
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(skip)]
    pub other: BTreeMap<String, Value>,
}

kong_resource!(
    KongIngress,
    "KongIngress",
    "kongingresses",
    k8s_openapi::NamespaceResourceScope
);
