//! `kingress check` and `kingress --version` as a CI pipeline runs them:
//! the real binary, its stdout compared with golden files, its exit status.
//! `UPDATE_GOLDEN=1 cargo test --test integration check::` rewrites the expectations.
// Test code: a failed unwrap is a failed test, with its location.
#![allow(clippy::unwrap_used, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check")
}

/// `kingress ARGS` run from the fixtures directory (so printed paths are
/// the relative ones a pipeline would see), with no KINGRESS_* settings
/// leaking in from the environment.
fn kingress(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kingress"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("KINGRESS_") {
            cmd.env_remove(key);
        }
    }
    cmd.args(args)
        .current_dir(fixtures())
        .output()
        .expect("kingress runs")
}

fn golden(name: &str, actual: &str) {
    let path = fixtures().join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} (run with UPDATE_GOLDEN=1): {e}", path.display()));
    assert_eq!(
        actual,
        expected,
        "output differs from {} (UPDATE_GOLDEN=1 rewrites it)",
        path.display()
    );
}

#[test]
fn every_problem_is_printed_with_its_file_and_document_and_exits_1() {
    let out = kingress(&["check", "-f", "bad"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "stdout:\n{stdout}");
    golden("bad.out", &stdout);
    // Past a bad document the check reads on: the Service after the
    // schema error was read (its Ingress is not "ServiceNotFound").
    assert!(
        !stdout.contains("Service default/web not found"),
        "{stdout}"
    );
    // Past a YAML syntax error the stream cannot be followed.
    assert!(!stdout.contains("never-read"), "{stdout}");
}

#[test]
fn clean_manifests_exit_0() {
    let out = kingress(&["check", "--filename", "clean"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}");
    golden("clean.out", &stdout);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_ingress_class_decides_what_is_checked() {
    // Under another class the Ingresses are not ours: nothing to report
    // about them, only the class-less Kong declarative file's problem.
    let out = kingress(&["check", "-f", "bad", "--ingress-class", "other"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "stdout:\n{stdout}");
    assert!(!stdout.contains("Ingress default/web"), "{stdout}");
    assert!(stdout.contains("bad/kong.yml: document 1: "), "{stdout}");
}

#[test]
fn usage_errors_exit_64() {
    let missing = kingress(&["check", "-f", "no-such-dir"]);
    assert_eq!(missing.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("no-such-dir"), "{stderr}");
    assert!(missing.stdout.is_empty());

    let no_path = kingress(&["check"]);
    assert_eq!(no_path.status.code(), Some(64));
    let empty_class = kingress(&["check", "-f", "clean", "--ingress-class", " "]);
    assert_eq!(empty_class.status.code(), Some(64));
}

#[test]
fn version_names_the_git_commit() {
    let out = kingress(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let commit = stdout
        .trim_end()
        .strip_prefix(concat!("kingress ", env!("CARGO_PKG_VERSION"), " (commit "))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("unexpected --version output {stdout:?}"));
    // Built from a git checkout (as this test is), the commit is HEAD's.
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8(o.stdout).unwrap().trim().to_string());
    match head {
        Some(head) if std::env::var_os("KINGRESS_GIT_COMMIT").is_none() => {
            assert_eq!(commit, head)
        }
        _ => assert!(!commit.is_empty()),
    }
}
