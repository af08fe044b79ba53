//! Ids and generated secrets. Admin API writes get random (v4) ids; entities
//! read from a declarative file without an id get one derived from their
//! name (v5), so reloading an unchanged file gives the same ids.

use super::Kind;
use rand::Rng;
use rand::distr::Alphanumeric;
use uuid::Uuid;

/// The UUID v5 namespace of ids derived for declarative entities (a fixed
/// random value, distinct from the one `translate` uses for Kubernetes
/// objects).
const NAMESPACE: Uuid = Uuid::from_u128(0x2c7e_91d4_5b3a_4f08_9d6e_71a0_c4b8_e352);

/// How missing ids are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ids {
    /// Random UUID v4 from the operating system's CSPRNG (Admin API writes).
    Random,
    /// UUID v5 of the kind and the entity's natural key (declarative files).
    Derived,
}

// === impl Ids ===

impl Ids {
    /// An id for an entity of `kind` with natural key `key`.
    pub fn make(self, kind: Kind, key: &str) -> String {
        match self {
            Ids::Random => Uuid::new_v4().to_string(),
            Ids::Derived => {
                Uuid::new_v5(&NAMESPACE, format!("{}:{key}", kind.table()).as_bytes()).to_string()
            }
        }
    }
}

/// A random alphanumeric string from the thread's CSPRNG (`rand`'s
/// `ThreadRng` is a ChaCha generator seeded by the OS), as Kong's
/// `random_string()` for `client_id` and `client_secret`.
pub fn random_string(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// Whether `s` is a UUID (Kong ids are).
pub(super) fn is_uuid(s: &str) -> bool {
    Uuid::parse_str(s).is_ok() && s.len() == 36
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_random_ones_are_not() {
        let a = Ids::Derived.make(Kind::Service, "echo");
        assert_eq!(a, Ids::Derived.make(Kind::Service, "echo"));
        assert_ne!(a, Ids::Derived.make(Kind::Route, "echo"));
        assert!(is_uuid(&a));
        assert_ne!(
            Ids::Random.make(Kind::Service, "echo"),
            Ids::Random.make(Kind::Service, "echo")
        );
        let s = random_string(32);
        assert_eq!(s.len(), 32);
        assert!(s.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(s, random_string(32));
    }
}
