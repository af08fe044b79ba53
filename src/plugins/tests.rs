use super::{Exchange, PluginInstance, Runtime, oauth2, openid_connect};

/// The size of the future a plugin's access function returns, found
/// without calling it.
fn access_future_size<'a, C: ?Sized, F: std::future::Future>(
    _: fn(&'a PluginInstance, &'a C, &'a mut Exchange<'a>, &'a Runtime) -> F,
) -> usize {
    std::mem::size_of::<F>()
}

/// Every request through a plugin copies its access future to the heap
/// (`access` boxes it), so an await most requests do not take (Redis, the
/// identity provider, a login, a multipart body) must not size it. Before
/// those were boxed: openid-connect 5,384 bytes, oauth2 3,800; since:
/// 1,384 and 480.
#[test]
fn verification_futures_stay_small() {
    let sizes = [
        (
            "openid-connect",
            access_future_size(openid_connect::access),
            2048,
        ),
        ("oauth2", access_future_size(oauth2::access), 1024),
    ];
    for (plugin, bytes, limit) in sizes {
        assert!(
            bytes <= limit,
            "{plugin}'s access future is {bytes} bytes (limit {limit}): box the await that grew it"
        );
    }
}
