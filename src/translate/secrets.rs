//! Reading values out of Secrets, whether written as `data` (base64, already
//! decoded by k8s-openapi) or `stringData` (as in manifests applied with
//! kubectl, where the API server merges it into `data`).

use k8s_openapi::api::core::v1::Secret;

/// The raw bytes of `key`; `stringData` wins over `data`, as the API server
/// merges it on write.
pub(super) fn bytes<'a>(secret: &'a Secret, key: &str) -> Option<&'a [u8]> {
    if let Some(value) = secret.string_data.as_ref().and_then(|d| d.get(key)) {
        return Some(value.as_bytes());
    }
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|v| v.0.as_slice())
}

/// Why a Secret value could not be read as text.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum TextError {
    /// The key is absent.
    Missing,
    /// The value is not UTF-8.
    NotUtf8,
}

/// The value of `key` as text.
pub(super) fn text<'a>(secret: &'a Secret, key: &str) -> Result<&'a str, TextError> {
    let bytes = bytes(secret, key).ok_or(TextError::Missing)?;
    std::str::from_utf8(bytes).map_err(|_| TextError::NotUtf8)
}

/// A label value, if set.
pub(super) fn label<'a>(secret: &'a Secret, key: &str) -> Option<&'a str> {
    secret
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(key))
        .map(String::as_str)
}
