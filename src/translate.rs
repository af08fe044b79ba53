//! Pure translation from an [`ObjectSet`] to a routing [`Table`] plus the
//! [`Problem`]s found on the way (being filled in by the translate work; this
//! is the API). No I/O, no clock, no randomness.

pub mod seal;

use crate::model::{Problem, Table};
use crate::source::ObjectSet;

/// Settings that shape translation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Ingress class this controller serves (`--ingress-class`, default `kong`).
    pub ingress_class: String,
}

/// The result of [`translate`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Translation {
    /// The routing table.
    pub table: Table,
    /// Everything wrong with the input, sorted.
    pub problems: Vec<Problem>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            ingress_class: "kong".to_string(),
        }
    }
}

/// Translates `objects` into a table and problems.
pub fn translate(_objects: &ObjectSet, _options: &Options) -> Translation {
    Translation::default()
}
