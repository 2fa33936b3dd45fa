//! `kiln graph` on the fixtures of `testdata/graph/` (every format, `--why`, `--focus`, cycle
//! and annotation reports), `kiln build`'s apply order, and the graphs of two corpus
//! repositories: counts by rule, waves, and no cycles.

use crate::support::{shared, transcript};

#[test]
fn graph_formats() {
    let dir = "testdata/graph/app";
    let mut all = String::new();
    for format in ["text", "dot", "mermaid", "json"] {
        all.push_str(&transcript(&["graph", dir, "--format", format]));
        all.push('\n');
    }
    insta::assert_snapshot!("graph-formats", all);
}

#[test]
fn graph_why_and_focus() {
    let dir = "testdata/graph/app";
    let t = [
        transcript(&[
            "graph",
            dir,
            "--why",
            "Cart/shop/default-cart",
            "ConfigMap/shop/cart-settings",
        ]),
        transcript(&[
            "graph",
            dir,
            "--why",
            "ConfigMap/shop/cart-settings",
            "Cart/shop/default-cart",
        ]),
        transcript(&["graph", dir, "--why", "Job/shop/seed", "Job/shop/migrate"]),
        transcript(&["graph", dir, "--why", "Cart/shop/nope", "Job/shop/seed"]),
        transcript(&["graph", dir, "--focus", "Deployment/shop/cart-webhook"]),
        transcript(&[
            "graph",
            dir,
            "--focus",
            "Deployment/shop/cart-webhook",
            "--format",
            "mermaid",
        ]),
    ];
    insta::assert_snapshot!("graph-why-focus", t.join("\n"));
}

#[test]
fn graph_cycles_and_malformed_annotations() {
    let t = [
        transcript(&["check", "testdata/graph/cycle"]),
        transcript(&["graph", "testdata/graph/cycle"]),
        transcript(&["check", "testdata/graph/malformed"]),
    ];
    insta::assert_snapshot!("graph-problems", t.join("\n"));
}

#[test]
fn build_prints_objects_in_apply_order() {
    let t = transcript(&["build", "testdata/graph/app"]);
    let kinds: Vec<&str> = t.lines().filter_map(|l| l.strip_prefix("kind: ")).collect();
    assert_eq!(
        kinds,
        [
            "CustomResourceDefinition",
            "Namespace",
            "ServiceAccount",
            "ConfigMap",
            "Service",
            "Deployment",
            "Cart",
            "ValidatingWebhookConfiguration",
            "Job",
            "Job"
        ],
        "{t}"
    );
}

/// The graphs of onedr0p__home-ops (its Flux tree) and of every kustomization directory of
/// kubeflow__manifests that kubectl renders (each its own scope): counts, and no cycles.
#[test]
fn graphs_of_the_corpus() {
    use kiln::graph::{self, render};
    use kiln::pipeline::{self, Input};
    use kiln::render::kustomize::{Kustomizer, LoadRestrictor};
    use kiln::render::{Mode, flux, to_objects};
    use std::collections::BTreeMap;
    use std::fmt::Write;
    let mut report = String::new();
    let mut counts = |name: &str,
                      g: &graph::DependencyGraph,
                      objects: &[kiln::object::Object],
                      diags: &[kiln::diag::Diagnostic]| {
        let _ = writeln!(report, "## {name}\n{}", render::summary(g, objects));
        let mut by_code: BTreeMap<String, usize> = BTreeMap::new();
        for d in diags.iter().filter(|d| d.code.stage() == "graph") {
            *by_code
                .entry(format!("{} ({})", d.code, d.severity.as_str()))
                .or_default() += 1;
        }
        for (code, n) in by_code {
            let _ = writeln!(report, "{code}: {n}");
        }
        assert!(
            g.cycles.is_empty() && g.blocked.is_empty(),
            "{name}: false cycles"
        );
    };
    // onedr0p, from its cluster entry point.
    let mut input = Input::new(shared().join("corpus/repos/onedr0p__home-ops"));
    input.mode = Mode::Flux(flux::Options::new("kubernetes/flux/cluster"));
    let c = pipeline::compile(&input).unwrap();
    counts(
        "onedr0p__home-ops (Flux tree from kubernetes/flux/cluster)",
        &c.graph,
        &c.objects,
        &c.diagnostics,
    );
    // kubeflow: every directory kubectl renders, each a scope of its own.
    let results =
        std::fs::read_to_string(shared().join("corpus/oracle/kubeflow__manifests/results.json"))
            .unwrap();
    let entries: serde_json::Value = serde_json::from_str(&results).unwrap();
    let set = kiln::source::SourceSet::from_dir(
        &shared().join("corpus/repos/kubeflow__manifests"),
        "",
        kiln::source::DEFAULT_MAX_FILE_BYTES,
    )
    .unwrap();
    let kz = Kustomizer::new(&set, LoadRestrictor::RootOnly);
    let (mut objects, mut scopes) = (Vec::new(), Vec::new());
    let mut dirs = 0;
    for e in entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ok"].as_bool() == Some(true))
    {
        let built = kz.build(e["dir"].as_str().unwrap()).unwrap();
        let origin = kiln::object::Origin {
            file: kiln::source::FileId(0),
            document: 0,
            pointer: String::new(),
        };
        for o in to_objects(built.resources, origin) {
            objects.push(o);
            scopes.push(dirs);
        }
        dirs += 1;
    }
    let spans = kz.take_spans();
    let input = graph::Input {
        cluster_scoped: objects.iter().map(|o| o.key.namespace.is_empty()).collect(),
        units: scopes.clone(),
        scopes,
        objects: &objects,
        owned: Vec::new(),
        provided: None,
    };
    let (g, diags) = graph::build(&input, &|o, p, k| spans.locate(&set, &o.origin, p, k));
    counts(
        &format!("kubeflow__manifests ({dirs} kustomization directories, each its own scope)"),
        &g,
        &objects,
        &diags,
    );
    insta::assert_snapshot!("graph-corpus", report);
}
