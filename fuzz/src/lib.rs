//! What the fuzz targets share: inputs are text-like, a few header lines
//! and then a free-form rest, so seeds stay readable and libFuzzer's
//! dictionaries and splicing work on them.
#![forbid(unsafe_code)]

/// Splits `data` into `N` lines (without their `\n`) and the rest; `None`
/// when it has fewer lines.
pub fn lines<const N: usize>(data: &[u8]) -> Option<([&[u8]; N], &[u8])> {
    let mut heads = [&data[..0]; N];
    let mut rest = data;
    for head in &mut heads {
        let end = rest.iter().position(|&b| b == b'\n')?;
        *head = &rest[..end];
        rest = &rest[end + 1..];
    }
    Some((heads, rest))
}

/// A header line: `-` means absent.
pub fn optional(line: &[u8]) -> Option<&[u8]> {
    (line != b"-").then_some(line)
}

/// A header line as text (`None` when absent or not UTF-8).
pub fn optional_str(line: &[u8]) -> Option<&str> {
    optional(line).and_then(|l| std::str::from_utf8(l).ok())
}
