//! The apply engine on the simulated cluster: a generated graph of 10,000 objects (100
//! namespaces, each with ConfigMaps, Secrets, ServiceAccounts, PVCs, Deployments that use them,
//! Services, RBAC and custom resources; one CRD) applied with readiness (every wave waits until
//! its objects are Current), then rolled back to the state before it (empty: every object
//! pruned, dependents first, each prune wave waited for). Prints the peak heap of one run.
//!
//! Run with `cargo bench --bench apply`.

mod support;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use kiln::apply::Settings;
use kiln::cluster::sim::SimConfig;
use kiln::diag::Location;
use kiln::graph::{self, DependencyGraph, Input};
use kiln::object::Object;
use kiln::plan::Inventory;
use kiln::simulate::{Desired, Session, Step, StepKind};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use support::{IN_USE, PEAK, mib, object};

/// One CRD and 100 objects per namespace.
fn generate(namespaces: usize) -> Vec<Object> {
    let mut out = Vec::with_capacity(namespaces * 100 + 1);
    out.push(object(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "",
        "widgets.example.com",
        json!({"metadata": {}, "spec": {"group": "example.com", "scope": "Namespaced", "names": {"kind": "Widget", "plural": "widgets"},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}}),
    ));
    for n in 0..namespaces {
        let ns = format!("ns{n}");
        out.push(object("v1", "Namespace", "", &ns, json!({"metadata": {}})));
        for i in 0..20 {
            out.push(object(
                "v1",
                "ConfigMap",
                &ns,
                &format!("config{i}"),
                json!({"metadata": {}, "data": {"k": format!("v{i}")}}),
            ));
            out.push(object(
                "v1",
                "Secret",
                &ns,
                &format!("secret{i}"),
                json!({"metadata": {}, "stringData": {"token": format!("t{i}")}}),
            ));
        }
        for i in 0..15 {
            out.push(object(
                "v1",
                "ServiceAccount",
                &ns,
                &format!("sa{i}"),
                json!({"metadata": {}}),
            ));
            let app = format!("app{i}");
            out.push(object(
                "apps/v1",
                "Deployment",
                &ns,
                &app,
                json!({"metadata": {}, "spec": {"replicas": 1, "selector": {"matchLabels": {"app": app}}, "template": {"metadata": {"labels": {"app": app}}, "spec": {
                    "serviceAccountName": format!("sa{i}"),
                    "volumes": [{"name": "c", "configMap": {"name": format!("config{i}")}}],
                    "containers": [{"name": "c", "image": format!("registry.example.com/{app}:1.0.{i}"), "ports": [{"containerPort": 8080}], "envFrom": [{"secretRef": {"name": format!("secret{i}")}}]}]
                }}}}),
            ));
            out.push(object("v1", "Service", &ns, &app, json!({"metadata": {}, "spec": {"selector": {"app": app}, "ports": [{"port": 80, "targetPort": 8080}]}})));
        }
        for i in 0..5 {
            out.push(object("v1", "PersistentVolumeClaim", &ns, &format!("data{i}"), json!({"metadata": {}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})));
        }
        out.push(object("rbac.authorization.k8s.io/v1", "Role", &ns, "reader", json!({"metadata": {}, "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]})));
        for i in 0..4 {
            out.push(object(
                "rbac.authorization.k8s.io/v1",
                "RoleBinding",
                &ns,
                &format!("reader{i}"),
                json!({"metadata": {}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"}, "subjects": [{"kind": "ServiceAccount", "name": format!("sa{i}"), "namespace": ns}]}),
            ));
            out.push(object(
                "example.com/v1",
                "Widget",
                &ns,
                &format!("w{i}"),
                json!({"metadata": {"annotations": {"config.kubernetes.io/depends-on": format!("apps/namespaces/{ns}/Deployment/app{i}")}}, "spec": {"size": i}}),
            ));
        }
    }
    out
}

fn desired(label: &str, objects: Vec<Object>, graph: DependencyGraph) -> Desired {
    Desired {
        label: label.into(),
        objects,
        graph,
        held: BTreeMap::new(),
        unusable: None,
        errors: 0,
        warnings: 0,
    }
}

/// Applies the objects, then goes back to the empty state before them.
fn run(objects: &[Object], graph: &DependencyGraph) -> (Step, Step) {
    let mut s = Session::new(
        SimConfig::default(),
        Inventory::secret("default", "kiln"),
        Settings::default(),
    );
    let applied = s.apply(
        desired("generated", objects.to_vec(), graph.clone()),
        StepKind::Apply,
    );
    let back = s.apply(
        desired("empty", Vec::new(), DependencyGraph::default()),
        StepKind::Rollback,
    );
    (applied, back)
}

fn bench(c: &mut Criterion) {
    let objects = generate(100);
    let nowhere = |_: &Object, _: &str, _: bool| Location::file("generated");
    let (g, _) = graph::build(&Input::single(&objects), &nowhere);
    let before = IN_USE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let started = std::time::Instant::now();
    let (applied, back) = run(&objects, &g);
    let wall = started.elapsed();
    let peak = PEAK.load(Ordering::Relaxed);
    let report = applied.report.as_ref().expect("applied");
    let rollback = back.report.as_ref().expect("rolled back");
    assert!(
        !applied.failed() && !back.failed(),
        "{:?} {:?}",
        applied.statuses,
        back.statuses
    );
    assert_eq!(rollback.pruned.len(), objects.len());
    eprintln!(
        "{} objects in {} waves: {:?} after {} s of virtual time; rollback pruned {} in {} s of virtual time; one run takes {:.2} s and peaks at {:.0} MiB of heap above the {:.0} MiB input",
        objects.len(),
        report.waves,
        applied.statuses,
        report.took / 1000,
        rollback.pruned.len(),
        rollback.took / 1000,
        wall.as_secs_f64(),
        mib(peak - before),
        mib(before)
    );
    let mut group = c.benchmark_group("apply");
    group.throughput(Throughput::Elements(objects.len() as u64));
    group.sample_size(10);
    group.bench_function("apply-10k-objects-then-rollback", |b| {
        b.iter_batched(|| (), |_| run(&objects, &g), BatchSize::PerIteration)
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
