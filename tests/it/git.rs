//! `--rev`: reading a Git revision without a checkout.

use crate::support::{git, run_in, scratch};
use std::process::Command;

const OLD: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  mode: one\nunknownAtTop: 1\n";
const NEW: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  labels:\n    tier: web\ndata:\n  mode: two\n  count: 3\n";

fn errors(stdout: &str) -> Vec<(String, u64)> {
    let v: serde_json::Value = serde_json::from_str(stdout).expect("json output");
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_string(),
                d["primary"]["location"]["range"]["line"]
                    .as_u64()
                    .unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn check_reads_each_revision_with_its_own_lines() {
    let repo = scratch("git");
    git(&repo, &["init", "-q"]);
    std::fs::create_dir_all(repo.join("deploy")).unwrap();
    std::fs::write(repo.join("deploy/app.yaml"), OLD).unwrap();
    std::fs::write(repo.join("README.txt"), "not yaml").unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "one"]);
    git(&repo, &["tag", "v1"]);
    std::fs::write(repo.join("deploy/app.yaml"), NEW).unwrap();
    git(&repo, &["commit", "-q", "-am", "two"]);
    // The working tree differs from both commits: --rev must not read it.
    std::fs::write(repo.join("deploy/app.yaml"), "broken: [").unwrap();

    let (code, out, err) = run_in(
        &repo,
        &["check", "deploy", "--rev", "HEAD~1", "--output", "json"],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(errors(&out), [("unknown-field".to_string(), 7)]);
    assert!(out.contains("\"path\": \"deploy/app.yaml\""), "{out}");

    let (code, out, _) = run_in(
        &repo,
        &["check", "deploy", "--rev", "HEAD", "--output", "json"],
    );
    assert_eq!(code, 1);
    assert_eq!(errors(&out), [("invalid-type".to_string(), 9)]);

    // Tags, branches and full shas name revisions too; a subdirectory path works from the root.
    let (_, by_tag, _) = run_in(
        &repo,
        &["check", "deploy", "--rev", "v1", "--output", "json"],
    );
    assert_eq!(errors(&by_tag), [("unknown-field".to_string(), 7)]);
    let (_, by_branch, _) = run_in(&repo, &["check", ".", "--rev", "main", "--output", "json"]);
    assert_eq!(errors(&by_branch), [("invalid-type".to_string(), 9)]);
    let sha = String::from_utf8(
        Command::new("git")
            .args(["rev-parse", "HEAD~1"])
            .current_dir(&repo)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let (_, by_sha, _) = run_in(
        &repo.join("deploy"),
        &["check", ".", "--rev", sha.trim(), "--output", "json"],
    );
    assert_eq!(errors(&by_sha), [("unknown-field".to_string(), 7)]);

    // A single file at a revision.
    let (_, one, _) = run_in(
        &repo,
        &[
            "check",
            "deploy/app.yaml",
            "--rev",
            "HEAD~1",
            "--output",
            "json",
        ],
    );
    assert_eq!(errors(&one), [("unknown-field".to_string(), 7)]);

    // An unknown revision is an environment error.
    let (code, _, err) = run_in(&repo, &["check", "deploy", "--rev", "no-such-rev"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("cannot resolve revision `no-such-rev`"),
        "{err}"
    );
}

#[test]
fn symlinks_in_a_revision_stay_inside_the_root() {
    let repo = scratch("git-links");
    git(&repo, &["init", "-q"]);
    std::fs::create_dir_all(repo.join("app")).unwrap();
    std::fs::write(
        repo.join("app/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
    )
    .unwrap();
    std::fs::write(
        repo.join("outside.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n",
    )
    .unwrap();
    // The root is the repository: a link out of `app` but inside the repository is followed,
    // a link out of the repository is refused.
    #[cfg(unix)]
    std::os::unix::fs::symlink("../outside.yaml", repo.join("app/link.yaml")).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("../../elsewhere.yaml", repo.join("app/escape.yaml")).unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "links"]);
    let (code, out, _) = run_in(
        &repo,
        &["check", "app", "--rev", "HEAD", "--output", "json"],
    );
    assert_eq!(code, 1, "{out}");
    assert_eq!(errors(&out), [("path-escapes-root".to_string(), 0)]);
    assert!(
        out.contains("\"objects\": 2"),
        "the in-repository link is read: {out}"
    );
}
