//! The entry point of the `oauth2_params` fuzz target (`fuzz/`): a
//! client's request read as the token and authorize endpoints read it, with
//! what must hold of every reading checked. Not an API; hidden from the docs.

use super::client_auth;
use super::grants::Grant;
use super::{pkce, redirect, scope};
use crate::model::Sensitive;
use crate::model::plugin::Oauth2Config;
use crate::plugins::params::{self, Params};
use crate::tokens::AuthCode;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method};

/// The parts of a request the endpoints read, as a client may send them.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The method token (`POST`, `GET`, …).
    pub method: &'a [u8],
    /// `Content-Type`, if sent.
    pub content_type: Option<&'a [u8]>,
    /// `Authorization`, if sent.
    pub authorization: Option<&'a [u8]>,
    /// The query string, if any.
    pub query: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
}

/// Reads `request` under `config` as both endpoints do: parameters (query
/// merged with a form, JSON or multipart body), client credentials (Basic
/// header or parameters), grant type, scope, PKCE challenge and verifier,
/// the redirect URI built for the answer, and the query with
/// `access_token` removed. Panics when a reading breaks its rules.
pub fn read(config: &Oauth2Config, request: &Request<'_>) {
    // Requests hyper would refuse before any plugin sees them are skipped.
    let Ok(method) = Method::from_bytes(request.method) else {
        return;
    };
    let mut headers = HeaderMap::new();
    for (name, value) in [
        (CONTENT_TYPE, request.content_type),
        (AUTHORIZATION, request.authorization),
    ] {
        if let Some(value) = value {
            let Ok(value) = HeaderValue::from_bytes(value) else {
                return;
            };
            headers.insert(name, value);
        }
    }

    let mut read = Params::from_query(request.query);
    if let Some(kind) = params::body_read(&method, &headers) {
        let body = Params::from_body(&kind, Bytes::copy_from_slice(request.body));
        read.merge(futures::executor::block_on(body));
    }

    let presented = client_auth::retrieve(&read, &headers, &AUTHORIZATION);
    if let Some(decoded) = &presented.decoded {
        assert!(presented.raw.from_header && decoded.from_header);
        assert_ne!(
            *decoded, presented.raw,
            "a second reading only when it differs"
        );
    }
    if presented.raw.from_header {
        assert!(!(read.has("client_id") && read.has("client_secret")));
    } else if !read.has("client_secret") {
        assert_eq!(presented.raw.client_id.as_deref(), read.string("client_id"));
    }

    let grant = Grant::enabled(read.string("grant_type"), config);
    if grant.is_some() {
        assert!(read.string("grant_type").is_some());
    }

    if let Ok(Some(granted)) = scope::retrieve(&read, config) {
        let allowed = config.scopes.as_deref().unwrap_or_default();
        assert!(granted.split(' ').all(|s| allowed.iter().any(|a| a == s)));
        assert!(scope::still_allowed(Some(&granted), config).is_ok());
    }

    if let Ok(Some((challenge, method))) = pkce::challenge(&read) {
        assert_eq!(method, pkce::S256);
        let code = AuthCode {
            code: Sensitive::new("code"),
            credential_id: "client".into(),
            service: None,
            plugin_id: "plugin".into(),
            authenticated_userid: None,
            scope: None,
            challenge: Some(challenge),
            challenge_method: Some(method.to_string()),
            created_at: 0,
        };
        if pkce::verify(&read, &code).is_ok() {
            let verifier = read.string("code_verifier").unwrap_or_default();
            assert_eq!(code.challenge, Some(pkce::s256(verifier)));
        }
    }

    if let Some(registered) = read.string("redirect_uri") {
        let answer = [(
            "state",
            read.string("state").unwrap_or_default().to_string(),
        )];
        for fragment in [false, true] {
            let built = redirect::build(registered, &answer, fragment);
            let base = registered.split(['?', '#']).next().unwrap_or_default();
            assert!(built.starts_with(base), "{built:?} keeps {base:?}");
        }
    }

    if let Some(query) = request.query {
        let kept = params::without_param(query, "access_token");
        assert!(!Params::from_query(Some(&kept)).has("access_token"));
    }
}
