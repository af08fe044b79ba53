//! translate (in progress).
