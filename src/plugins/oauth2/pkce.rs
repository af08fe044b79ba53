//! PKCE (RFC 7636), S256 only, with Kong's rules for when it is required.

use super::respond::Failure;
use crate::model::ClientType;
use crate::model::plugin::oauth2::Pkce;
use crate::plugins::params::{Param, Params};
use crate::tokens::AuthCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// The only supported method.
pub(super) const S256: &str = "S256";

/// The challenge of an authorize request, normalised (base64url-decoded,
/// tolerating padding and `+`/`/`, then re-encoded unpadded), and its
/// method (`S256` when a challenge came without one). `Err` is the
/// `error_description`.
pub(super) fn challenge(params: &Params) -> Result<Option<(String, &'static str)>, String> {
    let method = params.get("code_challenge_method");
    let Some(challenge) = params.get("code_challenge") else {
        return match method {
            Some(_) => Err("code_challenge is required when code_method is present".into()),
            None => Ok(None),
        };
    };
    let Param::One(challenge) = challenge else {
        return Err("code_challenge is not a string".into());
    };
    match method {
        None => {}
        Some(Param::One(m)) if m == "S256" || m == "s256" => {}
        Some(_) => return Err("code_challenge_method is not supported, must be S256".into()),
    }
    Ok(Some((normalize(challenge), S256)))
}

/// Whether PKCE applies: at authorize (`used` false) for public clients
/// unless `pkce=none` and for confidential ones under `pkce=strict`; at the
/// token endpoint also whenever the code carries a challenge method.
pub(super) fn required(policy: Pkce, client: ClientType, used: bool) -> bool {
    used || match client {
        ClientType::Public => policy != Pkce::None,
        ClientType::Confidential => policy == Pkce::Strict,
    }
}

/// Checks the `code_verifier` of a token request against `code`.
pub(super) fn verify(params: &Params, code: &AuthCode) -> Result<(), Failure> {
    let verifier = match params.get("code_verifier") {
        None => {
            return Err(Failure::invalid_request(
                "code_verifier is required for PKCE authorization requests",
            ));
        }
        Some(Param::One(v)) => v,
        Some(_) => return Err(Failure::invalid_request("code_verifier is not a string")),
    };
    if !(43..=128).contains(&verifier.len()) {
        return Err(Failure::invalid_request(
            "code_verifier must be between 43 and 128 characters",
        ));
    }
    match &code.challenge {
        Some(challenge) if *challenge == s256(verifier) => Ok(()),
        _ => Err(Failure::bad("invalid_grant", "Invalid code")),
    }
}

/// `BASE64URL(SHA256(verifier))` without padding.
pub(super) fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn normalize(challenge: &str) -> String {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let standard = challenge.replace('-', "+").replace('_', "/");
    match LENIENT.decode(standard) {
        Ok(bytes) => URL_SAFE_NO_PAD.encode(bytes),
        Err(_) => challenge.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn code(challenge: Option<&str>) -> AuthCode {
        AuthCode {
            code: crate::model::Sensitive::new("c"),
            credential_id: "id".into(),
            service: None,
            plugin_id: "p".into(),
            authenticated_userid: None,
            scope: None,
            challenge: challenge.map(str::to_string),
            challenge_method: challenge.map(|_| S256.to_string()),
            created_at: 0,
        }
    }

    #[test]
    fn rfc7636_appendix_b() {
        assert_eq!(s256(VERIFIER), CHALLENGE);
        let p = Params::from_query(Some(&format!("code_verifier={VERIFIER}")));
        assert_eq!(verify(&p, &code(Some(CHALLENGE))), Ok(()));
    }

    #[test]
    fn verifier_errors() {
        let q = |s: &str| Params::from_query(Some(s));
        let c = code(Some(CHALLENGE));
        let desc = |p: &Params| verify(p, &c).unwrap_err();
        assert_eq!(
            desc(&q("")).description,
            "code_verifier is required for PKCE authorization requests"
        );
        assert_eq!(
            desc(&q("code_verifier=a&code_verifier=b")).description,
            "code_verifier is not a string"
        );
        assert_eq!(
            desc(&q("code_verifier=short")).description,
            "code_verifier must be between 43 and 128 characters"
        );
        let long = "a".repeat(129);
        assert_eq!(
            desc(&q(&format!("code_verifier={long}"))).error,
            "invalid_request"
        );
        let wrong = q(&format!("code_verifier={}", "a".repeat(43)));
        assert_eq!(
            (desc(&wrong).error, desc(&wrong).description.as_str()),
            ("invalid_grant", "Invalid code")
        );
        assert_eq!(
            verify(&q(&format!("code_verifier={VERIFIER}")), &code(None))
                .unwrap_err()
                .error,
            "invalid_grant"
        );
    }

    #[test]
    fn challenges_are_normalised() {
        let q = |s: &str| Params::from_query(Some(s));
        // Padding and the standard alphabet are tolerated.
        let padded = CHALLENGE.replace('-', "+") + "=";
        let p = Params::from_query(Some(&format!("code_challenge={}", urlencode(&padded))));
        assert_eq!(challenge(&p), Ok(Some((CHALLENGE.to_string(), S256))));
        assert_eq!(
            challenge(&q(&format!(
                "code_challenge={CHALLENGE}&code_challenge_method=s256"
            ))),
            Ok(Some((CHALLENGE.into(), S256)))
        );
        assert_eq!(
            challenge(&q("code_challenge_method=S256")).unwrap_err(),
            "code_challenge is required when code_method is present"
        );
        assert_eq!(
            challenge(&q("code_challenge=x&code_challenge_method=plain")).unwrap_err(),
            "code_challenge_method is not supported, must be S256"
        );
        assert_eq!(challenge(&q("")), Ok(None));
    }

    #[test]
    fn when_pkce_is_required() {
        use ClientType::*;
        assert!(required(Pkce::Lax, Public, false));
        assert!(!required(Pkce::None, Public, false));
        assert!(!required(Pkce::Lax, Confidential, false));
        assert!(required(Pkce::Strict, Confidential, false));
        assert!(required(Pkce::None, Confidential, true));
    }

    fn urlencode(s: &str) -> String {
        form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }
}
