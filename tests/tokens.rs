//! The token-store contract, checked against the memory store and against a
//! real `redis-server` that each Redis test starts on a free loopback port.
//! Without the `redis-server` binary the Redis tests fail (they do not skip).
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use crate::support;

use kingress::metrics::Metrics;
use kingress::model::Sensitive;
use kingress::secret::Keyring;
use kingress::tokens::{
    AuthCode, DEFAULT_MAX_PER_CREDENTIAL, Grant, IssuedToken, StoreError, TokenChange, TokenStore,
    digest_hex, random_token, unix_now,
};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::redis_server::RedisServer;

// === the contract ===

/// A token value for `credential` that a Redis Cluster store accepts: the
/// first byte of its SHA-256 is that of the SHA-1 of the credential id (the
/// rule `TokenStore::fresh_token` draws by), so the same tokens run the
/// contract on every store.
fn value_for(credential: &str) -> String {
    let tag = <sha1::Sha1 as sha1::Digest>::digest(credential.as_bytes())[0];
    loop {
        let t = random_token();
        if hex::decode(digest_hex(&t)).unwrap()[0] == tag {
            return t;
        }
    }
}

fn token(credential: &str, created_at: u64, ttl: Option<u64>, refresh: bool) -> IssuedToken {
    IssuedToken {
        access_token: Sensitive::new(value_for(credential)),
        refresh_token: refresh.then(|| Sensitive::new(value_for(credential))),
        credential_id: credential.to_string(),
        service: Some("default.echo.80".into()),
        scope: Some("email profile".into()),
        authenticated_userid: Some("user-1".into()),
        expires_in: 7200,
        created_at,
        ttl,
    }
}

fn code(credential: &str, created_at: u64) -> AuthCode {
    AuthCode {
        code: Sensitive::new(random_token()),
        credential_id: credential.to_string(),
        service: None,
        plugin_id: "plugin-1".into(),
        authenticated_userid: Some("user-1".into()),
        scope: Some("email".into()),
        challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        challenge_method: Some("S256".into()),
        created_at,
    }
}

async fn lookups(store: &TokenStore) {
    let now = unix_now();
    let t = token("cred-a", now, Some(3600), true);
    store.insert_token(&t).await.unwrap();
    let by_access = store
        .token(t.access_token.expose())
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(
        by_access.refresh_token, None,
        "an access-token lookup must not reveal the refresh token"
    );
    assert_eq!(
        IssuedToken {
            refresh_token: t.refresh_token.clone(),
            ..by_access
        },
        t
    );
    let by_refresh = store
        .token_by_refresh(t.refresh_token.as_ref().unwrap().expose())
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(by_refresh, t);
    assert_eq!(
        store.grant(t.access_token.expose()).await.unwrap(),
        Some(Grant::from(t.clone()))
    );
    assert_eq!(store.token(&random_token()).await.unwrap(), None);
    assert_eq!(store.grant(&random_token()).await.unwrap(), None);
    assert_eq!(store.token_by_refresh(&random_token()).await.unwrap(), None);

    store.delete_token(t.access_token.expose()).await.unwrap();
    assert_eq!(store.token(t.access_token.expose()).await.unwrap(), None);
    assert_eq!(store.grant(t.access_token.expose()).await.unwrap(), None);
    assert_eq!(
        store
            .token_by_refresh(t.refresh_token.as_ref().unwrap().expose())
            .await
            .unwrap(),
        None
    );
}

