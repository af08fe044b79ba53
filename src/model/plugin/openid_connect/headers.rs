//! The `upstream_*` and `downstream_*` header fields: which header carries
//! each token or result to the upstream (request) or back to the client
//! (response), and which claims become headers.

use super::fields::{element, header_name};
use super::read::{Fields, field};
use super::values::{ClaimHeader, UpstreamTokenHeader};
use crate::model::plugin::ConfigError;
use http::HeaderName;
use serde_json::Value;

/// Kong's `upstream_access_token_header` default.
const ACCESS_TOKEN_DEFAULT: &str = "authorization:bearer";

/// Where tokens and results go on one side (`upstream` or `downstream`).
/// A header is set only when the method that accepted the request yields
/// the value (`bearer`, `introspection` and `kong_oauth2` yield no ID
/// token, refresh token, user info or session).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenHeaders {
    /// `*_access_token_header`: the access token (`name[:scheme]`).
    pub access_token: Option<UpstreamTokenHeader>,
    /// `*_access_token_jwk_header`: the JWK that verified the access token.
    pub access_token_jwk: Option<HeaderName>,
    /// `*_id_token_header`.
    pub id_token: Option<UpstreamTokenHeader>,
    /// `*_id_token_jwk_header`.
    pub id_token_jwk: Option<HeaderName>,
    /// `*_refresh_token_header`.
    pub refresh_token: Option<UpstreamTokenHeader>,
    /// `*_introspection_header`: the introspection result (base64 JSON).
    pub introspection: Option<HeaderName>,
    /// `*_introspection_jwt_header`: a signed introspection result.
    pub introspection_jwt: Option<HeaderName>,
    /// `*_user_info_header`: the user info (base64 JSON).
    pub user_info: Option<HeaderName>,
    /// `*_user_info_jwt_header`: signed user info.
    pub user_info_jwt: Option<HeaderName>,
    /// `*_session_id_header`.
    pub session_id: Option<HeaderName>,
    /// `*_headers_claims`/`*_headers_names` pairs and `*_headers` records.
    pub claims: Vec<ClaimHeader>,
}

// === impl TokenHeaders ===

impl TokenHeaders {
    /// Every header name this side may set (a client's copies are removed
    /// from the request before the plugin runs, for the upstream side).
    /// An iterator, not a list: the plugin walks it on every request.
    pub fn names(&self) -> impl Iterator<Item = &HeaderName> {
        let tokens = [&self.access_token, &self.id_token, &self.refresh_token];
        let plain = [
            &self.access_token_jwk,
            &self.id_token_jwk,
            &self.introspection,
            &self.introspection_jwt,
            &self.user_info,
            &self.user_info_jwt,
            &self.session_id,
        ];
        tokens
            .into_iter()
            .flatten()
            .map(|h| &h.name)
            .chain(plain.into_iter().flatten())
            .chain(self.claims.iter().map(|c| &c.header))
    }
}

/// Reads one side's fields; `side` is `upstream` or `downstream`.
pub(super) fn token_headers(f: &Fields<'_>, side: &str) -> Result<TokenHeaders, ConfigError> {
    let token = |what: &str| token_header(f, &format!("{side}_{what}_header"));
    let plain = |what: &str| plain_header(f, &format!("{side}_{what}_header"));
    let access_token = if side == "upstream" {
        upstream_access_token(f)?
    } else {
        token("access_token")?
    };
    Ok(TokenHeaders {
        access_token,
        access_token_jwk: plain("access_token_jwk")?,
        id_token: token("id_token")?,
        id_token_jwk: plain("id_token_jwk")?,
        refresh_token: token("refresh_token")?,
        introspection: plain("introspection")?,
        introspection_jwt: plain("introspection_jwt")?,
        user_info: plain("user_info")?,
        user_info_jwt: plain("user_info_jwt")?,
        session_id: plain("session_id")?,
        claims: claim_headers(f, side)?,
    })
}

