//! `kiln diff` of a one-file change on a real home-lab Flux repository (onedr0p__home-ops,
//! copied into a temporary Git repository): the review alone (both revisions rendered,
//! validated, graphed and compared) and with the simulator's verdicts (base, head, rollback).
//! It runs the release binary as a user would, output discarded.
//!
//! Run with `cargo bench --bench diff`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args([
            "-c",
            "user.name=kiln",
            "-c",
            "user.email=kiln@example.invalid",
        ])
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .status()
        .expect("git runs")
        .success();
    assert!(ok, "git {args:?}");
}

/// The repository, committed, with one file changed in the working tree.
fn repository() -> PathBuf {
    let shared = std::env::var_os("KILN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let dir = std::env::temp_dir().join(format!("kiln-bench-diff-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_tree(&shared.join("corpus/repos/onedr0p__home-ops"), &dir);
    // The corpus keeps data only; the scripts a configMapGenerator reads are stood in for.
    let scripts = dir.join("kubernetes/apps/default/sonarr/app/resources");
    std::fs::create_dir_all(&scripts).expect("mkdir");
    for s in ["refresh-series.sh", "tag-resolution.sh"] {
        std::fs::write(scripts.join(s), "#!/bin/sh\n").expect("write");
    }
    git(&dir, &["init", "-q"]);
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-q", "-m", "base"]);
    let file = dir.join("kubernetes/apps/default/sonarr/app/helmrelease.yaml");
    let text = std::fs::read_to_string(&file).expect("a HelmRelease to change");
    std::fs::write(
        &file,
        text.replacen("interval:", "interval: 2h\n  timeout:", 1),
    )
    .expect("write");
    dir
}

fn bench(c: &mut Criterion) {
    let dir = repository();
    let kiln = env!("CARGO_BIN_EXE_kiln");
    let run = |extra: &[&str]| {
        let status = Command::new(kiln)
            .args([
                "diff",
                "--base",
                "HEAD",
                "--flux",
                "kubernetes/flux/cluster",
                "-o",
                "json",
            ])
            .args(extra)
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("kiln runs");
        assert!(
            status.code().is_some_and(|c| c <= 1),
            "kiln diff failed: {status}"
        );
    };
    let mut group = c.benchmark_group("diff");
    group.sample_size(10);
    group.bench_function("home-ops-one-file-review", |b| {
        b.iter(|| run(&["--no-verdicts"]))
    });
    group.bench_function("home-ops-one-file-with-verdicts", |b| b.iter(|| run(&[])));
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
