//! Rendering. Each kustomize case of `testdata/kustomize/` is rendered by the library and
//! compared with what `kubectl kustomize` rendered from it (`kubectl.yaml`, in the same order)
//! or checked to fail as kubectl failed (`kubectl.error`); what a user sees from `kiln build` is
//! snapshotted. The corpus fidelity harness and the Flux trees of `testdata/flux/` and of the
//! corpus follow.

use crate::support::{root, shared, transcript};
use kiln::render::fidelity;
use kiln::render::kustomize::{Kustomizer, LoadRestrictor};
use kiln::source::SourceSet;
use kiln::syntax::{self, Limits};
use serde_json::Value;

fn documents(text: &str) -> Vec<Value> {
    syntax::parse(text, &Limits::default(), &|_| {
        kiln::diag::Location::file("")
    })
    .documents
    .into_iter()
    .map(|d| d.value)
    .filter(|v| !v.is_null())
    .collect()
}

/// Renders `testdata/kustomize/{name}` and holds it against kubectl's result.
fn kustomize_case(name: &str, restrictor: LoadRestrictor) {
    let rel = format!("testdata/kustomize/{name}");
    let dir = root().join(&rel);
    let set = SourceSet::from_dir_in_repository(&dir, &rel, kiln::source::DEFAULT_MAX_FILE_BYTES)
        .unwrap();
    let kz = Kustomizer::new(&set, restrictor);
    let built = kz.build(set.focus());
    match std::fs::read_to_string(dir.join("kubectl.yaml")) {
        Ok(expected) => {
            let built = built.unwrap_or_else(|e| {
                panic!(
                    "{rel}: kubectl renders it, kiln fails: {}",
                    e.diagnostic.message
                )
            });
            let kiln: Vec<Value> = built
                .resources
                .into_iter()
                .map(|r| r.into_value())
                .collect();
            let kubectl = documents(&expected);
            assert_eq!(
                fidelity::compare(&kiln, &kubectl),
                None,
                "{rel}: kiln and kubectl differ"
            );
            assert_eq!(kiln, kubectl, "{rel}: same documents, different order");
        }
        Err(_) => {
            let why = std::fs::read_to_string(dir.join("kubectl.error"))
                .expect("a case has kubectl.yaml or kubectl.error");
            // kiln may render the rest of a unit, but then says with an error what is missing.
            let failed = match &built {
                Err(_) => true,
                Ok(b) => b
                    .notes
                    .iter()
                    .any(|d| d.severity == kiln::diag::Severity::Error),
            };
            assert!(failed, "{rel}: kubectl fails ({why}), kiln renders");
        }
    }
}

macro_rules! kustomize_cases {
    ($($test:ident => $dir:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                kustomize_case($dir, LoadRestrictor::RootOnly);
                let dir = concat!("testdata/kustomize/", $dir);
                insta::assert_snapshot!(concat!("kustomize-", $dir), transcript(&["build", dir]));
            }
        )*
    };
}

kustomize_cases! {
    resources_bases_and_lists => "resources",
    namespace_and_its_references => "namespace",
    prefixes_suffixes_and_name_references => "names",
    labels_and_annotations => "labels",
    patches_of_every_form => "patches",
    smp_directives_kustomize_leaves_in_place => "smp-directives",
    images_and_replicas => "images-replicas",
    generators => "generators/base",
    generator_behaviors_in_an_overlay => "generators/overlay",
    replacements_and_vars => "replacements-vars",
    components => "components",
    sort_options_and_build_metadata => "order-metadata",
    fifo_order => "fifo",
    root_only_load_restrictor => "load-restrictor/overlay",
    remote_bases_are_not_fetched => "offline/remote-base",
    helm_charts_are_not_rendered => "offline/helm-chart",
    generator_plugins_are_not_run => "offline/generator-plugin",
    krm_functions_are_not_run => "offline/krm-function",
    kustomization_cycles => "broken/cycle/a",
    missing_resources => "broken/missing-resource",
    unknown_kustomization_fields => "broken/unknown-field",
    patch_without_a_target => "broken/patch-target",
    paths_escaping_the_repository => "broken/escape",
}

#[test]
fn load_restrictor_none_reads_files_anywhere_in_the_repository() {
    let dir = "testdata/kustomize/load-restrictor/overlay";
    let t = transcript(&["build", dir, "--load-restrictor", "none"]);
    assert!(t.contains("exit: 0") && t.contains("replicas: 2"), "{t}");
    insta::assert_snapshot!("kustomize-load-restrictor-none", t);
}

#[test]
fn kiln_renders_the_corpus_as_kubectl_does() {
    let shared = shared();
    let mut cases = fidelity::oracle(&shared);
    cases.extend(fidelity::krusty(&shared));
    let report = fidelity::report(&cases);
    let wrong: Vec<_> = cases
        .iter()
        .filter(|c| {
            !matches!(
                c.outcome,
                fidelity::Outcome::Equal | fidelity::Outcome::BothFailed(_)
            )
        })
        .collect();
    assert!(wrong.is_empty(), "kiln differs from kubectl:\n{report}");
    insta::assert_snapshot!("fidelity", report);
}

