//! Which write a method and path ask for, following Kong's generated
//! endpoints (`kong/api/endpoints.lua`): `POST` on a collection creates,
//! `PUT` on an entity upserts, `PATCH` updates, `DELETE` deletes; nested
//! collections (`/consumers/{c}/oauth2`, `/routes/{r}/plugins`, …) scope the
//! entity to its parent; `/routes/{r}/service` is the route's service;
//! targets exist only under their upstream (`/upstreams/{u}/targets`).

use super::error::WriteError;
use crate::admin::read::credentials;
use crate::model::CredentialType;
use http::Method;

/// The entity collections kingress writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Collection {
    /// `/services`.
    Services,
    /// `/routes`.
    Routes,
    /// `/consumers`.
    Consumers,
    /// `/oauth2` (oauth2 credentials).
    Oauth2,
    /// `/plugins`.
    Plugins,
    /// `/upstreams`.
    Upstreams,
    /// `/upstreams/{u}/targets` (Kong has no top-level `/targets`).
    Targets,
    /// `/key-auths`, `/basic-auths`, `/acls`, `/jwts` (nested under a
    /// consumer as `key-auth`, `basic-auth`, `acls`, `jwt`).
    Credentials(CredentialType),
}

/// A parent entity named in the path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Parent {
    /// Its collection.
    pub collection: Collection,
    /// Its id or endpoint key (name, username, client_id) as given.
    pub key: String,
}

/// What to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Action {
    /// `POST` on a collection.
    Create,
    /// `PUT` on an entity: create or replace.
    Upsert(String),
    /// `PATCH` on an entity: change the given fields.
    Update(String),
    /// `DELETE` on an entity.
    Delete(String),
}

/// One write request, decoded from method and path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Endpoint {
    /// The collection written.
    pub collection: Collection,
    /// The parent the path scopes it to.
    pub parent: Option<Parent>,
    /// The operation.
    pub action: Action,
    /// `/routes/{r}/service`: the entity is the route's service, found
    /// through `parent` (a route) rather than by key.
    pub via_route: bool,
}

// === impl Collection ===

impl Collection {
    /// The path segment (and Kong's entity name in messages).
    pub(super) fn name(self) -> &'static str {
        match self {
            Collection::Services => "services",
            Collection::Routes => "routes",
            Collection::Consumers => "consumers",
            Collection::Oauth2 => "oauth2_credentials",
            Collection::Plugins => "plugins",
            Collection::Upstreams => "upstreams",
            Collection::Targets => "targets",
            Collection::Credentials(t) => t.table(),
        }
    }

    fn from_segment(segment: &str) -> Option<Self> {
        Some(match segment {
            "services" => Collection::Services,
            "routes" => Collection::Routes,
            "consumers" => Collection::Consumers,
            "oauth2" => Collection::Oauth2,
            "plugins" => Collection::Plugins,
            "upstreams" => Collection::Upstreams,
            other => return credentials::top(other).map(Collection::Credentials),
        })
    }

    /// A collection nested in a path under `parent`.
    fn from_nested_segment(parent: Collection, segment: &str) -> Option<Self> {
        match (parent, credentials::nested(segment)) {
            (Collection::Consumers, Some(t)) => Some(Collection::Credentials(t)),
            (Collection::Upstreams, _) if segment == "targets" => Some(Collection::Targets),
            _ => Self::from_segment(segment).filter(|c| !matches!(c, Collection::Credentials(_))),
        }
    }

    /// Whether `child` may be nested under this collection in a path.
    fn nests(self, child: Collection) -> bool {
        matches!(
            (self, child),
            (
                Collection::Services,
                Collection::Routes | Collection::Plugins
            ) | (Collection::Routes, Collection::Plugins)
                | (
                    Collection::Consumers,
                    Collection::Oauth2 | Collection::Plugins | Collection::Credentials(_)
                )
                | (Collection::Upstreams, Collection::Targets)
        )
    }
}

// === impl Endpoint ===

