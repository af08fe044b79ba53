//! Kong's spec/01-unit/27-queue_spec.lua cases, against a fake delivery:
//! batching, coalescing, dropping the oldest when full (entries and bytes),
//! retries with a doubling delay until max_retry_time, concurrency_limit,
//! flush on close.

use super::*;
use std::sync::atomic::AtomicUsize;
use tokio::sync::mpsc;

/// Records the batches it gets (entries joined by `\n`) and when it was
/// called; fails the first `fail` calls.
struct Fake {
    batches: Mutex<Vec<Vec<String>>>,
    attempts: Mutex<Vec<Instant>>,
    calls: AtomicUsize,
    fail: usize,
    sent: mpsc::UnboundedSender<Vec<String>>,
}

impl Deliver for Arc<Fake> {
    fn deliver(&self, body: Bytes) -> BoxFuture<'static, Result<(), String>> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        self.attempts.lock().push(Instant::now());
        let fake = self.clone();
        Box::pin(async move {
            if n < fake.fail {
                return Err("collector down".into());
            }
            let batch: Vec<String> = String::from_utf8_lossy(&body)
                .split('\n')
                .map(str::to_string)
                .collect();
            fake.batches.lock().push(batch.clone());
            let _ = fake.sent.send(batch);
            Ok(())
        })
    }
}

/// A started queue, its fake, the drop counter and the delivered batches.
struct Setup {
    queue: Queue<String>,
    fake: Arc<Fake>,
    dropped: Arc<AtomicU64>,
    rx: mpsc::UnboundedReceiver<Vec<String>>,
}

fn start(config: QueueConfig, fail: usize) -> Setup {
    let (sent, rx) = mpsc::unbounded_channel();
    let fake = Arc::new(Fake {
        batches: Mutex::new(Vec::new()),
        attempts: Mutex::new(Vec::new()),
        calls: AtomicUsize::new(0),
        fail,
        sent,
    });
    let dropped = Arc::new(AtomicU64::new(0));
    let queue = Queue::start(
        "test".into(),
        config,
        dropped.clone(),
        Box::new(|v: Vec<String>| Bytes::from(v.join("\n"))),
        Arc::new(fake.clone()),
    )
    .expect("inside a runtime");
    Setup {
        queue,
        fake,
        dropped,
        rx,
    }
}

/// Pushes `entry`, its length as its size.
fn push(q: &Queue<String>, entry: &str) {
    q.push(entry.to_string(), entry.len());
}

/// The batches delivered so far.
fn batches(fake: &Fake) -> Vec<Vec<String>> {
    fake.batches.lock().clone()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Vec<String>>) -> Vec<String> {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("a batch in time")
        .expect("queue alive")
}

async fn settle() {
    tokio::time::sleep(Duration::from_millis(100)).await;
}

#[tokio::test]
async fn entries_are_coalesced_into_batches() {
    let config = QueueConfig {
        max_batch_size: 3,
        max_coalescing_delay: 0.2,
        ..QueueConfig::default()
    };
    let Setup { queue, mut rx, .. } = start(config, 0);
    for e in ["a", "b", "c", "d"] {
        push(&queue, e);
    }
    assert_eq!(next(&mut rx).await, ["a", "b", "c"]);
    // The fourth goes alone once the coalescing delay has passed.
    let started = Instant::now();
    assert_eq!(next(&mut rx).await, ["d"]);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn batches_by_size_then_by_delay() {
    let config = QueueConfig {
        max_batch_size: 3,
        max_coalescing_delay: 1.5,
        ..QueueConfig::default()
    };
    let Setup { queue, fake, .. } = start(config, 0);
    for e in ["0", "1", "2", "3"] {
        push(&queue, e);
    }
    settle().await;
    // A full batch goes at once; the rest waits for the delay.
    assert_eq!(batches(&fake), [strings(&["0", "1", "2"])]);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(batches(&fake), [strings(&["0", "1", "2"]), strings(&["3"])]);
}

#[tokio::test]
async fn a_full_queue_drops_the_oldest_entries_and_counts_them() {
    // A delivery that fails keeps the first batch in flight while we push.
    let config = QueueConfig {
        max_entries: 2,
        initial_retry_delay: 0.3,
        ..QueueConfig::default()
    };
    let Setup {
        queue,
        dropped,
        mut rx,
        ..
    } = start(config, 1);
    push(&queue, "first");
    tokio::time::sleep(Duration::from_millis(50)).await;
    for e in ["a", "b", "c", "d"] {
        push(&queue, e);
    }
    assert_eq!(dropped.load(Ordering::SeqCst), 2);
    assert_eq!(next(&mut rx).await, ["first"]);
    assert_eq!(next(&mut rx).await, ["c"]);
    assert_eq!(next(&mut rx).await, ["d"]);
}

#[tokio::test]
async fn a_full_queue_drops_the_oldest_without_waiting() {
    let config = QueueConfig {
        max_batch_size: 10,
        max_coalescing_delay: 60.0,
        max_entries: 3,
        ..QueueConfig::default()
    };
    let Setup {
        queue,
        fake,
        dropped,
        ..
    } = start(config, 0);
    for e in ["0", "1", "2", "3", "4"] {
        push(&queue, e);
    }
    assert_eq!(dropped.load(Ordering::SeqCst), 2);
    drop(queue);
    settle().await;
    // Closing flushes what is left: the newest three.
    assert_eq!(batches(&fake), [strings(&["2", "3", "4"])]);
}

#[tokio::test]
async fn max_bytes_bounds_the_queued_bytes() {
    let config = QueueConfig {
        max_bytes: Some(5),
        initial_retry_delay: 0.3,
        ..QueueConfig::default()
    };
    let Setup {
        queue,
        dropped,
        mut rx,
        ..
    } = start(config, 1);
    push(&queue, "x");
    tokio::time::sleep(Duration::from_millis(50)).await;
    push(&queue, "abc");
    push(&queue, "def");
    push(&queue, "too long");
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        2,
        "abc made room for def; too long never fits"
    );
    assert_eq!(next(&mut rx).await, ["x"]);
    assert_eq!(next(&mut rx).await, ["def"]);
}

