//! `bearer`: JWS access tokens verified against the issuer's keys.
//!
//! The header is read first and refused early for `alg: none`, unknown or
//! disallowed algorithms and `crit` extensions. The signature is checked
//! only with keys whose type fits the algorithm (see `jwks`), HS* only with
//! the client secret and only when `enable_hs_signatures` is set. Then
//! `exp` (required), `nbf`, `iat` with leeway and `iss`. Tokens that pass
//! are remembered (by digest, see `cache`) until their `exp`, so a repeated token costs
//! a hash and a map lookup instead of a signature check; the authorization
//! rules still run on every request.

use super::cache::{TokenHash, token_hash};
use super::claims::{check_issuer, check_times};
use super::discovery::Want;
use super::failure::{Failure, Reason};
use super::jwks::{Candidates, KeySet};
use super::signing_key::algorithm;
use super::{CachedClaims, Ctx, now_unix};
use crate::model::plugin::OidcConfig;
use crate::model::plugin::openid_connect::SigningAlg;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::Value;
use std::sync::Arc;

/// Cache lifetime for tokens without `exp` (only possible with
/// `verify_claims: false`).
const NO_EXP_TTL: u64 = 60;

/// The JOSE header members that matter here.
struct JoseHeader {
    alg: String,
    kid: Option<String>,
    crit: bool,
}

