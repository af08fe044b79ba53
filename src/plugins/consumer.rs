//! Consumer headers shared by the authentication plugins (Kong's
//! `set_consumer`): set what the plugin authenticated, clear everything a
//! client may have sent under the same names; and the `anonymous`
//! fallback every authentication plugin shares.
//!
//! This is also the one list of *identity headers*: names only a plugin may
//! set. The proxy removes a client's copies of them in every spelling
//! before any plugin runs ([`is_identity`]), because CGI, WSGI and Rack
//! servers read `X_Consumer_ID` and `X-Consumer-ID` as the same variable.

use super::{Authenticated, Exchange, PluginError};
use http::{HeaderName, HeaderValue};

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

/// Identity headers of Kong plugins kingress does not run (acl's groups,
/// the deprecated `X-Credential-Username`, openid-connect's user-info and
/// ID-token headers): an upstream written for Kong may trust them, so a
/// client may not send them either. `X-Access-Token` is not here: it is a
/// place where clients send their own token to openid-connect.
const KONG_IDENTITY: [&str; 5] = [
    "x-credential-username",
    "x-consumer-groups",
    "x-authenticated-groups",
    "x-userinfo",
    "x-id-token",
];

/// Whether `name` is an identity header in any spelling: any case, `_`
/// for `-` (header names arrive lower-cased).
pub fn is_identity(name: &str) -> bool {
    // Every identity header starts `x-`; most client headers do not.
    let bytes = name.as_bytes();
    if bytes.len() < 2 || !bytes[0].eq_ignore_ascii_case(&b'x') || !matches!(bytes[1], b'-' | b'_')
    {
        return false;
    }
    ALL.iter()
        .map(HeaderName::as_str)
        .chain(KONG_IDENTITY)
        .any(|identity| same_header(name, identity))
}

/// Whether two header names are the same header to a server that folds
/// case and reads `_` as `-` (CGI's `HTTP_X_CONSUMER_ID`).
pub fn same_header(a: &str, b: &str) -> bool {
    let fold = |c: u8| {
        if c == b'_' {
            b'-'
        } else {
            c.to_ascii_lowercase()
        }
    };
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| fold(x) == fold(y))
}

/// Removes every consumer header an earlier plugin set on this request.
/// A client's own copies never get this far: the proxy removes every
/// spelling of them before any plugin runs (`proxy::inbound::screen`).
pub fn clear_all(exchange: &mut Exchange<'_>) {
    exchange.upstream_headers.retain(|name| !ALL.contains(name));
}

/// Records `who` on the exchange and sets Kong's consumer headers:
/// id always, custom id and username when present (cleared otherwise),
/// `X-Credential-Identifier` for a real credential, `X-Anonymous-Consumer:
/// true` for the anonymous fallback. Scope and user id are set by the caller
/// because only some methods have them.
pub fn set_consumer(exchange: &mut Exchange<'_>, who: Authenticated) {
    clear_all(exchange);
    let identity = who.consumer.identity();
    let set = [
        (CONSUMER_ID, &identity.id),
        (CONSUMER_CUSTOM_ID, &identity.custom_id),
        (CONSUMER_USERNAME, &identity.username),
    ];
    for (name, value) in set {
        if let Some(value) = value {
            exchange.upstream_headers.append(name, value.clone());
        }
    }
    if who.anonymous {
        exchange
            .upstream_headers
            .append(ANONYMOUS_CONSUMER, HeaderValue::from_static("true"));
    } else if let Some(credential) = &who.credential {
        exchange.set_upstream_header(CREDENTIAL_IDENTIFIER, credential);
    }
    exchange.authenticated = Some(who);
}

/// Whether an earlier plugin authenticated the request with a credential
/// (not as `anonymous`): Kong's `kong.client.get_credential()`, which ends
/// the logical OR of plugins configured with `anonymous`.
pub fn has_credential(exchange: &Exchange<'_>) -> bool {
    exchange
        .authenticated
        .as_ref()
        .is_some_and(|a| !a.anonymous)
}

/// Authentication failed and the plugin names an `anonymous` consumer (by id
/// or username): continue as that consumer. One that is not in the table is
/// Kong's 500 naming it; which plugin and route asked goes to the log only.
pub fn set_anonymous(
    exchange: &mut Exchange<'_>,
    plugin: &str,
    anonymous: &str,
) -> Result<(), PluginError> {
    let Some(consumer) = exchange.table.find_shared_consumer(anonymous) else {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_headers_in_every_spelling() {
        for name in [
            "x-consumer-id",
            "x_consumer_id",
            "X_Consumer-Username",
            "x-authenticated_scope",
            "x_credential_identifier",
            "x-anonymous-consumer",
            "x-authenticated-userid",
            "x-consumer-custom-id",
            "x_userinfo",
            "x-id-token",
            "x-consumer-groups",
            "x_credential_username",
            "x-authenticated-groups",
        ] {
            assert!(is_identity(name), "{name}");
        }
        for name in [
            "x-consumer",
            "x-consumer-id2",
            "consumer-id",
            "x-access-token",
            "my_header",
            "x",
            "",
        ] {
            assert!(!is_identity(name), "{name}");
        }
    }
}
