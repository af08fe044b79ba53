//! The plugin's own cookies (the session and the authorization cookie):
//! reading them from a request, chunks included, and writing or expiring
//! them with their configured attributes.
//!
//! A value longer than [`CHUNK`] bytes is split over `name`, `name_2`,
//! `name_3`… (lua-resty-session's convention); reading joins the chunks in
//! order until one is missing. A wrong join cannot go unnoticed: values
//! are sealed, so a stray chunk makes the value fail to open. Writing
//! expires the chunks the request had beyond the new count.

use crate::model::plugin::openid_connect::{CookieConfig, SameSite};
use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use std::borrow::Cow;

/// Bytes of value per cookie; with the name and attributes a cookie stays
/// under browsers' 4096-byte limit.
pub(super) const CHUNK: usize = 3900;
/// Chunks read at most (a session never needs more).
const MAX_CHUNKS: usize = 10;

/// The request's cookie pairs as bytes, in order: each `Cookie` header
/// split at `;` (found with SIMD: a session cookie is kilobytes and read
/// on every request), whitespace trimmed around pairs, names and values.
/// Only names are checked as text here; a value is, when it is used.
fn raw_pairs(headers: &HeaderMap) -> impl Iterator<Item = (&str, &[u8])> {
    headers
        .get_all(COOKIE)
        .iter()
        .flat_map(|v| Pairs(Some(v.as_bytes())))
        .filter_map(split)
}

/// A pair's name and value, trimmed and unquoted; `None` without `=` or
/// when the name is not text.
fn split(pair: &[u8]) -> Option<(&str, &[u8])> {
    let pair = pair.trim_ascii();
    let eq = memchr::memchr(b'=', pair)?;
    let key = std::str::from_utf8(pair[..eq].trim_ascii()).ok()?;
    Some((key, unquote(pair[eq + 1..].trim_ascii())))
}

/// Splits a `Cookie` header at `;`.
struct Pairs<'a>(Option<&'a [u8]>);

impl<'a> Iterator for Pairs<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.0?;
        match memchr::memchr(b';', rest) {
            Some(i) => {
                self.0 = Some(&rest[i + 1..]);
                Some(&rest[..i])
            }
            None => {
                self.0 = None;
                Some(rest)
            }
        }
    }
}

/// A value without the quotes around it.
fn unquote(mut value: &[u8]) -> &[u8] {
    while let [b'"', rest @ ..] = value {
        value = rest;
    }
    while let [rest @ .., b'"'] = value {
        value = rest;
    }
    value
}

/// The request's cookies, in order; a pair whose value is not UTF-8 is
/// skipped.
pub(super) fn pairs(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    raw_pairs(headers).filter_map(|(k, v)| Some((k, std::str::from_utf8(v).ok()?)))
}

fn chunk_name(name: &str, index: usize) -> String {
    if index == 1 {
        name.to_string()
    } else {
        format!("{name}_{index}")
    }
}

/// Which chunk of cookie `name` a cookie called `key` is (1: the first,
/// `name` itself), if any. Only the spelling `chunk_name` writes counts
/// (`name_02` is another cookie).
fn chunk_index(key: &str, name: &str) -> Option<usize> {
    let rest = key.strip_prefix(name)?;
    if rest.is_empty() {
        return Some(1);
    }
    let digits = rest.strip_prefix('_')?;
    if digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let index: usize = digits.parse().ok()?;
    (2..=MAX_CHUNKS).contains(&index).then_some(index)
}

/// The value of cookie `name`, its chunks joined; `None` when absent (or
/// not text).
pub(super) fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    String::from_utf8(Chunks::of(headers, name).value()?.into_owned()).ok()
}

/// What one pass over the request's cookies found of cookie `name`: a
/// session cookie is kilobytes and read on every request that has a
/// session, so it is scanned once, and its value not checked as UTF-8
/// (its cached opening is found by its bytes).
pub(super) struct Chunks<'h> {
    parts: [Option<&'h [u8]>; MAX_CHUNKS],
    /// Whether the request carries anything but chunks of `name` in its
    /// `Cookie` headers: when not, removing them removes the headers.
    pub(super) others: bool,
}