/// The payload of a JWT, decoded without checking anything: only for
/// tokens verified before (or where nothing depends on the result).
pub(super) fn unverified_payload(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = B64.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Whether `token` looks like a JWS: three dot-separated base64url parts,
/// the first two non-empty (an empty signature is still "JWT-shaped", so
/// `alg: none` tokens reach this method and are refused by it).
fn jwt_shaped(token: &str) -> bool {
    // Every bearer request asks, of an 800-byte token: the dots are found
    // by memchr, the alphabet checked by one branch-free pass the compiler
    // turns into vector compares (a byte-at-a-time loop with early exits
    // was the largest part of a cached bearer check).
    let bytes = token.as_bytes();
    let (Some(first), Some(last)) = (memchr::memchr(b'.', bytes), memchr::memrchr(b'.', bytes))
    else {
        return false;
    };
    if first == 0 || last <= first + 1 || memchr::memchr(b'.', &bytes[first + 1..last]).is_some() {
        return false;
    }
    !bytes
        .iter()
        .fold(false, |stray, &b| stray | !(base64url(b) | (b == b'.')))
}

/// A byte of the base64url alphabet (RFC 4648 §5), without branches.
fn base64url(b: u8) -> bool {
    (b.wrapping_sub(b'a') < 26)
        | (b.wrapping_sub(b'A') < 26)
        | (b.wrapping_sub(b'0') < 10)
        | (b == b'-')
        | (b == b'_')
}

fn parse_header(token: &str) -> Result<JoseHeader, Reason> {
    let first = token.split('.').next().ok_or(Reason::Malformed)?;
    let bytes = B64.decode(first).map_err(|_| Reason::Malformed)?;
    let header: Value = serde_json::from_slice(&bytes).map_err(|_| Reason::Malformed)?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(Reason::Malformed)?;
    Ok(JoseHeader {
        alg: alg.to_string(),
        kid: header
            .get("kid")
            .and_then(Value::as_str)
            .map(str::to_string),
        crit: header.get("crit").is_some(),
    })
}

/// The algorithm if this configuration accepts it.
fn allowed(config: &OidcConfig, header: &JoseHeader) -> Result<SigningAlg, Reason> {
    if header.crit {
        // RFC 7515 §4.1.11: extensions we do not understand must fail.
        return Err(Reason::AlgorithmNotAllowed);
    }
    let alg = SigningAlg::parse(&header.alg).ok_or(Reason::AlgorithmNotAllowed)?;
    if alg.is_hmac() && !(config.enable_hs_signatures && config.client_secret.is_some()) {
        return Err(Reason::AlgorithmNotAllowed);
    }
    Ok(alg)
}

/// Verifies `token` as a JWT access token and returns its claims; `None`
/// when it is not [`jwt_shaped`] (not a token for this method).
pub(super) async fn verify(ctx: &Ctx<'_>, token: &str) -> Option<Result<Arc<Value>, Failure>> {
    let key = token_hash(token);
    let now = now_unix();
    // A hit is this very token (header included) verified under this very
    // configuration (`fits`), so it was JWT-shaped and its header passed
    // `allowed` as it would now: only a miss checks the shape (a pass over
    // the whole token) and decodes the header (a JSON parse).
    if let Some(hit) = ctx.state.verified.get(&key, now)
        && hit.fits(ctx)
    {
        return Some(Ok(hit.claims));
    }
    if !jwt_shaped(token) {
        return None;
    }
    Some(verify_uncached(ctx, token, key, now).await)
}

/// [`verify`] after a cache miss.
async fn verify_uncached(
    ctx: &Ctx<'_>,
    token: &str,
    key: TokenHash,
    now: u64,
) -> Result<Arc<Value>, Failure> {
    let header = parse_header(token)?;
    let alg = allowed(ctx.config, &header)?;
    let config = ctx.config;
    let want = Want {
        document: config.verify_claims && config.issuers_allowed.is_empty(),
        keys: config.verify_signature && !alg.is_hmac(),
    };
    let issuer = ctx.state.issuers.get(config);
    let mut snapshot = None;
    if want.document || want.keys {
        snapshot = Some(
            issuer
                .snapshot(&ctx.state.clients, config, want)
                .await
                .ok_or(Reason::IdpUnavailable)?,
        );
    }
    let kid = header.kid.as_deref();
    let keys = snapshot.as_ref().and_then(|s| s.keys.clone());
    let claims = match signed_claims(config, token, alg, kid, keys.as_deref()) {
        Err(Reason::UnknownKey) => {
            // A new kid: the provider may have rotated its keys.
            let generation = snapshot.as_ref().map_or(0, |s| s.generation);
            // Boxed: a path few requests take (see `plugins::access`).
            let fresh = Box::pin(issuer.rediscover(&ctx.state.clients, config, want, generation))
                .await
                .ok_or(Reason::UnknownKey)?;
            let claims = signed_claims(config, token, alg, kid, fresh.keys.as_deref())?;
            snapshot = Some(fresh);
            claims
        }
        other => other?,
    };
    let discovered = snapshot
        .as_ref()
        .and_then(|s| s.document.as_ref())
        .and_then(|d| d.issuer.as_deref());
    let exp = check_claims(config, &claims, discovered, now)?;
    let claims = Arc::new(claims);
    if let Some(config) = &ctx.shared {
        let until = exp.map_or(now + NO_EXP_TTL, |e| e.saturating_add(ctx.config.leeway));
        let entry = CachedClaims {
            config: config.clone(),
            claims: claims.clone(),
        };
        ctx.state.verified.insert(key, entry, until, now);
    }
    Ok(claims)
}

/// [`verify`]'s steps with `keys` given instead of fetched and no cache:
/// what the fuzz target drives.
pub(super) fn verify_offline(
    config: &OidcConfig,
    keys: &KeySet,
    token: &str,
    now: u64,
) -> Result<Value, Reason> {
    let header = parse_header(token)?;
    let alg = allowed(config, &header)?;
    let claims = signed_claims(config, token, alg, header.kid.as_deref(), Some(keys))?;
    check_claims(config, &claims, None, now)?;
    Ok(claims)
}

/// The claims of `token` once its signature checks out as `config` asks:
/// not at all (`verify_signature: false`), with the client secret (HS*), or
/// with the issuer's `keys` (`None` when they could not be had).
fn signed_claims(
    config: &OidcConfig,
    token: &str,
    alg: SigningAlg,
    kid: Option<&str>,
    keys: Option<&KeySet>,
) -> Result<Value, Reason> {
    if !config.verify_signature {
        return jsonwebtoken::dangerous::insecure_decode::<Value>(token)
            .map(|data| data.claims)
            .map_err(|_| Reason::Malformed);
    }
    if alg.is_hmac() {
        let secret = config
            .client_secret
            .as_ref()
            .ok_or(Reason::AlgorithmNotAllowed)?;
        let key = DecodingKey::from_secret(secret.expose().as_bytes());
        return check_signature(token, alg, &[&key]);
    }
    with_keys(token, alg, kid, keys.ok_or(Reason::IdpUnavailable)?)
}

/// The claim rules of a token whose signature checked out: an object,
/// `exp` (required), `nbf` and `iat` with leeway, and `iss` among the
/// allowed issuers (the `discovered` one when none are configured).
/// Returns `exp`; nothing is checked under `verify_claims: false`.
fn check_claims(
    config: &OidcConfig,
    claims: &Value,
    discovered: Option<&str>,
    now: u64,
) -> Result<Option<u64>, Reason> {
    if !claims.is_object() {
        return Err(Reason::Malformed);
    }
    if !config.verify_claims {
        return Ok(None);
    }
    let exp = check_times(claims, now, config.leeway, true)?;
    let allowed: Vec<&str> = if config.issuers_allowed.is_empty() {
        vec![discovered.unwrap_or(config.issuer_id())]
    } else {
        config.issuers_allowed.iter().map(String::as_str).collect()
    };
    check_issuer(claims, &allowed)?;
    Ok(exp)
}

fn with_keys(
    token: &str,
    alg: SigningAlg,
    kid: Option<&str>,
    keys: &KeySet,
) -> Result<Value, Reason> {
    match keys.candidates(alg, kid) {
        Candidates::Keys(keys) => {
            let decoding: Vec<&DecodingKey> = keys.iter().map(|k| &k.decoding).collect();
            check_signature(token, alg, &decoding)
        }
        Candidates::Mismatch => Err(Reason::KeyMismatch),
        Candidates::Unknown => Err(Reason::UnknownKey),
    }
}

/// Tries each key; the first that verifies gives the claims.
fn check_signature(token: &str, alg: SigningAlg, keys: &[&DecodingKey]) -> Result<Value, Reason> {
    let mut validation = Validation::new(algorithm(alg));
    // Time and issuer rules are applied by `claims` with Kong's semantics.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    validation.leeway = 0;
    for key in keys {
        match jsonwebtoken::decode::<Value>(token, key, &validation) {
            Ok(data) => return Ok(data.claims),
            Err(e) => match e.kind() {
                ErrorKind::Base64(_) | ErrorKind::Json(_) | ErrorKind::Utf8(_) => {
                    return Err(Reason::Malformed);
                }
                // Wrong signature, or a key this algorithm cannot use:
                // try the next candidate.
                _ => continue,
            },
        }
    }
    Err(Reason::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_shape() {
        assert!(jwt_shaped("eyJh.eyJi.c2ln"));
        assert!(
            jwt_shaped("eyJh.eyJi."),
            "alg none keeps an empty signature"
        );
        assert!(
            !jwt_shaped("abcdefABCDEF0123456789abcdefABCD"),
            "Kong oauth2 token"
        );
        assert!(!jwt_shaped("a.b"));
        assert!(!jwt_shaped(".b.c"));
        assert!(!jwt_shaped("a.b.c.d"));
        assert!(!jwt_shaped("a+.b.c"));
        assert!(!jwt_shaped("a..c"));
        assert!(!jwt_shaped(""));
        assert!(!jwt_shaped(".."));
        assert!(jwt_shaped("a-_.B9.c"));
    }

    proptest::proptest! {
        /// The one-pass check says what the per-part definition says.
        #[test]
        fn jwt_shape_is_three_base64url_parts(token in "[a-zA-Z0-9._+/=@\\[`{:~ \\-\u{80}-\u{ff}]{0,40}") {
            let mut parts = token.split('.');
            let b64url = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            let expected = match (parts.next(), parts.next(), parts.next(), parts.next()) {
                (Some(h), Some(p), Some(s), None) => {
                    !h.is_empty() && !p.is_empty() && b64url(h) && b64url(p) && b64url(s)
                }
                _ => false,
            };
            proptest::prop_assert_eq!(jwt_shaped(&token), expected);
        }

        /// Three base64url parts are JWT-shaped when the first two are not
        /// empty; one stray byte anywhere makes any of them not.
        #[test]
        fn jwt_shape_of_three_parts(
            h in "[a-zA-Z0-9_-]{0,300}",
            p in "[a-zA-Z0-9_-]{0,300}",
            sig in "[a-zA-Z0-9_-]{0,300}",
            stray in proptest::sample::select(vec![b'+', b'/', b'=', b' ', b'@', b'[', b'`', b'{', b'.', 0x80]),
            at in proptest::prelude::any::<proptest::sample::Index>(),
        ) {
            let token = format!("{h}.{p}.{sig}");
            proptest::prop_assert_eq!(jwt_shaped(&token), !h.is_empty() && !p.is_empty());
            let mut bytes = token.into_bytes();
            let i = at.index(bytes.len());
            let was = bytes[i];
            bytes[i] = stray;
            let token = String::from_utf8_lossy(&bytes);
            // Only a dot put where a dot was leaves the token as it was.
            proptest::prop_assert!(!jwt_shaped(&token) || (stray == b'.' && was == b'.'));
        }
    }

    #[test]
    fn header_parsing() {
        let h = |json: &str| format!("{}.e30.", B64.encode(json));
        let parsed = parse_header(&h(r#"{"alg":"none"}"#)).unwrap();
        assert_eq!(parsed.alg, "none");
        assert!(SigningAlg::parse(&parsed.alg).is_none());
        let parsed = parse_header(&h(r#"{"alg":"RS256","kid":"k","crit":["b64"]}"#)).unwrap();
        assert_eq!(parsed.kid.as_deref(), Some("k"));
        assert!(parsed.crit);
        assert!(matches!(
            parse_header(&h(r#"{"kid":"k"}"#)),
            Err(Reason::Malformed)
        ));
        assert!(matches!(parse_header("!!!.e30."), Err(Reason::Malformed)));
    }
}
