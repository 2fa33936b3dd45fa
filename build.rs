//! Records the commit kiln is built from, for `kiln --version`, reading `.git` directly (no git
//! binary needed); "unknown" outside a Git checkout.

use std::path::Path;

fn main() {
    let git = Path::new(".git");
    println!("cargo:rerun-if-changed=.git/HEAD");
    let commit = (|| {
        let head = std::fs::read_to_string(git.join("HEAD")).ok()?;
        let head = head.trim();
        let Some(reference) = head.strip_prefix("ref: ") else {
            return Some(head.to_string());
        };
        println!("cargo:rerun-if-changed=.git/{reference}");
        println!("cargo:rerun-if-changed=.git/packed-refs");
        if let Ok(id) = std::fs::read_to_string(git.join(reference)) {
            return Some(id.trim().to_string());
        }
        let packed = std::fs::read_to_string(git.join("packed-refs")).ok()?;
        packed
            .lines()
            .find(|l| l.ends_with(reference))
            .and_then(|l| l.split_whitespace().next())
            .map(str::to_string)
    })()
    .filter(|c| c.len() >= 12 && c.chars().all(|ch| ch.is_ascii_hexdigit()))
    .map(|c| c[..12].to_string())
    .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=KILN_COMMIT={commit}");
}
