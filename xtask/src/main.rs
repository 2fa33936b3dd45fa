//! Project tasks: `cargo xtask schemas` regenerates `schemas/` from the Kubernetes OpenAPI
//! documents in ../shared; `cargo xtask docs` regenerates `docs/diagnostics.md`;
//! `cargo xtask fidelity` prints how kiln's rendering compares with `kubectl kustomize` on the
//! corpus (../shared/corpus/oracle and krusty); `cargo xtask man [DIR]` writes kiln's man pages
//! (default `target/man`); `cargo xtask synth --apps N` writes the synthetic repository scale
//! is measured on (default `target/synth`); `cargo xtask protobuf DIR...` regenerates the
//! protobuf field table from checkouts of k8s.io/api, apimachinery and apiextensions-apiserver.

use std::path::{Path, PathBuf};

mod protobuf;
#[path = "../../benches/support/synth.rs"]
mod synth;
use std::process::ExitCode;

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the project")
        .to_path_buf()
}

fn write_all(
    root: &Path,
    files: &std::collections::BTreeMap<String, String>,
) -> std::io::Result<()> {
    for (rel, content) in files {
        let path = root.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        if std::fs::read_to_string(&path).ok().as_deref() != Some(content.as_str()) {
            std::fs::write(&path, content)?;
            println!("wrote {rel}");
        }
    }
    Ok(())
}

/// `kiln.1` and one page per subcommand (`kiln-check.1`...), from the command-line definition.
fn man_pages(dir: &Path) -> std::io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let cmd = kiln::cli::command();
    let mut n = 0;
    let mut write = |name: &str, c: clap::Command| -> std::io::Result<()> {
        let mut buf = Vec::new();
        clap_mangen::Man::new(c).render(&mut buf)?;
        std::fs::write(dir.join(format!("{name}.1")), buf)?;
        n += 1;
        Ok(())
    };
    write("kiln", cmd.clone())?;
    for sub in cmd.get_subcommands() {
        let name = format!("kiln-{}", sub.get_name());
        let name: &'static str = Box::leak(name.into_boxed_str());
        write(name, sub.clone().name(name))?;
    }
    Ok(n)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    match args.first().map(String::as_str) {
        Some("schemas") => {
            let openapi = args
                .get(1)
                .map(PathBuf::from)
                .unwrap_or_else(|| root.join("../shared/k8s-openapi/v1.36"));
            match kiln::schema::openapi::generate(&openapi, "v1.36") {
                Ok(g) => match write_all(&root, &g.files) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("xtask schemas: {e}");
                        ExitCode::FAILURE
                    }
                },
                Err(e) => {
                    eprintln!("xtask schemas: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some("protobuf") => {
            let dirs: Vec<PathBuf> = args.iter().skip(1).map(PathBuf::from).collect();
            match protobuf::table(&dirs) {
                Ok(t) => {
                    let files = std::collections::BTreeMap::from([(
                        "schemas/kubernetes-v1.36/protobuf.txt".to_string(),
                        t,
                    )]);
                    match write_all(&root, &files) {
                        Ok(()) => ExitCode::SUCCESS,
                        Err(e) => {
                            eprintln!("xtask protobuf: {e}");
                            ExitCode::FAILURE
                        }
                    }
                }
                Err(e) => {
                    eprintln!("xtask protobuf: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some("fidelity") => {
            let shared = root.join("../shared");
            let mut cases = kiln::render::fidelity::oracle(&shared);
            cases.extend(kiln::render::fidelity::krusty(&shared));
            print!("{}", kiln::render::fidelity::report(&cases));
            ExitCode::SUCCESS
        }
        Some("docs") => {
            let files = std::collections::BTreeMap::from([(
                "docs/diagnostics.md".to_string(),
                kiln::diag::catalogue_markdown(),
            )]);
            match write_all(&root, &files) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("xtask docs: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some("synth") => {
            // cargo xtask synth --apps N [--shape plain|kustomize|flux] [--out DIR]
            let mut apps = 2_500usize;
            let mut shape = synth::Shape::Plain;
            let mut out = root.join("target/synth");
            let mut it = args.iter().skip(1);
            while let Some(a) = it.next() {
                let value = it.next();
                let parsed = match (a.as_str(), value) {
                    ("--apps", Some(v)) => v
                        .parse()
                        .map(|n| apps = n)
                        .map_err(|e| format!("--apps: {e}")),
                    ("--shape", Some(v)) => v.parse().map(|s| shape = s),
                    ("--out", Some(v)) => {
                        out = PathBuf::from(v);
                        Ok(())
                    }
                    _ => Err(format!("unexpected `{a}`")),
                };
                if let Err(e) = parsed {
                    eprintln!(
                        "xtask synth: {e}; usage: cargo xtask synth --apps N [--shape plain|kustomize|flux] [--out DIR]"
                    );
                    return ExitCode::from(2);
                }
            }
            if out.exists() && std::fs::remove_dir_all(&out).is_err() {
                eprintln!("xtask synth: cannot empty {}", out.display());
                return ExitCode::FAILURE;
            }
            match synth::generate(&out, apps, shape) {
                Ok(bytes) => {
                    println!(
                        "wrote {apps} applications ({} objects, {:.1} MB, {shape:?}) to {}",
                        apps * 4 + synth::NAMESPACES,
                        bytes as f64 / 1e6,
                        out.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("xtask synth: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some("man") => {
            let dir = args
                .get(1)
                .map(PathBuf::from)
                .unwrap_or_else(|| root.join("target/man"));
            match man_pages(&dir) {
                Ok(n) => {
                    println!("wrote {n} man pages to {}", dir.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("xtask man: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => {
            eprintln!(
                "usage: cargo xtask schemas [OPENAPI_DIR] | docs | fidelity | man [DIR] | synth --apps N [--shape plain|kustomize|flux] [--out DIR]"
            );
            ExitCode::from(2)
        }
    }
}