#[tokio::test]
async fn max_bytes_bounds_the_queue() {
    let config = QueueConfig {
        max_batch_size: 10,
        max_coalescing_delay: 60.0,
        max_bytes: Some(10),
        ..QueueConfig::default()
    };
    let Setup {
        queue,
        fake,
        dropped,
        ..
    } = start(config, 0);
    for e in ["1111", "2222", "3333", "44444444444"] {
        push(&queue, e);
    }
    assert_eq!(dropped.load(Ordering::SeqCst), 2);
    drop(queue);
    settle().await;
    assert_eq!(batches(&fake), [strings(&["2222", "3333"])]);
}

#[tokio::test]
async fn failed_batches_are_retried_with_doubling_delays() {
    let config = QueueConfig {
        initial_retry_delay: 0.05,
        max_retry_delay: 0.1,
        ..QueueConfig::default()
    };
    let Setup {
        queue,
        fake,
        mut rx,
        ..
    } = start(config, 3);
    push(&queue, "a");
    assert_eq!(next(&mut rx).await, ["a"]);
    let at = fake.attempts.lock().clone();
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
    let config = QueueConfig {
        max_retry_time: 0.2,
        initial_retry_delay: 0.05,
        max_retry_delay: 0.05,
        ..QueueConfig::default()
    };
    let Setup {
        queue,
        fake,
        dropped,
        mut rx,
    } = start(config, usize::MAX);
    push(&queue, "a");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let n = fake.attempts.lock().len();
    assert!((3..=6).contains(&n), "{n} attempts");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(fake.attempts.lock().len(), n, "no attempt after giving up");
    assert!(rx.try_recv().is_err());
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the lost entry is counted"
    );
    drop(queue);
}

#[tokio::test]
async fn retries_then_gives_up_after_max_retry_time() {
    let config = QueueConfig {
        max_coalescing_delay: 0.0,
        initial_retry_delay: 0.1,
        max_retry_delay: 0.4,
        max_retry_time: 1.0,
        ..QueueConfig::default()
    };
    let Setup {
        queue,
        fake,
        dropped,
        ..
    } = start(config.clone(), 2);
    push(&queue, "7");
    tokio::time::sleep(Duration::from_millis(800)).await;
    // Failed at 0 and 0.1 s, delivered at 0.3 s.
    assert_eq!(fake.calls.load(Ordering::SeqCst), 3);
    assert_eq!(batches(&fake), [strings(&["7"])]);
    assert_eq!(dropped.load(Ordering::SeqCst), 0);

    let Setup {
        queue,
        fake,
        dropped,
        ..
    } = start(config, usize::MAX);
    push(&queue, "1");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    // 0, 0.1, 0.3, 0.7, 1.1 s: the delay doubles up to 0.4 s, then it
    // gives up.
    assert_eq!(fake.calls.load(Ordering::SeqCst), 5);
    drop(queue);
}

#[tokio::test]
async fn unlimited_concurrency_sends_each_entry_at_once_on_its_own() {
    // Kong: concurrency_limit -1 does not queue, whatever the batch size.
    let config = QueueConfig {
        max_batch_size: 3,
        max_coalescing_delay: 60.0,
        concurrency_limit: -1,
        ..QueueConfig::default()
    };
    let Setup { queue, mut rx, .. } = start(config, 0);
    push(&queue, "a");
    push(&queue, "b");
    let mut got = vec![next(&mut rx).await, next(&mut rx).await];
    got.sort();
    assert_eq!(got, [strings(&["a"]), strings(&["b"])]);
    drop(queue);
}

#[tokio::test]
async fn no_queue_outside_a_runtime() {
    let (sent, _rx) = mpsc::unbounded_channel();
    let fake = Arc::new(Fake {
        batches: Mutex::new(Vec::new()),
        attempts: Mutex::new(Vec::new()),
        calls: AtomicUsize::new(0),
        fail: 0,
        sent,
    });
    let started = std::thread::spawn(move || {
        Queue::<String>::start(
            "t".into(),
            QueueConfig::default(),
            Arc::new(AtomicU64::new(0)),
            Box::new(|v: Vec<String>| Bytes::from(v.join("\n"))),
            Arc::new(fake),
        )
        .is_some()
    })
    .join()
    .unwrap();
    assert!(!started);
}
