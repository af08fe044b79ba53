//! Kinds whose CRD may not be installed. A watch of a kind the API server
//! does not serve never lists, so kingress would never become ready on an
//! install without it; KIC likewise checks and leaves such kinds out. When
//! the API server cannot be asked, a kind is assumed installed (its watch
//! retries like any other).

use kube::Client;

/// Kong's API group versions.
const V1: &str = "configuration.konghq.com/v1";
const V1BETA1: &str = "configuration.konghq.com/v1beta1";

/// Whether the KongConsumerGroup CRD is installed (it came later than the
/// other Kong CRDs).
pub async fn consumer_groups_installed(client: &Client) -> bool {
    installed(client, V1BETA1, "kongconsumergroups").await
}

/// Whether the KongUpstreamPolicy CRD is installed.
pub async fn upstream_policies_installed(client: &Client) -> bool {
    installed(client, V1BETA1, "kongupstreampolicies").await
}

/// Whether the KongIngress CRD is installed (Kong's newer installs may
/// leave the deprecated kind out).
pub async fn kong_ingresses_installed(client: &Client) -> bool {
    installed(client, V1, "kongingresses").await
}

/// Whether `resource` is served at `group_version`.
async fn installed(client: &Client, group_version: &str, resource: &str) -> bool {
    match client.list_api_group_resources(group_version).await {
        Ok(list) => list.resources.iter().any(|r| r.name == resource),
        Err(kube::Error::Api(e)) if e.code == 404 => false,
        Err(error) => {
            tracing::debug!(%error, resource, "API discovery failed; watching the kind anyway");
            true
        }
    }
}