async fn lifetimes(store: &TokenStore) {
    let now = unix_now();
    // Access token expired, row still alive: found, and `is_expired` says so.
    let mut expired = token("cred-a", now - 7300, Some(1_209_600), true);
    expired.expires_in = 7200;
    store.insert_token(&expired).await.unwrap();
    let found = store
        .token(expired.access_token.expose())
        .await
        .unwrap()
        .expect("row alive");
    assert!(found.is_expired(now));
    let grant = store
        .grant(expired.access_token.expose())
        .await
        .unwrap()
        .expect("row alive");
    assert!(grant.is_expired(now) && !grant.is_expired(now - 200));
    // The row's lifetime has passed: gone, refresh token included.
    let gone = token("cred-a", now - 100, Some(50), true);
    store.insert_token(&gone).await.unwrap();
    assert_eq!(store.token(gone.access_token.expose()).await.unwrap(), None);
    assert_eq!(store.grant(gone.access_token.expose()).await.unwrap(), None);
    assert_eq!(
        store
            .token_by_refresh(gone.refresh_token.as_ref().unwrap().expose())
            .await
            .unwrap(),
        None
    );
    // No ttl: kept.
    let forever = token("cred-a", now - 10_000_000, None, false);
    store.insert_token(&forever).await.unwrap();
    assert!(
        store
            .token(forever.access_token.expose())
            .await
            .unwrap()
            .is_some()
    );
    // Codes live 300 s.
    let old = code("cred-a", now - 301);
    store.insert_code(&old).await.unwrap();
    assert_eq!(store.code(old.code.expose()).await.unwrap(), None);
    assert_eq!(store.take_code(old.code.expose()).await.unwrap(), None);
}

async fn refresh_swaps(store: &TokenStore) {
    let now = unix_now();
    let old = token("cred-a", now, Some(3600), true);
    store.insert_token(&old).await.unwrap();
    let old = store
        .token_by_refresh(old.refresh_token.as_ref().unwrap().expose())
        .await
        .unwrap()
        .unwrap();

    // Rotation: a new pair; the old access and refresh tokens die.
    let rotated = token("cred-a", now, Some(3600), true);
    assert!(store.replace_token(&old, &rotated).await.unwrap());
    assert_eq!(store.token(old.access_token.expose()).await.unwrap(), None);
    assert_eq!(
        store
            .token_by_refresh(old.refresh_token.as_ref().unwrap().expose())
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .token(rotated.access_token.expose())
            .await
            .unwrap()
            .is_some()
    );
    // The same old row cannot be swapped twice.
    let again = token("cred-a", now, Some(3600), true);
    assert!(!store.replace_token(&old, &again).await.unwrap());
    assert_eq!(
        store.token(again.access_token.expose()).await.unwrap(),
        None
    );

    // Reuse: same refresh token, new access token.
    let reused = IssuedToken {
        access_token: Sensitive::new(value_for("cred-a")),
        ..rotated.clone()
    };
    assert!(store.replace_token(&rotated, &reused).await.unwrap());
    assert_eq!(
        store.token(rotated.access_token.expose()).await.unwrap(),
        None
    );
    let back = store
        .token_by_refresh(reused.refresh_token.as_ref().unwrap().expose())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back, reused);
    // A rotation into a row without refresh token (token_expiration 0).
    let plain = token("cred-a", now, None, false);
    assert!(store.replace_token(&back, &plain).await.unwrap());
    assert!(
        store
            .token(plain.access_token.expose())
            .await
            .unwrap()
            .is_some()
    );
}

async fn concurrent_refresh_has_one_winner(store: &TokenStore) {
    let old = token("cred-a", unix_now(), Some(3600), true);
    store.insert_token(&old).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (store, old) = (store.clone(), old.clone());
        tasks.push(tokio::spawn(async move {
            let new = token("cred-a", unix_now(), Some(3600), true);
            store.replace_token(&old, &new).await.unwrap()
        }));
    }
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
}

async fn codes_are_taken_once(store: &TokenStore) {
    let c = code("cred-a", unix_now());
    store.insert_code(&c).await.unwrap();
    assert_eq!(
        store.code(c.code.expose()).await.unwrap().as_ref(),
        Some(&c)
    );
    assert_eq!(
        store.code(c.code.expose()).await.unwrap().as_ref(),
        Some(&c),
        "peeking does not consume"
    );
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (store, value) = (store.clone(), c.code.expose().to_string());
        tasks.push(tokio::spawn(async move {
            store.take_code(&value).await.unwrap()
        }));
    }
    let mut taken = Vec::new();
    for t in tasks {
        taken.extend(t.await.unwrap());
    }
    assert_eq!(taken, vec![c.clone()], "exactly one taker");
    assert_eq!(store.code(c.code.expose()).await.unwrap(), None);
}