// === impl Chunks ===

impl<'h> Chunks<'h> {
    /// Scans the request's cookies for the chunks of `name`.
    pub(super) fn of(headers: &'h HeaderMap, name: &str) -> Self {
        let mut parts: [Option<&[u8]>; MAX_CHUNKS] = [None; MAX_CHUNKS];
        let mut others = false;
        for pair in headers
            .get_all(COOKIE)
            .iter()
            .flat_map(|v| Pairs(Some(v.as_bytes())))
        {
            match split(pair) {
                Some((k, v)) if let Some(i) = chunk_index(k, name) => {
                    // The first of two equal names counts, as browsers send
                    // the most specific path first.
                    parts[i - 1].get_or_insert(v);
                }
                // Empty pairs (`a=1;;b=2`) are dropped by `remove` too.
                None if pair.trim_ascii().is_empty() => {}
                _ => others = true,
            }
        }
        Chunks { parts, others }
    }

    /// The value, its chunks joined in order until one is missing
    /// (borrowed when it is one cookie); `None` without the first chunk.
    pub(super) fn value(&self) -> Option<Cow<'h, [u8]>> {
        let first = self.parts[0]?;
        if self.parts[1].is_none() {
            return Some(Cow::Borrowed(first));
        }
        let mut value = Vec::with_capacity(first.len() * 2);
        for part in self.parts.iter().map_while(|p| *p) {
            value.extend_from_slice(part);
        }
        Some(Cow::Owned(value))
    }

    /// The highest chunk index present (0: none), so that stale chunks
    /// can be expired even when the first one is gone.
    pub(super) fn present(&self) -> usize {
        self.parts
            .iter()
            .rposition(Option::is_some)
            .map_or(0, |i| i + 1)
    }
}

/// Whether the request carries any chunk of cookie `name` (stops at the
/// first).
pub(super) fn present(headers: &HeaderMap, name: &str) -> bool {
    raw_pairs(headers).any(|(k, _)| chunk_index(k, name).is_some())
}

/// The highest chunk index of `name` the request carries (0: none), so
/// that stale chunks can be expired even when the first one is gone.
pub(super) fn chunks_present(headers: &HeaderMap, name: &str) -> usize {
    Chunks::of(headers, name).present()
}

/// Removes the cookies `drop` selects from the request, keeping the others
/// byte for byte (so that they do not reach the upstream).
pub(super) fn remove(headers: &mut HeaderMap, drop: impl Fn(&str) -> bool) {
    let mut removed = false;
    let kept: Vec<&[u8]> = headers
        .get_all(COOKIE)
        .iter()
        .flat_map(|v| Pairs(Some(v.as_bytes())))
        .map(<[u8]>::trim_ascii)
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            let gone = memchr::memchr(b'=', pair)
                .and_then(|eq| std::str::from_utf8(pair[..eq].trim_ascii()).ok())
                .is_some_and(&drop);
            removed |= gone;
            !gone
        })
        .collect();
    if !removed {
        return;
    }
    let joined = (!kept.is_empty()).then(|| HeaderValue::from_bytes(&kept.join(&b"; "[..])));
    headers.remove(COOKIE);
    if let Some(Ok(v)) = joined {
        headers.insert(COOKIE, v);
    }
}

/// Removes cookie `name` and its chunks from the request.
pub(super) fn remove_chunked(headers: &mut HeaderMap, name: &str) {
    remove(headers, |k| chunk_index(k, name).is_some());
}

/// [`remove_chunked`] after a [`Chunks`] scan of the same headers, which
/// knows whether anything else is left to keep.
pub(super) fn remove_scanned(headers: &mut HeaderMap, name: &str, others: bool) {
    if others {
        remove_chunked(headers, name);
    } else {
        headers.remove(COOKIE);
    }
}

