//! Load and validate over the whole public corpus (../shared/corpus):
//! - `yaml/parse-with-spans`: every YAML file of the repositories and rendered outputs, parsed
//!   into values with a span for every node (throughput in bytes);
//! - `validate/objects`: every object of those files validated, schemas already compiled
//!   (throughput in objects);
//! - `check/onedr0p-home-ops`: `kiln check` of a whole repository from a cold start (reading,
//!   parsing, lazy schema loading, validation), as a user runs it.
//!
//! Run with `cargo bench --bench load_validate`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kiln::diag::Location;
use kiln::load;
use kiln::object::Object;
use kiln::pipeline::{self, Input};
use kiln::source::SourceSet;
use kiln::syntax::{self, Limits};
use kiln::validate::{self, Catalog};
use std::hint::black_box;
use std::path::{Path, PathBuf};

fn shared() -> PathBuf {
    std::env::var_os("KILN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
}

fn corpus_texts() -> Vec<String> {
    let mut files = Vec::new();
    yaml_files(&shared().join("corpus/repos"), &mut files);
    yaml_files(&shared().join("corpus/oracle"), &mut files);
    files
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect()
}

fn bench(c: &mut Criterion) {
    let texts = corpus_texts();
    let bytes: usize = texts.iter().map(String::len).sum();
    let nowhere = |_| Location::file("bench");

    let mut g = c.benchmark_group("yaml");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(10);
    g.bench_function("parse-with-spans", |b| {
        b.iter(|| {
            let mut docs = 0;
            for t in &texts {
                docs += syntax::parse(black_box(t), &Limits::default(), &nowhere)
                    .documents
                    .len();
            }
            docs
        })
    });
    g.finish();

    // Every object of the corpus, and a catalogue with every CRD of the corpus in it.
    let mut objects: Vec<Object> = Vec::new();
    for t in &texts {
        for d in syntax::parse(t, &Limits::default(), &nowhere).documents {
            let ex = kiln::object::extract(d.index, d.value, kiln::source::FileId(0), &|_, _| {
                Location::file("bench")
            });
            objects.extend(ex.objects);
        }
    }
    let mut catalog = Catalog::builtin();
    let locate = |_: &Object, _: &str, _: bool| Location::file("bench");
    validate::add_crds(&mut catalog, &objects, &locate);
    validate::validate(&objects, &mut catalog, &locate); // compiles every schema used
    let mut g = c.benchmark_group("validate");
    g.throughput(Throughput::Elements(objects.len() as u64));
    g.sample_size(10);
    g.bench_function("objects", |b| {
        b.iter(|| validate::validate(black_box(&objects), &mut catalog, &locate).len())
    });
    g.finish();

    let home_ops = shared().join("corpus/repos/onedr0p__home-ops");
    let mut g = c.benchmark_group("check");
    g.sample_size(10);
    g.bench_function("onedr0p-home-ops", |b| {
        b.iter(|| {
            let compiled = pipeline::compile(&Input::new(&home_ops)).expect("corpus is readable");
            compiled.diagnostics.len()
        })
    });
    g.finish();

    let set = SourceSet::from_dir(&home_ops, "", kiln::source::DEFAULT_MAX_FILE_BYTES)
        .expect("corpus is readable");
    let mut notes = Vec::new();
    let files = set.manifest_candidates(&mut notes);
    black_box(
        load::load_files(&set, &files, &Limits::default())
            .objects
            .len(),
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
