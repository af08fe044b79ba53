//! Passwords, ACL users and TLS.

use super::{Kingress, store};
use crate::support::redis_server::{RedisServer, TestPki, free_port};
use kingress::tokens::StoreError;
use kingress::tokens::redis::connect::RedisTls;

/// Whether `store` answers (an unknown token is `None`, not an error).
async fn answers(store: &kingress::tokens::TokenStore) -> Result<(), StoreError> {
    store
        .token("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .await
        .map(drop)
}

/// `requirepass` and an ACL user limited to `kingress:*` keys: the right
/// credentials issue and verify through kingress; a wrong or missing
/// password is 503 and never shows the password.
#[tokio::test]
async fn password_and_acl_user() {
    let port = free_port();
    let server = RedisServer::spawn(
        port,
        &[
            "--port",
            &port.to_string(),
            "--requirepass",
            "def4ult-pw",
            "--user",
            "kingress",
            "on",
            ">k1ngress-pw",
            "~kingress:*",
            "+@all",
        ]
        .map(String::from),
    );
    let acl = format!("redis://kingress:k1ngress-pw@127.0.0.1:{}/", server.port);
    let kingress = Kingress::start(store(&acl, &RedisTls::default()).await).await;
    let r = kingress.issue_with_refresh().await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(kingress.verify(r.str("access_token")).await, 200);
    assert_eq!(
        kingress.refresh(r.str("refresh_token")).await.status,
        200,
        "refresh (a Lua script) runs under the ACL user"
    );

    let default_user = format!("redis://:def4ult-pw@127.0.0.1:{}/", server.port);
    answers(&store(&default_user, &RedisTls::default()).await)
        .await
        .unwrap();

    for url in [
        format!("redis://kingress:wrong-pw@127.0.0.1:{}/", server.port),
        format!("redis://:wrong-pw@127.0.0.1:{}/", server.port),
        format!("redis://127.0.0.1:{}/", server.port),
    ] {
        let s = store(&url, &RedisTls::default()).await;
        let err = answers(&s).await.unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{url}: {err}");
        assert!(!format!("{err} {s:?}").contains("pw"), "{url}: {err} {s:?}");
    }
    // The ACL user reaches only kingress's keys.
    let user = redis::Client::open(acl.as_str()).unwrap();
    let mut c = user.get_multiplexed_async_connection().await.unwrap();
    let denied: redis::RedisResult<Option<String>> =
        redis::cmd("GET").arg("other:key").query_async(&mut c).await;
    assert!(denied.is_err(), "the ACL must limit the user's keys");
}

/// TLS with a client certificate required: the CA file and client
/// certificate connect; another CA, the system roots, no client
/// certificate or plain TCP do not (503, never a silent downgrade).
#[tokio::test]
async fn tls_verifies_the_server_and_presents_a_client_certificate() {
    let pki = TestPki::generate();
    let port = free_port();
    let _server = RedisServer::spawn(port, &pki.server_args(port, true));
    let full = RedisTls {
        ca_file: Some(pki.ca.clone()),
        client_cert_file: Some(pki.client_cert.clone()),
        client_key_file: Some(pki.client_key.clone()),
    };
    let url = format!("rediss://127.0.0.1:{port}/");
    let s = store(&url, &full).await;
    answers(&s).await.unwrap();
    let kingress = Kingress::start(s).await;
    let r = kingress.issue().await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(kingress.verify(r.str("access_token")).await, 200);

    let wrong_ca = RedisTls {
        ca_file: Some(pki.other_ca.clone()),
        ..full.clone()
    };
    let system_roots = RedisTls {
        ca_file: None,
        ..full.clone()
    };
    let no_client_cert = RedisTls {
        ca_file: Some(pki.ca.clone()),
        ..RedisTls::default()
    };
    for (what, url, tls) in [
        ("another CA", url.clone(), wrong_ca),
        ("the system roots", url.clone(), system_roots),
        ("no client certificate", url.clone(), no_client_cert),
        (
            "plain TCP",
            format!("redis://127.0.0.1:{port}/"),
            RedisTls::default(),
        ),
    ] {
        let err = answers(&store(&url, &tls).await).await.unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{what}: {err}");
    }
}

/// TLS without client certificates (`tls-auth-clients no`): the CA file is
/// enough, and a host name the certificate does not name is refused.
#[tokio::test]
async fn tls_with_a_ca_file_only_checks_the_host_name() {
    let pki = TestPki::generate();
    let port = free_port();
    let mut args = pki.server_args(port, false);
    args.extend(["--bind", "127.0.0.1", "127.0.0.2"].map(String::from));
    let _server = RedisServer::spawn(port, &args);
    let tls = RedisTls {
        ca_file: Some(pki.ca.clone()),
        ..RedisTls::default()
    };
    for host in ["127.0.0.1", "localhost"] {
        let url = format!("rediss://{host}:{port}/");
        answers(&store(&url, &tls).await).await.unwrap();
    }
    // 127.0.0.2 reaches the same server (it listens there too) but is not
    // in its certificate.
    let url = format!("rediss://127.0.0.2:{port}/");
    let err = answers(&store(&url, &tls).await).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
}
