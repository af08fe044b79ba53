//! The only writer of the [`TableHandle`]: swaps in a whole new table when it
//! differs from the current one and counts generations. Each table comes
//! with its router index and its services' balancers (`balance`).

pub mod balance;

use crate::model::Table;
use crate::router::Router;
use arc_swap::ArcSwap;
use balance::Balancers;
use std::sync::Arc;
use std::time::{Duration, Instant};
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
    /// One balancer per service of `table`.
    pub balancers: Balancers,
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
                balancers: Balancers::default(),
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
        self.replace(table).generation
    }

    /// [`publish`](Self::publish), handing back the table it replaced so the
    /// caller chooses where that table is freed: freeing tens of thousands of
    /// routes takes milliseconds that belong to neither the swap nor a
    /// request.
    pub fn replace(&self, table: Table) -> Replaced {
        let start = Instant::now();
        let current = self.current.load_full();
        if current.generation > 0 && current.table == table {
            return Replaced {
                generation: None,
                previous: None,
                compare: start.elapsed(),
                router: Duration::ZERO,
                balancers: Duration::ZERO,
            };
        }
        let compare = start.elapsed();
        let generation = current.generation + 1;
        let router = Router::next(&table, &current.table, &current.router);
        let routed = start.elapsed();
        let balancers = Balancers::build(&table, Some(&current.balancers));
        let built = start.elapsed() - routed;
        self.current.store(Arc::new(Published {
            generation,
            table,
            router,
            balancers,
        }));
        self.generation.send_replace(generation);
        Replaced {
            generation: Some(generation),
            previous: Some(current),
            compare,
            router: routed - compare,
            balancers: built,
        }
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

/// What [`TableHandle::replace`] did.
#[derive(Debug)]
pub struct Replaced {
    /// The new generation, or `None` when the table did not change.
    pub generation: Option<u64>,
    /// The table that was current before, when one was replaced; requests
    /// that loaded it may still hold it.
    pub previous: Option<Arc<Published>>,
    /// Time spent comparing the table with the current one.
    pub compare: Duration,
    /// Time spent building the router index.
    pub router: Duration,
    /// Time spent building the balancers.
    pub balancers: Duration,
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::{ObjectRef, Scheme, Service};

    fn table_with_upstream(name: &str) -> Table {
        let service = Service {
            name: name.to_string(),
            source: ObjectRef {
                kind: "Service".into(),
                namespace: Some("default".into()),
                name: name.to_string(),
            },
            scheme: Scheme::Http,
            path: None,
            host_header: None,
            targets: Vec::new(),
            connect_timeout_ms: 60_000,
            read_timeout_ms: 60_000,
            write_timeout_ms: 60_000,
            retries: 5,
            tls: Default::default(),
            balance: None,
            upstream: None,
        };
        Table {
            services: [(name.to_string(), service)].into_iter().collect(),
            ..Table::default()
        }
    }

    #[test]
    fn replace_hands_back_the_table_it_replaced() {
        let handle = TableHandle::new();
        let first = handle.replace(table_with_upstream("a"));
        assert_eq!(first.generation, Some(1));
        assert_eq!(first.previous.map(|p| p.generation), Some(0));

        let same = handle.replace(table_with_upstream("a"));
        assert_eq!(same.generation, None, "an equal table is not published");
        assert!(same.previous.is_none());

        let held = handle.load();
        let second = handle.replace(table_with_upstream("b"));
        assert_eq!(second.generation, Some(2));
        let previous = second.previous.expect("generation 1 was replaced");
        assert!(
            Arc::ptr_eq(&previous, &held),
            "the replaced table is the one requests hold"
        );
        assert_eq!(handle.load().generation, 2);
    }
}
