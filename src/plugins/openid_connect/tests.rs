use super::access;

/// Every request through openid-connect copies this future to the heap
/// (the pipeline boxes it), so an await most requests do not take (the
/// identity provider, Redis, a login) must not size it: it was 5,384 bytes
/// with those inline (see `plugins::access`), 1,384 since.
#[test]
fn the_verification_future_stays_small() {
    let bytes = crate::plugins::access_future_size(access);
    assert!(
        bytes <= 2048,
        "openid-connect's access future is {bytes} bytes: box the await that grew it"
    );
}
