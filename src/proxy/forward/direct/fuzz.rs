//! The upstream response head parser for `fuzz/`: both ways of reading
//! the fields (a header map, or bytes passed on as they came) reduced to
//! what the client would get, so a fuzz target can require them equal.

use super::{Head, parse};
use crate::listen::fields::RawFields;
use bytes::BytesMut;

/// What a response head parses to, comparable across the two paths.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A final answer: status, framing, whether the connection is kept,
    /// and the fields a client would get (lower-case names, without
    /// `Connection`, by name in a stable order: a map groups the values of
    /// a name, bytes keep them where they came).
    Final {
        status: u16,
        framing: String,
        keep_alive: bool,
        fields: Vec<(Vec<u8>, Vec<u8>)>,
        /// The fields stayed bytes.
        raw: bool,
    },
    /// An interim 1xx answer.
    Interim,
    /// Not a whole head.
    Partial,
    /// Refused (the proxy answers 502).
    Refused,
}

/// Parses `head` as an answer to a `HEAD` request (`no_body`) or not, its
/// fields kept as bytes when `raw` and they may be.
pub fn parse_response(head: &[u8], no_body: bool, raw: bool) -> Parsed {
    let mut buf = BytesMut::from(head);
    let answer = match parse(&mut buf, no_body, raw) {
        Ok(Head::Final(answer)) => answer,
        Ok(Head::Interim) => return Parsed::Interim,
        Ok(Head::Partial) => return Parsed::Partial,
        Err(_) => return Parsed::Refused,
    };
    let bytes = answer.head.extensions().get::<RawFields>();
    let mut fields: Vec<(Vec<u8>, Vec<u8>)> = match bytes {
        Some(bytes) => bytes
            .iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.to_vec()))
            .collect(),
        None => answer
            .head
            .headers()
            .iter()
            .filter(|(name, _)| *name != http::header::CONNECTION)
            .map(|(name, value)| (name.as_str().as_bytes().to_vec(), value.as_bytes().to_vec()))
            .collect(),
    };
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    Parsed::Final {
        status: answer.head.status().as_u16(),
        framing: format!("{:?}", answer.framing),
        keep_alive: answer.keep_alive,
        fields,
        raw: bytes.is_some(),
    }
}
