use super::*;

#[test]
fn durations() {
    assert_eq!(parse_duration("50ms").unwrap(), Duration::from_millis(50));
    assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
    assert_eq!(parse_duration("75").unwrap(), Duration::from_millis(75));
    assert!(parse_duration("fast").is_err());
    assert!(parse_duration("5h").is_err());
}

#[test]
fn sizes() {
    assert_eq!(parse_size("8MiB").unwrap(), 8 << 20);
    assert_eq!(parse_size("512 KiB").unwrap(), 512 << 10);
    assert_eq!(parse_size("1g").unwrap(), 1 << 30);
    assert_eq!(parse_size("1000").unwrap(), 1000);
    assert!(parse_size("0").is_err());
    assert!(parse_size("big").is_err());
    assert!(parse_size("5TiB").is_err());
    assert!(parse_size("99999999999999999999GiB").is_err());
}

#[test]
fn bad_flags_are_refused() {
    assert!(Cli::try_parse_from(["kingress", "standalone"]).is_err());
    assert!(Cli::try_parse_from(["kingress", "run", "--proxy-listen", "nope"]).is_err());
    assert!(Cli::try_parse_from(["kingress", "run", "--token-store", "mysql://x"]).is_err());
    assert!(Cli::try_parse_from(["kingress", "run", "--publish-service", "svc"]).is_err());
    let cli = Cli::try_parse_from([
        "kingress",
        "run",
        "--proxy-listen",
        "127.0.0.1:9000",
        "--status-listen",
        "127.0.0.1:9000",
    ])
    .unwrap();
    let Command::Run(run) = cli.command else {
        panic!("run expected")
    };
    assert!(run.serve.validate().unwrap_err().contains("both"));
}

fn serve(args: &[&str]) -> Result<ServeArgs, clap::Error> {
    let all = ["kingress", "run"].iter().chain(args);
    Cli::try_parse_from(all).map(|cli| match cli.command {
        Command::Run(run) => run.serve,
        _ => unreachable!("run parsed"),
    })
}

#[test]
fn the_admin_token_never_prints_and_comes_from_a_flag_or_a_file() {
    let args = serve(&["--admin-token", "t0ken-value"]).unwrap();
    assert!(args.admin_token().unwrap().unwrap().matches("t0ken-value"));
    assert!(!format!("{args:?}").contains("t0ken-value"));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "from-file\n").unwrap();
    let path = file.to_str().unwrap();
    let args = serve(&["--admin-token-file", path]).unwrap();
    assert!(args.admin_token().unwrap().unwrap().matches("from-file"));
    args.validate().unwrap();

    assert!(serve(&["--admin-token", "a", "--admin-token-file", path]).is_err());
    assert!(serve(&["--admin-token", ""]).is_err());
    assert!(serve(&["--admin-token", "has space"]).is_err());
    std::fs::write(&file, "\n").unwrap();
    assert!(
        serve(&["--admin-token-file", path])
            .unwrap()
            .validate()
            .is_err()
    );
    let missing = serve(&["--admin-token-file", "/nonexistent/token"]).unwrap();
    assert!(
        missing
            .validate()
            .unwrap_err()
            .contains("/nonexistent/token")
    );
    assert_eq!(serve(&[]).unwrap().admin_token().unwrap().map(|_| ()), None);
}

#[test]
fn admin_hosts_and_the_token_quota_are_checked() {
    let args = serve(&["--admin-allowed-hosts", "admin.example,ops.example:8444"]).unwrap();
    assert_eq!(args.admin_allowed_hosts.len(), 2);
    args.validate().unwrap();
    let bad = serve(&["--admin-allowed-hosts", "a b"]).unwrap();
    assert!(
        bad.validate()
            .unwrap_err()
            .contains("--admin-allowed-hosts")
    );

    assert_eq!(
        serve(&[]).unwrap().max_tokens_per_credential,
        crate::tokens::DEFAULT_MAX_PER_CREDENTIAL
    );
    let args = serve(&["--max-tokens-per-credential", "3"]).unwrap();
    assert_eq!(args.max_tokens_per_credential, 3);
    assert!(serve(&["--max-tokens-per-credential", "0"]).is_err());
}

#[test]
fn connection_limits_have_nginx_like_defaults_and_flags() {
    let parse = serve;
    let defaults = parse(&[]).unwrap();
    assert_eq!(defaults.limits(), Limits::default());
    assert_eq!(defaults.limits().header_timeout, Duration::from_secs(60));
    assert_eq!(defaults.limits().keepalive_timeout, Duration::from_secs(75));
    assert!(!defaults.underscores_in_headers);
    let set = parse(&[
        "--underscores-in-headers",
        "--client-first-byte-timeout",
        "1s",
        "--client-header-timeout",
        "2s",
        "--keepalive-timeout",
        "3s",
        "--tls-handshake-timeout",
        "4s",
        "--max-client-connections",
        "5",
    ])
    .unwrap();
    assert!(set.underscores_in_headers);
    assert_eq!(
        set.limits(),
        Limits {
            first_byte_timeout: Duration::from_secs(1),
            header_timeout: Duration::from_secs(2),
            keepalive_timeout: Duration::from_secs(3),
            tls_handshake_timeout: Duration::from_secs(4),
            max_connections: 5,
        }
    );
    assert!(parse(&["--max-client-connections", "0"]).is_err());
    let zero = parse(&["--keepalive-timeout", "0s"]).unwrap();
    assert!(zero.validate().unwrap_err().contains("--keepalive-timeout"));
}
