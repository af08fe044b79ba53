//! Cluster watch (in progress).
