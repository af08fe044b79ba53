//! CRD YAML generation (filled in by the CRD work).
