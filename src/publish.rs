//! The only writer of the [`TableHandle`]: swaps in a whole new table when it
//! differs from the current one and counts generations.

use crate::model::Table;
use crate::router::Router;
use arc_swap::ArcSwap;
use std::sync::Arc;
use tokio::sync::watch;

/// A published table with its router index and generation number.
#[derive(Debug)]
pub struct Published {
    /// Monotonic generation, starting at 1 for the first publish.
    pub generation: u64,
    /// The table.
    pub table: Table,
    /// The router index built from `table`.
    pub router: Router,
}

/// Shared handle to the current table. Readers `load()` once per request and
/// use that one generation throughout.
#[derive(Clone)]
pub struct TableHandle {
    current: Arc<ArcSwap<Published>>,
    generation: watch::Sender<u64>,
}

// === impl TableHandle ===

impl TableHandle {
    /// An empty table at generation 0 (nothing published yet).
    pub fn new() -> Self {
        let table = Table::default();
        let router = Router::new(&table);
        let (generation, _) = watch::channel(0);
        Self {
            current: Arc::new(ArcSwap::from_pointee(Published {
                generation: 0,
                table,
                router,
            })),
            generation,
        }
    }

    /// The current table.
    pub fn load(&self) -> Arc<Published> {
        self.current.load_full()
    }

    /// Publishes `table` unless it equals the current one. Returns the new
    /// generation, or `None` when nothing changed. The first call always
    /// publishes, so readiness can follow the first generation.
    pub fn publish(&self, table: Table) -> Option<u64> {
        let current = self.current.load();
        if current.generation > 0 && current.table == table {
            return None;
        }
        let generation = current.generation + 1;
        let router = Router::new(&table);
        self.current.store(Arc::new(Published {
            generation,
            table,
            router,
        }));
        self.generation.send_replace(generation);
        Some(generation)
    }

    /// Current generation (0 before the first publish).
    pub fn generation(&self) -> u64 {
        self.current.load().generation
    }

    /// Observe generation changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }
}

impl Default for TableHandle {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for TableHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableHandle")
            .field("generation", &self.generation())
            .finish()
    }
}
