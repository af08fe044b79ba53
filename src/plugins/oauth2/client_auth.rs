//! Client authentication at the token endpoint (Kong's
//! `retrieve_client_credentials`): `client_id` + `client_secret`
//! parameters, else HTTP Basic in the `auth_header_name` header, else a lone
//! `client_id` parameter (public clients).

use super::params::Params;
use base64::Engine;
use http::{HeaderMap, HeaderName};

/// What the client presented.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientCredentials {
    /// The client id, if any.
    pub client_id: Option<String>,
    /// The secret, if any.
    pub client_secret: Option<String>,
    /// Whether they came from the Basic header (decides 401 vs 400).
    pub from_header: bool,
}

/// Reads the client's credentials from `params` or the `header` header.
pub fn retrieve(params: &Params, headers: &HeaderMap, header: &HeaderName) -> ClientCredentials {
    if params.has("client_id") && params.has("client_secret") {
        return ClientCredentials {
            client_id: params.string("client_id").map(str::to_string),
            client_secret: params.string("client_secret").map(str::to_string),
            from_header: false,
        };
    }
    if let Some(value) = headers.get(header) {
        let (client_id, client_secret) = value
            .to_str()
            .ok()
            .and_then(basic)
            .map_or((None, None), |(id, secret)| (Some(id), secret));
        return ClientCredentials {
            client_id,
            client_secret,
            from_header: true,
        };
    }
    ClientCredentials {
        client_id: params.string("client_id").map(str::to_string),
        client_secret: None,
        from_header: false,
    }
}

/// Kong's `\s*[Bb]asic\s*(.+)` (unanchored), base64-decoded and split at the
/// first `:`; `id` alone means no secret.
fn basic(value: &str) -> Option<(String, Option<String>)> {
    let start = value
        .find("Basic")
        .into_iter()
        .chain(value.find("basic"))
        .min()?;
    let encoded = value[start + 5..].trim();
    if encoded.is_empty() {
        return None;
    }
    let decoded = lenient_base64(encoded)?;
    let decoded = String::from_utf8(decoded).ok()?;
    Some(match decoded.split_once(':') {
        Some((id, secret)) => (id.to_string(), Some(secret.to_string())),
        None => (decoded, None),
    })
}

/// Standard base64 with or without padding.
fn lenient_base64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    ENGINE.decode(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, v.parse().unwrap());
        h
    }

    #[test]
    fn params_win_over_the_header() {
        let p = Params::from_query(Some("client_id=a&client_secret=b"));
        let c = retrieve(&p, &headers("Basic eDp5"), &http::header::AUTHORIZATION);
        assert_eq!(
            c,
            ClientCredentials {
                client_id: Some("a".into()),
                client_secret: Some("b".into()),
                from_header: false
            }
        );
    }

    #[test]
    fn basic_forms() {
        let h = |s: &str| headers(&format!("Basic {}", STANDARD.encode(s)));
        let none = Params::default();
        let a = &http::header::AUTHORIZATION;
        let c = retrieve(&none, &h("id:se:cret"), a);
        assert_eq!(
            (
                c.client_id.as_deref(),
                c.client_secret.as_deref(),
                c.from_header
            ),
            (Some("id"), Some("se:cret"), true)
        );
        let c = retrieve(&none, &h("id"), a);
        assert_eq!(
            (c.client_id.as_deref(), c.client_secret),
            (Some("id"), None)
        );
        let c = retrieve(&none, &h("id:"), a);
        assert_eq!(c.client_secret.as_deref(), Some(""));
        let c = retrieve(&none, &headers("basic aWQ6cw"), a); // unpadded, lower-case scheme
        assert_eq!(
            (c.client_id.as_deref(), c.client_secret.as_deref()),
            (Some("id"), Some("s"))
        );
        let c = retrieve(&none, &headers("Bearer xyz"), a);
        assert_eq!(
            c,
            ClientCredentials {
                client_id: None,
                client_secret: None,
                from_header: true
            }
        );
    }

    #[test]
    fn lone_client_id_and_custom_header() {
        let p = Params::from_query(Some("client_id=pub"));
        let name = HeaderName::from_static("x-auth");
        let c = retrieve(&p, &HeaderMap::new(), &name);
        assert_eq!(
            c,
            ClientCredentials {
                client_id: Some("pub".into()),
                client_secret: None,
                from_header: false
            }
        );
        let mut h = HeaderMap::new();
        h.insert(
            name.clone(),
            format!("Basic {}", STANDARD.encode("x:y")).parse().unwrap(),
        );
        assert_eq!(retrieve(&p, &h, &name).client_secret.as_deref(), Some("y"));
    }
}
