//! Running helm on the chart: the binary (installed on first use), `helm
//! template` and `helm lint` with values files and `--set` values, and the
//! install notes. Shared by the chart tests (each uses a subset).
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const HELM_MODULE: &str = "helm.sh/helm/v3/cmd/helm@v3.22.0";
/// Source-built helm assumes Kubernetes 1.20 without a cluster; the chart
/// needs 1.25+ (CEL validations in the CRDs).
pub const KUBE_VERSION: &str = "1.30.0";

pub fn chart_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("charts/kingress")
}

/// The helm binary, installed on first use.
pub fn helm() -> &'static PathBuf {
    static HELM: OnceLock<PathBuf> = OnceLock::new();
    HELM.get_or_init(|| {
        if let Ok(out) = Command::new("helm").arg("version").output()
            && out.status.success()
        {
            return PathBuf::from("helm");
        }
        let tools = std::env::var_os("KINGRESS_TOOLS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let home = std::env::var_os("HOME").expect("HOME is set");
                PathBuf::from(home).join(".cache/kingress-tools")
            });
        let bin = tools.join("bin");
        let helm = bin.join("helm");
        if !helm.exists() {
            eprintln!(
                "building {HELM_MODULE} into {} (first run only)",
                bin.display()
            );
            let status = Command::new("go")
                .args(["install", HELM_MODULE])
                .env("GOBIN", &bin)
                .status()
                .expect("`go` is needed to build helm");
            assert!(status.success(), "go install {HELM_MODULE} failed");
        }
        helm
    })
}

pub fn run_helm<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S]) -> String {
    let out = Command::new(helm()).args(args).output().expect("helm runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "helm {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// `helm template rel charts/kingress -n kingress` with `--set` values.
pub fn render(sets: &[&str]) -> Vec<Value> {
    render_with(&[], sets)
}

/// [`render`] with values files (`-f`) too.
pub fn render_with(files: &[&Path], sets: &[&str]) -> Vec<Value> {
    crate::manifests::checks::documents(&run_helm(&template_args(&chart_dir(), files, sets)))
}

pub fn template_args(chart: &Path, files: &[&Path], sets: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "template",
        "rel",
        chart.to_str().unwrap(),
        "--namespace",
        "kingress",
        "--kube-version",
        KUBE_VERSION,
        "--include-crds",
    ]
    .map(String::from)
    .into();
    for f in files {
        args.extend(["-f".to_string(), f.to_str().unwrap().to_string()]);
    }
    for s in sets {
        args.extend(["--set".to_string(), s.to_string()]);
    }
    args
}

/// `helm lint --strict` with values files and `--set` values: whether it
/// passed, and what it printed.
pub fn lint(files: &[&Path], sets: &[&str]) -> (bool, String) {
    let chart = chart_dir();
    let mut args = vec![
        "lint".to_string(),
        "--strict".to_string(),
        chart.to_str().unwrap().to_string(),
        "--kube-version".to_string(),
        KUBE_VERSION.to_string(),
    ];
    for f in files {
        args.extend(["-f".to_string(), f.to_str().unwrap().to_string()]);
    }
    for s in sets {
        args.extend(["--set".to_string(), s.to_string()]);
    }
    let out = Command::new(helm())
        .args(&args)
        .output()
        .expect("helm runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// What `helm template` says when it refuses these values (a `fail` in a
/// template, which `helm lint` only reports as INFO).
pub fn render_error(sets: &[&str]) -> String {
    let out = Command::new(helm())
        .args(template_args(&chart_dir(), &[], sets))
        .output()
        .expect("helm runs");
    assert!(!out.status.success(), "helm template accepted {sets:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The install notes for these values. `helm template` does not print
/// NOTES.txt and `helm install --dry-run` needs a cluster, so a copy of the
/// chart gets one more template: a ConfigMap holding the "kingress.notes"
/// template that NOTES.txt consists of.
pub fn notes(files: &[&Path], sets: &[&str]) -> String {
    let copy = tempfile::tempdir().unwrap();
    let chart = copy.path().join("kingress");
    copy_dir(&chart_dir(), &chart);
    std::fs::write(
        chart.join("templates/notes-for-tests.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes}\ndata:\n  notes: |\n    {{- include \"kingress.notes\" . | nindent 4 }}\n",
    )
    .unwrap();
    let docs = crate::manifests::checks::documents(&run_helm(&template_args(&chart, files, sets)));
    let notes = docs
        .iter()
        .find(|d| d["kind"] == "ConfigMap" && d["metadata"]["name"] == "notes")
        .expect("the notes ConfigMap");
    notes["data"]["notes"].as_str().unwrap().to_string()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
