//! Client authentication at the token endpoint (Kong's
//! `retrieve_client_credentials`): `client_id` + `client_secret`
//! parameters, else HTTP Basic in the `auth_header_name` header, else a lone
//! `client_id` parameter (public clients).
//!
//! RFC 6749 §2.3.1 has clients form-encode the id and secret before they go
//! into Basic (Go's `golang.org/x/oauth2` does; curl `-u` and Kong's own
//! examples do not). Kong compares the decoded Basic value as it is, so a
//! secret such as `a b+c:d%e` sent the RFC way never matches there. kingress
//! keeps Kong's reading first and offers the form-decoded one as a second
//! candidate (`Presented::decoded`), tried only when the first does not
//! authenticate.

use crate::plugins::params::Params;
use base64::Engine;
use http::{HeaderMap, HeaderName};

/// What the client presented.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct ClientCredentials {
    /// The client id, if any.
    pub client_id: Option<String>,
    /// The secret, if any.
    pub client_secret: Option<String>,
    /// Whether they came from the Basic header (decides 401 vs 400).
    pub from_header: bool,
}

/// The credentials as Kong reads them, and the RFC 6749 reading of a Basic
/// header when it differs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Presented {
    /// Kong's reading, tried first.
    pub raw: ClientCredentials,
    /// The Basic id and secret form-decoded, when that changes either.
    pub decoded: Option<ClientCredentials>,
}

/// Reads the client's credentials from `params` or the `header` header.
pub(super) fn retrieve(params: &Params, headers: &HeaderMap, header: &HeaderName) -> Presented {
    if params.has("client_id") && params.has("client_secret") {
        return Presented {
            raw: ClientCredentials {
                client_id: params.string("client_id").map(str::to_string),
                client_secret: params.string("client_secret").map(str::to_string),
                from_header: false,
            },
            decoded: None,
        };
    }
    if let Some(value) = headers.get(header) {
        let (client_id, client_secret) = value
            .to_str()
            .ok()
            .and_then(basic)
            .map_or((None, None), |(id, secret)| (Some(id), secret));
        let raw = ClientCredentials {
            client_id,
            client_secret,
            from_header: true,
        };
        let decoded = form_decoded(&raw).filter(|d| *d != raw);
        return Presented { raw, decoded };
    }
    Presented {
        raw: ClientCredentials {
            client_id: params.string("client_id").map(str::to_string),
            client_secret: None,
            from_header: false,
        },
        decoded: None,
    }
}

/// `creds` with id and secret each `application/x-www-form-urlencoded`
/// decoded (`+` is a space, `%XX` a byte, anything else kept); `None` when
/// a decoded value is not UTF-8. Being only a second candidate that must
/// still match the stored secret exactly, leniency here admits nothing.
fn form_decoded(creds: &ClientCredentials) -> Option<ClientCredentials> {
    let decode = |s: &Option<String>| -> Option<Option<String>> {
        match s {
            None => Some(None),
            Some(s) => form_decode(s).map(Some),
        }
    };
    Some(ClientCredentials {
        client_id: decode(&creds.client_id)?,
        client_secret: decode(&creds.client_secret)?,
        from_header: creds.from_header,
    })
}

fn form_decode(s: &str) -> Option<String> {
    let spaced = s.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|d| d.into_owned())
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
        let c = retrieve(&p, &headers("Basic eDp5"), &http::header::AUTHORIZATION).raw;
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
        let c = retrieve(&none, &h("id:se:cret"), a).raw;
        assert_eq!(
            (
                c.client_id.as_deref(),
                c.client_secret.as_deref(),
                c.from_header
            ),
            (Some("id"), Some("se:cret"), true)
        );
        let c = retrieve(&none, &h("id"), a).raw;
        assert_eq!(
            (c.client_id.as_deref(), c.client_secret),
            (Some("id"), None)
        );
        let c = retrieve(&none, &h("id:"), a).raw;
        assert_eq!(c.client_secret.as_deref(), Some(""));
        let c = retrieve(&none, &headers("basic aWQ6cw"), a).raw; // unpadded, lower-case scheme
        assert_eq!(
            (c.client_id.as_deref(), c.client_secret.as_deref()),
            (Some("id"), Some("s"))
        );
        let c = retrieve(&none, &headers("Bearer xyz"), a).raw;
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
        let c = retrieve(&p, &HeaderMap::new(), &name).raw;
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
        assert_eq!(
            retrieve(&p, &h, &name).raw.client_secret.as_deref(),
            Some("y")
        );
    }

    #[test]
    fn form_encoded_basic_gives_a_second_reading() {
        // As Go's x/oauth2 builds it: url.QueryEscape on both, then Basic.
        let encoded = "my+client:a+b%2Bc%3Ad%25e%C3%A9";
        let h = headers(&format!("Basic {}", STANDARD.encode(encoded)));
        let p = retrieve(&Params::default(), &h, &http::header::AUTHORIZATION);
        assert_eq!(p.raw.client_id.as_deref(), Some("my+client"));
        assert_eq!(
            p.raw.client_secret.as_deref(),
            Some("a+b%2Bc%3Ad%25e%C3%A9")
        );
        let d = p.decoded.unwrap();
        assert_eq!(d.client_id.as_deref(), Some("my client"));
        assert_eq!(d.client_secret.as_deref(), Some("a b+c:d%eé"));
        assert!(d.from_header);

        // Nothing to decode: one reading only.
        let h = headers(&format!("Basic {}", STANDARD.encode("id:plain-secret")));
        assert_eq!(
            retrieve(&Params::default(), &h, &http::header::AUTHORIZATION).decoded,
            None
        );
        // Decoding to bytes that are not UTF-8: no second reading.
        let h = headers(&format!("Basic {}", STANDARD.encode("id:%FF")));
        assert_eq!(
            retrieve(&Params::default(), &h, &http::header::AUTHORIZATION).decoded,
            None
        );
        // Parameters are decoded by the body parser already: never twice.
        let p = Params::from_query(Some("client_id=a&client_secret=b%2Bc"));
        let p = retrieve(&p, &HeaderMap::new(), &http::header::AUTHORIZATION);
        assert_eq!(p.raw.client_secret.as_deref(), Some("b+c"));
        assert_eq!(p.decoded, None);
    }
}
