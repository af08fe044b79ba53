//! Parameter reading of the oauth2 token and authorize endpoints: query
//! merged with a form, JSON or multipart body; client credentials from the
//! Basic header or parameters; grant type, scope, PKCE, redirect URI.
//!
//! Input: four lines (method, `Content-Type`, `Authorization`, query; `-`
//! for absent), then the body. The entry point checks the invariants (see
//! `kingress::plugins::oauth2::fuzz::read`); none may panic.
#![no_main]

use kingress::model::plugin::Oauth2Config;
use kingress::plugins::oauth2::fuzz::{Request, read};
use kingress_fuzz::{lines, optional, optional_str};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn config() -> &'static Oauth2Config {
    static CONFIG: OnceLock<Oauth2Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        Oauth2Config::parse(&serde_json::json!({
            "scopes": ["read", "write", "email"],
            "mandatory_scope": true,
            "provision_key": "provision-key",
            "enable_authorization_code": true,
            "enable_implicit_grant": true,
            "enable_client_credentials": true,
            "enable_password_grant": true,
            "pkce": "lax",
        }))
        .expect("fuzz oauth2 config parses")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some(([method, content_type, authorization, query], body)) = lines::<4>(data) else {
        return;
    };
    read(
        config(),
        &Request {
            method,
            content_type: optional(content_type),
            authorization: optional(authorization),
            query: optional_str(query),
            body,
        },
    );
});
