//! The memo's record of each Ingress's share ([`Unit`]) and which upstream
//! services the kept shares use.

use super::Unit;
use crate::model::{Service, Shared};
use crate::objects::Ingress;
use crate::objects::ObjectKey;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Units of an earlier translation, kept to be reused (see `Memo`).
#[derive(Default)]
pub(in crate::translate) struct Units {
    /// By Ingress key, in key order (the store's), with the Ingress
    /// translated: a unit is reused for the same Ingress or one changed
    /// only in its status (`same_input`). A list walked beside the store
    /// rather than a map looked up per Ingress: an edit at 50,000
    /// Ingresses otherwise hashed and copied every key again.
    pub(super) by_ingress: Vec<(ObjectKey, Arc<Ingress>, Unit)>,
    /// The upstream services of that translation (the units' and the
    /// default backend's), shared with its table.
    pub(super) services: Shared<BTreeMap<String, Service>>,
    /// How many units use each service.
    pub(super) uses: HashMap<String, usize>,
    /// Whether something the units read changed: then no unit is reused,
    /// but a unit translated again that comes out equal to the one held
    /// here is kept instead of the new one, so the new table shares it
    /// with the one serving (a full re-translate, after an IngressClass
    /// edit say, then does not hold two copies of every route).
    pub(super) stale: bool,
}

// === impl Units ===

impl Units {
    /// Marks every unit stale (see [`Units::stale`]).
    pub(in crate::translate) fn invalidate(&mut self) {
        self.uses.clear();
        self.stale = true;
    }

    /// Number of units.
    pub(in crate::translate) fn len(&self) -> usize {
        self.by_ingress.len()
    }
}

/// A unit that is not kept no longer uses its services.
pub(super) fn forget(uses: &mut HashMap<String, usize>, unit: &Unit) {
    for name in &unit.services {
        drop_use(uses, name);
    }
}

/// One unit fewer uses service `name`.
fn drop_use(uses: &mut HashMap<String, usize>, name: &str) {
    if let Some(n) = uses.get_mut(name) {
        *n -= 1;
        if *n == 0 {
            uses.remove(name);
        }
    }
}

/// The upstream services of every unit: `before` (the last translation's)
/// when the units use exactly its services with the same values, so an
/// edit that keeps them shares them with the last table; else `before`'s
/// services still in use plus those built now.
pub(super) fn services(
    before: Shared<BTreeMap<String, Service>>,
    uses: &HashMap<String, usize>,
    fresh: BTreeMap<String, Service>,
) -> Shared<BTreeMap<String, Service>> {
    // Reused units use services of `before` only, so the names in use are
    // those of `before` when the fresh ones are among them and they count
    // as many.
    let same =
        uses.len() == before.len() && fresh.iter().all(|(name, s)| before.get(name) == Some(s));
    if same {
        return before;
    }
    let mut services: BTreeMap<String, Service> = before
        .iter()
        .filter(|(name, _)| uses.contains_key(*name) && !fresh.contains_key(*name))
        .map(|(name, s)| (name.clone(), s.clone()))
        .collect();
    services.extend(fresh);
    Shared::new(services)
}
