//! The provider's userinfo endpoint (OpenID Connect Core §5.3): a GET with
//! `Authorization: Bearer <token>` answers the claims of an active token
//! (one added with `Idp::add_token` or issued by the token endpoint), without
//! the introspection-only `active`; anything else is a 401 with
//! `WWW-Authenticate: Bearer error="invalid_token"`.

use super::{State, reply};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;

/// `GET /protocol/openid-connect/userinfo`.
pub(super) fn userinfo(state: &State, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    state.userinfo.fetch_add(1, Ordering::SeqCst);
    let token = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let claims = token.and_then(|t| state.tokens.lock().get(t).cloned());
    match claims {
        Some(mut claims) if claims["active"] == Value::Bool(true) => {
            if let Some(obj) = claims.as_object_mut() {
                obj.remove("active");
            }
            reply(StatusCode::OK, claims)
        }
        _ => {
            let mut r = reply(
                StatusCode::UNAUTHORIZED,
                json!({ "error": "invalid_token" }),
            );
            r.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
            r
        }
    }
}
