//! The last check before a write is kept: the watched directory, with the
//! Admin API's document replaced by the candidate, must translate without
//! any problem the current directory does not already have. A name used by
//! both a manifest and the Admin API, a plugin its route cannot honour, a
//! credential of a consumer that lost its username: each is refused with
//! translate's own message (400), and nothing is written.

use super::error::WriteError;
use super::store::Writes;
use crate::kong::Document;
use crate::model::Problem;
use crate::objects::{Declarative, ObjectSet};
use crate::source::files;
use crate::translate;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Refuses `candidate` when it adds problems to the directory's
/// translation.
pub async fn check(writes: &Writes, candidate: &Document) -> Result<(), WriteError> {
    let watched = writes.watched.clone();
    let origin = writes.file()?.display().to_string();
    let options = writes.options.clone();
    let candidate = Arc::new(candidate.clone());
    // Loading and translating a large directory takes a while; keep it off
    // the async workers.
    let added = tokio::task::spawn_blocking(move || {
        let current = files::load(&watched).map_err(|e| e.to_string())?;
        let mut proposed = current.clone();
        replace(&mut proposed, &origin, candidate);
        let before: BTreeSet<Problem> = translate::translate(&current, &options)
            .problems
            .into_iter()
            .collect();
        let after = translate::translate(&proposed, &options).problems;
        Ok::<_, String>(
            after
                .into_iter()
                .filter(|p| !before.contains(p))
                .collect::<Vec<_>>(),
        )
    })
    .await
    .map_err(|e| WriteError::Internal(format!("check task failed: {e}")))?
    .map_err(|e| {
        WriteError::Internal(format!(
            "the watched directory does not load, so no write can take effect: {e}"
        ))
    })?;
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

/// Puts `document` in place of the one read from `origin` (or adds it).
fn replace(objects: &mut ObjectSet, origin: &str, document: Arc<Document>) {
    let entry = Declarative {
        origin: origin.to_string(),
        document: Ok(document),
    };
    match objects.declarative.iter_mut().find(|d| d.origin == origin) {
        Some(slot) => *slot = entry,
        None => objects.declarative.push(entry),
    }
}
