//! The last check before a write is kept: the objects the control plane
//! serves, with the Admin API's document replaced by the candidate, must
//! translate without any problem they do not already have. A name used by
//! both a manifest and the Admin API, a plugin its route cannot honour, a
//! credential of a consumer that lost its username: each is refused with
//! translate's own message (400), and nothing is written. The reconciler
//! answers from the objects and memo it holds; nothing is read from disk.

use super::error::WriteError;
use super::store::Writes;
use crate::kong::Document;
use crate::reconcile::Change;
use std::sync::Arc;

/// Refuses `candidate` when it adds problems to what is served.
pub(super) async fn check(writes: &Writes, candidate: &Document) -> Result<(), WriteError> {
    let change = Change::Declarative {
        origin: writes.file()?.display().to_string(),
        document: Arc::new(candidate.clone()),
    };
    let added = (writes.check)(change).await;
    match added.as_slice() {
        [] => Ok(()),
        problems => Err(WriteError::Problem(
            problems
                .iter()
                .map(|p| format!("{}: {}", p.object, p.message))
                .collect::<Vec<_>>()
                .join("; "),
        )),
    }
}
