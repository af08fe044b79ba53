//! A Redis Cluster through kingress.

use super::{Kingress, store};
use crate::support::redis_topology::Cluster;
use kingress::tokens::redis::connect::RedisTls;

/// Tokens issued, verified and refreshed through kingress on a
/// three-primary cluster; the keys spread over more than one primary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_verify_and_refresh_through_kingress() {
    let cluster = Cluster::start().await;
    let kingress = Kingress::start(store(&cluster.url(), &RedisTls::default()).await).await;
    let mut tokens = Vec::new();
    for _ in 0..10 {
        let r = kingress.issue_with_refresh().await;
        assert_eq!(r.status, 200, "{}", r.body);
        tokens.push((
            r.str("access_token").to_string(),
            r.str("refresh_token").to_string(),
        ));
    }
    for (access, _) in &tokens {
        assert_eq!(kingress.verify(access).await, 200);
    }
    let (access, refresh) = &tokens[0];
    let r = kingress.refresh(refresh).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(kingress.verify(access).await, 401, "the old token went");
    assert_eq!(kingress.verify(r.str("access_token")).await, 200);
    assert_eq!(
        kingress.refresh(refresh).await.status,
        400,
        "a refresh token is used once"
    );
    assert_eq!(
        kingress.verify("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await,
        401
    );
    let nodes = cluster.keys_per_node().await;
    assert!(
        nodes
            .iter()
            .all(|keys| keys.iter().all(|k| k.starts_with("kingress:{"))),
        "{nodes:?}"
    );
}