async fn listing_and_cascade(store: &TokenStore) {
    let now = unix_now();
    let keep = token("cred-keep", now, Some(3600), true);
    let drop1 = token("cred-drop", now, Some(3600), true);
    let drop2 = token("cred-drop", now, None, false);
    let dropped_code = code("cred-drop", now);
    for t in [&keep, &drop1, &drop2] {
        store.insert_token(t).await.unwrap();
    }
    store.insert_code(&dropped_code).await.unwrap();
    assert_eq!(store.len().await.unwrap(), 3);

    let listed = store.list_tokens(None, 10).await.unwrap();
    assert_eq!(listed.len(), 3);
    let ids: HashSet<String> = listed.iter().map(|s| s.id.clone()).collect();
    assert!(ids.contains(&digest_hex(keep.access_token.expose())));
    let json = serde_json::to_string(&listed).unwrap();
    for t in [&keep, &drop1, &drop2] {
        assert!(
            !json.contains(t.access_token.expose()),
            "listing must not show token values"
        );
    }
    // Pages in id order: the last id of one page is the next one's offset.
    let first = store.list_tokens(None, 2).await.unwrap();
    assert_eq!(first.len(), 2);
    assert!(first[0].id < first[1].id);
    let rest = store.list_tokens(Some(&first[1].id), 10).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert!(rest[0].id > first[1].id);

    // Found, changed and revoked by id or by the token value.
    let by_value = store
        .find(keep.access_token.expose())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_value.id, digest_hex(keep.access_token.expose()));
    assert_eq!(
        store.find(&by_value.id).await.unwrap(),
        Some(by_value.clone())
    );
    let change = TokenChange {
        expires_in: Some(5),
        scope: Some(Some("changed".into())),
        authenticated_userid: Some(None),
    };
    // A Redis row is sealed under its access token: its id is not enough.
    let by_id = store.update(&by_value.id, &change).await;
    if matches!(store, TokenStore::Redis(_)) {
        assert!(matches!(by_id, Err(StoreError::NeedsToken)), "{by_id:?}");
    } else {
        assert!(by_id.unwrap().is_some());
    }
    let changed = store
        .update(keep.access_token.expose(), &change)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (changed.expires_in, changed.scope.as_deref()),
        (5, Some("changed"))
    );
    assert_eq!(changed.authenticated_userid, None);
    let grant = store
        .grant(keep.access_token.expose())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(grant.scope.as_deref(), Some("changed"));
    // The changed row still refreshes: the sealed access token is bound to
    // what never changes.
    let refresh = keep.refresh_token.as_ref().unwrap().expose();
    let refreshed = store.token_by_refresh(refresh).await.unwrap().unwrap();
    assert_eq!(refreshed.scope.as_deref(), Some("changed"));
    assert!(store.revoke(drop2.access_token.expose()).await.unwrap());
    assert!(!store.revoke(drop2.access_token.expose()).await.unwrap());
    assert_eq!(
        store.grant(drop2.access_token.expose()).await.unwrap(),
        None
    );
    assert!(store.update("unknown", &change).await.unwrap().is_none());
    store.insert_token(&drop2).await.unwrap();

    let removed = store
        .retain_credentials(&HashSet::from(["cred-keep".to_string()]))
        .await
        .unwrap();
    assert_eq!(removed, 3);
    assert!(
        store
            .token(keep.access_token.expose())
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store.token(drop1.access_token.expose()).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .token_by_refresh(drop1.refresh_token.as_ref().unwrap().expose())
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.code(dropped_code.code.expose()).await.unwrap(), None);
    assert_eq!(store.len().await.unwrap(), 1);
}

async fn contract(store: &TokenStore) {
    lookups(store).await;
    lifetimes(store).await;
    refresh_swaps(store).await;
    concurrent_refresh_has_one_winner(store).await;
    codes_are_taken_once(store).await;
}

