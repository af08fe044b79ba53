//! Route matching (filled in by the router work).
use crate::model::Table;

/// Index over a table's routes.
#[derive(Debug, Default)]
pub struct Router {}

impl Router {
    /// Builds the index.
    pub fn new(_table: &Table) -> Self {
        Self {}
    }
}
