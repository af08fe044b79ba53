//! Content that failed to parse, remembered by file and SHA-256, so a bad
//! file touched or rewritten with the same bytes is not parsed again: the
//! load fails at once with the first error's message.

use crate::source::files::LoadError;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Failures remembered; the oldest is forgotten first.
const KEEP: usize = 32;

/// Recent parse failures.
#[derive(Debug, Default)]
pub(super) struct Failures {
    recent: VecDeque<Failure>,
}

#[derive(Debug)]
struct Failure {
    path: PathBuf,
    digest: [u8; 32],
    message: Arc<str>,
}

// === impl Failures ===

impl Failures {
    /// The error `path` gave with content `digest`, if it failed before.
    pub(super) fn get(&self, path: &Path, digest: &[u8; 32]) -> Option<LoadError> {
        self.recent
            .iter()
            .find(|f| f.path == path && &f.digest == digest)
            .map(|f| LoadError::Again(Arc::clone(&f.message)))
    }

    /// Remembers that `path` with content `digest` failed with `error`.
    pub(super) fn remember(&mut self, path: &Path, digest: [u8; 32], error: &LoadError) {
        if self.recent.len() == KEEP {
            self.recent.pop_front();
        }
        self.recent.push_back(Failure {
            path: path.to_path_buf(),
            digest,
            message: error.to_string().into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_by_file_and_content_and_forgets_the_oldest() {
        let mut failures = Failures::default();
        let error = LoadError::Again("a.yaml: document 1: invalid YAML".into());
        failures.remember(Path::new("a.yaml"), [1; 32], &error);
        let again = failures.get(Path::new("a.yaml"), &[1; 32]).unwrap();
        assert_eq!(again.to_string(), error.to_string());
        assert!(failures.get(Path::new("a.yaml"), &[2; 32]).is_none());
        assert!(failures.get(Path::new("b.yaml"), &[1; 32]).is_none());
        for i in 0..KEEP {
            failures.remember(Path::new("c.yaml"), [i as u8 + 10; 32], &error);
        }
        assert!(failures.get(Path::new("a.yaml"), &[1; 32]).is_none());
        assert_eq!(failures.recent.len(), KEEP);
    }
}
