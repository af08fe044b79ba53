//! The request path the router sees and the upstream reads: one canonical
//! spelling per path, so that no spelling of a protected path can miss its
//! route and reach another (Kong's "normalization behavior", nginx's
//! `merge_slashes` and URI normalisation). Route paths from configuration
//! are put in the same spelling by `translate` (as Kong normalises route
//! paths), so a route written `/mo%63k` matches the requests for `/mock`.
//!
//! 1. Escapes of unreserved characters (`A-Z a-z 0-9 - . _ ~`) are decoded;
//!    every other escape keeps its encoding with upper-case hex (RFC 3986
//!    §6.2.2.1–2). Encoded reserved characters (`%2F`, `%3F`, …) therefore
//!    stay encoded and never become separators.
//! 2. Dot segments are removed (RFC 3986 §5.2.4), after step 1 so that
//!    `%2e%2E` counts as `..`; empty segments are merged (`//` is `/`).
//!    A path that climbs above the root is refused.
//! 3. Characters that a path may not carry raw but that clients send and
//!    nginx accepts (`" [ ] ^ { | }` and UTF-8) are percent-encoded, so the
//!    upstream reads the same characters in one spelling.
//!
//! Refused (the proxy answers 400): a target that is not an origin-form
//! path, a malformed escape (`%zz`, `%4`), NUL (`%00`), control characters,
//! space, `\` (a separator for some upstreams), a path whose bytes, fully
//! decoded, are not UTF-8 (overlong forms such as `%C0%AE`), and a `.` or
//! `..` hidden where some upstream parsers still see a dot segment: before
//! a `;` parameter (`/..;/`, Tomcat) or between encoded separators
//! (`%2F..%2F`, `%5C..%5C`).
//!
//! An already canonical path (no `%`, no `//`, no `/.`, nothing to encode)
//! is returned borrowed after one scan.

#[cfg(test)]
mod tests;

use std::borrow::Cow;

/// Why a request path is refused; each is answered 400.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The target does not start with `/` (asterisk-form, empty).
    #[error("the request target is not an origin-form path")]
    NotOriginForm,
    /// A byte no path may carry, raw or after decoding.
    #[error("byte {0:#04x} is not allowed in a path")]
    Character(u8),
    /// `%` not followed by two hex digits.
    #[error("malformed percent-escape")]
    Escape,
    /// `..` above the root.
    #[error("the path climbs above the root")]
    AboveRoot,
    /// A dot segment some upstream would see (`/..;/`, `%2F..%2F`).
    #[error("a dot segment hidden behind `;`, `%2F` or `%5C`")]
    HiddenDots,
    /// The fully decoded path is not UTF-8 (overlong forms included).
    #[error("the decoded path is not UTF-8")]
    NotUtf8,
}

/// What a raw path byte means.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Refused.
    Bad,
    /// Kept as is.
    Keep,
    /// Percent-encoded in the canonical spelling.
    Encode,
}

/// The class of every byte: unreserved, sub-delims, `:`, `@`, `/` and `%`
/// are kept; `" [ ] ^ { | }` and non-ASCII are encoded; the rest refused.
const CLASSES: [Class; 256] = {
    let mut table = [Class::Bad; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = if c.is_ascii_alphanumeric() {
            Class::Keep
        } else if c >= 0x80 {
            Class::Encode
        } else {
            match c {
                b'-' | b'.' | b'_' | b'~' => Class::Keep,
                b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' => {
                    Class::Keep
                }
                b':' | b'@' | b'/' | b'%' => Class::Keep,
                b'"' | b'[' | b']' | b'^' | b'{' | b'|' | b'}' => Class::Encode,
                _ => Class::Bad,
            }
        };
        b += 1;
    }
    table
};

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// The canonical spelling of `path` (see the module docs), borrowed when
/// `path` already is canonical.
pub fn normalise(path: &str) -> Result<Cow<'_, str>, PathError> {
    let bytes = path.as_bytes();
    if bytes.first() != Some(&b'/') {
        return Err(PathError::NotOriginForm);
    }
    let mut canonical = true;
    for (i, &b) in bytes.iter().enumerate() {
        match CLASSES[usize::from(b)] {
            Class::Bad => return Err(PathError::Character(b)),
            Class::Encode => canonical = false,
            Class::Keep if b == b'%' => canonical = false,
            Class::Keep if b == b'/' && matches!(bytes.get(i + 1), Some(b'/' | b'.')) => {
                canonical = false;
            }
            Class::Keep => {}
        }
    }
    if canonical {
        return Ok(Cow::Borrowed(path));
    }
    let decoded = decode(bytes)?;
    let path = remove_dots(&decoded)?;
    if path.contains('%') {
        check_decoded_utf8(&path)?;
    }
    Ok(Cow::Owned(path))
}

