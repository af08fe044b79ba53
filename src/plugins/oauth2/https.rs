//! Kong's `check_https`: both endpoints require TLS, or a single
//! `X-Forwarded-Proto: https` from a trusted peer when
//! `accept_http_if_already_terminated` is set.

use crate::plugins::{Exchange, TrustedIps};

/// `error_description` when the request is not HTTPS.
pub(super) const MUST_USE_HTTPS: &str = "You must use HTTPS";
/// `error_description` for a repeated or comma-joined `X-Forwarded-Proto`.
pub(super) const ONE_FORWARDED_PROTO: &str = "Only one X-Forwarded-Proto header allowed";

/// `Ok` when the request counts as HTTPS, else the `error_description`.
pub(crate) fn check(
    exchange: &Exchange<'_>,
    trusted: &TrustedIps,
    accept_terminated: bool,
) -> Result<(), &'static str> {
    if exchange.tls {
        return Ok(());
    }
    if !accept_terminated || !trusted.contains(exchange.client_addr.ip()) {
        return Err(MUST_USE_HTTPS);
    }
    let mut values = exchange.headers().get_all("x-forwarded-proto").iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        // None at all is plain HTTP; two header lines are refused.
        return Err(if exchange.headers().contains_key("x-forwarded-proto") {
            ONE_FORWARDED_PROTO
        } else {
            MUST_USE_HTTPS
        });
    };
    let value = value.to_str().unwrap_or_default();
    if value.contains(',') {
        return Err(ONE_FORWARDED_PROTO);
    }
    if value.trim().eq_ignore_ascii_case("https") {
        Ok(())
    } else {
        Err(MUST_USE_HTTPS)
    }
}
