//! Rendering every case of the Helm oracle that Helm renders (real charts with the real
//! HelmRelease values of two home-lab repositories, the charts' defaults and CI values, edge
//! cases): chart loading, dependencies, values and schema checks, templates and the release
//! manifest, as `kiln helm template` does it. `benches/helm/helm_v4_time.py` times Helm v4
//! on the same cases, for the comparison in the README.

mod support;

use criterion::{Criterion, criterion_group, criterion_main};
use gotmpl::Value;
use kiln::render::helm::{self, ReleaseOptions};
use std::path::PathBuf;

struct Case {
    chart: PathBuf,
    values: String,
    opts: ReleaseOptions,
}

fn cases() -> Vec<Case> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/helm-oracle");
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("the shared corpus")
        .flatten()
        .map(|e| e.path())
        .collect();
    dirs.sort();
    for d in dirs {
        if !d.join("case.yaml").exists() || d.join("error.txt").exists() {
            continue;
        }
        let meta = gotmpl::yaml::from_yaml(&std::fs::read_to_string(d.join("case.yaml")).unwrap())
            .unwrap();
        let s = |k: &str| {
            meta.get(k)
                .map(|v| gotmpl::funcs::strval(&v))
                .unwrap_or_default()
        };
        let mut opts = ReleaseOptions {
            name: s("release"),
            namespace: s("namespace"),
            kube_version: s("kube_version"),
            ..ReleaseOptions::default()
        };
        opts.api_versions = meta
            .get("api_versions")
            .and_then(|v| {
                v.as_list()
                    .map(|l| l.iter().map(gotmpl::funcs::strval).collect())
            })
            .unwrap_or_default();
        opts.include_crds = matches!(meta.get("include_crds"), Some(Value::Bool(true)));
        opts.is_upgrade = matches!(meta.get("is_upgrade"), Some(Value::Bool(true)));
        out.push(Case {
            chart: d.join(s("chart")),
            values: std::fs::read_to_string(d.join("values.yaml")).unwrap_or_default(),
            opts,
        });
    }
    out
}

fn render_all(cases: &[Case], api: &std::collections::BTreeSet<String>) -> usize {
    let mut docs = 0;
    for c in cases {
        let chart = helm::chart::load(&c.chart).expect("chart loads");
        let values = gotmpl::yaml::from_yaml(&c.values).unwrap();
        let release = helm::render(chart, &values, &c.opts, api).expect("renders");
        docs += release.manifests.len() + release.hooks.len();
    }
    docs
}

fn bench(c: &mut Criterion) {
    let cases = cases();
    let api = helm::default_api_versions(&kiln::schema::catalog::Catalog::builtin());
    use std::sync::atomic::Ordering;
    support::PEAK.store(support::IN_USE.load(Ordering::Relaxed), Ordering::Relaxed);
    let base = support::IN_USE.load(Ordering::Relaxed);
    let docs = render_all(&cases, &api);
    let peak = support::PEAK.load(Ordering::Relaxed) - base;
    eprintln!(
        "helm oracle: {} cases, {docs} documents per round, peak heap {:.1} MiB above the start",
        cases.len(),
        support::mib(peak)
    );
    let mut g = c.benchmark_group("helm");
    g.sample_size(10);
    g.bench_function("oracle_cases", |b| b.iter(|| render_all(&cases, &api)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
