//! The module rules of `ARCHITECTURE.md`, checked on `src/` so they hold as
//! the code grows: which module may import which (the table), the extra
//! one-way rules, only `publish` writing the table, no `mod.rs`, and small
//! files. Test code (`#[cfg(test)]` items and the files they declare) may
//! import anything and is not scanned for imports.
//!
//! An import is `use crate::x…`, a `crate::x::` path anywhere in code, or a
//! `super::` chain that climbs out of its top-level module (`super::super::x`
//! from `src/a/b.rs` names the top-level module `x`). Comments and string
//! literals are ignored.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// Module → the crate modules it may import (itself always). `*` is
/// everything: the wiring. Read from the module table in the repository's
/// `ARCHITECTURE.md`, so the table there is the rule and exists once.
static TABLE: LazyLock<Vec<(String, Vec<String>)>> = LazyLock::new(|| {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md");
    let text = std::fs::read_to_string(&path).expect("ARCHITECTURE.md");
    parse_table(&text)
});

/// The rows of the first markdown table whose header starts with
/// `| module |`: the module (first cell, in backticks) and the crate modules
/// of the last cell. Words there that name no row (external crates) are for
/// the reader; `everything` is `*`.
fn parse_table(text: &str) -> Vec<(String, Vec<String>)> {
    let rows: Vec<Vec<String>> = text
        .lines()
        .skip_while(|l| !l.starts_with("| module |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect();
    let names: BTreeSet<String> = rows
        .iter()
        .map(|r| r[0].trim_matches('`').to_string())
        .collect();
    rows.iter()
        .map(|r| {
            let may = r[r.len() - 1]
                .split(',')
                .map(|w| w.trim().to_string())
                .filter_map(|w| match w.as_str() {
                    "everything" => Some("*".to_string()),
                    _ if names.contains(&w) => Some(w),
                    _ => None,
                })
                .collect();
            (r[0].trim_matches('`').to_string(), may)
        })
        .collect()
}

/// Modules that never import these (crate modules or external crates):
/// the data plane knows nothing of Kubernetes, and the control plane's
/// input side knows nothing of the data plane.
const NEVER: &[(&[&str], &[&str])] = &[
    (
        &["model", "router", "plugins"],
        &["kube", "k8s_openapi", "crd", "source"],
    ),
    (
        &["source", "objects", "translate"],
        &["proxy", "router", "plugins"],
    ),
];

/// Longest file, in lines; split past it.
const MAX_LINES: usize = 500;

/// Files allowed past [`MAX_LINES`], each with its own ceiling. A file that
/// shrinks under the limit must leave this list.
const LONG_FILES: &[(&str, usize)] = &[];

/// Modules allowed to write the table: `publish` owns the `ArcSwap`, and
/// `reconcile` is the one caller of its write methods.
const TABLE_WRITERS: &[&str] = &["publish", "reconcile"];

/// Number of rules checked: one per table row, one per `NEVER` pair, plus
/// the table writer, `mod.rs` and file size rules.
fn rule_count() -> usize {
    TABLE.len() + NEVER.iter().map(|(m, n)| m.len() * n.len()).sum::<usize>() + 3
}

// === the scanner ===

/// One source file of the crate.
struct File {
    /// Path below `src/`.
    rel: PathBuf,
    /// Code with comments, string literals and test items blanked out.
    code: String,
}

/// An import found in a file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Import {
    /// The top-level crate module, or the external crate, imported.
    target: String,
    /// 1-based line.
    line: usize,
}

/// The top-level module a file belongs to, and its module path.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts == ["lib"] {
        parts.clear();
    }
    parts
}

