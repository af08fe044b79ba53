// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used)]

use super::{PortDef, valid_port_name};

#[test]
fn port_names_follow_kubernetes_rule() {
    for good in ["http", "h2c", "web-1", "a", "8080-tcp", "abcdefghijklmno"] {
        assert!(valid_port_name(good), "{good} should be valid");
    }
    for bad in [
        "",
        "80",
        "8-0",
        "HTTP",
        "-http",
        "http-",
        "ht--tp",
        "web_1",
        "abcdefghijklmnop",
        "wéb",
    ] {
        assert!(!valid_port_name(bad), "{bad} should be invalid");
    }
}

#[test]
fn only_a_valid_name_or_a_number_names_a_port_plainly() {
    assert_eq!(PortDef::Number(80).canonical(), "80");
    assert_eq!(PortDef::Name("http".into()).canonical(), "http");
    assert_eq!(PortDef::Name("80".into()).canonical(), "_80");
    assert_eq!(PortDef::Name("_80".into()).canonical(), "__80");
}
