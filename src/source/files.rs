//! Manifest files (in progress).