/// A credential at its bound loses its oldest token (and that token's
/// refresh token) to each new one; rows gone otherwise (deleted, refreshed,
/// expired) free their place; other credentials are not affected.
async fn per_credential_bound(store: &TokenStore) {
    const MAX: usize = 3; // the bound the store was opened with
    let now = unix_now();
    let other = token("cred-other", now, Some(3600), true);
    store.insert_token(&other).await.unwrap();
    let mut busy = Vec::new();
    for _ in 0..MAX + 2 {
        let t = token("cred-busy", now, Some(3600), true);
        store.insert_token(&t).await.unwrap();
        busy.push(t);
    }
    for t in &busy[..2] {
        assert_eq!(store.token(t.access_token.expose()).await.unwrap(), None);
        let refresh = t.refresh_token.as_ref().unwrap().expose();
        assert_eq!(store.token_by_refresh(refresh).await.unwrap(), None);
    }
    for t in &busy[2..] {
        assert!(
            store
                .token(t.access_token.expose())
                .await
                .unwrap()
                .is_some()
        );
    }
    assert!(
        store
            .token(other.access_token.expose())
            .await
            .unwrap()
            .is_some()
    );
    let more = token("cred-other", now, Some(3600), true);
    store.insert_token(&more).await.unwrap();
    assert!(
        store
            .token(more.access_token.expose())
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.len().await.unwrap(), MAX + 2);

    // A refresh replaces a row: nothing is evicted.
    let old = store
        .token_by_refresh(busy[2].refresh_token.as_ref().unwrap().expose())
        .await
        .unwrap()
        .unwrap();
    let refreshed = token("cred-busy", now, Some(3600), true);
    assert!(store.replace_token(&old, &refreshed).await.unwrap());
    for t in [&busy[3], &busy[4], &refreshed] {
        assert!(
            store
                .token(t.access_token.expose())
                .await
                .unwrap()
                .is_some()
        );
    }
    // A delete frees a place: the next token evicts nothing.
    store
        .delete_token(busy[3].access_token.expose())
        .await
        .unwrap();
    let next = token("cred-busy", now, Some(3600), true);
    store.insert_token(&next).await.unwrap();
    for t in [&busy[4], &refreshed, &next] {
        assert!(
            store
                .token(t.access_token.expose())
                .await
                .unwrap()
                .is_some()
        );
    }
    // So does expiry: a short-lived row, once past its lifetime, does not
    // count, and the long-lived ones stay.
    store
        .delete_token(next.access_token.expose())
        .await
        .unwrap();
    let short = token("cred-busy", unix_now(), Some(1), true);
    store.insert_token(&short).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let last = token("cred-busy", unix_now(), Some(3600), true);
    store.insert_token(&last).await.unwrap();
    for t in [&busy[4], &refreshed, &last] {
        assert!(
            store
                .token(t.access_token.expose())
                .await
                .unwrap()
                .is_some()
        );
    }
}

fn bounded_memory_store(max: usize) -> TokenStore {
    use kingress::tokens::memory::{Limits, MemoryStore};
    let limits = Limits {
        max_per_credential: max,
        ..Limits::default()
    };
    TokenStore::Memory(Arc::new(MemoryStore::new(limits, None)))
}

// === memory ===

#[tokio::test]
async fn memory_store_bounds_tokens_per_credential() {
    per_credential_bound(&bounded_memory_store(3)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_contract() {
    contract(&TokenStore::memory()).await;
    listing_and_cascade(&TokenStore::memory()).await;
}

#[tokio::test]
async fn memory_store_from_url_reports_metrics() {
    let metrics = Metrics::new();
    let store = TokenStore::from_url("memory", metrics.clone())
        .await
        .unwrap();
    assert_eq!(store.backend(), "memory");
    store
        .insert_token(&token("c", unix_now(), Some(60), true))
        .await
        .unwrap();
    let text = metrics.encode();
    assert!(text.contains("kingress_tokens_stored 1"), "{text}");
    assert!(text.contains("backend=\"memory\",outcome=\"ok\""), "{text}");
}

#[tokio::test]
async fn unknown_store_urls_are_refused() {
    let err = TokenStore::from_url("mysql://user:pw@db", Metrics::new())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Config { .. }));
    assert!(!err.to_string().contains("pw"), "{err}");
}