/// `Set-Cookie` values storing `value` (chunked), valid for `max_age`
/// seconds (`None`: until the browser closes), and expiring the request's
/// chunks beyond the new count. `https`: whether the request came over
/// TLS (the default for `Secure`).
pub(super) fn set(
    cookie: &CookieConfig,
    value: &str,
    max_age: Option<u64>,
    https: bool,
    present: usize,
) -> Vec<HeaderValue> {
    // Sealed values are base64url and `.`: splitting anywhere is safe.
    let parts: Vec<&str> = value
        .as_bytes()
        .chunks(CHUNK)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    let mut out: Vec<HeaderValue> = parts
        .iter()
        .enumerate()
        .filter_map(|(i, part)| {
            line(
                cookie,
                &chunk_name(&cookie.name, i + 1),
                part,
                max_age,
                https,
            )
        })
        .collect();
    for index in parts.len() + 1..=present {
        out.extend(line(
            cookie,
            &chunk_name(&cookie.name, index),
            "",
            Some(0),
            https,
        ));
    }
    out
}

/// `Set-Cookie` values expiring the cookie and each of its chunks.
pub(super) fn expire(cookie: &CookieConfig, https: bool, present: usize) -> Vec<HeaderValue> {
    (1..=present.max(1))
        .filter_map(|i| line(cookie, &chunk_name(&cookie.name, i), "", Some(0), https))
        .collect()
}

