use super::kong_resource;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `KongUpstreamPolicy` (`configuration.konghq.com/v1beta1`): the
/// load-balancing algorithm and health checks of the upstreams built for
/// the Services that name it with `konghq.com/upstream-policy` (same
/// namespace). Fields under `spec`, as in KIC's CRD.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KongUpstreamPolicy {
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
    /// The configuration of the Kong upstream.
    #[serde(default)]
    pub spec: KongUpstreamPolicySpec,
    /// Status (Gateway API policy ancestors); kingress writes none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
}

/// `spec` of a KongUpstreamPolicy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KongUpstreamPolicySpec {
    /// Algorithm is the load balancing algorithm to use.
    /// Accepted values are: "round-robin", "consistent-hashing", "least-connections", "latency".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// HashOn defines how to calculate hash for consistent-hashing load balancing algorithm.
    /// Algorithm must be set to "consistent-hashing" for this field to have effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_on: Option<Box<KongUpstreamHash>>,
    /// HashOnFallback defines how to calculate hash for consistent-hashing load balancing
    /// algorithm if the primary hash function fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_on_fallback: Option<Box<KongUpstreamHash>>,
    /// Slots is the number of slots in the load balancer algorithm.
    /// If not set, the default value in Kong for the algorithm is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slots: Option<i64>,
    /// Healthchecks defines the health check configurations in Kong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthchecks: Option<Box<KongUpstreamHealthcheck>>,
}

/// The input of consistent hashing: one of the fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KongUpstreamHash {
    /// Input allows using one of the predefined inputs (ip, consumer, path).
    /// For other parametrized inputs, use one of the fields below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// Header is the name of the header to use as hash input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Cookie is the name of the cookie to use as hash input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<String>,
    /// CookiePath is cookie path to set in the response headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie_path: Option<String>,
    /// QueryArg is the name of the query argument to use as hash input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_arg: Option<String>,
    /// URICapture is the name of the URI capture group to use as hash input.
    #[serde(
        rename = "uriCapture",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub uri_capture: Option<String>,
}

/// Health check configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KongUpstreamHealthcheck {
    /// Active configures active health check probing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<KongUpstreamActiveHealthcheck>,
    /// Passive configures passive health check probing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passive: Option<KongUpstreamPassiveHealthcheck>,
    /// Threshold is the minimum percentage of the upstream's targets' weight that must be
    /// available for the whole upstream to be considered healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<i64>,
}

/// Active health check probing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KongUpstreamActiveHealthcheck {
    /// Type determines whether to perform active health checks using HTTP or HTTPS, or just
    /// attempt a TCP connection. Accepted values are "http", "https", "tcp", "grpc", "grpcs".
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Concurrency is the number of targets to check concurrently.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<i64>,
    /// Headers is a list of HTTP headers to add to the probe request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, Vec<String>>>,
    /// Healthy configures thresholds and HTTP status codes to mark targets healthy for an
    /// upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy: Option<KongUpstreamHealthy>,
    /// Unhealthy configures thresholds and HTTP status codes to mark targets unhealthy for an
    /// upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy: Option<KongUpstreamUnhealthy>,
    /// HTTPPath is the path to use in GET HTTP request to run as a probe.
    #[serde(rename = "httpPath", default, skip_serializing_if = "Option::is_none")]
    pub http_path: Option<String>,
    /// HTTPSSNI is the SNI to use in GET HTTPS request to run as a probe.
    #[serde(rename = "httpsSni", default, skip_serializing_if = "Option::is_none")]
    pub https_sni: Option<String>,
    /// HTTPSVerifyCertificate is a boolean value that indicates if the certificate should be
    /// verified.
    #[serde(
        rename = "httpsVerifyCertificate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub https_verify_certificate: Option<bool>,
    /// Timeout is the probe timeout in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
}

/// Passive health checks (circuit breaking).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KongUpstreamPassiveHealthcheck {
    /// Type determines whether to perform passive health checks interpreting HTTP/HTTPS
    /// statuses, or just check for TCP connection success.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Healthy configures thresholds and HTTP status codes to mark targets healthy for an
    /// upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy: Option<KongUpstreamHealthy>,
    /// Unhealthy configures thresholds and HTTP status codes to mark targets unhealthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy: Option<KongUpstreamUnhealthy>,
}

/// Thresholds and statuses that mark a target healthy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KongUpstreamHealthy {
    /// HTTPStatuses is a list of HTTP status codes that Kong considers a success.
    #[serde(
        rename = "httpStatuses",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub http_statuses: Option<Vec<i64>>,
    /// Interval is the interval between active health checks for an upstream in seconds when
    /// in a healthy state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<i64>,
    /// Successes is the number of successes to consider a target healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub successes: Option<i64>,
}

/// Thresholds and statuses that mark a target unhealthy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct KongUpstreamUnhealthy {
    /// HTTPFailures is the number of failures to consider a target unhealthy.
    #[serde(
        rename = "httpFailures",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub http_failures: Option<i64>,
    /// HTTPStatuses is a list of HTTP status codes that Kong considers a failure.
    #[serde(
        rename = "httpStatuses",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub http_statuses: Option<Vec<i64>>,
    /// Interval is the interval between active health checks for an upstream in seconds when
    /// in an unhealthy state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<i64>,
    /// TCPFailures is the number of TCP failures in a row to consider a target unhealthy.
    #[serde(
        rename = "tcpFailures",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tcp_failures: Option<i64>,
    /// Timeouts is the number of timeouts in a row to consider a target unhealthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<i64>,
}

kong_resource!(
    KongUpstreamPolicy,
    "KongUpstreamPolicy",
    "kongupstreampolicies",
    k8s_openapi::NamespaceResourceScope,
    super::VERSION_V1BETA1
);