impl Endpoint {
    /// Decodes `method` and `segments`. Unknown paths are 404; known paths
    /// with a method they do not take are 405.
    pub(super) fn parse(method: &Method, segments: &[&str]) -> Result<Self, WriteError> {
        let (collection, parent, key, via_route) = match segments {
            [c] => (top(c)?, None, None, false),
            [c, key] => (top(c)?, None, Some(*key), false),
            ["routes", route, "service"] => (
                Collection::Services,
                Some(Parent {
                    collection: Collection::Routes,
                    key: route.to_string(),
                }),
                None,
                true,
            ),
            [p, parent_key, c] | [p, parent_key, c, _] => {
                let parent = top(p)?;
                let child =
                    Collection::from_nested_segment(parent, c).ok_or(WriteError::NotFound)?;
                if !parent.nests(child) {
                    return Err(WriteError::NotFound);
                }
                let parent = Parent {
                    collection: parent,
                    key: parent_key.to_string(),
                };
                (child, Some(parent), segments.get(3).copied(), false)
            }
            _ => return Err(WriteError::NotFound),
        };
        let action = match (method, key) {
            (&Method::POST, None) if !via_route => Action::Create,
            (&Method::PUT, Some(k)) => Action::Upsert(k.to_string()),
            (&Method::PATCH, Some(k)) => Action::Update(k.to_string()),
            (&Method::DELETE, Some(k)) => Action::Delete(k.to_string()),
            // The route's service is addressed without a key of its own.
            (&Method::PUT, None) if via_route => Action::Upsert(String::new()),
            (&Method::PATCH, None) if via_route => Action::Update(String::new()),
            _ => return Err(WriteError::MethodNotAllowed),
        };
        Ok(Endpoint {
            collection,
            parent,
            action,
            via_route,
        })
    }

    /// `create`, `update` or `delete`, for messages.
    pub(super) fn verb(&self) -> &'static str {
        match self.action {
            Action::Create | Action::Upsert(_) => "create",
            Action::Update(_) => "update",
            Action::Delete(_) => "delete",
        }
    }
}

/// A top-level collection; `/oauth2` is only `/oauth2` here, the nested
/// spelling is handled by the caller.
fn top(segment: &str) -> Result<Collection, WriteError> {
    Collection::from_segment(segment).ok_or(WriteError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(method: Method, path: &str) -> Result<Endpoint, WriteError> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        Endpoint::parse(&method, &segments)
    }

    #[test]
    fn the_seed_commands() {
        let e = parse(Method::PUT, "/consumers/jane").unwrap();
        assert_eq!(e.collection, Collection::Consumers);
        assert_eq!(e.action, Action::Upsert("jane".into()));

        let e = parse(Method::PUT, "/consumers/jane/oauth2/client").unwrap();
        assert_eq!(e.collection, Collection::Oauth2);
        assert_eq!(e.parent.unwrap().key, "jane");
        assert_eq!(e.action, Action::Upsert("client".into()));

        let e = parse(Method::POST, "/routes/mock/plugins").unwrap();
        assert_eq!(e.collection, Collection::Plugins);
        assert_eq!(e.parent.unwrap().collection, Collection::Routes);
        assert_eq!(e.action, Action::Create);
    }

    #[test]
    fn credential_collections_top_level_and_nested() {
        let e = parse(Method::POST, "/consumers/jane/key-auth").unwrap();
        assert_eq!(
            e.collection,
            Collection::Credentials(CredentialType::KeyAuth)
        );
        let e = parse(Method::PATCH, "/basic-auths/bob").unwrap();
        assert_eq!(
            e.collection,
            Collection::Credentials(CredentialType::BasicAuth)
        );
        let e = parse(Method::DELETE, "/consumers/jane/acls/admins").unwrap();
        assert_eq!(e.collection, Collection::Credentials(CredentialType::Acl));
        assert!(matches!(
            parse(Method::POST, "/consumers/jane/key-auths"),
            Err(WriteError::NotFound)
        ));
        assert!(matches!(
            parse(Method::POST, "/key-auth"),
            Err(WriteError::NotFound)
        ));
        assert!(matches!(
            parse(Method::POST, "/routes/r/acls"),
            Err(WriteError::NotFound)
        ));
    }

    #[test]
    fn methods_and_paths_that_do_not_exist() {
        assert!(matches!(
            parse(Method::POST, "/consumers/jane"),
            Err(WriteError::MethodNotAllowed)
        ));
        assert!(matches!(
            parse(Method::PUT, "/consumers"),
            Err(WriteError::MethodNotAllowed)
        ));
        assert!(matches!(
            parse(Method::POST, "/targets"),
            Err(WriteError::NotFound)
        ));
        assert!(matches!(
            parse(Method::POST, "/services/s/targets"),
            Err(WriteError::NotFound)
        ));
        let e = parse(Method::PUT, "/upstreams/shop/targets/10.0.0.1:80").unwrap();
        assert_eq!(e.collection, Collection::Targets);
        assert_eq!(e.parent.unwrap().collection, Collection::Upstreams);
        assert_eq!(e.action, Action::Upsert("10.0.0.1:80".into()));
        assert!(matches!(
            parse(Method::POST, "/consumers/jane/routes"),
            Err(WriteError::NotFound)
        ));
        assert!(matches!(
            parse(Method::DELETE, "/routes/r/service"),
            Err(WriteError::MethodNotAllowed)
        ));
        let e = parse(Method::PATCH, "/routes/r/service").unwrap();
        assert!(e.via_route);
        assert_eq!(e.collection, Collection::Services);
    }
}