// === redis ===

/// The key of a row, refresh index or code named by `hash`, as the store
/// lays them out: `{ab}` (the hash's first byte) is a Redis Cluster hash tag.
fn row_key(kind: &str, hash: &str) -> String {
    format!("kingress:{{{}}}:{kind}:{hash}", &hash[..2])
}

/// The key of a credential's set, tagged by the first byte of the SHA-1 of
/// its id (what the store's Lua computes with `redis.sha1hex`).
fn cred_key(kind: &str, credential: &str) -> String {
    let tag = &format!(
        "{:02x}",
        <sha1::Sha1 as sha1::Digest>::digest(credential.as_bytes())[0]
    );
    format!("kingress:{{{tag}}}:{kind}:{credential}")
}

async fn redis_store(server: &RedisServer) -> TokenStore {
    let store = TokenStore::from_url(&server.url(), Metrics::new())
        .await
        .unwrap();
    assert_eq!(store.backend(), "redis");
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_store_contract() {
    let server = RedisServer::start();
    contract(&redis_store(&server).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_store_listing_and_cascade() {
    let server = RedisServer::start();
    listing_and_cascade(&redis_store(&server).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_store_bounds_tokens_per_credential() {
    let server = RedisServer::start();
    let metrics = Metrics::new();
    let store = TokenStore::open(&server.url(), metrics.clone(), 3)
        .await
        .unwrap();
    per_credential_bound(&store).await;
    assert!(
        metrics.encode().contains("kingress_tokens_evicted_total 2"),
        "{}",
        metrics.encode()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_issuing_at_once_keep_the_bound() {
    const MAX: usize = 5;
    let server = RedisServer::start();
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let store = TokenStore::open(&server.url(), Metrics::new(), MAX)
            .await
            .unwrap();
        replicas.push(store);
    }
    let mut tasks = Vec::new();
    for (i, store) in replicas.iter().cycle().take(8).enumerate() {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut issued = Vec::new();
            for _ in 0..10 {
                let t = token("cred-shared", unix_now(), Some(3600), i % 2 == 0);
                store.insert_token(&t).await.unwrap();
                issued.push(t);
            }
            issued
        }));
    }
    let mut issued = Vec::new();
    for t in tasks {
        issued.extend(t.await.unwrap());
    }
    let mut live = 0;
    for t in &issued {
        live += usize::from(
            replicas[0]
                .token(t.access_token.expose())
                .await
                .unwrap()
                .is_some(),
        );
    }
    assert_eq!(live, MAX, "of {} issued", issued.len());
    assert_eq!(replicas[1].len().await.unwrap(), MAX);
    let mut raw = server.raw().await;
    let counted: usize = redis::cmd("ZCARD")
        .arg(cred_key("cred", "cred-shared"))
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(counted, MAX);
}

#[tokio::test]
async fn redis_holds_no_token_values_and_expires_rows_by_ttl() {
    let server = RedisServer::start();
    let store = redis_store(&server).await;
    let now = unix_now();
    let t = token("cred-a", now, Some(120), true);
    let c = code("cred-a", now);
    store.insert_token(&t).await.unwrap();
    store.insert_code(&c).await.unwrap();

    let mut raw = server.raw().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut raw)
        .await
        .unwrap();
    // Row, refresh index, code, and the credential's two sets.
    assert_eq!(keys.len(), 5, "{keys:?}");
    assert!(keys.contains(&cred_key("cred", "cred-a")));
    assert!(keys.contains(&cred_key("cred-expiry", "cred-a")));
    let secrets = [
        t.access_token.expose(),
        t.refresh_token.as_ref().unwrap().expose(),
        c.code.expose(),
    ];
    for key in &keys {
        let kind: String = redis::cmd("TYPE")
            .arg(key)
            .query_async(&mut raw)
            .await
            .unwrap();
        let value: String = if kind == "zset" {
            let members: Vec<String> = redis::cmd("ZRANGE")
                .arg(key)
                .arg(0)
                .arg(-1)
                .query_async(&mut raw)
                .await
                .unwrap();
            assert_eq!(members, [digest_hex(t.access_token.expose())], "{key}");
            members.concat()
        } else {
            redis::cmd("GET")
                .arg(key)
                .query_async(&mut raw)
                .await
                .unwrap()
        };
        for s in secrets {
            assert!(
                !key.contains(s) && !value.contains(s),
                "{key} holds a token value"
            );
        }
        let ttl: i64 = redis::cmd("TTL")
            .arg(key)
            .query_async(&mut raw)
            .await
            .unwrap();
        let max = if key.contains("}:code:") { 300 } else { 120 };
        assert!(ttl > 0 && ttl <= max, "{key} has TTL {ttl}");
    }
    let row_key = row_key("token", &digest_hex(t.access_token.expose()));
    assert!(keys.contains(&row_key));
}

#[tokio::test]
async fn redis_tokens_survive_a_kingress_restart() {
    let server = RedisServer::start();
    let first = redis_store(&server).await;
    let t = token("cred-a", unix_now(), Some(3600), true);
    let c = code("cred-a", unix_now());
    first.insert_token(&t).await.unwrap();
    first.insert_code(&c).await.unwrap();
    drop(first);

    // A new process connecting to the same Redis sees everything.
    let second = redis_store(&server).await;
    assert!(
        second
            .token(t.access_token.expose())
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        second
            .token_by_refresh(t.refresh_token.as_ref().unwrap().expose())
            .await
            .unwrap(),
        Some(t)
    );
    assert_eq!(second.take_code(c.code.expose()).await.unwrap(), Some(c));
}

async fn keyed_store(server: &RedisServer, keys: &[(&str, u8)]) -> TokenStore {
    let keys = Keyring::new(
        keys.iter()
            .map(|(id, b)| (id.to_string(), [*b; 32]))
            .collect(),
    );
    TokenStore::open_with_keys(
        &server.url(),
        Metrics::new(),
        DEFAULT_MAX_PER_CREDENTIAL,
        keys.unwrap(),
    )
    .await
    .unwrap()
}

/// Whether `store` finds `t` by access token, by refresh token, or as a grant.
async fn finds(store: &TokenStore, t: &IssuedToken) -> [bool; 3] {
    let refresh = t.refresh_token.as_ref().unwrap().expose();
    [
        store
            .token(t.access_token.expose())
            .await
            .unwrap()
            .is_some(),
        store.token_by_refresh(refresh).await.unwrap().is_some(),
        store
            .grant(t.access_token.expose())
            .await
            .unwrap()
            .is_some(),
    ]
}

#[tokio::test]
async fn redis_rows_edited_truncated_or_under_unknown_keys_are_absent() {
    let server = RedisServer::start();
    let store = redis_store(&server).await;
    let t = token("cred-a", unix_now(), Some(3600), true);
    store.insert_token(&t).await.unwrap();
    let row_key = row_key("token", &digest_hex(t.access_token.expose()));
    let mut raw = server.raw().await;
    let original: String = redis::cmd("GET")
        .arg(&row_key)
        .query_async(&mut raw)
        .await
        .unwrap();
    let row: serde_json::Value = serde_json::from_str(&original).unwrap();
    assert!(row["seal"].as_str().unwrap().starts_with("k0."), "{row}");

    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut r = row.clone();
        f(&mut r);
        r.to_string()
    };
    let flip_last = |s: &str| {
        let mut b = s.as_bytes().to_vec();
        let last = b.len() - 1;
        b[last] = if b[last] == b'A' { b'B' } else { b'A' };
        String::from_utf8(b).unwrap()
    };
    let cases = [
        ("scope widened", edit(&|r| r["scope"] = "admin".into())),
        ("lifetime extended", edit(&|r| r["ttl"] = 999_999.into())),
        (
            "moved to another credential",
            edit(&|r| r["credential_id"] = "cred-b".into()),
        ),
        (
            "seal tampered",
            edit(&|r| r["seal"] = flip_last(r["seal"].as_str().unwrap()).into()),
        ),
        (
            "sealed access truncated",
            edit(&|r| {
                let s = r["sealed_access"].as_str().unwrap();
                r["sealed_access"] = s[..s.len() - 6].into();
            }),
        ),
        (
            "unknown key id",
            edit(&|r| {
                for f in ["seal", "sealed_access"] {
                    r[f] = r[f].as_str().unwrap().replacen("k0.", "k9.", 1).into();
                }
            }),
        ),
        ("not JSON", original[..original.len() / 2].to_string()),
        (
            "the pre-AEAD format (hex keystream, no seal)",
            edit(&|r| {
                r.as_object_mut().unwrap().remove("seal");
                r["sealed_access"] = "00112233445566778899aabbccddeeff0102".into();
            }),
        ),
    ];
    for (what, value) in cases {
        let _: () = redis::cmd("SET")
            .arg(&row_key)
            .arg(&value)
            .query_async(&mut raw)
            .await
            .unwrap();
        let found = finds(&store, &t).await;
        // Only a truncated sealed access token still verifies by access
        // token: that path never opens it.
        let expected = [
            what == "sealed access truncated",
            false,
            what == "sealed access truncated",
        ];
        assert_eq!(found, expected, "{what}");
    }
    let _: () = redis::cmd("SET")
        .arg(&row_key)
        .arg(&original)
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(finds(&store, &t).await, [true; 3], "the untouched row");
}

#[tokio::test]
async fn redis_seal_keys_rotate_old_ids_open_while_the_new_key_seals() {
    let server = RedisServer::start();
    let old = keyed_store(&server, &[("2025", 1)]).await;
    let rotated = keyed_store(&server, &[("2026", 2), ("2025", 1)]).await;
    let before = token("cred-a", unix_now(), Some(3600), true);
    old.insert_token(&before).await.unwrap();
    assert_eq!(finds(&rotated, &before).await, [true; 3]);

    let after = token("cred-a", unix_now(), Some(3600), true);
    rotated.insert_token(&after).await.unwrap();
    let mut raw = server.raw().await;
    let row: String = redis::cmd("GET")
        .arg(row_key("token", &digest_hex(after.access_token.expose())))
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(row.contains(r#""seal":"2026."#), "{row}");
    // A replica not yet rotated cannot open the new rows (unknown id) ...
    assert_eq!(finds(&old, &after).await, [false; 3]);
    // ... nor one whose key under the same id differs (wrong key).
    let wrong = keyed_store(&server, &[("2025", 3)]).await;
    assert_eq!(finds(&wrong, &before).await, [false; 3]);
    // The built-in key opens neither: configured keys are secrets.
    assert_eq!(
        finds(&redis_store(&server).await, &before).await,
        [false; 3]
    );
    // A code sealed under the new key is taken by the rotated store only.
    let c = code("cred-a", unix_now());
    rotated.insert_code(&c).await.unwrap();
    assert_eq!(old.code(c.code.expose()).await.unwrap(), None);
    assert_eq!(rotated.take_code(c.code.expose()).await.unwrap(), Some(c));
}

/// Retries `op` until it succeeds or `within` passes.
async fn eventually<T, F, Fut>(within: Duration, mut op: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let deadline = Instant::now() + within;
    loop {
        match op().await {
            Ok(v) => return v,
            Err(e) => {
                assert!(Instant::now() < deadline, "store did not recover: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_is_unavailable_quickly_and_recovers_by_itself() {
    let mut server = RedisServer::start();
    let port = server.port;
    let store = redis_store(&server).await;
    let t = token("cred-a", unix_now(), Some(3600), true);
    store.insert_token(&t).await.unwrap();

    server.stop();
    for _ in 0..3 {
        let started = Instant::now();
        let err = store.token(t.access_token.expose()).await.unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "took {:?}",
            started.elapsed()
        );
        let err = store
            .insert_code(&code("cred-a", unix_now()))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    }

    // Same port, empty database (no persistence): the same store object
    // reconnects on its own.
    let server = RedisServer::start_on(port);
    let store2 = store.clone();
    let found = eventually(Duration::from_secs(10), move || {
        let store = store2.clone();
        let access = t.access_token.expose().to_string();
        async move { store.token(&access).await }
    })
    .await;
    assert_eq!(found, None, "the restarted server has no data");
    let again = token("cred-a", unix_now(), Some(3600), true);
    store.insert_token(&again).await.unwrap();
    assert!(
        store
            .token(again.access_token.expose())
            .await
            .unwrap()
            .is_some()
    );
    drop(server);
}

#[tokio::test]
async fn redis_store_created_while_redis_is_down_connects_later() {
    let port = support::standalone::free_port().port();
    let store = TokenStore::from_url(&format!("redis://127.0.0.1:{port}/"), Metrics::new())
        .await
        .unwrap();
    let started = Instant::now();
    assert!(matches!(
        store.token("x").await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(started.elapsed() < Duration::from_secs(3));

    let _server = RedisServer::start_on(port);
    let store = Arc::new(store);
    let s = store.clone();
    eventually(Duration::from_secs(10), move || {
        let s = s.clone();
        async move {
            s.insert_token(&token("c", unix_now(), Some(60), false))
                .await
        }
    })
    .await;
    assert_eq!(store.len().await.unwrap(), 1);
}

// === redis cluster ===

/// The whole contract (atomic refresh, codes taken once, the per-credential
/// bound, listing and cascade across primaries) on a three-primary Redis
/// Cluster: every script's keys must share a slot or Redis refuses it.
#[tokio::test]
async fn redis_cluster_store_keeps_the_contract() {
    let cluster = support::redis_topology::Cluster::start().await;
    let store = TokenStore::open(&cluster.url(), Metrics::new(), 3)
        .await
        .unwrap();
    contract(&store).await;
    cluster.flush().await;
    listing_and_cascade(&store).await;
    cluster.flush().await;
    per_credential_bound(&store).await;

    // Keys spread over the primaries, yet one credential's keys (rows,
    // refresh indexes, its sets) live on one node.
    for i in 0..24 {
        let t = token(&format!("spread-{i}"), unix_now(), Some(600), true);
        store.insert_token(&t).await.unwrap();
    }
    let per_node = cluster.keys_per_node().await;
    let holding = per_node.iter().filter(|keys| !keys.is_empty()).count();
    assert!(holding >= 2, "keys on {holding} node(s): {per_node:?}");
    for credential in ["cred-busy", "spread-3", "spread-17"] {
        let nodes = per_node
            .iter()
            .filter(|keys| keys.iter().any(|k| k.ends_with(credential)))
            .count();
        assert_eq!(nodes, 1, "{credential}'s sets on {nodes} nodes");
    }
}

/// Values not drawn for their credential (an Admin API client chose them)
/// are refused with a clear error instead of a cross-slot failure; drawn
/// values are accepted.
#[tokio::test]
async fn redis_cluster_refuses_token_values_outside_their_credentials_slot() {
    let cluster = support::redis_topology::Cluster::start().await;
    let store = TokenStore::from_url(&cluster.url(), Metrics::new())
        .await
        .unwrap();
    let credential = "cred-admin";
    let mut t = token(credential, unix_now(), Some(600), true);
    // A value whose tag differs from the credential's.
    let tag = <sha1::Sha1 as sha1::Digest>::digest(credential.as_bytes())[0];
    let foreign = loop {
        let v = random_token();
        if hex::decode(digest_hex(&v)).unwrap()[0] != tag {
            break v;
        }
    };
    t.refresh_token = Some(Sensitive::new(foreign));
    let err = store.insert_token(&t).await.unwrap_err();
    assert!(matches!(err, StoreError::Unplaceable), "{err}");
    assert_eq!(store.token(t.access_token.expose()).await.unwrap(), None);
    let drawn = IssuedToken {
        access_token: Sensitive::new(store.fresh_token(credential)),
        refresh_token: Some(Sensitive::new(store.fresh_token(credential))),
        ..t
    };
    store.insert_token(&drawn).await.unwrap();
    assert!(
        store
            .token_by_refresh(drawn.refresh_token.as_ref().unwrap().expose())
            .await
            .unwrap()
            .is_some()
    );
}
