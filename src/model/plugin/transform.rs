//! What `request-transformer` and `response-transformer` share: Kong's
//! `name:value` entries and the checks their schemas run on them.

pub mod template;

use super::ConfigError;

/// Splits an entry as Kong's `^([^:]+):*(.-)$` does: the name up to the
/// first colon, then the value after every colon that follows it
/// (`h2:value:2` is `h2` = `value:2`). `None` when the name is empty.
pub fn split(entry: &str) -> Option<(&str, &str)> {
    let colon = entry.find(':').unwrap_or(entry.len());
    if colon == 0 {
        return None;
    }
    Some((&entry[..colon], entry[colon..].trim_start_matches(':')))
}

/// Kong's `validate_header_name`: `A-Z`, `a-z`, `0-9`, `_` and `-`.
pub fn header_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Kong's `validate_headers`: the name (and, for renames, the value) must
/// be a header name.
pub fn check_header(entry: &str, value_too: bool) -> Result<(), String> {
    let (name, value) = split(entry).unwrap_or(("", ""));
    if !header_name_ok(name) {
        return Err(format!("'{name}' is not a valid header"));
    }
    if value_too && !header_name_ok(value) {
        return Err(format!("'{value}' is not a valid header"));
    }
    Ok(())
}

/// Kong's `match = "^[^:]+:.*$"`.
pub fn check_colon(entry: &str) -> Result<(), String> {
    match entry.find(':') {
        Some(at) if at > 0 => Ok(()),
        _ => Err(format!("invalid value: {entry}")),
    }
}

/// A header value a response or request may carry: no control characters
/// but tab (no CR/LF injection).
pub fn header_value_ok(value: &str) -> bool {
    http::HeaderValue::from_str(value).is_ok()
}

/// Runs `check` on every element of the array at `path` (`config.add.headers`),
/// naming a failing element as Kong does (`config.add.headers.2`, from 1).
pub fn check_each(
    path: &str,
    items: &[String],
    check: impl Fn(&str) -> Result<(), String>,
) -> Result<(), ConfigError> {
    for (i, item) in items.iter().enumerate() {
        check(item).map_err(|m| ConfigError::field(format!("{path}.{}", i + 1), m))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_split_as_kong_matches_them() {
        assert_eq!(split("h2:value:2"), Some(("h2", "value:2")));
        assert_eq!(split("a::b"), Some(("a", "b")));
        assert_eq!(split("x-to-remove"), Some(("x-to-remove", "")));
        assert_eq!(split("k:"), Some(("k", "")));
        assert_eq!(split(":v"), None);
    }

    #[test]
    fn header_checks_use_kong_messages() {
        assert_eq!(check_header("x-a:1", false), Ok(()));
        assert_eq!(
            check_header("x a:1", false),
            Err("'x a' is not a valid header".into())
        );
        assert_eq!(
            check_header("x-a:b c", true),
            Err("'b c' is not a valid header".into())
        );
        assert_eq!(check_colon("novalue"), Err("invalid value: novalue".into()));
        assert_eq!(check_colon("k:"), Ok(()));
        assert!(!header_value_ok("a\r\nx-injected: 1"));
        assert!(header_value_ok("a\tb"));
    }
}
