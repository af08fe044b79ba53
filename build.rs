//! Stamps the git commit into the binary for `kingress --version`.
//! `KINGRESS_GIT_COMMIT` set at build time wins (container builds copy no
//! `.git`); else `git rev-parse` in a clone; else "unknown" (a tarball).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=KINGRESS_GIT_COMMIT");
    let commit = std::env::var("KINGRESS_GIT_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=KINGRESS_GIT_COMMIT={}", commit.trim());
}

/// The short commit of HEAD, and the files whose change means a new one.
fn git_commit() -> Option<String> {
    let commit = git(&["rev-parse", "--short=12", "HEAD"])?;
    // HEAD names the branch; the branch's ref (loose or packed) names the
    // commit. `--git-path` finds both in worktrees too.
    let head_ref = git(&["symbolic-ref", "-q", "HEAD"]);
    let watched = ["HEAD", "packed-refs"]
        .into_iter()
        .chain(head_ref.as_deref());
    for name in watched {
        // A missing file would make Cargo run this script on every build.
        if let Some(p) = git(&["rev-parse", "--git-path", name])
            && std::path::Path::new(&p).exists()
        {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    Some(commit)
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}
