//! Scale: parsing runs on every core, and the result is byte for byte what one thread gives.

use crate::support::scratch;
use std::process::Command;

#[path = "../../benches/support/synth.rs"]
mod synth;

fn check(dir: &std::path::Path, threads: &str, format: &str) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["check", ".", "-o", format])
        .current_dir(dir)
        .env("RAYON_NUM_THREADS", threads)
        .env("NO_COLOR", "1")
        .output()
        .expect("kiln runs");
    assert!(out.status.code().is_some(), "kiln ended by a signal");
    out.stdout
}

#[test]
fn parallel_parsing_gives_the_same_bytes_as_one_thread() {
    let dir = scratch("synth-parallel");
    synth::generate(&dir, 400, synth::Shape::Plain).unwrap();
    // A broken file in the middle, so that diagnostics are compared too.
    std::fs::write(
        dir.join("apps/team-07/app-00007.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: team-07\ndata: [1\n",
    )
    .unwrap();
    for format in ["json", "sarif", "short"] {
        let one = check(&dir, "1", format);
        assert!(!one.is_empty());
        assert_eq!(
            one,
            check(&dir, "4", format),
            "{format} differs with 4 threads"
        );
    }
}

#[test]
fn the_synthetic_repository_is_deterministic_and_valid() {
    let (a, b) = (scratch("synth-a"), scratch("synth-b"));
    for shape in [
        synth::Shape::Plain,
        synth::Shape::Kustomize,
        synth::Shape::Flux,
    ] {
        let _ = std::fs::remove_dir_all(&a);
        let _ = std::fs::remove_dir_all(&b);
        let n = synth::generate(&a, 60, shape).unwrap();
        assert_eq!(n, synth::generate(&b, 60, shape).unwrap(), "{shape:?}");
        let args: &[&str] = match shape {
            synth::Shape::Flux => &["check", ".", "--flux", "clusters/synth", "-o", "short"],
            _ => &["check", ".", "--all", "-o", "short"],
        };
        let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
            .args(args)
            .current_dir(&a)
            .output()
            .expect("kiln runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{shape:?}: {stdout}");
        assert!(!stdout.contains("error["), "{shape:?}: {stdout}");
    }
}
