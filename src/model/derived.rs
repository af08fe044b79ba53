//! A value computed from the fields beside it on first use and kept with
//! them: request-time forms of configuration (parsed header names, header
//! values) that would otherwise be rebuilt on every request. It takes no
//! part in comparisons, serialisation or `Debug` output, since it says
//! nothing the fields do not.

use std::sync::OnceLock;

/// The derived value, empty until first asked for.
pub struct Derived<T>(OnceLock<T>);

// === impl Derived ===

impl<T> Derived<T> {
    /// The value, computed by `init` the first time.
    pub fn get_or_init(&self, init: impl FnOnce() -> T) -> &T {
        self.0.get_or_init(init)
    }
}

/// A clone starts empty: whoever clones the fields beside it may change
/// them before the value is next asked for.
impl<T> Clone for Derived<T> {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl<T> Default for Derived<T> {
    fn default() -> Self {
        Self(OnceLock::new())
    }
}

impl<T> PartialEq for Derived<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T> Eq for Derived<T> {}

impl<T> std::fmt::Debug for Derived<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Derived")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computed_once_and_never_compared() {
        let a: Derived<String> = Derived::default();
        let b: Derived<String> = Derived::default();
        let mut calls = 0;
        assert_eq!(
            a.get_or_init(|| {
                calls += 1;
                "x".into()
            }),
            "x"
        );
        assert_eq!(
            a.get_or_init(|| {
                calls += 1;
                "y".into()
            }),
            "x"
        );
        assert_eq!(calls, 1);
        assert_eq!(a, b);
        assert_eq!(format!("{a:?}"), "Derived");
        // A clone computes its own, from fields that may have changed.
        assert_eq!(a.clone().get_or_init(|| "z".into()), "z");
    }
}
