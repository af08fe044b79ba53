//! The introspection request's own fields (`introspection_*`): how the
//! client authenticates to that endpoint, the token parameter and hint,
//! and extra headers and form arguments.

use super::fields::header_name;
use super::read::{Fields, field};
use super::values::ClientAuth;
use crate::model::plugin::ConfigError;
use http::{HeaderName, HeaderValue};

/// How the introspection request is made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntrospectionRequest {
    /// `introspection_endpoint_auth_method`: overrides `client_auth` for
    /// this endpoint.
    pub auth_method: Option<ClientAuth>,
    /// `introspection_hint`: the `token_type_hint` sent (none when empty).
    pub hint: Option<String>,
    /// `introspection_token_param_name`: the form parameter of the token.
    pub token_param_name: String,
    /// `introspection_headers_names`/`_values`.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// `introspection_post_args_names`/`_values`.
    pub post_args: Vec<(String, String)>,
}

impl Default for IntrospectionRequest {
    fn default() -> Self {
        Self {
            auth_method: None,
            hint: Some("access_token".into()),
            token_param_name: "token".into(),
            headers: Vec::new(),
            post_args: Vec::new(),
        }
    }
}

/// Reads the `introspection_*` request fields.
pub(super) fn request(f: &Fields<'_>) -> Result<IntrospectionRequest, ConfigError> {
    let auth_method = f
        .string("introspection_endpoint_auth_method")?
        .map(|v| {
            ClientAuth::parse(&v).ok_or_else(|| {
                field(
                    "introspection_endpoint_auth_method",
                    format!("'{v}' is not supported by kingress (mutual TLS is not implemented)"),
                )
            })
        })
        .transpose()?;
    let hint = match f.string("introspection_hint")? {
        None => Some("access_token".to_string()),
        Some(h) if h.is_empty() => None,
        Some(h) => Some(h),
    };
    let token_param_name = f
        .non_empty("introspection_token_param_name")?
        .unwrap_or_else(|| "token".to_string());
    let mut headers = Vec::new();
    for (name, value) in pairs(f, "introspection_headers")? {
        let value = HeaderValue::from_str(&value).map_err(|_| {
            field(
                "introspection_headers_values",
                "values must be valid header values",
            )
        })?;
        headers.push((header_name("introspection_headers_names", &name)?, value));
    }
    let post_args = pairs(f, "introspection_post_args")?;
    if post_args.iter().any(|(name, _)| name.is_empty()) {
        return Err(field(
            "introspection_post_args_names",
            "names must not be empty",
        ));
    }
    Ok(IntrospectionRequest {
        auth_method,
        hint,
        token_param_name,
        headers,
        post_args,
    })
}

/// `<prefix>_names[i]` with `<prefix>_values[i]`; the lists must have the
/// same length.
fn pairs(f: &Fields<'_>, prefix: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let names_key = format!("{prefix}_names");
    let values_key = format!("{prefix}_values");
    let names = f.strings(&names_key)?.unwrap_or_default();
    let values = f.strings(&values_key)?.unwrap_or_default();
    if names.len() != values.len() {
        return Err(field(
            &values_key,
            format!("must have as many entries as {names_key}"),
        ));
    }
    Ok(names.into_iter().zip(values).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::plugin::OidcConfig;
    use serde_json::{Value, json};

    fn parse(extra: Value) -> Result<OidcConfig, ConfigError> {
        let mut v = json!({ "issuer": "https://idp.test" });
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        OidcConfig::parse(&v)
    }

    #[test]
    fn defaults_are_kongs() {
        let c = parse(json!({})).unwrap();
        assert_eq!(c.introspection, IntrospectionRequest::default());
        assert_eq!(c.introspection.hint.as_deref(), Some("access_token"));
        assert_eq!(c.introspection.token_param_name, "token");
    }

    #[test]
    fn the_request_fields_parse() {
        let c = parse(json!({
            "client_id": "kong",
            "client_secret": "s",
            "client_auth": "client_secret_basic",
            "introspection_endpoint_auth_method": "client_secret_post",
            "introspection_hint": "",
            "introspection_token_param_name": "access_token",
            "introspection_headers_names": ["x-api-key"],
            "introspection_headers_values": ["k1"],
            "introspection_post_args_names": ["resource"],
            "introspection_post_args_values": ["api"],
        }))
        .unwrap();
        assert_eq!(c.introspection_auth(), Some(ClientAuth::ClientSecretPost));
        assert_eq!(c.introspection.hint, None);
        assert_eq!(c.introspection.token_param_name, "access_token");
        assert_eq!(c.introspection.headers[0].0, "x-api-key");
        assert_eq!(
            c.introspection.post_args,
            vec![("resource".into(), "api".into())]
        );
    }

    #[test]
    fn mismatched_lists_and_mtls_are_refused() {
        let field_of = |extra: Value| match parse(extra) {
            Err(ConfigError::Field { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field_of(json!({ "introspection_headers_names": ["a"] })),
            "config.introspection_headers_values"
        );
        assert_eq!(
            field_of(
                json!({ "introspection_post_args_names": ["a", "b"], "introspection_post_args_values": ["1"] })
            ),
            "config.introspection_post_args_values"
        );
        assert_eq!(
            field_of(json!({ "introspection_endpoint_auth_method": "tls_client_auth" })),
            "config.introspection_endpoint_auth_method"
        );
        // The endpoint's own method must have what it needs too.
        assert_eq!(
            field_of(
                json!({ "client_id": "kong", "introspection_endpoint_auth_method": "client_secret_post" })
            ),
            "config.client_secret"
        );
    }
}
