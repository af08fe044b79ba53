//! Kong's own entities (services, routes, consumers, consumer groups,
//! oauth2 credentials, plugins) as plain data, shaped exactly like Kong
//! 3.x's Admin API JSON, with Kong's defaults and schema checks, and Kong's
//! declarative document
//! (`kong.yml`, `_format_version: "3.0"`) that holds them.
//!
//! Model-level data: no kube, no hyper. Standalone mode reads declarative
//! documents from the watched directory (`source::files`) and the Admin API
//! builds entities from request bodies; both go through the same
//! constructors, so the same input is refused the same way:
//!
//! ```text
//!  kong.yml ─▶ Document::parse ─┐                 ┌─▶ translate::declarative ─▶ Table
//!  Admin API body ─▶ X::from_json ┴▶ entities ────┤
//!                     (FieldErrors on refusal)    └─▶ Document::to_value (persistence)
//! ```
//!
//! Entity constructors are pure: the clock and the id policy come in
//! through [`Context`].

mod consumer;
mod consumer_group;
mod credential;
mod document;
mod errors;
mod ids;
mod plugin;
mod read;
mod route;
mod service;
mod upstream;

pub use consumer::Consumer;
pub use consumer_group::{ConsumerGroup, ConsumerGroupConsumer};
pub use credential::{Credential, Oauth2Credential};
pub use document::{Document, DocumentError, FORMAT_VERSION};
pub use errors::{FieldError, FieldErrors};
pub use ids::{Ids, random_string};
pub use plugin::{Plugin, coerce_config, defaulted_config};
pub use route::Route;
pub use service::Service;
pub use upstream::{Target, Upstream};

use serde::{Deserialize, Serialize};

/// The entity types, with Kong's table names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `services`.
    Service,
    /// `routes`.
    Route,
    /// `consumers`.
    Consumer,
    /// `consumer_groups`.
    ConsumerGroup,
    /// `oauth2_credentials`.
    Oauth2Credential,
    /// The credentials of every other type (`keyauth_credentials`, …).
    Credential(crate::model::CredentialType),
    /// `plugins`.
    Plugin,
    /// `upstreams`.
    Upstream,
    /// `targets`.
    Target,
}

/// A reference to another entity, as Kong prints it: `{"id": "<uuid>"}`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Foreign {
    /// The referenced entity's id.
    pub id: String,
}

/// What entity constructors need from outside: the time, how to make ids,
/// and how to turn a reference (name or id) into an id.
pub struct Context<'a> {
    /// Seconds since the Unix epoch, for `created_at`/`updated_at` when the
    /// input has none.
    pub now: i64,
    /// How missing ids are made.
    pub ids: Ids,
    /// Where the entity sits in its input (`services[0]`), used to derive
    /// ids of unnamed entities under [`Ids::Derived`].
    pub position: &'a str,
    /// Resolves a reference (an id, or a name where the kind has one) to the
    /// referenced entity's id; `None` when nothing matches.
    pub resolve: &'a dyn Fn(Kind, &str) -> Option<String>,
    /// Whether secrets are in Kong's stored form (a document with
    /// `_transform: false`): a basic-auth password is Kong's SHA-1.
    pub stored: bool,
}

// === impl Kind ===

impl Kind {
    /// Kong's table name (`services`, `oauth2_credentials`).
    pub fn table(self) -> &'static str {
        match self {
            Kind::Service => "services",
            Kind::Route => "routes",
            Kind::Consumer => "consumers",
            Kind::ConsumerGroup => "consumer_groups",
            Kind::Oauth2Credential => "oauth2_credentials",
            Kind::Credential(t) => t.table(),
            Kind::Plugin => "plugins",
            Kind::Upstream => "upstreams",
            Kind::Target => "targets",
        }
    }

    /// Singular name for messages (`service`, `oauth2 credential`).
    pub fn singular(self) -> &'static str {
        match self {
            Kind::Service => "service",
            Kind::Route => "route",
            Kind::Consumer => "consumer",
            Kind::ConsumerGroup => "consumer group",
            Kind::Oauth2Credential => "oauth2 credential",
            Kind::Credential(t) => t.label(),
            Kind::Plugin => "plugin",
            Kind::Upstream => "upstream",
            Kind::Target => "target",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.table())
    }
}

// === impl Context ===

impl Context<'_> {
    /// An id for a new entity of `kind` whose natural key is `key` (its
    /// name, or `None` to use the position).
    pub fn new_id(&self, kind: Kind, key: Option<&str>) -> String {
        self.ids.make(kind, key.unwrap_or(self.position))
    }
}
