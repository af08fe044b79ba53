//! Threads for secret hashing that run only when the CPU is otherwise idle.
//!
//! argon2id and PBKDF2 cost tens of milliseconds of CPU by design. On Tokio's
//! blocking pool they would compete with the proxy's workers as equals, so a
//! flood of token requests with wrong secrets would take half a core from
//! proxied traffic. These threads ask the kernel for `SCHED_IDLE`: they get
//! the CPU only when no normal thread wants it, so proxied requests keep
//! their latency and hashing uses what is left over. Under full load token
//! requests that need a hash wait (bounded by the verifier's queue timeout)
//! instead of slowing everything else down.

use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::mpsc;
use thread_priority::{
    NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
    set_thread_priority_and_policy, thread_native_id,
};
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of low-priority threads fed through one queue.
pub(crate) struct IdlePool {
    jobs: Mutex<mpsc::Sender<Job>>,
}

impl IdlePool {
    /// Starts `threads` threads (at least one).
    pub(crate) fn new(threads: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("kingress-hash-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = rx.lock().recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(error) = spawned {
                tracing::error!(%error, "cannot start a secret-hashing thread");
            }
        }
        Self {
            jobs: Mutex::new(tx),
        }
    }

    /// Runs `f` on a pool thread; `None` when the pool cannot run it.
    pub(crate) async fn run<T, F>(&self, f: F) -> Option<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        self.jobs.lock().send(job).ok()?;
        rx.await.ok()
    }
}

/// Moves the calling thread to `SCHED_IDLE`. Lowering one's own priority
/// needs no privilege; if the kernel refuses anyway the thread keeps the
/// normal policy and hashing still works, only without the isolation.
fn lower_priority() {
    let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
    if let Err(error) =
        set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, idle)
    {
        tracing::warn!(
            ?error,
            "cannot lower the priority of a secret-hashing thread"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_on_idle_priority_threads() {
        let pool = IdlePool::new(2);
        let policy = pool
            .run(|| {
                let name = std::thread::current().name().map(str::to_string);
                let policy = thread_priority::thread_schedule_policy().ok();
                (name, policy)
            })
            .await
            .unwrap();
        assert!(policy.0.unwrap().starts_with("kingress-hash-"));
        assert_eq!(
            policy.1,
            Some(ThreadSchedulePolicy::Normal(
                NormalThreadSchedulePolicy::Idle
            ))
        );
        let sum: u32 = pool.run(|| (1..=10).sum()).await.unwrap();
        assert_eq!(sum, 55);
    }
}