/// Step 1 and 3: unreserved escapes decoded, other escapes upper-cased,
/// raw bytes of the `Encode` class encoded.
fn decode(bytes: &[u8]) -> Result<String, PathError> {
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 4);
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let value = match (bytes.get(i + 1), bytes.get(i + 2)) {
                (Some(&h), Some(&l)) => hex(h)
                    .zip(hex(l))
                    .map(|(h, l)| h << 4 | l)
                    .ok_or(PathError::Escape)?,
                _ => return Err(PathError::Escape),
            };
            if value == 0 {
                return Err(PathError::Character(0));
            }
            if is_unreserved(value) {
                out.push(char::from(value));
            } else {
                push_escape(&mut out, value);
            }
            i += 3;
        } else {
            match CLASSES[usize::from(b)] {
                Class::Bad => return Err(PathError::Character(b)),
                Class::Encode => push_escape(&mut out, b),
                Class::Keep => out.push(char::from(b)),
            }
            i += 1;
        }
    }
    Ok(out)
}

/// Step 2 on a decoded path (which starts with `/`): RFC 3986 §5.2.4 with
/// empty segments dropped, except that a trailing `/` stays.
fn remove_dots(path: &str) -> Result<String, PathError> {
    let mut out = String::with_capacity(path.len());
    // The first item is the empty string before the leading `/`.
    let mut segments = path.split('/').skip(1).peekable();
    while let Some(segment) = segments.next() {
        let dir = match segment {
            "" | "." => true,
            ".." => {
                let parent = out.rfind('/').ok_or(PathError::AboveRoot)?;
                out.truncate(parent);
                true
            }
            _ => {
                check_hidden_dots(segment)?;
                out.push('/');
                out.push_str(segment);
                false
            }
        };
        // `/a/`, `/a/.` and `/a/b/..` all name the directory `/a/`.
        if dir && segments.peek().is_none() {
            out.push('/');
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    Ok(out)
}

/// Refuses a segment that some upstream would still read as a dot segment:
/// a piece between encoded separators (`%2F`, `%5C`) whose name before any
/// `;` parameter is `.` or `..`.
fn check_hidden_dots(segment: &str) -> Result<(), PathError> {
    if !segment.contains('.') {
        return Ok(());
    }
    let hidden = segment
        .split("%2F")
        .flat_map(|piece| piece.split("%5C"))
        .map(|piece| piece.split(';').next().unwrap_or(piece))
        .any(|name| name == "." || name == "..");
    if hidden {
        Err(PathError::HiddenDots)
    } else {
        Ok(())
    }
}

/// Refuses a path whose fully decoded bytes are not UTF-8. Only escapes
/// can make them so: the raw text is a `str`, and canonical paths carry
/// ASCII only.
fn check_decoded_utf8(path: &str) -> Result<(), PathError> {
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        // Escapes are well-formed here: `decode` wrote them.
        let value = match (b, bytes.get(i + 1).copied().and_then(hex)) {
            (b'%', Some(h)) => bytes.get(i + 2).copied().and_then(hex).map(|l| h << 4 | l),
            _ => None,
        };
        match value {
            Some(v) => {
                decoded.push(v);
                i += 3;
            }
            None => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    std::str::from_utf8(&decoded)
        .map(|_| ())
        .map_err(|_| PathError::NotUtf8)
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn push_escape(out: &mut String, b: u8) {
    out.push('%');
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 0xF)]));
}