/// `kiln build --flux ENTRY testdata/flux/{name}` with extra flags, and the same as `check`.
fn flux_case(snapshot: &str, name: &str, entry: &str, extra: &[&str]) {
    let dir = format!("testdata/flux/{name}");
    let mut args = vec!["build", "--flux", entry, dir.as_str()];
    args.extend_from_slice(extra);
    let build = transcript(&args);
    args[0] = "check";
    args.push("--verbose");
    let check = transcript(&args);
    insta::assert_snapshot!(snapshot, format!("{build}\n{check}"));
}

#[test]
fn flux_tree_from_a_cluster_entry_point() {
    // The tree's OCIRepository is not mapped: accepted as unrendered, so the rest is built.
    flux_case(
        "flux-tree",
        "tree",
        "clusters/prod",
        &["--accept-unrendered", "flux-source-unavailable"],
    );
}

#[test]
fn flux_sources_mapped_to_directories() {
    flux_case(
        "flux-tree-sources",
        "tree",
        "clusters/prod",
        &[
            "--source",
            "OCIRepository/flux-system/platform=platform-repo",
        ],
    );
}

#[test]
fn flux_post_build_substitution() {
    flux_case("flux-substitution", "substitution", "clusters/test", &[]);
}

#[test]
fn flux_substitution_errors() {
    flux_case(
        "flux-substitution-errors",
        "substitution-errors",
        "clusters/test",
        &[],
    );
}

#[test]
fn flux_strict_substitution() {
    let t = transcript(&[
        "check",
        "--flux",
        "clusters/test",
        "testdata/flux/substitution-errors",
        "--strict-substitute",
        "--output",
        "json",
    ]);
    assert!(
        t.contains("variable not set (strict mode): \\\"NOT_DEFINED\\\""),
        "{t}"
    );
    insta::assert_snapshot!("flux-strict", t);
}

#[test]
fn flux_entry_point_must_exist() {
    insta::assert_snapshot!(
        "flux-no-entry",
        transcript(&["check", "--flux", "clusters/nowhere", "testdata/flux/tree"])
    );
}

/// The Flux trees of two real repositories: the units, their object counts and dependencies,
/// and every variable that could not be resolved.
#[test]
fn flux_trees_of_the_corpus() {
    use kiln::pipeline::{self, Input};
    use kiln::render::{Mode, flux};
    use std::fmt::Write;
    let mut report = String::new();
    for (repo, entry) in [
        ("billimek__k8s-gitops", "setup/flux/cluster"),
        ("onedr0p__home-ops", "kubernetes/flux/cluster"),
    ] {
        let mut input = Input::new(shared().join("corpus/repos").join(repo));
        input.display = repo.to_string();
        input.mode = Mode::Flux(flux::Options::new(entry));
        let c = pipeline::compile(&input).unwrap();
        let _ = writeln!(
            report,
            "## {repo} from {entry}: {} objects in {} Flux Kustomizations",
            c.objects.len(),
            c.units.len()
        );
        for u in &c.units {
            let deps: Vec<String> = u
                .depends_on
                .iter()
                .map(|k| format!("{}/{}", k.namespace, k.name))
                .collect();
            let _ = writeln!(
                report,
                "{:<55} {:>4} objects  {}{}",
                u.name,
                u.objects.len(),
                c.sources.display(&u.path),
                if deps.is_empty() {
                    String::new()
                } else {
                    format!("  dependsOn {}", deps.join(", "))
                }
            );
        }
        let mut counts = std::collections::BTreeMap::new();
        for d in &c.diagnostics {
            *counts
                .entry(format!("{} ({})", d.code, d.severity.as_str()))
                .or_insert(0) += 1;
        }
        for (code, n) in counts {
            let _ = writeln!(report, "{code}: {n}");
        }
        for d in &c.diagnostics {
            let shown = d.severity == kiln::diag::Severity::Error
                || matches!(
                    d.code.as_str(),
                    "undefined-variable"
                        | "unknown-variable"
                        | "substitution-source-missing"
                        | "flux-source-unavailable"
                );
            if shown {
                let line = d
                    .primary
                    .as_ref()
                    .and_then(|p| p.location.range)
                    .map(|r| r.line)
                    .unwrap_or(0);
                let _ = writeln!(
                    report,
                    "  {}:{line} [{}] {}",
                    d.path().unwrap_or(""),
                    d.code,
                    d.message
                );
            }
        }
        report.push('\n');
    }
    insta::assert_snapshot!("flux-corpus", report);
}

#[test]
fn a_tenant_repository_is_not_read_as_the_cluster_repository() {
    // team-a's GitRepository names another repository: not rendered, said so; `same` names the
    // cluster's own repository at the same branch: rendered from the input.
    flux_case(
        "flux-tenants",
        "tenants",
        "clusters/prod",
        &["--accept-unrendered", "flux-source-unavailable"],
    );
}

/// A Flux HelmRelease whose chart is vendored (`--charts`) or kept in the repository becomes a
/// unit of its own: values
/// from a ConfigMap (whole and at a `targetPath`) and from `spec.values` after substitution,
/// `valuesFiles`, a `chartRef` to a HelmChart, a kustomize post-renderer (a JSON 6902 patch and an image), the chart's CRD, the release
/// namespace, helm-controller's labels, the test hook left out;
/// one whose version constraint no vendored chart meets, and one whose values come from a Secret
/// the tree does not hold, stay unrendered and say why.
#[test]
fn flux_helm_release_from_vendored_chart() {
    flux_case(
        "flux-helm",
        "helm",
        "clusters/prod",
        &["--charts", "testdata/flux/helm/charts"],
    );
}
