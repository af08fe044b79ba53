//! The two HTTP/1.1 head parsers kingress runs itself: the client side of
//! the own loop (`listen::h1`) and the upstream side of the direct client
//! (`proxy::forward::direct`).
//!
//! Input: one byte, then the head's bytes. Bit 0 of the byte picks the side
//! (0 client, 1 upstream); bit 1 makes the upstream's answer one to `HEAD`.
//!
//! Invariants, client side: nothing panics; a head the loop serves is the
//! head httparse finds (same length, same fields in the map, at most 100),
//! has no body, upgrade, `Expect` or `CONNECT` (those go to hyper), and is
//! HTTP/1.0 or 1.1; a head it hands to hyper leaves every byte in place;
//! "partial" only when httparse wants more. Upstream side: nothing panics;
//! reading the fields into a header map and passing them on as bytes give
//! the same answer — refused alike, framed alike, the connection kept
//! alike, and the same fields reach the client.
#![no_main]

use kingress::listen::h1_fuzz::{Decided, decide};
use kingress::proxy::direct_fuzz::{Parsed, parse_response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        client(bytes);
    } else {
        upstream(bytes, mode & 2 != 0);
    }
});

fn client(bytes: &[u8]) {
    let mut fields = [httparse::EMPTY_HEADER; 100];
    let mut parsed = httparse::Request::new(&mut fields);
    let status = parsed.parse(bytes);
    match decide(bytes) {
        Decided::Served { consumed, request } => {
            assert_eq!(status, Ok(httparse::Status::Complete(consumed)), "{bytes:?}");
            assert_ne!(request.method(), http::Method::CONNECT);
            assert!(matches!(
                request.version(),
                http::Version::HTTP_10 | http::Version::HTTP_11
            ));
            let headers = request.headers();
            for name in ["transfer-encoding", "upgrade", "expect"] {
                assert!(!headers.contains_key(name), "{name} served: {bytes:?}");
            }
            for length in headers.get_all("content-length") {
                assert!(
                    !length.is_empty() && length.as_bytes().iter().all(|b| *b == b'0'),
                    "a body served: {bytes:?}"
                );
            }
            let mut theirs: Vec<(String, &[u8])> = parsed
                .headers
                .iter()
                .map(|h| (h.name.to_ascii_lowercase(), h.value))
                .collect();
            let mut ours: Vec<(String, &[u8])> = headers
                .iter()
                .map(|(n, v)| (n.as_str().to_string(), v.as_bytes()))
                .collect();
            theirs.sort_by(|a, b| a.0.cmp(&b.0));
            ours.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(ours, theirs, "{bytes:?}");
        }
        Decided::Partial => {
            assert_eq!(status, Ok(httparse::Status::Partial), "{bytes:?}");
        }
        Decided::Handoff { intact } => assert!(intact, "{bytes:?}"),
    }
}

fn upstream(bytes: &[u8], no_body: bool) {
    let map = parse_response(bytes, no_body, false);
    let raw = parse_response(bytes, no_body, true);
    match (map, raw) {
        (
            Parsed::Final {
                status,
                framing,
                keep_alive,
                fields,
                raw: false,
            },
            Parsed::Final {
                status: status2,
                framing: framing2,
                keep_alive: keep_alive2,
                fields: fields2,
                raw: _,
            },
        ) => {
            assert_eq!((status, &framing, keep_alive), (status2, &framing2, keep_alive2), "{bytes:?}");
            assert_eq!(fields, fields2, "{bytes:?}");
        }
        (map, raw) => assert_eq!(map, raw, "{bytes:?}"),
    }
}
