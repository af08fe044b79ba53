//! Path normalisation and `router::find` over a table the input describes.
//!
//! Input: one line describing the table and the request (four bytes per
//! route: host, path, methods/protocols, regex priority; the last three
//! bytes pick the request's host, method and scheme), then the raw path.
//!
//! Invariants: nothing panics; normalising an accepted path again gives
//! it back; spellings of the path that must mean the same (dot segments,
//! doubled slashes, escaped unreserved characters, lower-case escapes)
//! normalise to the same path and therefore find the same route; a match
//! names a route of the table and strips a prefix that ends on a character
//! boundary.
#![no_main]

use kingress::model::{HostMatch, ObjectRef, PathMatch, PathRegex, Route, Shared, Table};
use kingress::model::normalise::normalise;
use kingress::router::{RequestInfo, Router, find};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const HOSTS: &[&str] = &["a.test", "b.a.test", "*.a.test", "b.*", "x.b.*", "*a.test"];
const REQUEST_HOSTS: &[&str] = &["a.test", "b.a.test", "x.b.a.test", "b.x", "", ".a.test"];
const PATHS: &[&str] = &[
    "/", "/a", "/a/", "/a/b", "/ab", "/a%2Fb", "/~x", "/a/b/c", "/%C3%A9",
];
const REGEXES: &[&str] = &[
    "/a/[a-z]+",
    "/a.*",
    "/(a|b)/b$",
    "/[ab]+",
    "/ab?",
    "/a|/b/",
    "/é",
];
const METHODS: &[&[&str]] = &[&[], &["GET"], &["POST"], &["GET", "POST"]];
const PROTOCOLS: &[&[&str]] = &[&[], &["http"], &["https"], &["http", "https"]];

fn regexes() -> &'static [PathRegex] {
    static COMPILED: OnceLock<Vec<PathRegex>> = OnceLock::new();
    COMPILED.get_or_init(|| {
        REGEXES
            .iter()
            .map(|r| PathRegex::new(r).expect("pool regex compiles"))
            .collect()
    })
}

fn pick<T: Copy>(pool: &[T], b: u8) -> T {
    pool[usize::from(b) % pool.len()]
}

fn route(i: usize, spec: &[u8]) -> Route {
    let [host, path, mp, priority] = [spec[0], spec[1], spec[2], spec[3]];
    let name = format!("r{i}");
    let path = match path % 4 {
        0 => PathMatch::Prefix(pick(PATHS, path / 4).into()),
        1 => PathMatch::Plain(pick(PATHS, path / 4).into()),
        2 => PathMatch::Exact(pick(PATHS, path / 4).into()),
        _ => PathMatch::Regex(regexes()[usize::from(path / 4) % REGEXES.len()].clone()),
    };
    Route {
        source: ObjectRef::new("Ingress", "default", &name),
        name,
        hosts: if host < 64 {
            Vec::new()
        } else {
            vec![HostMatch::parse(pick(HOSTS, host))]
        },
        paths: vec![path],
        headers: Vec::new(),
        snis: Vec::new(),
        path_handling: Default::default(),
        methods: pick(METHODS, mp).iter().map(|m| m.to_string()).collect(),
        protocols: pick(PROTOCOLS, mp >> 4)
            .iter()
            .map(|p| p.to_string())
            .collect(),
        https_redirect_status_code: 426,
        strip_path: false,
        preserve_host: true,
        regex_priority: i64::from(priority % 4),
        service: None,
        plugins: Vec::new(),
        scoped: Vec::new(),
        fault: None,
    }
}

/// Spellings of the canonical (ASCII) path `n` that must normalise to `n`,
/// chosen by `seed`.
fn respellings(n: &str, seed: &[u8]) -> Vec<String> {
    let bytes = n.as_bytes();
    let slashes: Vec<usize> = n.match_indices('/').map(|(i, _)| i).collect();
    // Unreserved characters outside escapes (`%2F` keeps its `2` and `F`).
    let unreserved: Vec<usize> = (0..bytes.len())
        .filter(|&i| bytes[i].is_ascii_alphanumeric() || b"-._~".contains(&bytes[i]))
        .filter(|&i| !(i >= 1 && bytes[i - 1] == b'%') && !(i >= 2 && bytes[i - 2] == b'%'))
        .collect();
    let mut out = Vec::new();
    for (k, &b) in seed.iter().enumerate().take(4) {
        let at = slashes[usize::from(b) % slashes.len()];
        let insert = ["/.", "/", "/x/..", "/./x/.."][k % 4];
        out.push(format!("{}{insert}{}", &n[..at], &n[at..]));
        if !unreserved.is_empty() {
            let i = unreserved[usize::from(b) % unreserved.len()];
            out.push(format!("{}%{:02x}{}", &n[..i], bytes[i], &n[i + 1..]));
        }
    }
    // Escapes with lower-case hex.
    let mut lower = String::with_capacity(n.len());
    let mut rest = n;
    while let Some(i) = rest.find('%') {
        let end = (i + 3).min(rest.len());
        lower.push_str(&rest[..i]);
        lower.push_str(&rest[i..end].to_ascii_lowercase());
        rest = &rest[end..];
    }
    lower.push_str(rest);
    out.push(lower);
    out
}

fuzz_target!(|data: &[u8]| {
    let Some(([spec], raw)) = kingress_fuzz::lines::<1>(data) else {
        return;
    };
    let Ok(raw) = std::str::from_utf8(raw) else {
        return;
    };
    let (routes, request) = spec.split_at(spec.len() - spec.len().min(3));
    let table = Table {
        routes: routes
            .chunks_exact(4)
            .take(8)
            .enumerate()
            .map(|(i, c)| Shared::new(route(i, c)))
            .collect(),
        ..Table::default()
    };
    let router = Router::new(&table);
    let b = |i: usize| request.get(i).copied().unwrap_or(0);
    let headers = http::HeaderMap::new();
    let lookup = |path: &str| {
        let req = RequestInfo {
            method: pick(&["GET", "POST", "PUT"], b(1)),
            host: pick(REQUEST_HOSTS, b(0)),
            path,
            https: b(2) & 1 == 1,
            sni: None,
            headers: &headers,
        };
        find(&table, &router, &req)
    };

    let Ok(n) = normalise(raw) else {
        return;
    };
    assert_eq!(
        normalise(&n).as_deref(),
        Ok(&*n),
        "normalise is idempotent on {raw:?}"
    );
    let found = lookup(&n);
    if let Some(m) = found {
        assert!(m.route < table.routes.len());
        assert!(
            n.is_char_boundary(m.strip_len),
            "strip_len {} in {n:?}",
            m.strip_len
        );
    }
    for spelling in respellings(&n, raw.as_bytes()) {
        assert_eq!(
            normalise(&spelling).as_deref(),
            Ok(&*n),
            "{spelling:?} is {n:?}"
        );
        assert_eq!(lookup(&normalise(&spelling).unwrap_or_default()), found);
    }
});
