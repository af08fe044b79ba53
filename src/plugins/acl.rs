//! Kong's `acl` plugin (`kong/plugins/acl/handler.lua`): after
//! authentication, the consumer's groups (its acl credentials, one range
//! of the table) are checked against `allow` or `deny`. No consumer is 401
//! "Unauthorized" (403 when a credential was presented); a blocked one 403
//! "You cannot consume this service". Allowed requests carry
//! `X-Consumer-Groups` (the groups joined by `, `) unless
//! `hide_groups_header`. With `include_consumer_groups` the consumer's
//! KongConsumerGroups count as groups as well.
//!
//! Groups an identity provider vouched for (openid-connect's
//! `authenticated_groups_claim`) are used instead, as Kong does, when
//! there is no consumer, when the consumer came without a credential
//! (anonymous), or with `always_use_authenticated_groups`; allowed requests
//! then carry them as `X-Authenticated-Groups`.

use super::{Access, Exchange, Phases, PluginError, Runtime, consumer};
use crate::model::PluginInstance;
use crate::model::plugin::AclConfig;
use http::HeaderName;
use std::sync::Arc;

const BLOCKED: &str = "You cannot consume this service";
/// `X-Consumer-Groups`.
pub const CONSUMER_GROUPS: HeaderName = HeaderName::from_static("x-consumer-groups");
/// `X-Authenticated-Groups`.
pub const AUTHENTICATED_GROUPS: HeaderName = HeaderName::from_static("x-authenticated-groups");

impl Phases for AclConfig {
    async fn access(
        config: &Arc<Self>,
        _instance: &PluginInstance,
        exchange: &mut Exchange<'_>,
        _runtime: &Runtime,
    ) -> Result<Access, PluginError> {
        let forbidden = || PluginError::Forbidden {
            message: BLOCKED.into(),
            www_authenticate: None,
        };
        let unauthorized_or_forbidden = |exchange: &Exchange<'_>| {
            if consumer::has_credential(exchange) {
                forbidden()
            } else {
                PluginError::Plain {
                    status: http::StatusCode::UNAUTHORIZED,
                    message: "Unauthorized".into(),
                }
            }
        };
        let use_authenticated = match exchange.authenticated.as_ref() {
            None => true,
            Some(who) => who.anonymous || config.always_use_authenticated_groups,
        };
        if use_authenticated && let Some(groups) = &exchange.authenticated_groups {
            let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
            let header = check(config, &groups).map_err(|()| forbidden())?;
            return Ok(pass(exchange, AUTHENTICATED_GROUPS, header));
        }
        let Some(who) = exchange.authenticated.as_ref() else {
            return Err(unauthorized_or_forbidden(exchange));
        };
        let table = exchange.table;
        let mut groups = table.credentials.groups_of(&who.consumer.id);
        // Kong's `include_consumer_groups`: consumer-group membership counts
        // as an acl group too.
        if config.include_consumer_groups {
            for g in &who.consumer.groups {
                if !groups.contains(&g.as_str()) {
                    groups.push(g.as_str());
                }
            }
        }
        if groups.is_empty() && !deny_list(config) {
            return Err(unauthorized_or_forbidden(exchange));
        }
        let header = check(config, &groups).map_err(|()| forbidden())?;
        Ok(pass(exchange, CONSUMER_GROUPS, header))
    }
}

/// An allowed request: the groups go upstream in `name` when there are any
/// to show.
fn pass(exchange: &mut Exchange<'_>, name: HeaderName, groups: Option<String>) -> Access {
    // The joined text becomes the value without another copy.
    if let Some(value) = groups.and_then(|g| http::HeaderValue::try_from(g).ok()) {
        exchange.upstream_headers.insert(name, value);
    }
    Access::Continue
}

/// Whether the plugin lists denied groups (else allowed ones).
fn deny_list(config: &AclConfig) -> bool {
    config.deny.as_ref().is_some_and(|d| !d.is_empty()) || config.allow.is_none()
}

/// Kong's allow/deny decision over `groups`; when allowed, the header
/// value to send upstream (the groups joined by `, `) unless
/// `hide_groups_header` or there are none.
fn check(config: &AclConfig, groups: &[&str]) -> Result<Option<String>, ()> {
    let deny = deny_list(config);
    let listed = match (deny, &config.deny, &config.allow) {
        (true, Some(deny), _) => deny,
        (false, _, Some(allow)) => allow,
        _ => return Err(()),
    };
    let in_group = listed.iter().any(|g| groups.contains(&g.as_str()));
    if in_group == deny {
        return Err(());
    }
    Ok((!config.hide_groups_header && !groups.is_empty()).then(|| groups.join(", ")))
}
