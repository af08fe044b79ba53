//! Kong's declarative `kong.yml` and Admin API write bodies.
//!
//! Input: `0` then a kong.yml text; or `1` then three lines (method, path,
//! `Content-Type` or `-`) and a body, applied to the example kong.yml as a
//! standalone node's Admin API applies it.
//!
//! Invariants: nothing panics; a document that parses prints as YAML that
//! parses back to the same document (the Admin API stores documents that
//! way, and a document it cannot read back would stop every later write);
//! a write that succeeds leaves such a document too.
#![no_main]

use kingress::admin::write::fuzz::write;
use kingress::kong::Document;
use kingress_fuzz::{lines, optional_str};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// `created_at` of entities created without one.
const NOW: i64 = 1_800_000_000;

fn base() -> &'static Document {
    static BASE: OnceLock<Document> = OnceLock::new();
    BASE.get_or_init(|| {
        Document::parse(include_str!("../../examples/kong.yml"), NOW).expect("example parses")
    })
}

fn round_trips(doc: &Document) {
    let yaml = doc.to_yaml();
    match Document::parse(&yaml, NOW) {
        Ok(again) => assert_eq!(&again, doc, "printed as\n{yaml}"),
        Err(e) => panic!("printed document does not parse: {e}\n{yaml}"),
    }
}

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((b'0', text)) => {
            let Ok(text) = std::str::from_utf8(text) else {
                return;
            };
            if let Ok(doc) = Document::parse(text, NOW) {
                round_trips(&doc);
            }
        }
        Some((b'1', rest)) => {
            let Some(([method, path, content_type], body)) = lines::<3>(rest) else {
                return;
            };
            let Ok(path) = std::str::from_utf8(path) else {
                return;
            };
            let mut doc = base().clone();
            if write(
                &mut doc,
                method,
                path,
                optional_str(content_type),
                body,
                NOW,
            )
            .is_ok()
            {
                round_trips(&doc);
            }
        }
        _ => {}
    }
});
