//! Client authentication towards the identity provider's introspection
//! and token endpoints:
//! `client_secret_basic`, `client_secret_post`, `client_secret_jwt`,
//! `private_key_jwt` (RFC 7523 assertions) and `none`.

use super::discovery::Document;
use super::failure::Reason;
use super::signing_key::{SigningKey, algorithm};
use crate::model::Sensitive;
use crate::model::plugin::OidcConfig;
use crate::model::plugin::openid_connect::{ClientAuth, SigningAlg};
use jsonwebtoken::{EncodingKey, Header};
use parking_lot::Mutex;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// RFC 7523 §2.2.
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Assertion lifetime: long enough for clock skew, short enough that a
/// captured assertion is soon useless.
const ASSERTION_LIFETIME: u64 = 60;
/// Plugin instances whose keys are remembered.
const MAX_KEYS: usize = 256;

/// What to add to the introspection request.
pub(super) struct ClientCredentials {
    /// Form parameters (`client_id`, `client_secret`, `client_assertion`…).
    pub(super) form: Vec<(&'static str, String)>,
    /// HTTP Basic id and secret.
    pub(super) basic: Option<(String, Sensitive)>,
}

/// A key generated on first use, shared by concurrent first users.
type GeneratedCell = Arc<tokio::sync::OnceCell<Arc<SigningKey>>>;

/// Signing keys per plugin instance: built from `client_jwk`, or
/// generated on first use and then kept for the life of the process.
#[derive(Default)]
pub(super) struct Keys {
    generated: Mutex<HashMap<(String, SigningAlg), GeneratedCell>>,
    configured: Mutex<HashMap<String, Configured>>,
}

struct Configured {
    jwk: Sensitive,
    alg: SigningAlg,
    key: Arc<SigningKey>,
}

// === impl Keys ===

impl Keys {
    /// The private key `private_key_jwt` signs with for this plugin.
    async fn signer(
        &self,
        plugin_id: &str,
        config: &OidcConfig,
    ) -> Result<Arc<SigningKey>, Reason> {
        let Some(jwk) = &config.client_jwk else {
            let alg = config.client_alg.unwrap_or(SigningAlg::RS256);
            return self.generated(plugin_id, alg).await;
        };
        let alg = config.client_alg.unwrap_or_else(|| jwk.default_alg());
        if let Some(c) = self.configured.lock().get(plugin_id)
            && c.alg == alg
            && c.jwk == jwk.json
        {
            return Ok(c.key.clone());
        }
        let key = Arc::new(SigningKey::from_jwk(jwk, alg).map_err(|e| {
            tracing::warn!(plugin = plugin_id, error = %e, "client_jwk unusable");
            Reason::ClientAuth
        })?);
        let mut configured = self.configured.lock();
        if configured.len() >= MAX_KEYS {
            configured.clear();
        }
        configured.insert(
            plugin_id.to_string(),
            Configured {
                jwk: jwk.json.clone(),
                alg,
                key: key.clone(),
            },
        );
        Ok(key)
    }

    async fn generated(&self, plugin_id: &str, alg: SigningAlg) -> Result<Arc<SigningKey>, Reason> {
        let cell = {
            let mut map = self.generated.lock();
            if map.len() >= MAX_KEYS && !map.contains_key(&(plugin_id.to_string(), alg)) {
                map.retain(|_, c| Arc::strong_count(c) > 1);
            }
            map.entry((plugin_id.to_string(), alg)).or_default().clone()
        };
        cell.get_or_try_init(|| async move {
            // RSA generation takes a while; keep it off the reactor.
            let key = tokio::task::spawn_blocking(move || SigningKey::generate(alg))
                .await
                .map_err(|_| Reason::ClientAuth)?
                .map_err(|e| {
                    tracing::warn!(error = %e, "client key generation failed");
                    Reason::ClientAuth
                })?;
            tracing::info!(plugin = plugin_id, kid = ?key.kid, "generated private_key_jwt client key");
            Ok(Arc::new(key))
        })
        .await
        .cloned()
    }

