//! The admin API's front door: splits the path, dispatches by method.
//! Only reads exist for now (`read`); any other method is 405, so writes can
//! be added beside `read` without touching the lookups.

use super::read;
use super::reply;
use crate::plugins::Runtime;
use crate::publish::TableHandle;
use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::Full;
use std::net::SocketAddr;
use std::time::Instant;

/// What the admin API reads.
#[derive(Debug)]
pub struct State {
    /// The routing table.
    pub table: TableHandle,
    /// Plugin state (token store kind for `GET /`).
    pub runtime: Runtime,
    /// This process's node id (random per start, like Kong's).
    pub node_id: String,
    /// Host name.
    pub hostname: String,
    /// The admin listener address.
    pub listen: SocketAddr,
    /// Process start.
    pub started: Instant,
}

/// Answers one request.
pub fn handle<B>(state: &State, request: &Request<B>) -> Response<Full<Bytes>> {
    let decoded: Vec<String> = request
        .uri()
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    match *request.method() {
        Method::GET | Method::HEAD => read::get(state, &segments),
        _ => reply::method_not_allowed(),
    }
}

/// Decodes `%XX` escapes (names and usernames may be escaped by clients);
/// invalid escapes are kept as they are.
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("jane%40example.com"), "jane@example.com");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("plain"), "plain");
    }
}
