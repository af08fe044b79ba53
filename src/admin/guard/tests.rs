use super::*;

fn guard() -> Guard {
    Guard::new("127.0.0.1:8001".parse().unwrap())
}

fn request(method: &str, uri: &str, headers: &[(&str, &str)]) -> Request<()> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap()
}

fn post(headers: &[(&str, &str)]) -> Request<()> {
    request("POST", "/consumers", headers)
}

#[test]
fn writes_need_a_host_naming_this_listener() {
    let g = guard();
    for host in [
        "127.0.0.1:8001",
        "127.0.0.1",
        "localhost",
        "LOCALHOST:9999",
        "localhost.",
        "[::1]:8001",
        "[::1]",
    ] {
        assert_eq!(g.check(&post(&[("host", host)])), Ok(()), "{host}");
    }
    for host in [
        "evil.test",
        "evil.test:8001",
        "10.0.0.5:8001",
        "localhost.evil.test",
    ] {
        assert!(
            matches!(g.check(&post(&[("host", host)])), Err(Refusal::Host(_))),
            "{host}"
        );
    }
    // No Host at all, two Host headers, or an absolute form naming another
    // host than Host.
    assert!(matches!(g.check(&post(&[])), Err(Refusal::Host(_))));
    assert!(matches!(
        g.check(&post(&[("host", "localhost"), ("host", "evil.test")])),
        Err(Refusal::Host(_))
    ));
    let absolute = request(
        "POST",
        "http://evil.test/consumers",
        &[("host", "localhost")],
    );
    assert!(matches!(g.check(&absolute), Err(Refusal::Host(_))));
    let h2 = request("POST", "http://localhost:8001/consumers", &[]);
    assert_eq!(g.check(&h2), Ok(()));
    // Reads are not affected.
    assert_eq!(
        g.check(&request("GET", "/", &[("host", "evil.test")])),
        Ok(())
    );
}

#[test]
fn allowed_hosts_and_unspecified_listeners() {
    let g = guard()
        .allow_hosts(&["Admin.Example".into(), "pinned.example:8444".into()])
        .unwrap();
    assert_eq!(g.check(&post(&[("host", "admin.example:1234")])), Ok(()));
    assert_eq!(g.check(&post(&[("host", "pinned.example:8444")])), Ok(()));
    assert!(g.check(&post(&[("host", "pinned.example:8001")])).is_err());
    assert!(guard().allow_hosts(&["a b".into()]).is_err());

    let any = Guard::new("0.0.0.0:8001".parse().unwrap());
    assert_eq!(any.check(&post(&[("host", "10.0.0.5:8001")])), Ok(()));
    assert!(any.check(&post(&[("host", "evil.test")])).is_err());
}

#[test]
fn cross_origin_writes_are_refused() {
    let g = guard();
    let host = ("host", "127.0.0.1:8001");
    let form = ("content-type", "application/x-www-form-urlencoded");
    let json = ("content-type", "application/json");
    assert_eq!(
        g.check(&post(&[host, ("origin", "http://127.0.0.1:8001"), form])),
        Ok(())
    );
    assert_eq!(
        g.check(&post(&[host, form])),
        Ok(()),
        "curl sends no Origin"
    );
    assert_eq!(
        g.check(&post(&[
            ("host", "localhost"),
            ("origin", "http://localhost:80")
        ])),
        Ok(())
    );
    assert_eq!(
        g.check(&post(&[host, ("origin", "http://evil.test"), form])),
        Err(Refusal::CrossSiteForm("http://evil.test".into()))
    );
    assert_eq!(
        g.check(&post(&[host, ("origin", "http://evil.test"), json])),
        Err(Refusal::CrossOrigin("http://evil.test".into()))
    );
    for origin in [
        "null",
        "https://127.0.0.1:8001",
        "http://127.0.0.1:8002",
        "http://localhost:8001",
    ] {
        assert!(
            g.check(&post(&[host, ("origin", origin), form])).is_err(),
            "{origin}"
        );
    }
    assert!(matches!(
        g.check(&post(&[host, ("sec-fetch-site", "cross-site"), form])),
        Err(Refusal::CrossSiteForm(_))
    ));
    assert_eq!(
        g.check(&post(&[host, ("sec-fetch-site", "same-origin")])),
        Ok(())
    );
    for content_type in [
        "text/plain;charset=UTF-8",
        "Multipart/Form-Data; boundary=x",
    ] {
        assert!(is_simple_content_type(
            &post(&[("content-type", content_type)]).headers().clone()
        ));
    }
}

#[test]
fn a_token_guards_every_request_and_never_prints() {
    let g = guard().require_token(&Sensitive::new("s3cret-token"));
    let token = (TOKEN_HEADER, "s3cret-token");
    let host = ("host", "localhost");
    assert_eq!(g.check(&request("GET", "/", &[])), Err(Refusal::Token));
    assert_eq!(
        g.check(&request("GET", "/", &[(TOKEN_HEADER, "s3cret-tokem")])),
        Err(Refusal::Token)
    );
    assert_eq!(
        g.check(&request("GET", "/", &[(TOKEN_HEADER, "s3cret")])),
        Err(Refusal::Token)
    );
    assert_eq!(g.check(&request("GET", "/", &[token])), Ok(()));
    assert_eq!(g.check(&post(&[host])), Err(Refusal::Token));
    assert_eq!(g.check(&post(&[host, token])), Ok(()));
    // The token does not lift the Host rule.
    assert!(matches!(
        g.check(&post(&[("host", "evil.test"), token])),
        Err(Refusal::Host(_))
    ));
    let debug = format!("{g:?}");
    assert!(!debug.contains("s3cret"), "{debug}");
    assert!(debug.contains("[redacted]"), "{debug}");
}
