//! Kong's JWT parser (`jwt_parser.lua`'s `decode_token`): three parts
//! split on the first two dots, base64url as nginx decodes it, JSON header
//! and claims, and Kong's reasons for refusing a token ("invalid JSON",
//! "invalid alg", "invalid claims", "invalid signature").

use crate::model::JwtAlgorithm;
use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD_NO_PAD};
use base64::engine::{DecodePaddingMode, general_purpose};
use serde_json::{Map, Value};

/// nginx's `decode_base64url`: the URL-safe alphabet, no padding needed,
/// stray bits at the end ignored.
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// A decoded (not yet verified) token.
#[derive(Debug)]
pub(super) struct Jwt<'t> {
    /// The JOSE header.
    pub(super) header: Map<String, Value>,
    /// The claims.
    pub(super) claims: Map<String, Value>,
    /// The header's `alg`, one Kong knows.
    pub(super) alg: String,
    /// `header.claims`, what the signature signs.
    pub(super) signing_input: &'t str,
    /// The signature's bytes.
    pub(super) signature: Vec<u8>,
}

impl<'t> Jwt<'t> {
    /// Decodes `token`; the error is Kong's reason (after "Bad token; ").
    pub(super) fn parse(token: &'t str) -> Result<Self, &'static str> {
        const JSON: &str = "invalid JSON";
        let (header_64, rest) = token.split_once('.').ok_or(JSON)?;
        let (claims_64, signature_64) = rest.split_once('.').ok_or(JSON)?;
        let header = base64url(header_64).ok_or(JSON)?;
        let claims = base64url(claims_64).ok_or(JSON)?;
        let header: Value = serde_json::from_slice(&header).map_err(|_| JSON)?;
        let claims: Value = serde_json::from_slice(&claims).map_err(|_| JSON)?;
        let signature = base64url(signature_64);

        let Value::Object(header) = header else {
            return Err("invalid alg");
        };
        let alg = match header.get("alg") {
            Some(Value::String(alg)) if JwtAlgorithm::parse(alg).is_some() => alg.clone(),
            _ => return Err("invalid alg"),
        };
        let Value::Object(claims) = claims else {
            return Err("invalid claims");
        };
        let signature = signature.ok_or("invalid signature")?;
        Ok(Self {
            header,
            claims,
            alg,
            signing_input: &token[..header_64.len() + 1 + claims_64.len()],
            signature,
        })
    }
}

/// Decodes like nginx's `decode_base64url` after Kong pads the input:
/// everything from the first `=` on is ignored.
pub(super) fn base64url(input: &str) -> Option<Vec<u8>> {
    let data = input.split('=').next().unwrap_or_default();
    URL_SAFE.decode(data).ok()
}

/// A `secret_is_base64` secret: Kong's URL-safe decoding, or the standard
/// alphabet (what most tools print).
pub(super) fn base64_secret(secret: &str) -> Option<Vec<u8>> {
    base64url(secret).or_else(|| {
        let data = secret.trim_end_matches('=');
        STANDARD_NO_PAD
            .decode(data)
            .ok()
            .or_else(|| general_purpose::STANDARD.decode(secret).ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    fn token(header: &str, claims: &str, sig: &str) -> String {
        format!("{}.{}.{sig}", b64(header), b64(claims))
    }

    #[test]
    fn kongs_reasons_in_kongs_order() {
        let ok = token(r#"{"alg":"HS256"}"#, r#"{"iss":"k"}"#, "c2ln");
        let jwt = Jwt::parse(&ok).unwrap();
        assert_eq!(jwt.alg, "HS256");
        assert_eq!(jwt.signature, b"sig");
        assert_eq!(jwt.claims["iss"], "k");
        assert_eq!(jwt.signing_input, ok.rsplit_once('.').unwrap().0);

        assert_eq!(Jwt::parse("no-dots").unwrap_err(), "invalid JSON");
        assert_eq!(Jwt::parse("a.b").unwrap_err(), "invalid JSON");
        let bad = format!("x{ok}");
        assert_eq!(Jwt::parse(&bad).unwrap_err(), "invalid JSON");
        let none = token(r#"{"alg":"none"}"#, "{}", "");
        assert_eq!(Jwt::parse(&none).unwrap_err(), "invalid alg");
        let number = token(r#"{"alg":256}"#, "{}", "");
        assert_eq!(Jwt::parse(&number).unwrap_err(), "invalid alg");
        let array = token("[1]", "{}", "");
        assert_eq!(Jwt::parse(&array).unwrap_err(), "invalid alg");
        let claims = token(r#"{"alg":"RS256"}"#, "null", "");
        assert_eq!(Jwt::parse(&claims).unwrap_err(), "invalid claims");
        // The signature is checked last, and may not be base64url.
        let sig = token(r#"{"alg":"ES512"}"#, "{}", "a+b/");
        assert_eq!(Jwt::parse(&sig).unwrap_err(), "invalid signature");
        // Its third part keeps any further dot, which is no base64.
        let dotted = format!("{ok}.more");
        assert_eq!(Jwt::parse(&dotted).unwrap_err(), "invalid signature");
        let empty = token(r#"{"alg":"EdDSA"}"#, "{}", "");
        assert!(Jwt::parse(&empty).unwrap().signature.is_empty());
    }

    #[test]
    fn base64url_as_nginx_decodes_it() {
        assert_eq!(base64url("c2ln").unwrap(), b"sig");
        assert_eq!(base64url("c2lnYQ").unwrap(), b"siga");
        assert_eq!(base64url("c2lnYQ==").unwrap(), b"siga");
        assert_eq!(base64url("c2lnYQ=garbage").unwrap(), b"siga");
        assert_eq!(base64url("-_8").unwrap(), vec![0xfb, 0xff]);
        assert!(base64url("+/8").is_none());
        assert!(base64url("c2lnY").is_none());
        assert_eq!(base64_secret("+/8=").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(base64_secret("-_8").unwrap(), vec![0xfb, 0xff]);
        assert!(base64_secret("!!").is_none());
    }
}
