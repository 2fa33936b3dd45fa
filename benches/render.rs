//! Rendering over the public corpus (../shared/corpus):
//! - `kustomize/kubeflow-all-dirs`: every directory of kubeflow__manifests that holds a
//!   kustomization (the 233 of `oracle/kubeflow__manifests/results.json`), built in one process
//!   from a cold start (reading and parsing included), shared bases built once;
//! - `flux/onedr0p-home-ops`: the whole Flux tree of onedr0p__home-ops from its cluster entry
//!   point, kustomize builds and post-build substitution included;
//! - `flux/billimek-k8s-gitops`: the same for a repository without kustomization files.
//!
//! Run with `cargo bench --bench render`.

use criterion::{Criterion, criterion_group, criterion_main};
use kiln::render::kustomize::{Kustomizer, LoadRestrictor};
use kiln::render::{self, Mode, flux};
use kiln::source::SourceSet;
use kiln::syntax::Limits;
use serde_json::Value;
use std::hint::black_box;
use std::path::{Path, PathBuf};

fn shared() -> PathBuf {
    std::env::var_os("KILN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

fn bench(c: &mut Criterion) {
    let repo = shared().join("corpus/repos/kubeflow__manifests");
    let results =
        std::fs::read_to_string(shared().join("corpus/oracle/kubeflow__manifests/results.json"))
            .expect("corpus");
    let dirs: Vec<String> = match serde_json::from_str::<Value>(&results).expect("results.json") {
        Value::Array(a) => a
            .iter()
            .filter_map(|e| e["dir"].as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    let mut g = c.benchmark_group("kustomize");
    g.sample_size(10);
    g.bench_function("kubeflow-all-dirs", |b| {
        b.iter(|| {
            let set = SourceSet::from_dir(&repo, "", kiln::source::DEFAULT_MAX_FILE_BYTES)
                .expect("readable");
            let kz = Kustomizer::new(&set, LoadRestrictor::RootOnly);
            let mut objects = 0;
            for d in &dirs {
                if let Ok(b) = kz.build(d) {
                    objects += b.resources.len();
                }
            }
            black_box(objects)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("flux");
    g.sample_size(10);
    for (name, repo, entry) in [
        (
            "onedr0p-home-ops",
            "onedr0p__home-ops",
            "kubernetes/flux/cluster",
        ),
        (
            "billimek-k8s-gitops",
            "billimek__k8s-gitops",
            "setup/flux/cluster",
        ),
    ] {
        let dir = shared().join("corpus/repos").join(repo);
        g.bench_function(name, |b| {
            b.iter(|| {
                let set = SourceSet::from_dir(&dir, "", kiln::source::DEFAULT_MAX_FILE_BYTES)
                    .expect("readable");
                let r = render::render(
                    &set,
                    &Mode::Flux(flux::Options::new(entry)),
                    &Limits::default(),
                );
                black_box(r.objects().count())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
