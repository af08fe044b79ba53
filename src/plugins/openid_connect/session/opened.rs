//! The cache of opened sessions: a session presented again is not opened
//! (AEAD, JSON) again.

use super::{Record, Sessions};
use crate::model::plugin::OidcConfig;
use crate::plugins::openid_connect::cache::TokenCache;
use std::sync::Arc;

/// Sessions opened recently, by their sealed value (the cookie, or the
/// Redis record): a session used again skips the AEAD and the JSON. A
/// sealed value is immutable, so a hit is exactly what opening it would
/// give; the timeouts are still checked on every use, and a server-side
/// session is still read from Redis every time (a logout on any replica
/// takes effect at once). Entries are bound to the plugin configuration
/// they were opened under (secrets, audience, storage).
///
/// A session cookie is kilobytes and every request with a session presents
/// it, so the entry is found by a [`fingerprint`] of the value and then
/// compared with the value it holds, in constant time: a cryptographic
/// digest of the cookie cost more than the rest of the request's plugin
/// work. The value kept is no more than the record beside it already
/// holds in memory (its tokens), and only values that opened are kept.
pub(in crate::plugins::openid_connect) type Opened = TokenCache<OpenedSession, u64>;

/// A cache entry of [`Opened`].
#[derive(Clone)]
pub(in crate::plugins::openid_connect) struct OpenedSession {
    config: Arc<OidcConfig>,
    sealed: Arc<[u8]>,
    record: Arc<Record>,
}

/// Where [`Opened`] looks a sealed value up: a seeded hash of its length,
/// its start (the key id and the random nonce) and its end (the AEAD tag),
/// which differ between any two values ever sealed; the whole value is
/// then compared. Hashing kilobytes of cookie would cost more than the
/// comparison itself.
fn fingerprint(sealed: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    let (start, end) = (sealed.len().min(64), sealed.len().saturating_sub(32));
    OPENED_SEED.hash_one((sealed.len(), &sealed[..start], &sealed[end..]))
}

/// The seed of [`Opened`]'s hash, random per process.
static OPENED_SEED: std::sync::LazyLock<foldhash::quality::RandomState> =
    std::sync::LazyLock::new(foldhash::quality::RandomState::default);

/// Sessions kept opened: with the usual 4 KiB session, about 16 MiB.
pub(in crate::plugins::openid_connect) const OPENED_ENTRIES: usize = 4096;
/// Sealed values longer than this are opened every time, which bounds the
/// cache at 32 MiB of sealed values whatever sessions hold.
const OPENED_MAX_SEALED: usize = 8 * 1024;
/// How long an opened session is kept, in seconds.
const OPENED_TTL: u64 = 60;

// === impl Sessions ===

impl Sessions<'_> {
    /// The record sealed as `sealed` for `purpose`, from [`Opened`] when
    /// it was opened recently under this configuration.
    pub(super) fn open_record(
        &self,
        purpose: &str,
        sealed: &[u8],
        now: u64,
    ) -> Option<Arc<Record>> {
        let key = self.plugin.map(|plugin| (plugin, fingerprint(sealed)));
        if let Some((plugin, hash)) = &key
            && let Some(hit) = self.opened.get(hash, now)
            && constant_time_eq::constant_time_eq(&hit.sealed, sealed)
            && (Arc::ptr_eq(&hit.config, plugin) || *hit.config == ***plugin)
        {
            return Some(hit.record);
        }
        let plain = self
            .sealing
            .get()
            .open(purpose, std::str::from_utf8(sealed).ok()?)?;
        let record = Arc::new(Record::from_plain(&plain)?);
        if let Some((plugin, hash)) = key.filter(|_| sealed.len() <= OPENED_MAX_SEALED) {
            let entry = OpenedSession {
                config: Arc::clone(plugin),
                sealed: sealed.into(),
                record: Arc::clone(&record),
            };
            self.opened.insert(hash, entry, now + OPENED_TTL, now);
        }
        Some(record)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::record;
    use super::super::{PURPOSE, Stores};
    use super::*;
    use crate::plugins::openid_connect::seal::Sealing;

    #[test]
    fn an_opened_session_is_reused_only_for_the_same_sealed_value() {
        let plugin = Arc::new(
            OidcConfig::parse(&serde_json::json!({ "issuer": "https://idp.test" })).unwrap(),
        );
        let sealing = Sealing::new(&[], &[7; 32], "aud");
        let stores = Stores::default();
        let opened = Opened::new(4);
        let sessions = Sessions {
            config: &plugin.session,
            plugin: Some(&plugin),
            sealing: super::super::Keys::Ready(&sealing),
            stores: &stores,
            opened: &opened,
        };
        let sealed = sealing.seal(PURPOSE, &serde_json::to_vec(&record(1000)).unwrap());
        let first = sessions
            .open_record(PURPOSE, sealed.as_bytes(), 1000)
            .unwrap();
        let again = sessions
            .open_record(PURPOSE, sealed.as_bytes(), 1001)
            .unwrap();
        assert!(Arc::ptr_eq(&first, &again), "the second use is a cache hit");
        // An entry found by a value's fingerprint is used only for that
        // value: a value with the same start and end (same fingerprint)
        // but another middle is opened, and refused, instead.
        let mut forged = sealed.clone().into_bytes();
        let middle = forged.len() / 2;
        forged[middle] = if forged[middle] == b'A' { b'B' } else { b'A' };
        assert_eq!(fingerprint(&forged), fingerprint(sealed.as_bytes()));
        assert!(sessions.open_record(PURPOSE, &forged, 1002).is_none());
        // A hostile cookie of any length is fingerprinted (and refused).
        for short in [&b""[..], b"x", &[b'A'; 95]] {
            fingerprint(short);
            assert!(sessions.open_record(PURPOSE, short, 1002).is_none());
        }
        // Nor under any other hash it may land on.
        let other = format!("{}x", &sealed[..sealed.len() - 1]);
        let entry = OpenedSession {
            config: Arc::clone(&plugin),
            sealed: sealed.as_bytes().into(),
            record: Arc::clone(&first),
        };
        opened.insert(fingerprint(other.as_bytes()), entry, 2000, 1001);
        assert!(
            sessions
                .open_record(PURPOSE, other.as_bytes(), 1002)
                .is_none()
        );
        // The genuine value is still served from the cache.
        let still = sessions
            .open_record(PURPOSE, sealed.as_bytes(), 1003)
            .unwrap();
        assert!(Arc::ptr_eq(&first, &still));
        // Too large to keep: opened every time.
        let big = Record {
            access_token: "a".repeat(OPENED_MAX_SEALED),
            ..record(1000)
        };
        let sealed = sealing.seal(PURPOSE, &serde_json::to_vec(&big).unwrap());
        let first = sessions
            .open_record(PURPOSE, sealed.as_bytes(), 1000)
            .unwrap();
        let again = sessions
            .open_record(PURPOSE, sealed.as_bytes(), 1000)
            .unwrap();
        assert!(!Arc::ptr_eq(&first, &again));
        assert_eq!(first.access_token, again.access_token);
    }
}
