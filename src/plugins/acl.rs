//! Kong's `acl` plugin (`kong/plugins/acl/handler.lua`): after
//! authentication, the consumer's groups (its acl credentials, one range
//! of the table) are checked against `allow` or `deny`. No consumer is 401
//! "Unauthorized" (403 when a credential was presented); a blocked one 403
//! "You cannot consume this service". Allowed requests carry
//! `X-Consumer-Groups` (the groups joined by `, `) unless
//! `hide_groups_header`. With `include_consumer_groups` the consumer's
//! KongConsumerGroups count as groups as well. Groups an identity provider
//! vouched for (openid-connect's `authenticated_groups_claim`) are checked
//! instead when no consumer was identified, when the consumer is the
//! anonymous one, or with `always_use_authenticated_groups`; the upstream
//! then gets them as `X-Authenticated-Groups`.

use super::{Access, Exchange, Phases, PluginError, Runtime, consumer};
use crate::model::PluginInstance;
use crate::model::plugin::AclConfig;
use http::HeaderName;
use std::sync::Arc;

const BLOCKED: &str = "You cannot consume this service";
/// `X-Consumer-Groups`.
pub const CONSUMER_GROUPS: HeaderName = HeaderName::from_static("x-consumer-groups");
/// `X-Authenticated-Groups`: the groups when they came from an identity
/// provider rather than the consumer.
pub const AUTHENTICATED_GROUPS: HeaderName = HeaderName::from_static("x-authenticated-groups");

impl Phases for AclConfig {
    async fn access(
        config: &Arc<Self>,
        _instance: &PluginInstance,
        exchange: &mut Exchange<'_>,
        _runtime: &Runtime,
    ) -> Result<Access, PluginError> {
        let (deny, listed) = match (&config.deny, &config.allow) {
            (Some(deny), _) if !deny.is_empty() => (true, deny),
            (_, Some(allow)) => (false, allow),
            (Some(deny), None) => (true, deny),
            (None, None) => return Err(forbidden()),
        };
        // Kong's order: without a consumer only an identity provider's
        // groups count; with one, they replace the consumer's when it came
        // without a credential (anonymous) or when the config says so.
        let consumer = exchange.authenticated.as_ref();
        let use_authenticated = match consumer {
            None => true,
            Some(_) => {
                !consumer::has_credential(exchange) || config.always_use_authenticated_groups
            }
        };
        if use_authenticated && let Some(groups) = &exchange.authenticated_groups {
            let in_group = listed.iter().any(|g| groups.contains(g));
            if in_group == deny {
                return Err(forbidden());
            }
            if !config.hide_groups_header && !groups.is_empty() {
                let value = groups.join(", ");
                exchange.set_upstream_header(AUTHENTICATED_GROUPS, &value);
            }
            return Ok(Access::Continue);
        }
        let Some(who) = consumer else {
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
        if groups.is_empty() && !deny {
            return Err(unauthorized_or_forbidden(exchange));
        }
        let in_group = listed.iter().any(|g| groups.contains(&g.as_str()));
        if in_group == deny {
            return Err(forbidden());
        }
        if !config.hide_groups_header && !groups.is_empty() {
            exchange.set_upstream_header(CONSUMER_GROUPS, &groups.join(", "));
        }
        Ok(Access::Continue)
    }
}

fn forbidden() -> PluginError {
    PluginError::Forbidden {
        message: BLOCKED.into(),
        www_authenticate: None,
    }
}

/// Kong: 403 when a credential was presented (it identified no one with
/// groups), 401 "Unauthorized" when nothing was.
fn unauthorized_or_forbidden(exchange: &Exchange<'_>) -> PluginError {
    if consumer::has_credential(exchange) {
        forbidden()
    } else {
        PluginError::Plain {
            status: http::StatusCode::UNAUTHORIZED,
            message: "Unauthorized".into(),
        }
    }
}
