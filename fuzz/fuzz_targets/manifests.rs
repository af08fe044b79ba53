//! Manifest loading (multi-document YAML, `kind: List`, kong.yml documents
//! among manifests) into the object set, and `translate` on the result.
//!
//! Input: one manifest file's text.
//!
//! Invariants: nothing panics; `translate` is a function of its input (two
//! calls agree) and `translate_cached` gives exactly what `translate`
//! gives, whether its memo is empty or holds the previous result.
#![no_main]

use kingress::objects::ObjectSet;
use kingress::source::files::load_text;
use kingress::translate::{Memo, Options, translate, translate_cached};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut objects = ObjectSet::default();
    // Loading is tolerant: a bad document is reported and skipped, the
    // rest still load, so there is no error to stop on here.
    load_text(Path::new("fuzz.yaml"), text, &mut objects);
    let options = Options::default();
    let first = translate(&objects, &options);
    let mut memo = Memo::default();
    assert_eq!(translate_cached(&objects, &options, &mut memo), first);
    assert_eq!(translate_cached(&objects, &options, &mut memo), first);
    assert_eq!(translate(&objects, &options), first);
});
