//! Reading Secret values as text (`stringData` is already merged over
//! `data`, as the API server merges it on write).

use crate::objects::Secret;

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
    let bytes = secret.get(key).ok_or(TextError::Missing)?;
    std::str::from_utf8(bytes).map_err(|_| TextError::NotUtf8)
}
