//! Sentinel failover under load, through kingress.

use super::{Kingress, store};
use crate::support::redis_topology::{SentinelAuth, SentinelSet};
use kingress::tokens::StoreError;
use kingress::tokens::redis::connect::RedisTls;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One primary, one replica, three Sentinels (quorum 2). Tokens are issued
/// and one is verified in a loop while the primary is killed (SIGKILL);
/// Sentinel promotes the replica and kingress follows it without a
/// restart. Asserted: verification only ever answers 200 or 503 (never a
/// token let through or wrongly refused), both verification and issuance
/// recover within 20 s, tokens replicated before the kill still verify, and
/// the new primary is the old replica. The 503 window and the tokens lost
/// (issued and acknowledged, then gone: the replication window) are
/// printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failover_is_followed_without_a_restart() {
    let mut set = SentinelSet::start(3).await;
    let kingress = Arc::new(Kingress::start(store(&set.url(), &RedisTls::default()).await).await);
    let mut before = Vec::new();
    for _ in 0..20 {
        let r = kingress.issue().await;
        assert_eq!(r.status, 200, "{}", r.body);
        before.push(r.str("access_token").to_string());
    }
    let old = before[0].clone();
    assert_eq!(kingress.verify(&old).await, 200);

    // Load: one task issues tokens back to back, one verifies `old`.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let issuer = {
        let (k, stop) = (kingress.clone(), stop.clone());
        tokio::spawn(async move {
            let mut issued = Vec::new();
            let mut statuses = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let r = k.issue().await;
                statuses.push((Instant::now(), r.status.as_u16()));
                if r.status == 200 {
                    issued.push((Instant::now(), r.str("access_token").to_string()));
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (issued, statuses)
        })
    };
    let verifier = {
        let (k, stop, old) = (kingress.clone(), stop.clone(), old.clone());
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let status = k.verify(&old).await;
                statuses.push((Instant::now(), status));
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            statuses
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let killed_at = Instant::now();
    set.primary.stop();

    // Both recover: 20 s is the bound (detection takes 1 s, the election
    // and promotion a few more).
    let deadline = killed_at + Duration::from_secs(20);
    loop {
        let issued = kingress.issue().await;
        if issued.status == 200 && kingress.verify(issued.str("access_token")).await == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "issuance and verification did not recover within 20 s of the failover"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let recovered_at = Instant::now();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (issued, issue_statuses) = issuer.await.unwrap();
    let verify_statuses = verifier.await.unwrap();

    assert_eq!(
        set.primary_port().await,
        Some(set.replica.port),
        "Sentinel promoted the replica"
    );
    for (_, status) in &verify_statuses {
        assert!(
            *status == 200 || *status == 503,
            "verification answered {status}: only 200 or 503 (fail closed)"
        );
    }
    for (_, status) in &issue_statuses {
        assert!(
            *status == 200 || *status == 503,
            "issuance answered {status}"
        );
    }
    assert_eq!(
        verify_statuses.last().map(|s| s.1),
        Some(200),
        "verification recovered"
    );
    for t in &before {
        assert_eq!(
            kingress.verify(t).await,
            200,
            "a token issued well before the kill"
        );
    }

    // Figures: the 503 window of verification, and issued tokens lost.
    let first_503 = verify_statuses.iter().find(|(_, s)| *s == 503).map(|s| s.0);
    let last_503 = verify_statuses
        .iter()
        .rev()
        .find(|(_, s)| *s == 503)
        .map(|s| s.0);
    let window = match (first_503, last_503) {
        (Some(a), Some(b)) => b.duration_since(a),
        _ => Duration::ZERO,
    };
    let mut lost = 0;
    let mut lost_before_kill = 0;
    for (at, token) in &issued {
        if kingress.verify(token).await != 200 {
            lost += 1;
            if *at < killed_at {
                lost_before_kill += 1;
            }
        }
    }
    let before_kill = issued.iter().filter(|(at, _)| *at < killed_at).count();
    println!(
        "FAILOVER: verification answered 503 for {:.2} s ({} of {} checks); issuance and \
         verification back {:.2} s after the kill; tokens issued under load: {} ({} before the \
         kill); lost: {} ({} acknowledged before the kill)",
        window.as_secs_f64(),
        verify_statuses.iter().filter(|(_, s)| *s == 503).count(),
        verify_statuses.len(),
        recovered_at.duration_since(killed_at).as_secs_f64(),
        issued.len(),
        before_kill,
        lost,
        lost_before_kill,
    );
    // A token issued after the failover can only be lost by a second one.
    assert!(
        issued.iter().filter(|(at, _)| *at > recovered_at).count() > 0,
        "issuance ran after the recovery"
    );
}

/// Passwords on both sides: the data nodes' in the URL's user info, the
/// Sentinels' own in `sentinel_password`. With both, kingress finds the
/// primary and issues and verifies; a wrong Sentinel password is 503.
#[tokio::test]
async fn passwords_for_the_nodes_and_for_the_sentinels() {
    let auth = SentinelAuth {
        data: "data-pw",
        sentinel: "watch-pw",
    };
    let set = SentinelSet::start_with(1, Some(auth)).await;
    let kingress = Kingress::start(store(&set.url(), &RedisTls::default()).await).await;
    let r = kingress.issue().await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(kingress.verify(r.str("access_token")).await, 200);

    let wrong = set.url().replace("watch-pw", "wrong");
    let s = store(&wrong, &RedisTls::default()).await;
    let err = s
        .token("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    assert!(!format!("{err} {s:?}").contains("-pw"), "{err} {s:?}");
}
