//! kingress: a Kubernetes ingress controller that speaks Kong's configuration
//! language, issues OAuth 2.0 tokens (Kong's `oauth2` plugin) and verifies them
//! (Kong's `openid-connect` plugin).
//!
//! One process, two planes, one direction of data flow:
//!
//! ```text
//!  kube-apiserver ──watch──▶ source::cluster ┐
//!  manifest files ──notify─▶ source::files   ┴▶ objects::ObjectSet (typed stores, one per kind)
//!  (kong.yml files are parsed into kong::Document, Kong's entities, beside them)
//!                                                   │ "changed" (debounced)
//!                                                   ▼
//!                                       translate (PURE: ObjectSet -> Table + Vec<Problem>)
//!                                           │                     │
//!                                           ▼                     ▼
//!                           publish (ArcSwap, skip if equal)   status (Events, conditions,
//!                                           │                   Ingress LB address; leader only)
//!  ═════════════════════════════════════════╪═══════ TableHandle ═══════════════════════════
//!                                           ▼ load() once per request
//!  client ─▶ listen (cap, timeouts) ─▶ proxy::listener (8000 http, 8443 https/SNI)
//!              ─▶ proxy (authority, normalise path, drop identity headers) ─▶ router::find ─▶ plugins
//!              ─▶ proxy::forward (pooled hyper client, endpoint pick) ─▶ upstream
//!                        any error ─▶ proxy::respond (the one place errors become HTTP)
//!  token state (issued tokens, codes, refresh tokens) lives in tokens::TokenStore
//!  (memory by default, Redis when replicas must share it), never in the Table.
//! ```
#![forbid(unsafe_code)]
// Proving a proxy connection's future `Send` walks hyper's connection,
// the request pipeline and the upstream connect: deeper than the default.
#![recursion_limit = "256"]

pub mod admin;
pub mod cli;
pub mod crd;
pub mod kong;
pub mod listen;
pub mod metrics;
pub mod model;
pub mod objects;
pub mod plugins;
pub mod proxy;
pub mod publish;
pub mod reconcile;
pub mod router;
pub mod run;
pub mod secret;
pub mod source;
pub mod status;
pub mod tokens;
pub mod translate;
