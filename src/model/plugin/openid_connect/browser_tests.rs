//! The browser login, session and logout fields: Kong's defaults and the
//! values kingress refuses, with the field named.

use super::*;
use serde_json::{Value, json};

const ISSUER: &str = "https://idp.example/realms/r";

fn parse(extra: Value) -> Result<OidcConfig, ConfigError> {
    let mut v = json!({ "issuer": ISSUER, "client_id": "kong" });
    v.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    OidcConfig::parse(&v)
}

#[track_caller]
fn refused(extra: Value, field_name: &str, needle: &str) {
    let Err(ConfigError::Field { field, message }) = parse(extra) else {
        panic!("accepted")
    };
    assert_eq!(field, format!("config.{field_name}"));
    assert!(message.contains(needle), "{message}");
}

#[test]
fn kong_defaults() {
    let c = parse(json!({})).unwrap();
    let (login, session, logout) = (&c.login, &c.session, &c.logout);
    assert_eq!(login.response_mode, ResponseMode::Query);
    assert_eq!(login.scopes, ["openid"]);
    assert_eq!(login.action, LoginAction::Upstream);
    assert_eq!(login.redirect_mode, RedirectMode::Fragment);
    assert_eq!(login.tokens, [LoginToken::IdToken]);
    assert_eq!(login.methods, ["authorization_code"]);
    assert!(login.verify_nonce && login.pkce && !login.preserve_query_args);
    assert_eq!(login.cookie.name, "authorization");
    assert_eq!(login.cookie.same_site, SameSite::Default);
    assert_eq!(login.rolling_timeout, 600);
    assert_eq!(session.cookie.name, "session");
    assert_eq!(session.cookie.path, "/");
    assert_eq!(session.cookie.same_site, SameSite::Lax);
    assert!(session.cookie.http_only && session.cookie.secure.is_none());
    assert_eq!(
        (
            session.rolling_timeout,
            session.absolute_timeout,
            session.idling_timeout
        ),
        (3600, 86400, 900)
    );
    assert_eq!(session.storage, SessionStorage::Cookie);
    assert_eq!(
        (session.redis.host.as_str(), session.redis.port),
        ("127.0.0.1", 6379)
    );
    assert!(session.refresh_tokens && session.unauthorized_destroy && session.forbidden_destroy);
    assert!(session.secrets.is_empty());
    assert_eq!(session.refresh_param_name, "refresh_token");
    assert_eq!(logout.methods, [http::Method::DELETE, http::Method::POST]);
    assert!(!logout.enabled() && !logout.revoke);
    assert!(logout.revoke_access_token && logout.revoke_refresh_token);
    assert_eq!(logout.revocation_token_param_name, "token");
    // The browser login is opt-in.
    assert!(!c.enabled(AuthMethod::AuthorizationCode));
}

#[test]
fn login_tokens_null_means_none() {
    assert!(
        parse(json!({ "login_tokens": null }))
            .unwrap()
            .login
            .tokens
            .is_empty()
    );
}

#[test]
fn values_kingress_lacks_are_refused() {
    refused(
        json!({ "session_storage": "memcached" }),
        "session_storage",
        "'memcached' is not supported",
    );
    refused(
        json!({ "session_storage": "memcache" }),
        "session_storage",
        "cookie and redis are",
    );
    refused(
        json!({ "response_mode": "fragment" }),
        "response_mode",
        "never sees the fragment",
    );
    refused(
        json!({ "response_mode": "query.jwt" }),
        "response_mode",
        "JARM",
    );
    refused(
        json!({ "response_type": ["code", "id_token"] }),
        "response_type",
        "only",
    );
    refused(
        json!({ "login_tokens": ["introspection"] }),
        "login_tokens.1",
        "introspection",
    );
    refused(
        json!({ "session_secret": "short" }),
        "session_secret",
        "at least 16",
    );
    refused(
        json!({ "session_cookie_name": "a b" }),
        "session_cookie_name",
        "not a valid cookie name",
    );
    refused(
        json!({ "session_cookie_path": "/;x" }),
        "session_cookie_path",
        "attribute",
    );
    refused(
        json!({ "redirect_uri": ["https://a.test/cb", "https://b.test/cb"] }),
        "redirect_uri",
        "only one",
    );
    refused(
        json!({ "login_redirect_uri": ["not a url"] }),
        "login_redirect_uri",
        "not a valid URL",
    );
    refused(
        json!({ "token_endpoint_auth_method": "tls_client_auth" }),
        "token_endpoint_auth_method",
        "not supported",
    );
    refused(
        json!({ "session_remember": true }),
        "session_remember",
        "not supported",
    );
    refused(
        json!({ "session_bind": ["ip"] }),
        "session_bind",
        "not supported",
    );
    refused(
        json!({ "authorization_query_args_names": ["a"], "authorization_query_args_values": [] }),
        "authorization_query_args_values",
        "as many entries",
    );
    refused(
        json!({ "session_storage": "redis", "redis": { "sentinel_master": "m" } }),
        "redis.sentinel_master",
        "not supported",
    );
    refused(
        json!({ "session_storage": "redis", "redis": { "ssl_verify": false } }),
        "redis.ssl_verify",
        "always verifies",
    );
}

#[test]
fn redis_settings_and_secrets() {
    let c = parse(json!({
        "session_storage": "redis", "session_secret": "new-secret-0123456789 old-secret-0123456789",
        "redis": { "host": "redis.test", "port": 6380, "password": "pw", "database": 2, "prefix": "p:",
                   "sentinel_master": null, "connect_timeout": 2000 },
    }))
    .unwrap();
    let r = &c.session.redis;
    assert_eq!(
        (r.host.as_str(), r.port, r.database),
        ("redis.test", 6380, 2)
    );
    assert_eq!(r.password.as_ref().unwrap().expose(), "pw");
    assert_eq!(r.prefix.as_deref(), Some("p:"));
    assert_eq!(c.session.secrets.len(), 2);
    // The legacy (Kong 3.4) spelling.
    let c = parse(json!({ "session_redis_host": "old.test", "session_redis_port": 7000 })).unwrap();
    assert_eq!(
        (c.session.redis.host.as_str(), c.session.redis.port),
        ("old.test", 7000)
    );
    // With cookie storage the record is not used, whatever it holds.
    assert!(parse(json!({ "redis": { "sentinel_master": "m" } })).is_ok());
}

#[test]
fn methods_and_endpoint_auth() {
    let c = parse(json!({
        "auth_methods": ["session", "authorization_code", "refresh_token", "bearer"],
        "client_auth": "client_secret_basic", "client_secret": "s",
        "token_endpoint_auth_method": "client_secret_post",
    }))
    .unwrap();
    assert_eq!(
        c.auth_methods,
        [
            AuthMethod::Session,
            AuthMethod::Bearer,
            AuthMethod::RefreshToken,
            AuthMethod::AuthorizationCode
        ]
    );
    assert_eq!(c.token_auth(), Some(ClientAuth::ClientSecretPost));
    assert_eq!(c.revocation_auth(), Some(ClientAuth::ClientSecretBasic));
}
