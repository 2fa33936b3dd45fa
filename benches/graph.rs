//! The dependency graph of a generated input of 50,000 objects: 500 namespaces, each with
//! ConfigMaps, Secrets, ServiceAccounts, PVCs, Deployments that use them, Services, RBAC, custom
//! resources of a few CRDs, `depends-on` annotations, and a webhook per 50 namespaces.
//!
//! Run with `cargo bench --bench graph`.

mod support;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kiln::diag::Location;
use kiln::graph::{self, Input};
use kiln::object::Object;
use serde_json::json;
use std::hint::black_box;
use std::sync::atomic::Ordering;
use support::{IN_USE, PEAK, mib, object};

/// 100 objects per namespace (and a few cluster-scoped ones).
pub fn generate(namespaces: usize) -> Vec<Object> {
    let mut out = Vec::with_capacity(namespaces * 100 + 10);
    out.push(object(
        "storage.k8s.io/v1",
        "StorageClass",
        "",
        "fast",
        json!({"metadata": {}}),
    ));
    for c in 0..5 {
        out.push(object(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            "",
            &format!("widgets{c}.example.com"),
            json!({"metadata": {}, "spec": {"group": "example.com", "names": {"kind": format!("Widget{c}"), "plural": format!("widgets{c}")}, "scope": "Namespaced"}}),
        ));
    }
    for n in 0..namespaces {
        let ns = format!("ns{n}");
        out.push(object("v1", "Namespace", "", &ns, json!({"metadata": {}})));
        for i in 0..15 {
            out.push(object(
                "v1",
                "ConfigMap",
                &ns,
                &format!("config{i}"),
                json!({"metadata": {}, "data": {"k": "v"}}),
            ));
            out.push(object(
                "v1",
                "Secret",
                &ns,
                &format!("secret{i}"),
                json!({"metadata": {}}),
            ));
            out.push(object(
                "v1",
                "ServiceAccount",
                &ns,
                &format!("sa{i}"),
                json!({"metadata": {}}),
            ));
        }
        for i in 0..15 {
            out.push(object(
                "v1",
                "PersistentVolumeClaim",
                &ns,
                &format!("data{i}"),
                json!({"metadata": {}, "spec": {"storageClassName": "fast"}}),
            ));
        }
        for i in 0..15 {
            out.push(object(
                "apps/v1",
                "Deployment",
                &ns,
                &format!("app{i}"),
                json!({"metadata": {}, "spec": {"template": {"metadata": {"labels": {"app": format!("app{i}")}}, "spec": {
                    "serviceAccountName": format!("sa{i}"),
                    "volumes": [{"name": "c", "configMap": {"name": format!("config{i}")}}, {"name": "d", "persistentVolumeClaim": {"claimName": format!("data{i}")}}],
                    "containers": [{"name": "c", "envFrom": [{"secretRef": {"name": format!("secret{i}")}}]}]
                }}}}),
            ));
            out.push(object(
                "v1",
                "Service",
                &ns,
                &format!("app{i}"),
                json!({"metadata": {}, "spec": {"selector": {"app": format!("app{i}")}}}),
            ));
        }
        out.push(object(
            "rbac.authorization.k8s.io/v1",
            "Role",
            &ns,
            "reader",
            json!({"metadata": {}}),
        ));
        for i in 0..4 {
            out.push(object(
                "rbac.authorization.k8s.io/v1",
                "RoleBinding",
                &ns,
                &format!("reader{i}"),
                json!({"metadata": {}, "roleRef": {"kind": "Role", "name": "reader"}}),
            ));
        }
        for i in 0..4 {
            out.push(object(
                "example.com/v1",
                &format!("Widget{}", i % 5),
                &ns,
                &format!("w{i}"),
                json!({"metadata": {"annotations": {"config.kubernetes.io/depends-on": format!("apps/namespaces/{ns}/Deployment/app{i}")}}}),
            ));
        }
        if n % 50 == 0 {
            out.push(object(
                "admissionregistration.k8s.io/v1",
                "ValidatingWebhookConfiguration",
                "",
                &format!("hook{n}"),
                json!({"metadata": {}, "webhooks": [{"name": "x", "clientConfig": {"service": {"namespace": ns, "name": "app0"}}}]}),
            ));
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let objects = generate(500);
    let input = Input::single(&objects);
    let nowhere = |_: &Object, _: &str, _: bool| Location::file("generated");
    let before = IN_USE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let (g, _) = graph::build(&input, &nowhere);
    let peak = PEAK.load(Ordering::Relaxed);
    eprintln!(
        "{} objects ({:.0} MiB of heap with the input), {} edges, {} waves; building the graph peaks at {:.0} MiB more, the graph keeps {:.0} MiB",
        objects.len(),
        mib(before),
        g.edges.len(),
        g.waves.len(),
        mib(peak - before),
        mib(IN_USE.load(Ordering::Relaxed) - before)
    );
    let mut group = c.benchmark_group("graph");
    group.throughput(Throughput::Elements(objects.len() as u64));
    group.sample_size(10);
    group.bench_function("build-50k-objects", |b| {
        b.iter(|| graph::build(black_box(&input), &nowhere).0.edges.len())
    });
    // Half the input, to see that the cost is linear.
    let half = generate(250);
    let half_input = Input::single(&half);
    group.throughput(Throughput::Elements(half.len() as u64));
    group.bench_function("build-25k-objects", |b| {
        b.iter(|| graph::build(black_box(&half_input), &nowhere).0.edges.len())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