    /// The public JWKS of the keys generated for a plugin instance (what an
    /// operator registers at the identity provider), if any.
    pub(super) fn public_jwks(&self, plugin_id: &str) -> Option<Value> {
        let keys: Vec<Value> = self
            .generated
            .lock()
            .iter()
            .filter(|((id, _), _)| id == plugin_id)
            .filter_map(|(_, cell)| cell.get().map(|k| k.public_jwk.clone()))
            .collect();
        (!keys.is_empty()).then(|| json!({ "keys": keys }))
    }
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").finish_non_exhaustive()
    }
}

/// One call's client: how it may authenticate and with which identity.
pub(super) struct Call<'a> {
    /// The method configured for this endpoint (`client_auth`, or
    /// `token_endpoint_auth_method` for the token endpoint); `None` picks.
    pub(super) method: Option<ClientAuth>,
    /// The methods the provider advertises for this endpoint.
    pub(super) advertised: &'a [String],
    /// Credentials the request presented (Kong's `client_credentials`
    /// method authenticates as the requesting client), used instead of
    /// `client_id`/`client_secret`.
    pub(super) presented: Option<(String, Sensitive)>,
}

/// The method used: the configured one, else one the provider advertises
/// that the credentials can satisfy (secrets first), else
/// `client_secret_basic` with a secret, else `none`.
fn choose(config: &OidcConfig, call: &Call<'_>) -> ClientAuth {
    if let Some(auth) = call.method {
        return auth;
    }
    let advertised: Vec<ClientAuth> = call
        .advertised
        .iter()
        .filter_map(|m| ClientAuth::from_metadata(m))
        .collect();
    let offered = |m: ClientAuth| advertised.is_empty() || advertised.contains(&m);
    let has_secret =
        call.presented.is_some() || (config.client_id.is_some() && config.client_secret.is_some());
    if has_secret {
        for m in [
            ClientAuth::ClientSecretBasic,
            ClientAuth::ClientSecretPost,
            ClientAuth::ClientSecretJwt,
        ] {
            if offered(m) {
                return m;
            }
        }
    }
    if call.presented.is_none()
        && config.client_id.is_some()
        && config.client_jwk.is_some()
        && offered(ClientAuth::PrivateKeyJwt)
    {
        return ClientAuth::PrivateKeyJwt;
    }
    ClientAuth::None
}

/// Builds the client authentication for a call to the introspection
/// `endpoint`; `configured` is the method configured for it
/// (`introspection_endpoint_auth_method`, else `client_auth`).
pub(super) async fn credentials(
    keys: &Keys,
    plugin_id: &str,
    config: &OidcConfig,
    configured: Option<ClientAuth>,
    endpoint: &str,
    document: Option<&Document>,
) -> Result<ClientCredentials, Reason> {
    let call = Call {
        method: configured,
        advertised: document.map_or(&[][..], |d| &d.auth_methods),
        presented: None,
    };
    credentials_for(keys, plugin_id, config, endpoint, call).await
}

/// Builds the client authentication for one call to `endpoint`.
pub(super) async fn credentials_for(
    keys: &Keys,
    plugin_id: &str,
    config: &OidcConfig,
    endpoint: &str,
    call: Call<'_>,
) -> Result<ClientCredentials, Reason> {
    let method = choose(config, &call);
    let presented = call.presented.is_some();
    let (client_id, client_secret) = match call.presented {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (config.client_id.clone(), config.client_secret.clone()),
    };
    let need_id = || client_id.clone().ok_or(Reason::ClientAuth);
    let need_secret = || client_secret.clone().ok_or(Reason::ClientAuth);
    let mut form = Vec::new();
    let mut basic = None;
    match method {
        ClientAuth::ClientSecretBasic => basic = Some((need_id()?, need_secret()?)),
        ClientAuth::ClientSecretPost => {
            form.push(("client_id", need_id()?));
            form.push(("client_secret", need_secret()?.expose().to_string()));
        }
        ClientAuth::ClientSecretJwt => {
            let alg = config
                .client_alg
                .filter(|a| a.is_hmac())
                .unwrap_or(SigningAlg::HS256);
            let key = EncodingKey::from_secret(need_secret()?.expose().as_bytes());
            let assertion = assertion(&need_id()?, endpoint, algorithm(alg), None, &key)?;
            form.push(("client_id", need_id()?));
            form.push(("client_assertion_type", ASSERTION_TYPE.to_string()));
            form.push(("client_assertion", assertion));
        }
        // The plugin's key signs only for the plugin's own client.
        ClientAuth::PrivateKeyJwt if presented => return Err(Reason::ClientAuth),
        ClientAuth::PrivateKeyJwt => {
            let signer = keys.signer(plugin_id, config).await?;
            let kid = signer.kid.clone();
            let assertion = assertion(&need_id()?, endpoint, signer.alg, kid, &signer.key)?;
            form.push(("client_id", need_id()?));
            form.push(("client_assertion_type", ASSERTION_TYPE.to_string()));
            form.push(("client_assertion", assertion));
        }
        ClientAuth::None => {
            if let Some(id) = client_id {
                form.push(("client_id", id));
            }
        }
    }
    Ok(ClientCredentials { form, basic })
}

