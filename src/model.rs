//! The routing table: the contract between the control plane and the data
//! plane. Plain data with `PartialEq` so `publish` can skip unchanged tables.
//! No kube, no hyper: both planes can depend on this without depending on
//! each other.

mod balance;
mod consumer;
pub mod credential;
mod derived;
mod header_match;
pub mod normalise;
mod object;
pub mod plugin;
mod route;
mod secret;
mod service;
mod shared;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use balance::{
    ActiveCheck, Algorithm, Balance, DEFAULT_SLOTS, HashOn, Healthchecks, PassiveCheck, ProbeKind,
    Thresholds,
};
pub use consumer::{
    ClientSecret, ClientType, Consumer, ConsumerGroup, Identity, IdentityValues, Oauth2Credential,
    is_hashed_secret,
};
pub use credential::jwt::{JwtAlgorithm, JwtFieldError, JwtFields, JwtKeys, KeyError, PublicKey};
pub use credential::{
    AclCredential, ApiKey, BasicAuthCredential, Credential, CredentialBase, CredentialError,
    CredentialSchema, CredentialType, Credentials, FieldProblem, Fields, JwtCredential,
    KeyAuthCredential, Origin, Password,
};
pub use derived::Derived;
pub use header_match::{HeaderMatch, HeaderRegex};
pub use object::{ObjectRef, Problem};
pub use plugin::{PluginConfig, PluginInstance};
pub use route::{HostMatch, PathHandling, PathMatch, PathRegex, Route};
pub use secret::Sensitive;
pub use service::{
    Certificate, ClientCertificate, DEFAULT_WEIGHT, Scheme, Service, Target, UpstreamTls,
};
pub use shared::{Shared, same_or_new};

/// Everything the data plane needs to serve requests, built whole by
/// `translate` and swapped in whole by `publish`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// Routes in declaration order; the router breaks ties by this order.
    /// Each is shared with translate's memo and the tables before and after
    /// while its Ingress does not change.
    pub routes: Vec<Shared<Route>>,
    /// Upstream services keyed by name (`<ns>.<svc>.<port>` for Kubernetes);
    /// shared with the tables before and after while they are the same.
    pub services: Shared<BTreeMap<String, Service>>,
    /// Consumers keyed by id (shared with the tables before and after as
    /// long as no consumer changes).
    /// Each is shared too: a request that authenticates holds its consumer
    /// by a reference count, not a copy.
    pub consumers: Shared<BTreeMap<String, Arc<Consumer>>>,
    /// Consumer groups keyed by name (shared like `consumers`).
    pub consumer_groups: Shared<BTreeMap<String, ConsumerGroup>>,
    /// Every credential, by type and key (each type shared like `consumers`).
    pub credentials: Credentials,
    /// TLS certificates served by SNI (shared with the tables before and
    /// after as long as none changes, which lets the TLS listener keep the
    /// keys it parsed).
    pub certificates: Shared<Vec<Certificate>>,
    /// Every plugin instance that is attached somewhere, keyed by instance id
    /// (for the Admin API; routes carry their own resolved copies).
    pub plugins: BTreeMap<String, PluginInstance>,
    /// Instances scoped to a consumer or consumer group alone (they apply
    /// on every route), by holder.
    pub holder_plugins: BTreeMap<plugin::Holder, Vec<PluginInstance>>,
}

// === impl Table ===

impl Table {
    /// The consumer with this id, username or custom_id (Kong's `anonymous`
    /// lookup order: id first, then username).
    pub fn find_consumer(&self, key: &str) -> Option<&Consumer> {
        self.find_shared_consumer(key).map(|c| &**c)
    }

    /// [`Table::find_consumer`], as the table shares it.
    pub fn find_shared_consumer(&self, key: &str) -> Option<&Arc<Consumer>> {
        self.consumers.get(key).or_else(|| {
            self.consumers
                .values()
                .find(|c| c.username.as_deref() == Some(key))
        })
    }
}
