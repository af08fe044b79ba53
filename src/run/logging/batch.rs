//! Log lines gathered in memory and written to stderr in batches by a
//! thread of their own, like nginx's `access_log … buffer= flush=`.
//!
//! A writer that is woken for every line (tracing-appender's channel) put
//! one thread switch, and often a system call, on every logged request: on
//! a proxy with one core that was most of what the access log cost. Here a
//! logging thread only appends its line under a lock; the writer wakes
//! every [`FLUSH_EVERY`], or early when [`SOFT_LIMIT`] bytes wait, and
//! writes everything at once. Nothing is dropped: past [`HARD_LIMIT`]
//! loggers wait for the writer.

use parking_lot::{Condvar, Mutex};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle, Thread};
use std::time::Duration;
use tracing_subscriber::fmt::MakeWriter;

/// Longest a line waits before it is written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// Waiting bytes that wake the writer before its time.
const SOFT_LIMIT: usize = 256 * 1024;
/// Waiting bytes at which loggers wait for the writer.
const HARD_LIMIT: usize = 4 * 1024 * 1024;

/// Hands log lines to the writer thread (a `MakeWriter` for the fmt layer).
#[derive(Clone)]
pub(super) struct Batch {
    shared: Arc<Shared>,
    writer: Thread,
}

/// Ends the writer thread, after it wrote the last lines, when dropped.
pub struct Guard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    waiting: Mutex<Vec<u8>>,
    /// Signalled when the writer took the waiting lines.
    taken: Condvar,
    closed: AtomicBool,
}

/// One line's hand-over.
pub(super) struct Line<'a> {
    batch: &'a Batch,
}

/// Starts the writer thread, writing to `out`.
pub(super) fn start<W: Write + Send + 'static>(out: W) -> std::io::Result<(Batch, Guard)> {
    let shared = Arc::new(Shared {
        waiting: Mutex::new(Vec::new()),
        taken: Condvar::new(),
        closed: AtomicBool::new(false),
    });
    let theirs = shared.clone();
    let thread = thread::Builder::new()
        .name("kingress-log".into())
        .spawn(move || write_out(&theirs, out))?;
    let batch = Batch {
        shared: shared.clone(),
        writer: thread.thread().clone(),
    };
    Ok((
        batch,
        Guard {
            shared,
            thread: Some(thread),
        },
    ))
}

/// The writer thread: every [`FLUSH_EVERY`] (or when woken) takes what
/// waits and writes it in one go; after the guard is dropped, writes the
/// rest and ends.
fn write_out(shared: &Shared, mut out: impl Write) {
    let mut spare = Vec::new();
    loop {
        let closed = shared.closed.load(Ordering::Acquire);
        {
            let mut waiting = shared.waiting.lock();
            std::mem::swap(&mut *waiting, &mut spare);
        }
        shared.taken.notify_all();
        if !spare.is_empty() {
            // A log that cannot be written (a closed stderr) is not worth
            // stopping the proxy for.
            let _ = out.write_all(&spare).and_then(|()| out.flush());
            spare.clear();
        }
        if closed {
            return;
        }
        thread::park_timeout(FLUSH_EVERY);
    }
}

impl<'a> MakeWriter<'a> for Batch {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line { batch: self }
    }
}

impl Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let shared = &self.batch.shared;
        let mut waiting = shared.waiting.lock();
        while waiting.len() >= HARD_LIMIT && !shared.closed.load(Ordering::Acquire) {
            self.batch.writer.unpark();
            shared.taken.wait(&mut waiting);
        }
        waiting.extend_from_slice(buf);
        if waiting.len() >= SOFT_LIMIT {
            self.batch.writer.unpark();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// Bytes written, shared with the test.
    #[derive(Clone, Default)]
    struct Sink(Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_are_written_within_the_flush_interval_and_all_at_the_end() {
        let sink = Sink::default();
        let (batch, guard) = start(sink.clone()).unwrap();
        batch.make_writer().write_all(b"first\n").unwrap();
        let deadline = Instant::now() + FLUSH_EVERY * 20;
        while sink.0.lock().unwrap().is_empty() {
            assert!(Instant::now() < deadline, "a line waited too long");
            thread::sleep(Duration::from_millis(5));
        }
        // From many threads at once: every line whole, none lost.
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let batch = batch.clone();
                thread::spawn(move || {
                    for i in 0..5_000 {
                        let line = format!("thread {t} line {i}\n");
                        batch.make_writer().write_all(line.as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(guard);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + 4 * 5_000);
        for t in 0..4 {
            let mine: Vec<&str> = lines
                .iter()
                .copied()
                .filter(|l| l.starts_with(&format!("thread {t} ")))
                .collect();
            let expected: Vec<String> =
                (0..5_000).map(|i| format!("thread {t} line {i}")).collect();
            assert_eq!(mine, expected);
        }
    }

    #[test]
    fn loggers_past_the_hard_limit_wait_for_the_writer_instead_of_dropping() {
        let sink = Sink::default();
        let (batch, guard) = start(sink.clone()).unwrap();
        let chunk = vec![b'x'; 64 * 1024];
        let rounds = 3 * HARD_LIMIT / chunk.len();
        for _ in 0..rounds {
            batch.make_writer().write_all(&chunk).unwrap();
            assert!(batch.shared.waiting.lock().len() <= HARD_LIMIT + chunk.len());
        }
        drop(guard);
        assert_eq!(sink.0.lock().unwrap().len(), rounds * chunk.len());
    }
}
