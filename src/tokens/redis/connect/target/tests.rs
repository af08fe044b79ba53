use super::*;

fn parse(url: &str) -> Result<RedisTarget, TargetError> {
    RedisTarget::parse(url, &RedisTls::default())
}

fn host(name: &str, port: u16) -> Host {
    Host {
        name: name.into(),
        port,
    }
}

#[test]
fn single_server_with_acl_user_and_db() {
    let t = parse("redis://kingress:s%40cret@redis.example:6380/3").unwrap();
    assert!(matches!(&t.topology, Topology::Single(h) if *h == host("redis.example", 6380)));
    assert_eq!(t.db, 3);
    assert_eq!(t.auth.username.as_deref(), Some("kingress"));
    assert_eq!(t.auth.password().as_deref(), Some("s@cret"));
    assert!(t.tls.is_none());
    assert_eq!(t.redacted(), "redis://kingress:***@redis.example:6380/3");
}

#[test]
fn password_only_forms_and_default_port() {
    for url in ["redis://:pw@h", "redis://pw@h/"] {
        let t = parse(url).unwrap();
        assert_eq!(t.auth.username, None, "{url}");
        assert_eq!(t.auth.password().as_deref(), Some("pw"), "{url}");
        assert!(matches!(&t.topology, Topology::Single(h) if *h == host("h", 6379)));
        assert!(!t.redacted().contains("pw"), "{}", t.redacted());
    }
    let t = parse("redis://[::1]:7000").unwrap();
    assert!(matches!(&t.topology, Topology::Single(h) if *h == host("::1", 7000)));
}

#[test]
fn sentinel_names_master_db_and_its_own_credentials() {
    let t = parse(
        "redis+sentinel://app:pw@s1,s2:26380/mymaster/2?sentinel_username=watch&sentinel_password=spw",
    )
    .unwrap();
    let Topology::Sentinel {
        sentinels,
        master,
        auth,
    } = &t.topology
    else {
        panic!("not sentinel: {t:?}");
    };
    assert_eq!(sentinels, &[host("s1", 26379), host("s2", 26380)]);
    assert_eq!(master, "mymaster");
    assert_eq!(t.db, 2);
    assert_eq!(auth.username.as_deref(), Some("watch"));
    assert_eq!(auth.password().as_deref(), Some("spw"));
    assert_eq!(t.auth.password().as_deref(), Some("pw"));
    assert_eq!(
        t.redacted(),
        "redis+sentinel://app:***@s1,s2:26380/mymaster/2?sentinel_username=watch&sentinel_password=***"
    );
    assert!(!format!("{t:?}").contains("spw"));
    assert!(
        parse("redis+sentinel://s1:26379").is_err(),
        "needs a master name"
    );
}

#[test]
fn cluster_takes_seed_nodes_and_no_db() {
    let t = parse("redis+cluster://:pw@a:7000,b:7001,c").unwrap();
    assert!(t.is_cluster());
    assert!(matches!(&t.topology, Topology::Cluster(h)
        if *h == [host("a", 7000), host("b", 7001), host("c", 6379)]));
    assert!(parse("redis+cluster://a:7000/1").is_err());
}

#[test]
fn refusals_never_echo_the_password() {
    for url in [
        "redis://:pa/ss@h",
        "redis://:hunter2@h:notaport",
        "redis://:hunter2@a,b",
        "redis://:hunter2@h/x",
        "rediss://:hunter2@h/#insecure",
        "redis://:hunter2@h?what=1",
        "mysql://:hunter2@h",
        "redis://:hunter2@",
    ] {
        let e = parse(url).expect_err(url).to_string();
        assert!(!e.contains("hunter2") && !e.contains("ss@"), "{url}: {e}");
    }
    let e = parse("rediss://h/#insecure").unwrap_err().to_string();
    assert!(e.contains("cannot be turned off"), "{e}");
}

#[test]
fn tls_files_need_rediss_and_go_in_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(&ca, cert.cert.pem()).unwrap();
    let with_ca = RedisTls {
        ca_file: Some(ca.clone()),
        ..RedisTls::default()
    };
    let t = RedisTarget::parse("rediss://h:6380", &with_ca).unwrap();
    assert!(t.tls.as_ref().is_some_and(|c| c.root_cert.is_some()));
    assert!(RedisTarget::parse("redis://h", &with_ca).is_err());
    let half = RedisTls {
        client_cert_file: Some(ca.clone()),
        ..RedisTls::default()
    };
    assert!(RedisTarget::parse("rediss://h", &half).is_err());
    let missing = RedisTls {
        ca_file: Some(dir.path().join("absent.pem")),
        ..RedisTls::default()
    };
    assert!(RedisTarget::parse("rediss://h", &missing).is_err());
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\nnot base64\n").unwrap();
    let bad = RedisTls {
        ca_file: Some(garbage),
        ..RedisTls::default()
    };
    assert!(RedisTarget::parse("rediss://h", &bad).is_err());
    // Without a CA file the system's roots verify: TLS is on, with no root.
    let t = parse("rediss://h").unwrap();
    assert!(t.tls.as_ref().is_some_and(|c| c.root_cert.is_none()));
}
