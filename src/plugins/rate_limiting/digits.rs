//! Header values for whole numbers without allocating: every rate-limited
//! request carries five of them (limits, remaining counts, reset seconds),
//! nearly always under 10,000, and `HeaderValue::from(u64)` allocates and
//! formats each one. Numbers below [`STATIC_BELOW`] are slices of one
//! static text of every such number, written side by side at compile time;
//! their values share nothing at run time (no reference counts), so
//! requests on different threads do not touch the same memory.

use http::HeaderValue;

/// Numbers below this come from the static text.
const STATIC_BELOW: u64 = 10_000;

/// Length of the text: 10 one-digit, 90 two-digit, 900 three-digit and
/// 9,000 four-digit numbers.
const LEN: usize = 10 + 90 * 2 + 900 * 3 + 9000 * 4;

/// "0123…9899100101…9999", built at compile time.
static TEXT: [u8; LEN] = text();

const fn text() -> [u8; LEN] {
    let mut out = [0u8; LEN];
    let mut at = 0;
    let mut n = 0;
    while n < STATIC_BELOW as usize {
        let digits = digits(n as u64);
        let mut i = digits;
        let mut rest = n;
        while i > 0 {
            i -= 1;
            out[at + i] = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        at += digits;
        n += 1;
    }
    out
}

const fn digits(n: u64) -> usize {
    match n {
        0..=9 => 1,
        10..=99 => 2,
        100..=999 => 3,
        _ => 4,
    }
}

/// Where `n` (below [`STATIC_BELOW`]) starts in [`TEXT`].
const fn offset(n: u64) -> usize {
    let n = n as usize;
    match n {
        0..=9 => n,
        10..=99 => 10 + (n - 10) * 2,
        100..=999 => 190 + (n - 100) * 3,
        _ => 2890 + (n - 1000) * 4,
    }
}

/// `n` as a header value, in decimal.
pub(crate) fn value(n: u64) -> HeaderValue {
    if n >= STATIC_BELOW {
        return HeaderValue::from(n);
    }
    let start = offset(n);
    let text: &'static [u8] = &TEXT[start..start + digits(n)];
    match std::str::from_utf8(text) {
        Ok(text) => HeaderValue::from_static(text),
        Err(_) => HeaderValue::from(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_number_reads_as_itself() {
        for n in (0..12_000).chain([u64::MAX, 1 << 53]) {
            assert_eq!(value(n).to_str().unwrap(), n.to_string(), "{n}");
        }
    }
}
