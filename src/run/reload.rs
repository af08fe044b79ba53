//! Standalone reloads after file events: each burst of events (one save,
//! one `cp`) is one reload, and a steady stream of events reloads at the
//! burst's maximum wait (`reconcile::Debounce`). A failed reload keeps the last good table; its
//! error is logged once while it stays the same (a bad file touched again
//! and again is one line, not one per event), and further reloads wait
//! longer and longer until one succeeds, so a file rewritten in a loop
//! cannot keep a core busy.

use super::Control;
use crate::reconcile::Debounce;
use std::time::Duration;
use tokio::sync::mpsc;

/// Wait after the first failed reload; doubled after each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// Longest wait between failed reloads: also the longest a fix waits.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Reloads `control` after each burst of `changes` until the channel closes.
pub(super) async fn reload_loop(
    debounce: Debounce,
    changes: &mut mpsc::Receiver<()>,
    control: &Control,
) {
    let mut failures = Failures::default();
    while changes.recv().await.is_some() {
        // Coalesce the burst of events an editor or `cp` produces.
        let burst = debounce.start();
        loop {
            match tokio::time::timeout_at(burst.until(), changes.recv()).await {
                Ok(Some(())) => continue,
                Ok(None) => return,
                Err(_) => break,
            }
        }
        match control.reload().await {
            Ok(_) => failures.cleared(),
            Err(e) => tokio::time::sleep(failures.failed(&e.to_string())).await,
        }
    }
}

/// The run of failed reloads so far.
#[derive(Debug, Default)]
struct Failures {
    /// Failed reloads in a row.
    count: u32,
    /// The error last logged.
    last: Option<String>,
}

// === impl Failures ===

impl Failures {
    /// Records a failed reload with `error`, logging it unless it is the
    /// one last logged; returns how long to wait before the next reload.
    fn failed(&mut self, error: &str) -> Duration {
        if self.last.as_deref() == Some(error) {
            tracing::debug!(error, "manifests still not reloadable");
        } else {
            tracing::error!(error, "manifests not reloaded; keeping the last good table");
            self.last = Some(error.to_string());
        }
        self.count = self.count.saturating_add(1);
        let doubled = FIRST_BACKOFF.saturating_mul(1 << (self.count - 1).min(16));
        doubled.min(MAX_BACKOFF)
    }

    /// Records a good reload.
    fn cleared(&mut self) {
        if self.last.take().is_some() {
            tracing::info!("manifests reloaded after earlier failures");
        }
        self.count = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_to_a_cap_and_reset_after_success() {
        let mut failures = Failures::default();
        let waits: Vec<Duration> = (0..6).map(|_| failures.failed("bad")).collect();
        assert_eq!(
            waits,
            [250, 500, 1000, 2000, 2000, 2000].map(Duration::from_millis)
        );
        assert_eq!(failures.last.as_deref(), Some("bad"));
        failures.failed("worse");
        assert_eq!(failures.last.as_deref(), Some("worse"));
        failures.cleared();
        assert_eq!(failures.failed("bad"), FIRST_BACKOFF);
    }
}