fn line(
    cookie: &CookieConfig,
    name: &str,
    value: &str,
    max_age: Option<u64>,
    https: bool,
) -> Option<HeaderValue> {
    let mut s = format!("{name}={value}; Path={}", cookie.path);
    if let Some(domain) = &cookie.domain {
        s.push_str("; Domain=");
        s.push_str(domain);
    }
    match max_age {
        Some(0) => s.push_str("; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:01 GMT"),
        Some(age) => s.push_str(&format!("; Max-Age={age}")),
        None => {}
    }
    match cookie.same_site {
        SameSite::Default => {}
        SameSite::Lax => s.push_str("; SameSite=Lax"),
        SameSite::Strict => s.push_str("; SameSite=Strict"),
        SameSite::None => s.push_str("; SameSite=None"),
    }
    // Browsers drop `SameSite=None` cookies without `Secure`.
    if cookie.secure.unwrap_or(https) || cookie.same_site == SameSite::None {
        s.push_str("; Secure");
    }
    if cookie.http_only {
        s.push_str("; HttpOnly");
    }
    HeaderValue::from_str(&s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> CookieConfig {
        CookieConfig {
            name: "session".into(),
            path: "/".into(),
            domain: None,
            same_site: SameSite::Lax,
            http_only: true,
            secure: None,
        }
    }

    fn request(cookies: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_str(cookies).unwrap());
        h
    }

    #[test]
    fn chunks_round_trip_and_stale_chunks_expire() {
        let value = "a".repeat(CHUNK * 2 + 10);
        let lines = set(&config(), &value, Some(60), true, 4);
        let names: Vec<String> = lines
            .iter()
            .map(|l| l.to_str().unwrap().split('=').next().unwrap().to_string())
            .collect();
        assert_eq!(names, ["session", "session_2", "session_3", "session_4"]);
        assert!(lines[3].to_str().unwrap().contains("Max-Age=0"));
        let cookie_header: Vec<String> = lines[..3]
            .iter()
            .map(|l| l.to_str().unwrap().split(';').next().unwrap().to_string())
            .collect();
        let headers = request(&format!("other=1; {}", cookie_header.join("; ")));
        assert_eq!(read(&headers, "session").unwrap(), value);
        assert_eq!(chunks_present(&headers, "session"), 3);
        assert_eq!(read(&headers, "sess"), None);
    }

    #[test]
    fn only_the_written_chunk_names_count() {
        let headers = request(
            "session_02=x; session_11=y; session_=z; sessionx=w; session_+3=v; session_3=c",
        );
        // No first chunk: no value, but the stray third chunk is seen.
        assert_eq!(read(&headers, "session"), None);
        assert_eq!(chunks_present(&headers, "session"), 3);
        // The first of two equal names wins; a gap ends the value.
        let headers = request("session=a; session=b; session_2=c; session_4=d");
        assert_eq!(read(&headers, "session").unwrap(), "ac");
    }

    #[test]
    fn remove_keeps_other_cookies_byte_for_byte() {
        let mut headers = request("a=1; session=x; b=\"2\"; session_2=y; session_x=3");
        remove_chunked(&mut headers, "session");
        assert_eq!(headers[COOKIE], "a=1; b=\"2\"; session_x=3");
        let mut headers = request("session=x");
        headers.append(COOKIE, HeaderValue::from_static("session_2=y"));
        remove_chunked(&mut headers, "session");
        assert!(headers.get(COOKIE).is_none());
        // Nothing to remove: the header is left as it came.
        let mut headers = request("a=1;b=2");
        remove_chunked(&mut headers, "session");
        assert_eq!(headers[COOKIE], "a=1;b=2");
    }

    #[test]
    fn a_scan_knows_whether_other_cookies_are_left() {
        // Only the chunks (empty pairs aside): removing them removes the
        // header, as the full removal would.
        for only in ["session=x", " session=x ;; session_2=y; ", "session_3=z"] {
            let headers = request(only);
            let chunks = Chunks::of(&headers, "session");
            assert!(!chunks.others, "{only}");
            let mut scanned = headers.clone();
            remove_scanned(&mut scanned, "session", chunks.others);
            let mut full = headers.clone();
            remove_chunked(&mut full, "session");
            assert_eq!(scanned, full, "{only}");
            assert!(scanned.get(COOKIE).is_none());
        }
        // Anything else is kept: another name, a pair without `=`, a chunk
        // spelling that is not ours, a second header.
        for mixed in [
            "session=x; a=1",
            "session=x; flag",
            "session=x; session_02=y",
        ] {
            let headers = request(mixed);
            let chunks = Chunks::of(&headers, "session");
            assert!(chunks.others, "{mixed}");
            let mut scanned = headers.clone();
            remove_scanned(&mut scanned, "session", chunks.others);
            assert_ne!(scanned.get(COOKIE), None, "{mixed}");
        }
        let mut headers = request("session=x");
        headers.append(COOKIE, HeaderValue::from_static("theme=dark"));
        let chunks = Chunks::of(&headers, "session");
        assert!(chunks.others);
        assert_eq!(
            (chunks.present(), chunks.value().unwrap().as_ref()),
            (1, &b"x"[..])
        );
        let others = chunks.others;
        remove_scanned(&mut headers, "session", others);
        assert_eq!(headers[COOKIE], "theme=dark");
    }

    #[test]
    fn pairs_are_trimmed_unquoted_and_read_across_headers() {
        let mut headers = request(" a = 1 ;noequals; b=\"q\" ;;c=; session = s1 ");
        headers.append(COOKIE, HeaderValue::from_static("session_2=s2"));
        // A value that is not UTF-8 is skipped, not the header around it.
        headers.append(
            COOKIE,
            HeaderValue::from_bytes(b"bin=\xff\xfe; d=4").unwrap(),
        );
        let seen: Vec<(&str, &str)> = pairs(&headers).collect();
        assert_eq!(
            seen,
            [
                ("a", "1"),
                ("b", "q"),
                ("c", ""),
                ("session", "s1"),
                ("session_2", "s2"),
                ("d", "4")
            ]
        );
        assert_eq!(read(&headers, "session").unwrap(), "s1s2");
        assert!(present(&headers, "session"));
        assert!(!present(&headers, "sess"));
        assert_eq!(chunks_present(&headers, "session"), 2);
    }

    #[test]
    fn attributes() {
        let line = &set(&config(), "v", None, false, 0)[0];
        assert_eq!(line, "session=v; Path=/; SameSite=Lax; HttpOnly");
        let mut c = config();
        c.same_site = SameSite::None;
        c.domain = Some("example.test".into());
        c.http_only = false;
        let line = &set(&c, "v", Some(10), false, 0)[0];
        assert_eq!(
            line,
            "session=v; Path=/; Domain=example.test; Max-Age=10; SameSite=None; Secure"
        );
        let line = &set(&config(), "v", None, true, 0)[0];
        assert!(line.to_str().unwrap().ends_with("; Secure; HttpOnly"));
        let expired = expire(&config(), false, 2);
        assert_eq!(expired.len(), 2);
        assert!(
            expired
                .iter()
                .all(|l| l.to_str().unwrap().contains("Max-Age=0"))
        );
    }
}
