//! Scale: `kiln check`, `kiln graph` and `kiln sim` on the synthetic repository
//! (`support/synth.rs`, the same as `cargo xtask synth`) at two sizes, reporting objects per
//! second (criterion's throughput) and the peak heap of one run. Cost should grow linearly:
//! the larger size is five times the smaller.
//!
//! Run with `cargo bench --bench scale` (the simulator at 12,500 applications takes minutes;
//! `cargo bench --bench scale -- check` runs the check only).

mod support;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kiln::pipeline::{self, Input};
use kiln::simulate::{Desired, Session, StepKind};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use support::synth::{self, Shape};
use support::{IN_USE, PEAK, mib};

const SIZES: &[usize] = &[2_500, 12_500];

fn repository(apps: usize) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kiln-bench-synth-{apps}"));
    if !dir.join("namespaces.yaml").exists() {
        let _ = std::fs::remove_dir_all(&dir);
        synth::generate(&dir, apps, Shape::Plain).expect("write the synthetic repository");
    }
    dir
}

/// Runs `f` once and prints the heap it took at its peak.
fn peak<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let before = IN_USE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let out = f();
    println!(
        "{what}: peak heap {:.0} MiB",
        mib(PEAK.load(Ordering::Relaxed) - before)
    );
    out
}

fn bench(c: &mut Criterion) {
    for &apps in SIZES {
        let dir = repository(apps);
        let objects = (apps * 4 + synth::NAMESPACES) as u64;
        let input = Input::new(&dir);
        let mut g = c.benchmark_group(format!("scale-{apps}"));
        g.sample_size(10);
        g.throughput(Throughput::Elements(objects));

        let compiled = peak(&format!("check {apps} applications"), || {
            pipeline::compile(&input).expect("readable")
        });
        assert_eq!(compiled.objects.len() as u64, objects);
        drop(compiled);
        g.bench_function("check", |b| {
            b.iter(|| pipeline::compile(&input).expect("readable"))
        });

        g.bench_function("graph", |b| {
            b.iter(|| {
                let c = pipeline::compile(&input).expect("readable");
                let place = |_: &kiln::graph::Edge| None;
                kiln::graph::render::json(&c.graph, &c.objects, &place, None)
            })
        });

        let sim = || {
            let c = pipeline::compile(&input).expect("readable");
            let mut s = Session::new(
                Default::default(),
                kiln::plan::Inventory::secret("default", "kiln"),
                Default::default(),
            );
            let step = s.apply(Desired::from_compiled(c, "synth"), StepKind::Apply);
            assert!(!step.failed(), "the synthetic repository converges");
            step
        };
        peak(&format!("sim {apps} applications"), sim);
        g.bench_function("sim", |b| b.iter(sim));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
