use super::*;

fn entry(body: usize, storage_ttl: Option<u64>) -> Entry {
    Entry {
        status: 200,
        headers: HeaderMap::new(),
        body: Bytes::from(vec![b'x'; body]),
        timestamp: 0,
        ttl: 300,
        storage_ttl,
    }
}

#[test]
fn dictionaries_are_separate_namespaces() {
    let store = Store::new(Bounds::default());
    store.store("kong", "k", entry(1, None));
    assert!(store.fetch("kong", "k").is_some());
    assert!(store.fetch("other", "k").is_none());
    // "a:b" + "c" and "a" + "b:c" are different slots.
    store.store("a:b", "c", entry(1, None));
    assert!(store.fetch("a", "b:c").is_none());
    assert!(store.purge("kong", "k"));
    assert!(!store.purge("kong", "k"));
    assert!(store.fetch("kong", "k").is_none());
    store.flush();
    assert!(store.fetch("a:b", "c").is_none());
}

#[test]
fn memory_stays_within_the_bound_least_recently_used_out_first() {
    let bounds = Bounds {
        memory: 64 * 1024,
        max_entry: 16 * 1024,
    };
    let store = Store::new(bounds);
    store.store("d", "first", entry(8 * 1024, None));
    for i in 0..40 {
        // Keep "first" recently used.
        assert!(store.fetch("d", "first").is_some(), "evicted at {i}");
        store.store("d", &format!("k{i}"), entry(8 * 1024, None));
        store.weighted_size();
    }
    assert!(
        store.weighted_size() <= bounds.memory,
        "{}",
        store.weighted_size()
    );
    assert!(store.fetch("d", "first").is_some());
    // The oldest untouched entries went first.
    assert!(store.fetch("d", "k0").is_none());
    assert!(store.fetch("d", "k39").is_some());
}

#[test]
fn an_entry_larger_than_the_store_is_not_kept() {
    let store = Store::new(Bounds {
        memory: 1024,
        max_entry: 1024,
    });
    store.store("d", "big", entry(4096, None));
    assert!(store.fetch("d", "big").is_none());
}

#[test]
fn entries_expire_after_their_storage_ttl() {
    let store = Store::new(Bounds::default());
    store.store("d", "short", entry(1, Some(1)));
    store.store("d", "kept", entry(1, None));
    assert!(store.fetch("d", "short").is_some());
    std::thread::sleep(Duration::from_millis(1100));
    assert!(store.fetch("d", "short").is_none());
    assert!(store.fetch("d", "kept").is_some());
}

#[test]
fn admin_json_is_kongs_shape() {
    let mut e = entry(3, Some(10));
    e.headers.insert("x-cache-key", "abc".parse().unwrap());
    e.headers.append("set-cookie", "a=1".parse().unwrap());
    e.headers.append("set-cookie", "b=2".parse().unwrap());
    let v = e.to_json();
    assert_eq!(v["headers"]["X-Cache-Key"], "abc");
    assert_eq!(
        v["headers"]["Set-Cookie"],
        serde_json::json!(["a=1", "b=2"])
    );
    assert_eq!(v["body"], "xxx");
    assert_eq!(v["body_len"], 3);
    assert_eq!(v["ttl"], 300);
    assert_eq!(v["version"], 1);
    assert_eq!(v["status"], 200);
}

#[test]
fn copies_in_flight_share_the_memory_bound() {
    let store = Store::new(Bounds {
        memory: 1000,
        max_entry: 1000,
    });
    let mut a = store.reserve();
    let mut b = store.reserve();
    assert!(a.grow(600));
    // Together they would hold more than the store may.
    assert!(!b.grow(500));
    assert!(b.grow(400));
    assert!(!a.grow(1));
    // A finished (or abandoned) copy gives its bytes back.
    drop(a);
    assert!(b.grow(600));
}
