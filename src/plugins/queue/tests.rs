//! Kong's spec/01-unit/27-queue_spec.lua cases that matter here: batching,
//! dropping the oldest when full, retries with backoff, giving up.

use super::*;
use std::sync::atomic::AtomicUsize;
use tokio::sync::mpsc;

/// Records batches; fails the first `fail` sends.
struct Recorder {
    sent: mpsc::UnboundedSender<Vec<String>>,
    fail: AtomicUsize,
    attempts: Attempts,
}

impl Handler for Recorder {
    async fn send(&self, batch: Vec<Bytes>) -> Result<(), String> {
        self.attempts.lock().push(Instant::now());
        if self.fail.load(Ordering::SeqCst) > 0 {
            self.fail.fetch_sub(1, Ordering::SeqCst);
            return Err("down".into());
        }
        let batch = batch
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect();
        let _ = self.sent.send(batch);
        Ok(())
    }
}

/// Send times, shared with the test.
type Attempts = Arc<Mutex<Vec<Instant>>>;

fn recorder(fail: usize) -> (Recorder, mpsc::UnboundedReceiver<Vec<String>>, Attempts) {
    let (tx, rx) = mpsc::unbounded_channel();
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let r = Recorder {
        sent: tx,
        fail: AtomicUsize::new(fail),
        attempts: attempts.clone(),
    };
    (r, rx, attempts)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Vec<String>>) -> Vec<String> {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("a batch in time")
        .expect("queue alive")
}

#[tokio::test]
async fn entries_are_coalesced_into_batches() {
    let (handler, mut rx, _) = recorder(0);
    let config = QueueConfig {
        max_batch_size: 3,
        max_coalescing_delay: 0.2,
        ..QueueConfig::default()
    };
    let queue = Queue::start("t".into(), config, handler).unwrap();
    for e in ["a", "b", "c", "d"] {
        queue.push(Bytes::from(e));
    }
    assert_eq!(next(&mut rx).await, ["a", "b", "c"]);
    // The fourth goes alone once the coalescing delay has passed.
    let started = Instant::now();
    assert_eq!(next(&mut rx).await, ["d"]);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn a_full_queue_drops_the_oldest_entries_and_counts_them() {
    // A handler that fails keeps the first batch in flight while we push.
    let (handler, mut rx, _) = recorder(1);
    let config = QueueConfig {
        max_entries: 2,
        initial_retry_delay: 0.3,
        ..QueueConfig::default()
    };
    let queue = Queue::start("t".into(), config, handler).unwrap();
    queue.push(Bytes::from("first"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    for e in ["a", "b", "c", "d"] {
        queue.push(Bytes::from(e));
    }
    assert_eq!(queue.dropped(), 2);
    assert_eq!(next(&mut rx).await, ["first"]);
    assert_eq!(next(&mut rx).await, ["c"]);
    assert_eq!(next(&mut rx).await, ["d"]);
}

#[tokio::test]
async fn max_bytes_bounds_the_queued_bytes() {
    let (handler, mut rx, _) = recorder(1);
    let config = QueueConfig {
        max_bytes: Some(5),
        initial_retry_delay: 0.3,
        ..QueueConfig::default()
    };
    let queue = Queue::start("t".into(), config, handler).unwrap();
    queue.push(Bytes::from("x"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    queue.push(Bytes::from("abc"));
    queue.push(Bytes::from("def"));
    queue.push(Bytes::from("too long"));
    assert_eq!(
        queue.dropped(),
        2,
        "abc made room for def; too long never fits"
    );
    assert_eq!(next(&mut rx).await, ["x"]);
    assert_eq!(next(&mut rx).await, ["def"]);
}

#[tokio::test]
async fn failed_batches_are_retried_with_doubling_delays() {
    let (handler, mut rx, attempts) = recorder(3);
    let config = QueueConfig {
        initial_retry_delay: 0.05,
        max_retry_delay: 0.1,
        ..QueueConfig::default()
    };
    let queue = Queue::start("t".into(), config, handler).unwrap();
    queue.push(Bytes::from("a"));
    assert_eq!(next(&mut rx).await, ["a"]);
    let at = attempts.lock().clone();
    assert_eq!(at.len(), 4);
    let gaps: Vec<Duration> = at.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps[0] >= Duration::from_millis(50), "{gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(100), "{gaps:?}");
    // Capped by max_retry_delay.
    assert!(
        gaps[2] >= Duration::from_millis(100) && gaps[2] < Duration::from_millis(190),
        "{gaps:?}"
    );
    drop(queue);
}

#[tokio::test]
async fn a_batch_is_dropped_after_max_retry_time() {
    let (handler, mut rx, attempts) = recorder(usize::MAX);
    let config = QueueConfig {
        max_retry_time: 0.2,
        initial_retry_delay: 0.05,
        max_retry_delay: 0.05,
        ..QueueConfig::default()
    };
    let queue = Queue::start("t".into(), config, handler).unwrap();
    queue.push(Bytes::from("a"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let n = attempts.lock().len();
    assert!((3..=6).contains(&n), "{n} attempts");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(attempts.lock().len(), n, "no attempt after giving up");
    assert!(rx.try_recv().is_err());
    drop(queue);
}
