//! The Admin API's answers compared with Kong's exact bodies, against the
//! real binary in standalone mode on loopback: per-element errors of array
//! fields, pagination of every list, and the `/oauth2_tokens` endpoint.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

use reqwest::Method;
use serde_json::{Value, json};
use support::standalone::Standalone;
use support::upstream::Upstream;

#[tokio::test]
async fn array_field_errors_are_per_element_as_kong_answers() {
    let dir = tempfile::tempdir().unwrap();
    let k = Standalone::start(dir.path(), &[]).await;
    assert_eq!(
        k.form(Method::POST, "/consumers", "username=jane").await.0,
        201
    );

    let (status, body) = k
        .json(
            Method::POST,
            "/consumers/jane/oauth2",
            json!({"name": "app", "redirect_uris": ["not-valid"]}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["fields"],
        json!({"redirect_uris": ["cannot parse 'not-valid'"]})
    );
    assert_eq!(
        body["message"],
        "schema violation (redirect_uris.1: cannot parse 'not-valid')"
    );

    let (status, body) = k
        .json(
            Method::POST,
            "/consumers/jane/oauth2",
            json!({"name": "app", "redirect_uris": ["https://a.example/cb", "https://a.example/cb#x"]}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["fields"],
        json!({"redirect_uris": [null, "fragment not allowed in 'https://a.example/cb#x'"]})
    );

    let (status, body) = k
        .json(
            Method::POST,
            "/routes",
            json!({"paths": ["/ok", "bad"], "methods": ["GET", "get"], "protocols": ["http", "tcp"]}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["fields"],
        json!({
            "paths": [null, "should start with: / (fixed path) or ~/ (regex path)"],
            "methods": [null, "invalid value: get"],
            "protocols": [null, "expected one of: http, https, grpc, grpcs"],
        })
    );
    assert_eq!(
        body["message"].as_str().unwrap().split(' ').next(),
        Some("3")
    );

    // Plugin config arrays too.
    let (status, body) = k
        .json(
            Method::POST,
            "/plugins",
            json!({"name": "openid-connect", "config": {
                "issuer": "http://idp.test/realms/r",
                "auth_methods": ["bearer", "magic"],
            }}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["fields"],
        json!({"config": {"auth_methods": [null, "expected one of: authorization_code, bearer, client_credentials, introspection, kong_oauth2, password, refresh_token, session, userinfo"]}})
    );

    // A non-string element is named by its position too.
    let (status, body) = k
        .json(Method::POST, "/routes", json!({"hosts": ["a.example", 7]}))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["fields"],
        json!({"hosts": [null, "expected a string"]})
    );
    // kingress's reason for refusing a protocol Kong knows goes to the log.
    k.eventually_logged("kingress serves http, https, grpc and grpcs only")
        .await;
}

#[tokio::test]
async fn every_list_pages_with_kongs_size_offset_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let k = Standalone::start(dir.path(), &[]).await;
    for name in ["ann", "bob", "cid"] {
        let (status, body) = k
            .form(Method::POST, "/consumers", &format!("username={name}"))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, first) = k.get("/consumers?size=2").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["data"].as_array().unwrap().len(), 2);
    let offset = first["offset"].as_str().unwrap();
    let escaped: String = form_urlencoded::byte_serialize(offset.as_bytes()).collect();
    assert_eq!(first["next"], format!("/consumers?offset={escaped}&size=2"));
    let (_, last) = k.get(first["next"].as_str().unwrap()).await;
    assert_eq!(last["data"].as_array().unwrap().len(), 1);
    assert!(
        last["next"].is_null() && last.get("offset").is_none(),
        "{last}"
    );
    let mut names: Vec<&str> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .chain(last["data"].as_array().unwrap())
        .map(|c| c["username"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["ann", "bob", "cid"]);

    // Without `size`, Kong's 100; nested lists page too.
    let (_, all) = k.get("/consumers").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 3);
    assert!(all["next"].is_null());
    k.form(Method::POST, "/consumers/ann/oauth2", "name=a1")
        .await;
    k.form(Method::POST, "/consumers/ann/oauth2", "name=a2")
        .await;
    let (_, nested) = k.get("/consumers/ann/oauth2?size=1").await;
    assert_eq!(nested["data"].as_array().unwrap().len(), 1);
    assert!(
        nested["next"]
            .as_str()
            .unwrap()
            .starts_with("/consumers/ann/oauth2?offset="),
        "{nested}"
    );

    for (path, code, name, message) in [
        (
            "/services?size=abc",
            9,
            "invalid size",
            "size must be a number",
        ),
        (
            "/routes?size=0",
            9,
            "invalid size",
            "size must be an integer between 1 and 1000",
        ),
        (
            "/plugins?size=1001",
            9,
            "invalid size",
            "size must be an integer between 1 and 1000",
        ),
        (
            "/consumers?offset=hello",
            7,
            "invalid offset",
            "'hello' is not a valid offset: bad base64 encoding",
        ),
        (
            "/oauth2_tokens?size=-1",
            9,
            "invalid size",
            "size must be an integer between 1 and 1000",
        ),
    ] {
        let (status, body) = k.get(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(
            body,
            json!({"code": code, "name": name, "message": message}),
            "{path}"
        );
    }
}

/// A consumer, an oauth2 credential and a route guarded by the oauth2
/// plugin, created through the Admin API; the credential's id.
async fn oauth2_route(k: &Standalone, upstream: &Upstream) -> String {
    let (status, service) = k
        .form(
            Method::PUT,
            "/services/up",
            &format!("url=http://{}", upstream.addr),
        )
        .await;
    assert_eq!(status, 200, "{service}");
    assert_eq!(k.form(Method::PUT, "/consumers/jane", "").await.0, 200);
    let (status, credential) = k
        .form(
            Method::PUT,
            "/consumers/jane/oauth2/client",
            "name=demo&client_secret=secret",
        )
        .await;
    assert_eq!(status, 200, "{credential}");
    let (status, route) = k
        .form(Method::PUT, "/routes/mock", "paths=/mock&service.name=up")
        .await;
    assert_eq!(status, 200, "{route}");
    let (status, plugin) = k
        .form(
            Method::POST,
            "/routes/mock/plugins",
            "name=oauth2&config.global_credentials=true&config.enable_client_credentials=true",
        )
        .await;
    assert_eq!(status, 201, "{plugin}");
    credential["id"].as_str().unwrap().to_string()
}

/// The proxy's status for `/mock` with `token` as bearer.
async fn proxied(k: &Standalone, token: &str) -> u16 {
    support::client::http1()
        .get(format!("http://{}/mock", k.http))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// `/oauth2_tokens` end to end on a running kingress whose token store is
/// set by `args`.
async fn oauth2_tokens_endpoint(args: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let k = Standalone::start(dir.path(), args).await;
    let upstream = Upstream::start("up").await;
    let credential = oauth2_route(&k, &upstream).await;

    // Kong's required fields.
    let (status, body) = k.json(Method::POST, "/oauth2_tokens", json!({})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["name"], "schema violation");
    assert_eq!(
        body["fields"],
        json!({"credential": "required field missing", "expires_in": "required field missing"})
    );
    let (status, body) = k
        .json(
            Method::POST,
            "/oauth2_tokens",
            json!({"credential": {"id": "9f1c0c6e-0000-4000-8000-000000000000"}, "expires_in": 60, "token_type": "mac"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["fields"]["token_type"], "expected one of: bearer");
    assert_eq!(
        body["fields"]["credential"],
        "the foreign key '{id=\"9f1c0c6e-0000-4000-8000-000000000000\"}' does not reference an existing 'oauth2_credentials' entity."
    );

    // Defaults: generated values, bearer.
    let (status, generated) = k
        .json(
            Method::POST,
            "/oauth2_tokens",
            json!({"credential": {"id": credential}, "expires_in": 3600, "scope": "read", "authenticated_userid": "u1"}),
        )
        .await;
    assert_eq!(status, 201, "{generated}");
    let access = generated["access_token"].as_str().unwrap().to_string();
    assert_eq!(access.len(), 32);
    assert_eq!(generated["refresh_token"].as_str().unwrap().len(), 32);
    assert_eq!(generated["token_type"], "bearer");
    assert_eq!(generated["expires_in"], 3600);
    assert_eq!(generated["scope"], "read");
    assert_eq!(generated["authenticated_userid"], "u1");
    assert_eq!(generated["credential"]["id"], credential.as_str());
    assert_eq!(proxied(&k, &access).await, 200);

    // A given value (form body, as curl sends it) is kept and unique.
    let mine = "MyOwnTokenValue0123456789abcdefg";
    let form = format!("credential.id={credential}&expires_in=0&access_token={mine}");
    let (status, given) = k.form(Method::POST, "/oauth2_tokens", &form).await;
    assert_eq!(status, 201, "{given}");
    assert_eq!(given["access_token"], mine);
    assert_eq!(proxied(&k, mine).await, 200);
    let (status, body) = k.form(Method::POST, "/oauth2_tokens", &form).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["name"], "unique constraint violation");

    // Listing pages with Kong's offsets; values stay masked.
    let (status, page) = k.get("/oauth2_tokens?size=1").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    let (_, rest) = k.get(page["next"].as_str().unwrap()).await;
    assert_eq!(rest["data"].as_array().unwrap().len(), 1, "{rest}");
    assert!(rest["next"].is_null(), "{rest}");
    assert_ne!(page["data"][0]["id"], rest["data"][0]["id"]);
    let (_, all) = k.get("/oauth2_tokens").await;
    let text = all.to_string();
    assert!(!text.contains(mine) && !text.contains(&access), "{text}");
    assert_eq!(all["data"][0]["access_token"], "[redacted]");

    // By token value and by id.
    let (status, by_token) = k.get(&format!("/oauth2_tokens/{mine}")).await;
    assert_eq!(status, 200, "{by_token}");
    assert_eq!(by_token["access_token"], "[redacted]");
    let id = by_token["id"].as_str().unwrap().to_string();
    assert_eq!(
        k.get(&format!("/oauth2_tokens/{id}")).await.1["id"],
        id.as_str()
    );
    assert_eq!(k.get("/oauth2_tokens/nothing-like-it").await.0, 404);

    // PATCH changes what Kong lets change. A Redis row is sealed under its
    // access token, so there it is changed through the token, not the id.
    let redis = args.contains(&"--token-store");
    let (status, by_id) = k
        .json(
            Method::PATCH,
            &format!("/oauth2_tokens/{id}"),
            json!({"scope": "write", "expires_in": 120}),
        )
        .await;
    if redis {
        assert_eq!(status, 400, "{by_id}");
        assert!(
            by_id["fields"]["id"]
                .as_str()
                .unwrap()
                .contains("through its access token"),
            "{by_id}"
        );
        assert_eq!(
            k.get(&format!("/oauth2_tokens/{mine}")).await.1["scope"],
            Value::Null,
            "unchanged"
        );
    } else {
        assert_eq!(status, 200, "{by_id}");
    }
    let (status, patched) = k
        .json(
            Method::PATCH,
            &format!("/oauth2_tokens/{mine}"),
            json!({"scope": "write", "expires_in": 120}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        (&patched["scope"], &patched["expires_in"]),
        (&json!("write"), &json!(120))
    );
    assert_eq!(
        k.get(&format!("/oauth2_tokens/{mine}")).await.1["scope"],
        "write"
    );
    assert_eq!(proxied(&k, mine).await, 200);

    // Revocation takes effect at once.
    let (status, _) = k
        .form(Method::DELETE, &format!("/oauth2_tokens/{mine}"), "")
        .await;
    assert_eq!(status, 204);
    assert_eq!(proxied(&k, mine).await, 401);
    assert_eq!(k.get(&format!("/oauth2_tokens/{id}")).await.0, 404);
    let generated_id = k.get(&format!("/oauth2_tokens/{access}")).await.1["id"].clone();
    let (status, _) = k
        .form(
            Method::DELETE,
            &format!("/oauth2_tokens/{}", generated_id.as_str().unwrap()),
            "",
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(proxied(&k, &access).await, 401);
    assert_eq!(
        k.get("/oauth2_tokens").await.1,
        json!({"data": [], "next": null})
    );
}

#[tokio::test]
async fn oauth2_tokens_is_a_full_endpoint_with_the_memory_store() {
    oauth2_tokens_endpoint(&[]).await;
}

#[tokio::test]
async fn oauth2_tokens_is_a_full_endpoint_with_a_real_redis() {
    let redis = support::redis_server::RedisServer::start();
    let url = redis.url();
    oauth2_tokens_endpoint(&["--token-store", &url]).await;
}

/// request-transformer and response-transformer through the Admin API:
/// form and JSON configs, Kong's defaults in the answer, per-element errors
/// with Kong's messages, and the configured plugins acting on the proxy.
#[tokio::test]
async fn transformer_plugins_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let k = Standalone::start(dir.path(), &[]).await;
    let upstream = Upstream::start("up").await;
    let url = format!("url=http://{}", upstream.addr);
    assert_eq!(k.form(Method::PUT, "/services/up", &url).await.0, 200);
    let route = "paths=/t&service.name=up";
    assert_eq!(k.form(Method::PUT, "/routes/t", route).await.0, 200);

    // Form input: repeated keys make the array.
    let (status, rt) = k
        .form(
            Method::POST,
            "/routes/t/plugins",
            "name=request-transformer&config.add.headers=h1:v1&config.add.headers=h2:v:2&config.remove.querystring=secret",
        )
        .await;
    assert_eq!(status, 201, "{rt}");
    assert_eq!(rt["config"]["add"]["headers"], json!(["h1:v1", "h2:v:2"]));
    assert_eq!(rt["config"]["replace"]["uri"], Value::Null);
    assert_eq!(
        rt["config"]["append"],
        json!({"body": [], "headers": [], "querystring": []})
    );
    let (status, body) = k
        .json(
            Method::POST,
            "/routes/t/plugins",
            json!({"name": "response-transformer", "config": {
                "add": {"json": ["n:1"], "json_types": ["number"], "headers": ["x-r:yes"]}}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap();
    let (status, read) = k.get(&format!("/plugins/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(read["config"], body["config"]);
    assert_eq!(read["config"]["remove"], json!({"json": [], "headers": []}));

    // Kong's element messages.
    let (status, body) = k
        .json(
            Method::POST,
            "/plugins",
            json!({"name": "request-transformer", "config": {"rename": {"headers": ["a:b", "x:bad name"]}}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["fields"],
        json!({"config": {"rename": {"headers": [null, "'bad name' is not a valid header"]}}})
    );
    let (status, body) = k
        .json(
            Method::POST,
            "/plugins",
            json!({"name": "request-transformer", "config": {"http_method": "HELLO!"}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["fields"],
        json!({"config": {"http_method": "invalid value: HELLO!"}})
    );

    // Both act on the proxy (the table is swapped in shortly after a write).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let res = support::client::http1()
            .get(format!("http://{}/t?secret=1&keep=2", k.http))
            .send()
            .await
            .unwrap();
        let added = res
            .headers()
            .get("x-r")
            .map(|v| v.to_str().unwrap().to_string());
        let echo: Value = res.json().await.unwrap();
        if added.as_deref() == Some("yes") && echo["n"] == 1 {
            assert_eq!(echo["headers"]["h2"], "v:2");
            assert_eq!(echo["query"], "keep=2");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not applied: {echo}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A Kong openid-connect configuration as `deck dump` writes it (every
/// field of the 3.15 schema at its default) loads unchanged from kong.yml,
/// and a 3.4 dump through `POST /plugins`; both read back in Kong's shape
/// (every field, as given). A value kingress lacks is Kong's 400 naming the
/// field and the value.
#[tokio::test]
async fn openid_connect_deck_dumps_load_from_kong_yml_and_the_admin_api() {
    let dump = |version: &str| -> Value {
        let path = format!(
            "{}/tests/fixtures/openid_connect/deck_dump_{version}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let assert_as_given = |read: &Value, given: &Value| {
        for (field, value) in given.as_object().unwrap() {
            assert_eq!(&read[field], value, "{field}");
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let current = dump("3.15");
    let kong_yml = json!({
        "_format_version": "3.0",
        "services": [{"name": "api", "url": "http://127.0.0.1:9",
                      "routes": [{"name": "r", "paths": ["/oidc"]}]}],
        "plugins": [{"name": "openid-connect", "route": "r", "enabled": true,
                     "protocols": ["grpc", "grpcs", "http", "https"], "config": current}],
    });
    std::fs::write(
        dir.path().join("kong.yml"),
        serde_yaml::to_string(&kong_yml).unwrap(),
    )
    .unwrap();
    let k = Standalone::start(dir.path(), &[]).await;
    let (status, list) = k.get("/plugins").await;
    assert_eq!(status, 200, "{list}");
    let loaded = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "openid-connect")
        .unwrap_or_else(|| panic!("not loaded: {list}"));
    assert_as_given(&loaded["config"], &current);

    let legacy = dump("3.4");
    let (status, body) = k
        .json(
            Method::POST,
            "/plugins",
            json!({"name": "openid-connect", "config": legacy}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, read) = k
        .get(&format!("/plugins/{}", body["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, 200);
    assert_as_given(&read["config"], &legacy);
    assert_eq!(
        read["config"]["proof_of_possession_dpop"], "off",
        "3.15 fields at their default"
    );

    let mut refused = legacy.clone();
    refused["verify_parameters"] = json!(true);
    let (status, body) = k
        .json(
            Method::POST,
            "/plugins",
            json!({"name": "openid-connect", "config": refused}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let message = body["fields"]["config"]["verify_parameters"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.starts_with("'true' is not supported by kingress"),
        "{body}"
    );
}
