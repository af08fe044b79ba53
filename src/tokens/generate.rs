//! Token values: 32 characters of `[A-Za-z0-9]` from a CSPRNG, like Kong's
//! `random_string()` but without its non-cryptographic substitutions.
//!
//! Each character comes from one random byte by rejection sampling: bytes
//! below 248 (= 4 × 62) map to `byte % 62`, larger ones are drawn again, so
//! every character is exactly equally likely (no modulo bias). 32 such
//! characters carry 32 · log2(62) ≈ 190 bits.

use rand::RngCore;

/// Length of tokens, refresh tokens and codes.
pub const TOKEN_LEN: usize = 32;

const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Largest multiple of 62 that fits in a byte; bytes at or above it are
/// rejected.
const ACCEPT_BELOW: u8 = 248;

/// A fresh token from the thread-local CSPRNG (ChaCha, seeded and
/// periodically reseeded from the operating system).
pub fn random_token() -> String {
    token_from(&mut rand::rng())
}

/// A token drawn from `rng`.
fn token_from(rng: &mut impl RngCore) -> String {
    let mut out = String::with_capacity(TOKEN_LEN);
    let mut buf = [0u8; 48];
    while out.len() < TOKEN_LEN {
        rng.fill_bytes(&mut buf);
        for &b in &buf {
            if b < ACCEPT_BELOW {
                out.push(char::from(ALPHABET[usize::from(b % 62)]));
                if out.len() == TOKEN_LEN {
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn tokens_are_32_alphanumerics_and_distinct() {
        let mut seen = HashSet::new();
        for _ in 0..2000 {
            let t = random_token();
            assert_eq!(t.len(), TOKEN_LEN);
            assert!(t.bytes().all(|b| b.is_ascii_alphanumeric()), "{t}");
            assert!(seen.insert(t));
        }
    }

    #[test]
    fn every_character_is_used_about_equally() {
        let mut counts = [0usize; 128];
        for _ in 0..4000 {
            for b in random_token().bytes() {
                counts[usize::from(b)] += 1;
            }
        }
        // 128000 characters over 62 symbols: about 2065 each. A biased
        // mapping (e.g. plain `% 62` of a byte) would favour the first eight
        // symbols by ~25 %, far outside these bounds.
        for &c in ALPHABET {
            let n = counts[usize::from(c)];
            assert!(
                (1750..2400).contains(&n),
                "{} seen {n} times",
                char::from(c)
            );
        }
    }

    /// A generator that yields a fixed byte sequence, to show which bytes are
    /// rejected.
    struct Bytes(Vec<u8>, usize);

    impl RngCore for Bytes {
        fn next_u32(&mut self) -> u32 {
            unreachable!("only fill_bytes is used")
        }
        fn next_u64(&mut self) -> u64 {
            unreachable!("only fill_bytes is used")
        }
        fn fill_bytes(&mut self, dst: &mut [u8]) {
            for d in dst {
                *d = self.0[self.1 % self.0.len()];
                self.1 += 1;
            }
        }
    }

    #[test]
    fn bytes_at_or_above_248_are_rejected() {
        // 248..=255 never map to a character; 0, 62, 124 and 186 all map to
        // 'A', 61 and 247 to '9'.
        let mut rng = Bytes(vec![255, 248, 0, 62, 124, 186, 61, 247], 0);
        let t = token_from(&mut rng);
        assert_eq!(&t[..6], "AAAA99");
        assert_eq!(t.len(), TOKEN_LEN);
    }
}