/// `upstream_access_token_header`: absent is Kong's default; an explicit
/// `null` (or empty string) turns it off.
fn upstream_access_token(f: &Fields<'_>) -> Result<Option<UpstreamTokenHeader>, ConfigError> {
    const KEY: &str = "upstream_access_token_header";
    match f.0.get(KEY) {
        None => parse_token_header(KEY, ACCESS_TOKEN_DEFAULT).map(Some),
        Some(_) => token_header(f, KEY),
    }
}

fn token_header(f: &Fields<'_>, key: &str) -> Result<Option<UpstreamTokenHeader>, ConfigError> {
    match f.string(key)? {
        Some(v) if !v.trim().is_empty() => parse_token_header(key, &v).map(Some),
        _ => Ok(None),
    }
}

fn plain_header(f: &Fields<'_>, key: &str) -> Result<Option<HeaderName>, ConfigError> {
    match f.string(key)? {
        Some(v) if !v.trim().is_empty() => header_name(key, &v).map(Some),
        _ => Ok(None),
    }
}

/// `header-name[:scheme]`; the scheme `bearer` is written `Bearer`.
fn parse_token_header(key: &str, value: &str) -> Result<UpstreamTokenHeader, ConfigError> {
    let (name, scheme) = match value.split_once(':') {
        Some((name, scheme)) => (name, Some(scheme.trim())),
        None => (value, None),
    };
    let scheme = scheme.filter(|s| !s.is_empty()).map(|s| {
        if s.eq_ignore_ascii_case("bearer") {
            "Bearer".to_string()
        } else {
            s.to_string()
        }
    });
    if scheme
        .as_deref()
        .is_some_and(|s| s.contains(char::is_whitespace))
    {
        return Err(field(key, "the scheme must be one word"));
    }
    Ok(UpstreamTokenHeader {
        name: header_name(key, name)?,
        scheme,
    })
}

