//! The queue with a fake delivery (Kong's `spec/01-unit/27-queue_spec.lua`
//! behaviours: batching, coalescing, retry until max_retry_time, dropping
//! the oldest when full).

use super::*;
use std::sync::atomic::AtomicUsize;

/// Records batches (each entry a byte) and fails the first `fail` calls.
struct Fake {
    batches: Mutex<Vec<Vec<u8>>>,
    calls: AtomicUsize,
    fail: usize,
}

impl Deliver for Arc<Fake> {
    fn deliver(&self, body: Bytes) -> BoxFuture<'static, Result<(), String>> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let fake = self.clone();
        Box::pin(async move {
            if n < fake.fail {
                return Err("collector down".into());
            }
            fake.batches.lock().push(body.to_vec());
            Ok(())
        })
    }
}

fn queue(config: QueueConfig, fail: usize) -> (Queue<u8>, Arc<Fake>, Arc<AtomicU64>) {
    let fake = Arc::new(Fake {
        batches: Mutex::new(Vec::new()),
        calls: AtomicUsize::new(0),
        fail,
    });
    let dropped = Arc::new(AtomicU64::new(0));
    let q = Queue::start(
        "test:traces".into(),
        config,
        dropped.clone(),
        Box::new(|v: Vec<u8>| Bytes::from(v)),
        Arc::new(fake.clone()),
    );
    (q, fake, dropped)
}

async fn settle() {
    tokio::time::sleep(Duration::from_millis(100)).await;
}

#[tokio::test]
async fn batches_by_size_then_by_delay() {
    let config = QueueConfig {
        max_batch_size: 3,
        max_coalescing_delay: 1.5,
        ..QueueConfig::default()
    };
    let (q, fake, _) = queue(config, 0);
    for i in 0..4 {
        q.push(i, 1);
    }
    settle().await;
    // A full batch goes at once; the rest waits for the delay.
    assert_eq!(*fake.batches.lock(), vec![vec![0, 1, 2]]);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(*fake.batches.lock(), vec![vec![0, 1, 2], vec![3]]);
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
    let (q, fake, dropped) = queue(config.clone(), 2);
    q.push(7, 1);
    tokio::time::sleep(Duration::from_millis(800)).await;
    // Failed at 0 and 0.1 s, delivered at 0.3 s.
    assert_eq!(fake.calls.load(Ordering::SeqCst), 3);
    assert_eq!(*fake.batches.lock(), vec![vec![7]]);
    assert_eq!(dropped.load(Ordering::SeqCst), 0);

    let (q, fake, dropped) = queue(config, usize::MAX);
    q.push(1, 1);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    // 0, 0.1, 0.3, 0.7, 1.1 s: the delay doubles up to 0.4 s, then it
    // gives up.
    assert_eq!(fake.calls.load(Ordering::SeqCst), 5);
    drop(q);
}

#[tokio::test]
async fn a_full_queue_drops_the_oldest_without_waiting() {
    let config = QueueConfig {
        max_batch_size: 10,
        max_coalescing_delay: 60.0,
        max_entries: 3,
        ..QueueConfig::default()
    };
    let (q, fake, dropped) = queue(config, 0);
    for i in 0..5 {
        q.push(i, 1);
    }
    assert_eq!(dropped.load(Ordering::SeqCst), 2);
    drop(q);
    settle().await;
    // Closing flushes what is left: the newest three.
    assert_eq!(*fake.batches.lock(), vec![vec![2, 3, 4]]);
}

#[tokio::test]
async fn max_bytes_bounds_the_queue() {
    let config = QueueConfig {
        max_batch_size: 10,
        max_coalescing_delay: 60.0,
        max_bytes: Some(10),
        ..QueueConfig::default()
    };
    let (q, fake, dropped) = queue(config, 0);
    q.push(1, 4);
    q.push(2, 4);
    q.push(3, 4);
    q.push(4, 11);
    assert_eq!(dropped.load(Ordering::SeqCst), 2);
    drop(q);
    settle().await;
    assert_eq!(*fake.batches.lock(), vec![vec![2, 3]]);
}
