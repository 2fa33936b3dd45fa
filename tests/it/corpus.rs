//! The public corpus in ../shared/corpus: real repositories and what kubectl rendered from them.
//! Every YAML file must load without a panic, and the diagnostics kiln gives on the rendered
//! (deployed) manifests are recorded: each one is a real defect of that manifest.

use crate::support::shared;
use kiln::diag::Severity;
use kiln::load;
use kiln::pipeline::{self, Input};
use kiln::source::SourceSet;
use kiln::syntax::Limits;
use kiln::validate::{self, Catalog};
use std::collections::BTreeMap;
use std::fmt::Write;

#[test]
fn every_yaml_file_of_the_corpus_loads_and_validates_without_a_panic() {
    let repos = shared().join("corpus/repos");
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let (mut files, mut objects) = (0, 0);
    let mut names: Vec<_> = std::fs::read_dir(&repos)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for repo in names {
        let set = SourceSet::from_dir(&repo, "repo", kiln::source::DEFAULT_MAX_FILE_BYTES).unwrap();
        // Every YAML file, hidden ones, chart templates and kustomization files included.
        let yaml: Vec<_> = set
            .files()
            .filter(|id| {
                let p = set.path(*id);
                p.ends_with(".yaml") || p.ends_with(".yml")
            })
            .collect();
        let loaded = load::load_files(&set, &yaml, &Limits::default());
        let mut catalog = Catalog::builtin();
        let locate =
            |o: &kiln::object::Object, p: &str, k: bool| loaded.spans.locate(&set, &o.origin, p, k);
        let mut diags = loaded.diagnostics.clone();
        diags.extend(validate::add_crds(&mut catalog, &loaded.objects, &locate));
        diags.extend(validate::validate(&loaded.objects, &mut catalog, &locate));
        files += loaded.files;
        objects += loaded.objects.len();
        for d in diags {
            *counts
                .entry(format!("{} ({})", d.code, d.severity.as_str()))
                .or_default() += 1;
        }
    }
    let mut report = format!("{files} YAML files, {objects} objects\n");
    for (code, n) in counts {
        let _ = writeln!(report, "{code}: {n}");
    }
    insta::assert_snapshot!("corpus-repos", report);
}

#[test]
fn rendered_manifests_have_only_known_real_defects() {
    let oracle = shared().join("corpus/oracle");
    let mut outputs: Vec<_> = std::fs::read_dir(&oracle)
        .unwrap()
        .flat_map(|repo| std::fs::read_dir(repo.unwrap().path()).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    outputs.sort();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut findings = String::new();
    let (mut files, mut objects) = (0, 0);
    for path in outputs {
        let rel = path
            .strip_prefix(&oracle)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let mut input = Input::new(&path);
        input.display = rel.clone();
        let compiled = pipeline::compile(&input).unwrap();
        files += 1;
        objects += compiled.objects.len();
        for d in &compiled.diagnostics {
            *counts
                .entry(format!("{} ({})", d.code, d.severity.as_str()))
                .or_default() += 1;
            if d.severity != Severity::Info && d.code != kiln::diag::Code::NoCrdSchema {
                let line = d
                    .primary
                    .as_ref()
                    .and_then(|p| p.location.range)
                    .map(|r| r.line)
                    .unwrap_or(0);
                let _ = writeln!(findings, "{rel}:{line} [{}] {}", d.code, d.message);
            }
        }
    }
    let mut report = format!("{files} rendered outputs, {objects} objects\n");
    for (code, n) in counts {
        let _ = writeln!(report, "{code}: {n}");
    }
    report.push_str("\nerrors and warnings other than no-crd-schema:\n");
    report.push_str(&findings);
    insta::assert_snapshot!("corpus-oracle", report);
}
