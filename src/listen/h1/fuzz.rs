//! The client request head parser for `fuzz/`: what the own loop decides
//! about a head, reduced to facts a fuzz target can check.

use super::head::{self, Head};
use bytes::BytesMut;

/// What the own loop made of the bytes at the start of a connection.
#[derive(Debug)]
pub enum Decided {
    /// It serves a request: the bytes it consumed, and the request.
    Served {
        consumed: usize,
        request: Box<http::Request<()>>,
    },
    /// Not a whole head yet.
    Partial,
    /// hyper's server takes the connection, every byte still there.
    Handoff {
        /// The buffer as it was given.
        intact: bool,
    },
}

/// Runs the own loop's head parser on `bytes`.
pub fn decide(bytes: &[u8]) -> Decided {
    let mut buf = BytesMut::from(bytes);
    match head::parse(&mut buf) {
        Head::Request(request, _) => Decided::Served {
            consumed: bytes.len() - buf.len(),
            request: Box::new(request),
        },
        Head::Partial => Decided::Partial,
        Head::Handoff => Decided::Handoff {
            intact: buf[..] == *bytes,
        },
    }
}
