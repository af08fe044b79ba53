//! A part of a table shared between tables (and translate's memo) until one
//! of them changes it. Ten thousand consumers and their credentials do not
//! change when an Ingress does; sharing them keeps an edit from copying
//! them into the new table, and lets `publish` compare them by address.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// A value behind an `Arc`: reads go through `Deref`, writes through
/// `DerefMut`, which copies the value first if another table shares it
/// (`Arc::make_mut`).
#[derive(Default)]
pub struct Shared<T>(Arc<T>);

/// `held` when `fresh` equals it, else `fresh` in an `Arc` of its own: a
/// value translated again that came out the same stays the one the
/// serving table holds, rather than an equal second copy.
pub fn same_or_new<T: PartialEq>(held: Option<&Arc<T>>, fresh: T) -> Arc<T> {
    match held {
        Some(held) if **held == fresh => Arc::clone(held),
        _ => Arc::new(fresh),
    }
}

// === impl Shared ===

impl<T> Shared<T> {
    /// Shares `value`.
    pub fn new(value: T) -> Self {
        Self(Arc::new(value))
    }

    /// Whether `a` and `b` are the very same value (not merely equal).
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }

    /// The value, copied only if another table still shares it.
    pub fn into_inner(self) -> T
    where
        T: Clone,
    {
        Arc::unwrap_or_clone(self.0)
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Clone> DerefMut for Shared<T> {
    fn deref_mut(&mut self) -> &mut T {
        Arc::make_mut(&mut self.0)
    }
}

impl<T: PartialEq> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        Self::ptr_eq(self, other) || *self.0 == *other.0
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<T> From<T> for Shared<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<A, T: FromIterator<A>> FromIterator<A> for Shared<T> {
    fn from_iter<I: IntoIterator<Item = A>>(iter: I) -> Self {
        Self::new(iter.into_iter().collect())
    }
}

impl<'a, T> IntoIterator for &'a Shared<T>
where
    &'a T: IntoIterator,
{
    type Item = <&'a T as IntoIterator>::Item;
    type IntoIter = <&'a T as IntoIterator>::IntoIter;

    fn into_iter(self) -> Self::IntoIter {
        (&*self.0).into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn a_write_copies_only_a_shared_value() {
        let mut a: Shared<BTreeMap<u8, u8>> = [(1, 1)].into_iter().collect();
        let b = a.clone();
        assert!(Shared::ptr_eq(&a, &b));
        assert_eq!(a, b);
        a.insert(2, 2);
        assert!(!Shared::ptr_eq(&a, &b), "the write copied");
        assert_eq!(b.len(), 1, "the other table keeps its value");
        assert_ne!(a, b);
        let before = Arc::as_ptr(&a.0);
        a.insert(3, 3);
        assert_eq!(
            before,
            Arc::as_ptr(&a.0),
            "an unshared value is written in place"
        );
        assert_eq!((&a).into_iter().count(), 3);
        assert_eq!(Shared::new(BTreeMap::from([(1, 1)])), b, "equal by value");
    }
}
