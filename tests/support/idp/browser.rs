//! The provider's browser-facing endpoints: authorization (signs in the
//! configured user at once, no login form) and end session (RP-initiated
//! logout). Both record what they were sent.

use super::grants::Code;
use super::{Idp, State, now, reply};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use parking_lot::Mutex;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A request's parameters, in order (a repeated name keeps every value).
pub type Params = Vec<(String, String)>;

/// What the browser endpoints keep.
#[derive(Default)]
pub(super) struct BrowserState {
    pub(super) calls: AtomicUsize,
    pub(super) end_session_calls: AtomicUsize,
    login_claims: Mutex<Option<Value>>,
    deny: Mutex<Option<String>>,
    authorizations: Mutex<Vec<Params>>,
    end_sessions: Mutex<Vec<Params>>,
}

/// The first value of `name`.
pub fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

// === impl Idp ===

impl Idp {
    /// Claims of the user the authorization endpoint signs in (merged over
    /// `sub: user-1`, `preferred_username: alice`, `email`).
    pub fn set_login_claims(&self, claims: Value) {
        *self.state.browser.login_claims.lock() = Some(claims);
    }

    /// Makes the next authorization answer `error=<error>` instead of a code.
    pub fn deny_next_login(&self, error: &str) {
        *self.state.browser.deny.lock() = Some(error.to_string());
    }

    /// The authorization requests received, in order.
    pub fn authorization_requests(&self) -> Vec<Params> {
        self.state.browser.authorizations.lock().clone()
    }

    /// The end-session requests received, in order.
    pub fn end_session_requests(&self) -> Vec<Params> {
        self.state.browser.end_sessions.lock().clone()
    }

    /// The authorization endpoint.
    pub fn authorization_url(&self) -> String {
        format!("{}/protocol/openid-connect/auth", self.issuer)
    }

    /// The end-session endpoint.
    pub fn end_session_url(&self) -> String {
        format!("{}/protocol/openid-connect/logout", self.issuer)
    }
}

/// The signed-in user's claims.
pub(super) fn user_claims(state: &State) -> Value {
    let mut claims = json!({
        "sub": "user-1", "preferred_username": "alice", "email": "alice@example.test",
    });
    if let Some(Value::Object(extra)) = state.browser.login_claims.lock().clone() {
        for (k, v) in extra {
            claims[k] = v;
        }
    }
    claims
}

/// `GET /auth`: validates the request, signs the user in, and sends the
/// browser back with a code (query redirect, or a `form_post` page).
pub(super) fn authorize(state: &State, request: Request<Incoming>) -> Response<Full<Bytes>> {
    state.browser.calls.fetch_add(1, Ordering::SeqCst);
    let params: Params = form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    state.browser.authorizations.lock().push(params.clone());
    let get = |k: &str| param(&params, k).map(str::to_string);
    let bad = |why: &str| {
        reply(
            StatusCode::BAD_REQUEST,
            json!({ "error": "invalid_request", "error_description": why }),
        )
    };
    let (Some(client_id), Some(redirect_uri)) = (get("client_id"), get("redirect_uri")) else {
        return bad("client_id and redirect_uri are required");
    };
    if !state.clients.lock().contains_key(&client_id) {
        return bad("unknown client");
    }
    if get("response_type").as_deref() != Some("code") {
        return bad("response_type must be code");
    }
    let challenge = get("code_challenge");
    if challenge.is_some() && get("code_challenge_method").as_deref() != Some("S256") {
        return bad("only S256 is accepted");
    }
    let mut answer = vec![];
    if let Some(error) = state.browser.deny.lock().take() {
        answer.push(("error".to_string(), error));
    } else {
        let code = uuid::Uuid::new_v4().to_string();
        let grant = Code {
            client_id,
            redirect_uri: redirect_uri.clone(),
            nonce: get("nonce"),
            challenge,
            scope: get("scope").unwrap_or_default(),
            claims: user_claims(state),
            issued: now(),
        };
        state.grants.codes.lock().insert(code.clone(), grant);
        answer.push(("code".to_string(), code));
    }
    if let Some(s) = get("state") {
        answer.push(("state".to_string(), s));
    }
    if get("response_mode").as_deref() == Some("form_post") {
        return form_post(&redirect_uri, &answer);
    }
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&answer)
        .finish();
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    redirect(&format!("{redirect_uri}{sep}{query}"))
}

/// `GET|POST /logout`: records the request; redirects to
/// `post_logout_redirect_uri` (with `state`) when given.
pub(super) async fn end_session(
    state: &State,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    state
        .browser
        .end_session_calls
        .fetch_add(1, Ordering::SeqCst);
    let mut params: Params = form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let body = request.into_body().collect().await.unwrap().to_bytes();
    params.extend(form_urlencoded::parse(&body).into_owned());
    state.browser.end_sessions.lock().push(params.clone());
    let Some(target) = param(&params, "post_logout_redirect_uri") else {
        return reply(StatusCode::OK, json!({ "logged_out": true }));
    };
    let mut location = target.to_string();
    if let Some(s) = param(&params, "state") {
        let sep = if location.contains('?') { '&' } else { '?' };
        let q: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("state", s)
            .finish();
        location = format!("{location}{sep}{q}");
    }
    redirect(&location)
}

fn redirect(location: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::FOUND)
        .header("location", location)
        .body(Full::new(Bytes::new()))
        .unwrap()
}

/// The `form_post` response mode: a page whose form the browser submits.
fn form_post(action: &str, fields: &[(String, String)]) -> Response<Full<Bytes>> {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let inputs: String = fields
        .iter()
        .map(|(k, v)| {
            format!(
                r#"<input type="hidden" name="{}" value="{}">"#,
                escape(k),
                escape(v)
            )
        })
        .collect();
    let html = format!(
        r#"<html><body onload="document.forms[0].submit()"><form method="post" action="{}">{inputs}</form></body></html>"#,
        escape(action)
    );
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "text/html")
        .body(Full::new(Bytes::from(html)))
        .unwrap()
}

/// The fields of a `form_post` page, for a test to submit.
pub fn form_post_fields(html: &str) -> (String, HashMap<String, String>) {
    let unescape = |s: &str| {
        s.replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    let action = regex::Regex::new(r#"action="([^"]*)""#)
        .unwrap()
        .captures(html)
        .map(|c| unescape(&c[1]))
        .unwrap();
    let fields = regex::Regex::new(r#"name="([^"]*)" value="([^"]*)""#)
        .unwrap()
        .captures_iter(html)
        .map(|c| (unescape(&c[1]), unescape(&c[2])))
        .collect();
    (action, fields)
}
