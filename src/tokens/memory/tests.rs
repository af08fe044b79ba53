use super::*;
use crate::model::Sensitive;

fn token(access: &str, created_at: u64, ttl: Option<u64>) -> IssuedToken {
    IssuedToken {
        access_token: Sensitive::new(access),
        refresh_token: Some(Sensitive::new(format!("r-{access}"))),
        credential_id: "cred".into(),
        service: None,
        scope: None,
        authenticated_userid: None,
        expires_in: 10,
        created_at,
        ttl,
    }
}

#[test]
fn full_store_refuses_until_rows_expire() {
    let store = MemoryStore::new(
        Limits {
            max_tokens: 2,
            max_codes: 2,
            ..Limits::default()
        },
        None,
    );
    let now = unix_now();
    store.insert_token(token("a", now, None)).unwrap();
    // A row already past its lifetime is accepted and not kept.
    store.insert_token(token("b", now - 100, Some(50))).unwrap();
    store.insert_token(token("c", now, Some(1))).unwrap();
    assert!(matches!(
        store.insert_token(token("d", now, None)),
        Err(StoreError::Full { limit: 2 })
    ));
    assert_eq!(store.len(), 2);
    store.sweep_chunk(now + 2, usize::MAX);
    store.insert_token(token("d", now, None)).unwrap();
    assert!(store.token("d").is_some());
    assert!(store.token("c").is_none());
}

#[test]
fn sweep_removes_expired_rows_and_their_refresh_index() {
    let store = MemoryStore::new(Limits::default(), None);
    let now = unix_now();
    store
        .insert_token(token("old", now - 10, Some(20)))
        .unwrap();
    store.insert_token(token("new", now, Some(3600))).unwrap();
    assert_eq!(store.sweep_chunk(now + 11, usize::MAX), 1);
    assert_eq!(store.len(), 1);
    assert!(!store.inner.read().refresh.contains_key(&Key::new("r-old")));
    assert!(store.token_by_refresh("r-new").is_some());
}

#[test]
fn stale_heap_entries_are_compacted() {
    let store = MemoryStore::new(Limits::default(), None);
    let now = unix_now();
    for i in 0..3000 {
        let t = token(&format!("t{i}"), now, Some(3600));
        store.insert_token(t).unwrap();
        store.delete_token(&format!("t{i}"));
    }
    assert!(store.inner.read().expiry.len() <= 1024 + 1);
    assert!(store.is_empty());
}

#[test]
fn a_credential_at_its_bound_loses_its_oldest_token_and_others_keep_theirs() {
    let store = MemoryStore::new(
        Limits {
            max_per_credential: 3,
            ..Limits::default()
        },
        None,
    );
    let now = unix_now();
    let of = |access: &str, credential: &str| IssuedToken {
        credential_id: credential.into(),
        ..token(access, now, Some(3600))
    };
    store.insert_token(of("other", "cred-b")).unwrap();
    for i in 0..5 {
        store.insert_token(of(&format!("t{i}"), "cred")).unwrap();
    }
    assert!(store.token("t0").is_none() && store.token("t1").is_none());
    assert!(
        store.token_by_refresh("r-t0").is_none(),
        "refresh index gone too"
    );
    for live in ["t2", "t3", "t4", "other"] {
        assert!(store.token(live).is_some(), "{live}");
    }
    assert_eq!(store.inner.read().quota.rows("cred"), 3);
    assert_eq!(store.inner.read().quota.rows("cred-b"), 1);

    // Rows removed otherwise free their place: no eviction needed.
    store.delete_token("t2");
    store.insert_token(of("t5", "cred")).unwrap();
    assert!(store.token("t3").is_some());
    assert_eq!(store.inner.read().quota.rows("cred"), 3);

    // The cascade forgets a credential entirely.
    store.retain_credentials(&HashSet::from(["cred-b".to_string()]));
    assert_eq!(store.inner.read().quota.rows("cred"), 0);
    assert_eq!(store.inner.read().quota.rows("cred-b"), 1);
}

#[test]
fn places_of_removed_rows_do_not_pile_up() {
    let store = MemoryStore::new(Limits::default(), None);
    let now = unix_now();
    store.insert_token(token("kept", now, Some(3600))).unwrap();
    for i in 0..1000 {
        store
            .insert_token(token(&format!("t{i}"), now, Some(3600)))
            .unwrap();
        store.delete_token(&format!("t{i}"));
    }
    let inner = store.inner.read();
    assert_eq!(inner.quota.rows("cred"), 1);
    let places = inner.quota.places("cred");
    assert!((1..=2 * 2 + 32).contains(&places), "{places}");
}
