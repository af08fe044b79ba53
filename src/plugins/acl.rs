//! Kong's `acl` plugin (`kong/plugins/acl/handler.lua`): after
//! authentication, the consumer's groups (its acl credentials, one range
//! of the table) are checked against `allow` or `deny`. No consumer is 401
//! "Unauthorized" (403 when a credential was presented); a blocked one 403
//! "You cannot consume this service". Allowed requests carry
//! `X-Consumer-Groups` (the groups joined by `, `) unless
//! `hide_groups_header`. With `include_consumer_groups` the consumer's
//! KongConsumerGroups count as groups as well.

use super::{Access, Exchange, Phases, PluginError, Runtime, consumer};
use crate::model::PluginInstance;
use crate::model::plugin::AclConfig;
use http::HeaderName;
use std::sync::Arc;

const BLOCKED: &str = "You cannot consume this service";
/// `X-Consumer-Groups`.
pub const CONSUMER_GROUPS: HeaderName = HeaderName::from_static("x-consumer-groups");

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
        let (deny, listed) = match (&config.deny, &config.allow) {
            (Some(deny), _) if !deny.is_empty() => (true, deny),
            (_, Some(allow)) => (false, allow),
            (Some(deny), None) => (true, deny),
            (None, None) => return Err(forbidden()),
        };
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