/// Blanks comments, string and char literals (newlines are kept, so
/// offsets and lines stay where they were).
fn strip(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !ident_before(&b, i) {
            // Raw string: r"…", r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            let end = loop {
                match b.get(j) {
                    None => break b.len(),
                    Some('"') if (1..=hashes).all(|k| b.get(j + k) == Some(&'#')) => {
                        break j + 1 + hashes;
                    }
                    _ => j += 1,
                }
            };
            out.extend(b[i..end].iter().map(|&c| blank(c)));
            i = end;
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < b.len() && b[i] != '"' {
                let skip = if b[i] == '\\' { 2 } else { 1 };
                for k in 0..skip {
                    if let Some(&c) = b.get(i + k) {
                        out.push(blank(c));
                    }
                }
                i += skip;
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' {
            // A char literal ('a', '\n', '\''), not a lifetime ('a).
            let len = match (next, b.get(i + 2), b.get(i + 3)) {
                (Some('\\'), _, _) => b[i + 2..].iter().position(|&c| c == '\'').map(|p| p + 3),
                (Some(_), Some('\''), _) => Some(3),
                _ => None,
            };
            match len {
                Some(len) => {
                    out.extend(std::iter::repeat_n(' ', len));
                    i += len;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_before(b: &[char], i: usize) -> bool {
    i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_')
}

static CFG_TEST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"#\[cfg\((?:test|all\(test[^\]]*\))\)\]").unwrap());
static ITEM_MOD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?mod\s+([a-z_][a-z0-9_]*)\s*;")
        .unwrap()
});

/// Blanks `#[cfg(test)]` items; returns the code and the names of the test
/// modules declared as files (`#[cfg(test)] mod tests;`).
fn drop_tests(code: &str) -> (String, Vec<String>) {
    let mut out: Vec<char> = code.chars().collect();
    let mut test_files = Vec::new();
    // Char offsets of each match (the code is ASCII outside literals, and
    // literals are blanked, but be safe with char indices).
    let starts: Vec<(usize, usize)> = CFG_TEST
        .find_iter(code)
        .map(|m| {
            (
                code[..m.start()].chars().count(),
                code[..m.end()].chars().count(),
            )
        })
        .collect();
    for (start, end) in starts {
        let rest: String = out[end..].iter().collect();
        if let Some(m) = ITEM_MOD.captures(&rest) {
            test_files.push(m[1].to_string());
        }
        // The item ends at its first `;` outside braces, or with the brace
        // block it opens.
        let mut depth = 0usize;
        let mut stop = out.len();
        for (k, &c) in out.iter().enumerate().skip(end) {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        stop = k + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    stop = k + 1;
                    break;
                }
                _ => {}
            }
        }
        for c in &mut out[start..stop] {
            if *c != '\n' {
                *c = ' ';
            }
        }
    }
    (out.into_iter().collect(), test_files)
}

static CRATE_PATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bcrate::(\{|[a-z_][a-z0-9_]*)").unwrap());
static SUPER_PATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b((?:super::)+)(\{|[a-z_][a-z0-9_]*)").unwrap());
static EXTERNAL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b(kube|k8s_openapi)::").unwrap());
static INLINE_MOD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:pub(?:\([^)]*\))?\s+)?mod\s+[a-z_][a-z0-9_]*\s*\{").unwrap()
});

/// What writes the table: its `ArcSwap`, a `Published` built, a
/// `TableHandle`'s `publish` or `replace(…table)`.
static TABLE_WRITE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"ArcSwap<Published>|\bPublished\s*\{|\.publish\(|\.replace\(\s*[a-z_.]*table\b")
        .unwrap()
});