/// An RFC 7523 §3 client assertion: `iss` = `sub` = client id, `aud` = the
/// endpoint called, a unique `jti`, `iat` now, `exp` a minute later.
fn assertion(
    client_id: &str,
    audience: &str,
    alg: jsonwebtoken::Algorithm,
    kid: Option<String>,
    key: &EncodingKey,
) -> Result<String, Reason> {
    let now = super::now_unix();
    let claims = json!({
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": uuid::Uuid::new_v4().to_string(),
        "iat": now,
        "exp": now + ASSERTION_LIFETIME,
    });
    let mut header = Header::new(alg);
    header.kid = kid;
    jsonwebtoken::encode(&header, &claims, key).map_err(|e| {
        tracing::warn!(error = %e, "client assertion signing failed");
        Reason::ClientAuth
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: Value) -> OidcConfig {
        let mut v = json!({ "issuer": "https://idp.test", "client_id": "kong" });
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        OidcConfig::parse(&v).unwrap()
    }

    fn choose_with(config: &OidcConfig, methods: &[&str]) -> ClientAuth {
        let advertised: Vec<String> = methods.iter().map(|s| s.to_string()).collect();
        let call = Call {
            method: config.client_auth,
            advertised: &advertised,
            presented: None,
        };
        choose(config, &call)
    }

    #[test]
    fn configured_method_wins() {
        let c = config(json!({ "client_auth": "client_secret_post", "client_secret": "s" }));
        assert_eq!(
            choose_with(&c, &["client_secret_basic"]),
            ClientAuth::ClientSecretPost
        );
    }

    #[test]
    fn default_follows_the_provider_and_the_config() {
        let secret = config(json!({ "client_secret": "s" }));
        assert_eq!(choose_with(&secret, &[]), ClientAuth::ClientSecretBasic);
        assert_eq!(
            choose_with(&secret, &["private_key_jwt", "client_secret_post"]),
            ClientAuth::ClientSecretPost
        );
        let bare = config(json!({}));
        assert_eq!(choose_with(&bare, &["private_key_jwt"]), ClientAuth::None);
    }

    #[tokio::test]
    async fn secret_jwt_assertion_has_rfc7523_claims() {
        let c = config(
            json!({ "client_auth": "client_secret_jwt", "client_secret": "0123456789abcdef0123456789abcdef" }),
        );
        let creds = credentials(
            &Keys::default(),
            "p",
            &c,
            c.client_auth,
            "https://idp.test/introspect",
            None,
        )
        .await
        .unwrap();
        let assertion = &creds
            .form
            .iter()
            .find(|(k, _)| *k == "client_assertion")
            .unwrap()
            .1;
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        v.set_audience(&["https://idp.test/introspect"]);
        v.set_issuer(&["kong"]);
        let key = jsonwebtoken::DecodingKey::from_secret(b"0123456789abcdef0123456789abcdef");
        let claims = jsonwebtoken::decode::<Value>(assertion, &key, &v)
            .unwrap()
            .claims;
        assert_eq!(claims["sub"], "kong");
        assert!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap() <= 60);
        let again = credentials(
            &Keys::default(),
            "p",
            &c,
            c.client_auth,
            "https://idp.test/introspect",
            None,
        )
        .await
        .unwrap();
        let other = &again
            .form
            .iter()
            .find(|(k, _)| *k == "client_assertion")
            .unwrap()
            .1;
        let jti = |a: &str| {
            jsonwebtoken::dangerous::insecure_decode::<Value>(a)
                .unwrap()
                .claims["jti"]
                .clone()
        };
        assert_ne!(jti(assertion), jti(other), "jti must be unique");
    }
}