/// `<side>_headers_claims[i]` → `<side>_headers_names[i]` (top-level
/// claims), then the `<side>_headers` records (`{header, path}`).
fn claim_headers(f: &Fields<'_>, side: &str) -> Result<Vec<ClaimHeader>, ConfigError> {
    let claims_key = format!("{side}_headers_claims");
    let names_key = format!("{side}_headers_names");
    let claims = f.strings(&claims_key)?.unwrap_or_default();
    let names = f.strings(&names_key)?.unwrap_or_default();
    if claims.len() != names.len() {
        return Err(field(
            &names_key,
            format!("must have as many entries as {claims_key}"),
        ));
    }
    let mut out = Vec::new();
    for (claim, name) in claims.into_iter().zip(names) {
        if claim.is_empty() {
            return Err(field(&claims_key, "entries must not be empty"));
        }
        out.push(ClaimHeader {
            path: vec![claim],
            header: header_name(&names_key, &name)?,
        });
    }
    let records_key = format!("{side}_headers");
    let records = match f.raw(&records_key) {
        Some(Value::Array(items)) => items.as_slice(),
        Some(one @ Value::Object(_)) => std::slice::from_ref(one),
        _ => &[],
    };
    for (i, record) in records.iter().enumerate() {
        let at = element(&records_key, i);
        let header = record
            .get("header")
            .and_then(Value::as_str)
            .ok_or_else(|| field(&format!("{at}.header"), "required field missing"))?;
        let path: Vec<String> = match record.get("path") {
            Some(Value::Array(keys)) => keys
                .iter()
                .map(|k| k.as_str().map(str::to_string))
                .collect::<Option<_>>()
                .ok_or_else(|| field(&format!("{at}.path"), "expected an array of strings"))?,
            _ => return Err(field(&format!("{at}.path"), "required field missing")),
        };
        if path.is_empty() || path.iter().any(String::is_empty) {
            return Err(field(
                &format!("{at}.path"),
                "must be a non-empty claim path",
            ));
        }
        if let Some(Value::Object(extra)) = Some(record)
            && let Some(unknown) = extra
                .keys()
                .find(|k| !matches!(k.as_str(), "header" | "path"))
        {
            return Err(field(&format!("{at}.{unknown}"), "unknown field"));
        }
        out.push(ClaimHeader {
            path,
            header: header_name(&format!("{at}.header"), header)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::model::plugin::ConfigError;
    use crate::model::plugin::OidcConfig;
    use serde_json::{Value, json};

    fn parse(extra: Value) -> Result<OidcConfig, ConfigError> {
        let mut v = json!({ "issuer": "https://idp.test" });
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        OidcConfig::parse(&v)
    }

    fn err_field(extra: Value) -> String {
        match parse(extra) {
            Err(ConfigError::Field { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn every_token_header_of_both_sides() {
        let c = parse(json!({
            "upstream_id_token_header": "x-id-token",
            "upstream_refresh_token_header": "x-refresh:Bearer",
            "upstream_user_info_header": "x-userinfo",
            "upstream_session_id_header": "x-session",
            "downstream_access_token_header": "x-at",
            "downstream_introspection_header": "x-intro",
            "downstream_headers_claims": ["sub"],
            "downstream_headers_names": ["x-sub"],
        }))
        .unwrap();
        assert_eq!(c.upstream.id_token.as_ref().unwrap().name, "x-id-token");
        let refresh = c.upstream.refresh_token.as_ref().unwrap();
        assert_eq!(refresh.scheme.as_deref(), Some("Bearer"));
        assert_eq!(c.upstream.user_info.as_ref().unwrap(), "x-userinfo");
        assert_eq!(c.upstream.session_id.as_ref().unwrap(), "x-session");
        // The upstream access token keeps Kong's default.
        assert_eq!(
            c.upstream.access_token.as_ref().unwrap().name,
            "authorization"
        );
        assert_eq!(c.downstream.access_token.as_ref().unwrap().name, "x-at");
        assert_eq!(c.downstream.access_token.as_ref().unwrap().scheme, None);
        assert_eq!(c.downstream.introspection.as_ref().unwrap(), "x-intro");
        assert_eq!(c.downstream.claims[0].path, vec!["sub"]);
        let names: Vec<_> = c.upstream.names().collect();
        assert!(names.iter().any(|n| *n == "x-session") && names.iter().any(|n| *n == "x-refresh"));
    }

    #[test]
    fn header_records_carry_claim_paths() {
        let c = parse(json!({
            "upstream_headers_claims": ["email"],
            "upstream_headers_names": ["x-email"],
            "upstream_headers": [{"header": "x-tenant", "path": ["org", "tenant"]}],
        }))
        .unwrap();
        let paths: Vec<_> = c.upstream.claims.iter().map(|h| h.path.clone()).collect();
        assert_eq!(
            paths,
            vec![
                vec!["email".to_string()],
                vec!["org".into(), "tenant".into()]
            ]
        );
        assert_eq!(c.upstream.claims[1].header, "x-tenant");
        for (bad, at) in [
            (json!([{"path": ["a"]}]), "config.upstream_headers.1.header"),
            (json!([{"header": "x"}]), "config.upstream_headers.1.path"),
            (
                json!([{"header": "x", "path": []}]),
                "config.upstream_headers.1.path",
            ),
            (
                json!([{"header": "bad header", "path": ["a"]}]),
                "config.upstream_headers.1.header",
            ),
            (
                json!([{"header": "x", "path": ["a"], "other": 1}]),
                "config.upstream_headers.1.other",
            ),
        ] {
            assert_eq!(err_field(json!({ "upstream_headers": bad })), at);
        }
        assert_eq!(
            err_field(json!({ "downstream_headers_claims": ["a"] })),
            "config.downstream_headers_names"
        );
        assert_eq!(
            err_field(json!({ "downstream_session_id_header": "bad header" })),
            "config.downstream_session_id_header"
        );
    }
}
