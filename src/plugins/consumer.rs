//! Consumer headers shared by the authentication plugins (Kong's
//! `set_consumer`): set what the plugin authenticated, clear everything a
//! client may have sent under the same names; and the `anonymous`
//! fallback every authentication plugin shares.

use super::{Authenticated, Exchange, PluginError};
use http::HeaderName;

/// `X-Consumer-ID`.
pub const CONSUMER_ID: HeaderName = HeaderName::from_static("x-consumer-id");
/// `X-Consumer-Custom-ID`.
pub const CONSUMER_CUSTOM_ID: HeaderName = HeaderName::from_static("x-consumer-custom-id");
/// `X-Consumer-Username`.
pub const CONSUMER_USERNAME: HeaderName = HeaderName::from_static("x-consumer-username");
/// `X-Credential-Identifier`.
pub const CREDENTIAL_IDENTIFIER: HeaderName = HeaderName::from_static("x-credential-identifier");
/// `X-Anonymous-Consumer`.
pub const ANONYMOUS_CONSUMER: HeaderName = HeaderName::from_static("x-anonymous-consumer");
/// `X-Authenticated-Scope`.
pub const AUTHENTICATED_SCOPE: HeaderName = HeaderName::from_static("x-authenticated-scope");
/// `X-Authenticated-Userid`.
pub const AUTHENTICATED_USERID: HeaderName = HeaderName::from_static("x-authenticated-userid");

/// Every header an authentication plugin owns; client copies never reach
/// the upstream.
pub const ALL: [HeaderName; 7] = [
    CONSUMER_ID,
    CONSUMER_CUSTOM_ID,
    CONSUMER_USERNAME,
    CREDENTIAL_IDENTIFIER,
    ANONYMOUS_CONSUMER,
    AUTHENTICATED_SCOPE,
    AUTHENTICATED_USERID,
];

/// Removes client-sent copies of every consumer header.
pub fn clear_all(exchange: &mut Exchange<'_>) {
    for name in ALL {
        exchange.clear_upstream_header(name);
    }
}

/// Records `who` on the exchange and sets Kong's consumer headers:
/// id always, custom id and username when present (cleared otherwise),
/// `X-Credential-Identifier` for a real credential, `X-Anonymous-Consumer:
/// true` for the anonymous fallback. Scope and user id are set by the caller
/// because only some methods have them.
pub fn set_consumer(exchange: &mut Exchange<'_>, who: Authenticated) {
    clear_all(exchange);
    exchange.set_upstream_header(CONSUMER_ID, &who.consumer.id);
    if let Some(custom) = &who.consumer.custom_id {
        exchange.set_upstream_header(CONSUMER_CUSTOM_ID, custom);
    }
    if let Some(username) = &who.consumer.username {
        exchange.set_upstream_header(CONSUMER_USERNAME, username);
    }
    if who.anonymous {
        exchange.set_upstream_header(ANONYMOUS_CONSUMER, "true");
    } else if let Some(credential) = &who.credential {
        exchange.set_upstream_header(CREDENTIAL_IDENTIFIER, credential);
    }
    exchange.authenticated = Some(who);
}

/// Authentication failed and the plugin names an `anonymous` consumer (by id
/// or username): continue as that consumer. One that is not in the table is
/// Kong's 500 naming it; which plugin and route asked goes to the log only.
pub fn set_anonymous(
    exchange: &mut Exchange<'_>,
    plugin: &str,
    anonymous: &str,
) -> Result<(), PluginError> {
    let Some(consumer) = exchange.table.find_consumer(anonymous) else {
        tracing::error!(
            plugin,
            route = %exchange.route.name,
            anonymous,
            "anonymous consumer is configured but doesn't exist: no consumer has this id or username"
        );
        return Err(PluginError::AnonymousMissing(anonymous.to_string()));
    };
    let who = Authenticated {
        consumer: consumer.clone(),
        credential: None,
        anonymous: true,
    };
    set_consumer(exchange, who);
    Ok(())
}
