//! The README's openid-connect field table is the catalogue's
//! (`model::plugin::openid_connect::catalogue`): generated from it, never
//! edited by hand. `KINGRESS_BLESS=1 cargo test --test readme_oidc`
//! rewrites the section after a catalogue change.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use kingress::model::plugin::openid_connect::catalogue;

const BEGIN: &str = "<!-- oidc-fields:begin -->\n";
const END: &str = "<!-- oidc-fields:end -->";

#[test]
fn the_readme_field_table_is_the_catalogue() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text
        .find(BEGIN)
        .expect("README has no oidc-fields:begin marker")
        + BEGIN.len();
    let end = start
        + text[start..]
            .find(END)
            .expect("README has no oidc-fields:end marker");
    let wanted = catalogue::readme_section();
    if std::env::var_os("KINGRESS_BLESS").is_some() {
        let rewritten = format!("{}{wanted}{}", &text[..start], &text[end..]);
        std::fs::write(&path, rewritten).unwrap();
        return;
    }
    assert!(
        text[start..end] == wanted,
        "README's openid-connect field section differs from the catalogue; \
         run KINGRESS_BLESS=1 cargo test --test readme_oidc"
    );
}