/// The first identifier of each item of a `{…}` group starting at `open`.
fn group(code: &str, open: usize) -> Vec<String> {
    let mut depth = 0;
    let mut items = vec![String::new()];
    for c in code[open..].chars() {
        match c {
            '{' => {
                depth += 1;
                if depth == 1 {
                    continue;
                }
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => {
                items.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = items.last_mut() {
            last.push(c);
        }
    }
    items
        .iter()
        .filter_map(|i| {
            let first = i.trim().split("::").next()?.trim().to_string();
            (!first.is_empty() && first != "self").then_some(first)
        })
        .collect()
}

/// How many inline modules (`mod x { … }`) enclose each offset.
fn inline_depth(code: &str) -> impl Fn(usize) -> usize {
    let mut spans = Vec::new();
    for m in INLINE_MOD.find_iter(code) {
        let mut depth = 0;
        for (k, c) in code[m.end() - 1..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        spans.push((m.end(), m.end() - 1 + k));
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    move |at| spans.iter().filter(|(s, e)| *s <= at && at < *e).count()
}

/// The crate modules and external crates (kube, k8s_openapi) `file`
/// imports from outside its own top-level module.
fn imports(rel: &Path, code: &str) -> BTreeSet<Import> {
    let path = module_path(rel);
    let own = path.first().cloned().unwrap_or_default();
    let line = |at: usize| code[..at].matches('\n').count() + 1;
    let mut found = BTreeSet::new();
    let mut add = |target: String, at: usize| {
        if target != own && !target.is_empty() {
            found.insert(Import {
                target,
                line: line(at),
            });
        }
    };
    for c in CRATE_PATH.captures_iter(code) {
        let m = c.get(1).unwrap();
        if &c[1] == "{" {
            for target in group(code, m.start()) {
                add(target, m.start());
            }
        } else {
            add(c[1].to_string(), m.start());
        }
    }
    let depth = inline_depth(code);
    for c in SUPER_PATH.captures_iter(code) {
        let m = c.get(0).unwrap();
        let climbs = c[1].matches("super::").count();
        // `super` from module path a::b::c climbs to a::b, then a, then the
        // crate root, where the next segment is a top-level module.
        let here = path.len() + depth(m.start());
        if climbs < here {
            continue; // stays inside its top-level module
        }
        if climbs > here {
            // Past the crate root: not valid Rust, so a scanner bug.
            add(
                format!("<super:: past the crate root: {}>", &c[0]),
                m.start(),
            );
            continue;
        }
        let target = c.get(2).unwrap();
        if &c[2] == "{" {
            for t in group(code, target.start()) {
                add(t, m.start());
            }
        } else {
            add(c[2].to_string(), m.start());
        }
    }
    for c in EXTERNAL.captures_iter(code) {
        add(c[1].to_string(), c.get(0).unwrap().start());
    }
    found
}

/// Every `.rs` file under `src/`, with test code blanked and files only
/// compiled for tests left out.
fn scan(src: &Path) -> Vec<File> {
    let mut paths = Vec::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                paths.push(p.strip_prefix(src).unwrap().to_path_buf());
            }
        }
    }
    paths.sort();
    // Test-only files (and their folders), from `#[cfg(test)] mod x;`.
    let mut test_only: BTreeSet<PathBuf> = BTreeSet::new();
    let mut files = Vec::new();
    for rel in &paths {
        let text = std::fs::read_to_string(src.join(rel)).unwrap();
        let (code, tests) = drop_tests(&strip(&text));
        let dir = match rel.to_string_lossy().as_ref() {
            "lib.rs" | "main.rs" => PathBuf::new(),
            _ => rel.with_extension(""),
        };
        for t in tests {
            test_only.insert(dir.join(format!("{t}.rs")));
            test_only.insert(dir.join(t));
        }
        files.push(File {
            rel: rel.clone(),
            code,
        });
    }
    files.retain(|f| !test_only.iter().any(|t| f.rel.starts_with(t)));
    files
}

// === the rules ===

fn allowed() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    TABLE
        .iter()
        .map(|(m, may)| (m.as_str(), may.iter().map(String::as_str).collect()))
        .collect()
}

/// Every broken rule, one line each.
fn violations(files: &[File]) -> Vec<String> {
    let table = allowed();
    let crate_modules: BTreeSet<&str> = TABLE.iter().map(|(m, _)| m.as_str()).collect();
    let mut out = Vec::new();
    for file in files {
        let rel = file.rel.display().to_string();
        let path = module_path(&file.rel);
        let Some(module) = path.first().map(String::as_str) else {
            continue; // lib.rs: module declarations only
        };
        let Some(may) = table.get(module) else {
            out.push(format!(
                "{rel}: module `{module}` is not in the table (add it, with what it may import)"
            ));
            continue;
        };
        for import in imports(&file.rel, &file.code) {
            let target = import.target.as_str();
            let line = import.line;
            for (who, never) in NEVER {
                if who.contains(&module) && never.contains(&target) {
                    out.push(format!(
                        "{rel}:{line}: `{module}` must never import `{target}`"
                    ));
                }
            }
            let is_crate_module = crate_modules.contains(target) || target.starts_with('<');
            if is_crate_module && !may.contains("*") && !may.contains(target) {
                out.push(format!(
                    "{rel}:{line}: `{module}` imports `{target}`, which the table does not allow"
                ));
            }
        }
        if !TABLE_WRITERS.contains(&module) {
            for m in TABLE_WRITE.find_iter(&file.code) {
                let line = file.code[..m.start()].matches('\n').count() + 1;
                let w = m.as_str();
                out.push(format!(
                    "{rel}:{line}: `{w}`: only publish writes the table"
                ));
            }
        }
    }
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn modules_import_only_what_the_table_allows() {
    let files = scan(&src());
    assert!(files.len() > 100, "scanned {} files", files.len());
    // The scanner sees the crate's real imports (it is not vacuously quiet).
    let edges: BTreeSet<(String, String)> = files
        .iter()
        .filter_map(|f| Some((module_path(&f.rel).first()?.clone(), f)))
        .flat_map(|(m, f)| {
            imports(&f.rel, &f.code)
                .into_iter()
                .map(move |i| (m.clone(), i.target))
        })
        .collect();
    for edge in [
        ("translate", "objects"),
        ("status", "objects"),
        ("proxy", "router"),
    ] {
        let edge = (edge.0.to_string(), edge.1.to_string());
        assert!(edges.contains(&edge), "{edge:?} not found in {edges:?}");
    }
    let broken = violations(&files);
    assert!(
        broken.is_empty(),
        "{} of {} rules broken:\n{}",
        broken.len(),
        rule_count(),
        broken.join("\n")
    );
}

#[test]
fn no_mod_rs_and_files_stay_small() {
    let src = src();
    let mut broken = Vec::new();
    let mut all = vec![src.clone()];
    let mut seen_long = BTreeSet::new();
    while let Some(dir) = all.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                all.push(p);
                continue;
            }
            let rel = p.strip_prefix(&src).unwrap().display().to_string();
            if p.file_name().is_some_and(|n| n == "mod.rs") {
                broken.push(format!("{rel}: use `foo.rs` + `foo/`, not `mod.rs`"));
            }
            if p.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let lines = std::fs::read_to_string(&p).unwrap().lines().count();
            let ceiling = LONG_FILES.iter().find(|(f, _)| *f == rel).map(|(_, n)| *n);
            match ceiling {
                Some(ceiling) => {
                    seen_long.insert(rel.clone());
                    if lines > ceiling {
                        broken.push(format!(
                            "{rel}: {lines} lines, over its {ceiling}: split it"
                        ));
                    }
                    if lines <= MAX_LINES {
                        broken.push(format!(
                            "{rel}: {lines} lines, no longer long: drop it from LONG_FILES"
                        ));
                    }
                }
                None if lines > MAX_LINES => {
                    broken.push(format!("{rel}: {lines} lines, over {MAX_LINES}: split it"))
                }
                None => {}
            }
        }
    }
    for (f, _) in LONG_FILES {
        if !seen_long.contains(*f) {
            broken.push(format!("{f}: in LONG_FILES but gone"));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn the_table_covers_every_top_level_module() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let declared: BTreeSet<String> = Regex::new(r"(?m)^pub mod ([a-z_]+);")
        .unwrap()
        .captures_iter(&lib)
        .map(|c| c[1].to_string())
        .collect();
    let table: BTreeSet<String> = TABLE
        .iter()
        .map(|(m, _)| m.to_string())
        .filter(|m| m != "main")
        .collect();
    assert_eq!(declared, table, "lib.rs modules vs the table");
    // The table was read, and the wiring rows allow everything.
    assert!(TABLE.len() > 15, "{:?}", *TABLE);
    for (m, may) in TABLE.iter() {
        assert!(
            !may.is_empty() || ["crd", "model"].contains(&m.as_str()),
            "{m} imports nothing?"
        );
    }
    assert!(rule_count() > 20);
}

// === the scanner, on code written to break the rules ===

fn file(rel: &str, text: &str) -> File {
    File {
        rel: rel.into(),
        code: drop_tests(&strip(text)).0,
    }
}

fn targets(f: &File) -> Vec<String> {
    imports(&f.rel, &f.code)
        .into_iter()
        .map(|i| format!("{}:{}", i.target, i.line))
        .collect()
}

#[test]
fn scanner_finds_each_kind_of_import() {
    let f = file(
        "model/route/parse.rs",
        r#"use crate::source::files;
use crate::{router, model::Table, crd::{KongPlugin}};
fn f() -> crate::proxy::Error {
    // crate::run::ignored in a comment
    let s = "crate::cli::ignored in a string";
    let c = '"'; let l: &'static str = "";
    super::super::super::translate::go();
    super::super::inside_model();
    super::Sibling::new();
    kube::Api::all();
}
/* crate::admin::ignored */
#[cfg(test)]
mod tests {
    use crate::status;
}
"#,
    );
    assert_eq!(
        targets(&f),
        [
            "crd:2",
            "kube:10",
            "proxy:3",
            "router:2",
            "source:1",
            "translate:7",
        ]
    );
    let broken = violations(&[f]);
    let expect = [
        ":1: `model` must never import `source`",
        ":1: `model` imports `source`",
        ":2: `model` must never import `crd`",
        ":2: `model` imports `crd`",
        ":2: `model` imports `router`",
        ":3: `model` imports `proxy`",
        ":7: `model` imports `translate`",
        ":10: `model` must never import `kube`",
    ];
    for e in expect {
        assert!(broken.iter().any(|b| b.contains(e)), "{e} in {broken:#?}");
    }
    assert_eq!(broken.len(), expect.len(), "{broken:#?}");
}

#[test]
fn scanner_allows_what_the_table_allows_and_test_code() {
    let f = file(
        "proxy/forward.rs",
        "use crate::model::Table;\nuse crate::plugins::Phase;\nuse super::respond;\n\
         mod unverified {\n    use super::super::super::router::find;\n    use super::super::headers;\n}\n\
         #[cfg(test)]\nmod tests;\n#[cfg(test)]\nuse crate::source::files;\n",
    );
    assert_eq!(targets(&f), ["model:1", "plugins:2", "router:5"]);
    assert!(violations(&[f]).is_empty());
    let (_, tests) = drop_tests("#[cfg(test)]\npub(crate) mod fake_api;\n#[cfg(test)]\nmod tests;");
    assert_eq!(tests, ["fake_api", "tests"]);
}

#[test]
fn scanner_catches_a_table_write_outside_publish() {
    let f = file(
        "proxy/tls.rs",
        "fn f(h: &crate::publish::TableHandle) { h.publish(crate::model::Table::default()); }",
    );
    let broken = violations(&[f]);
    assert_eq!(broken.len(), 1, "{broken:#?}");
    assert!(broken[0].contains("only publish writes the table"));
}

#[test]
fn the_table_is_read_from_markdown() {
    let text = "intro\n\n| module | owns | may import |\n| --- | --- | --- |\n\
                | `a` | x, y | serde |\n| `b` | z | a, kube |\n| `run` | w | everything |\n\nafter\n";
    let table = parse_table(text);
    let rows: Vec<(&str, Vec<&str>)> = table
        .iter()
        .map(|(m, may)| (m.as_str(), may.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(rows, [("a", vec![]), ("b", vec!["a"]), ("run", vec!["*"])]);
}

#[test]
fn every_plugin_with_a_response_or_body_phase_says_so() {
    // An upstream's answer passes as bytes, past every plugin's response
    // and body phases, when no plugin of the request declares one
    // (`Phases::SHAPES_ANSWER`): a phase that forgot to say so would
    // silently not run.
    let phase = Regex::new(r"fn\s+(response|body)\s*\(\s*\w+\s*:\s*&Arc<Self>").unwrap();
    let says = Regex::new(r"const\s+SHAPES_ANSWER\s*:\s*bool\s*=\s*true\s*;").unwrap();
    let files = scan(&src());
    let plugins: Vec<&File> = files
        .iter()
        .filter(|f| f.code.contains("impl Phases for"))
        .collect();
    assert!(plugins.len() >= 15, "{} plugins found", plugins.len());
    let shaping: Vec<String> = plugins
        .iter()
        .filter(|f| phase.is_match(&f.code))
        .map(|f| f.rel.display().to_string())
        .collect();
    // cors, grpc-web, proxy-cache and response-transformer at least.
    assert!(shaping.len() >= 4, "{shaping:?}");
    let silent: Vec<&String> = shaping
        .iter()
        .zip(plugins.iter().filter(|f| phase.is_match(&f.code)))
        .filter(|(_, f)| !says.is_match(&f.code))
        .map(|(name, _)| name)
        .collect();
    assert!(
        silent.is_empty(),
        "response or body phase without SHAPES_ANSWER: {silent:?}"
    );
    // And no plugin claims one it does not have.
    let claiming: Vec<String> = plugins
        .iter()
        .filter(|f| says.is_match(&f.code) && !phase.is_match(&f.code))
        .map(|f| f.rel.display().to_string())
        .collect();
    assert!(
        claiming.is_empty(),
        "SHAPES_ANSWER without a phase: {claiming:?}"
    );
}
