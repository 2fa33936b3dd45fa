//! Applying over HTTP: 2,000 ConfigMaps in one wave written by kiln's cluster client
//! (`cluster::kube`, server-side apply) to the simulated cluster served on loopback
//! (`cluster::serve`, what `kiln sim serve` runs), one write at a time and eight at a time
//! (`kiln apply --concurrency`). Each iteration changes every object, so every write is a
//! real update.
//!
//! Run with `cargo bench --bench serve`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kiln::cluster::kube::KubeCluster;
use kiln::cluster::serve::{self, ApiServer, Clock};
use kiln::cluster::sim::{SimCluster, SimConfig};
use kiln::cluster::{ApplyOptions, Cluster};
use serde_json::json;

const OBJECTS: usize = 2_000;

fn bench(c: &mut Criterion) {
    let server = ApiServer::new(
        SimCluster::new(SimConfig::default()),
        Clock::Wall { scale: 1.0 },
    );
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = serve::run(
            server,
            "127.0.0.1:0".parse().expect("address"),
            |a| {
                let _ = tx.send(a);
            },
            std::future::pending(),
        );
    });
    let address = rx.recv().expect("the server starts");
    let kubeconfig =
        std::env::temp_dir().join(format!("kiln-bench-{}.kubeconfig", std::process::id()));
    std::fs::write(
        &kubeconfig,
        format!("apiVersion: v1\nkind: Config\nclusters:\n- name: s\n  cluster: {{server: 'http://{address}'}}\ncontexts:\n- name: s\n  context: {{cluster: s, user: u}}\ncurrent-context: s\nusers:\n- name: u\n  user: {{}}\n"),
    )
    .expect("write the kubeconfig");
    let mut cluster = KubeCluster::connect(Some(&kubeconfig), None).expect("connect");
    let options = ApplyOptions {
        manager: "kiln".into(),
        force: true,
        dry_run: false,
    };
    let mut round = 0u64;
    let mut group = c.benchmark_group("serve");
    group.sample_size(10);
    group.throughput(Throughput::Elements(OBJECTS as u64));
    for concurrency in [1, 8] {
        group.bench_function(
            format!("apply-2000-configmaps-over-http-concurrency-{concurrency}"),
            |b| {
                b.iter(|| {
                    round += 1;
                    let objects: Vec<serde_json::Value> = (0..OBJECTS)
                        .map(|i| {
                            json!({"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": {"name": format!("cm-{i}"), "namespace": "default"},
                                "data": {"round": round.to_string(), "i": i.to_string()}})
                        })
                        .collect();
                    let refs: Vec<&serde_json::Value> = objects.iter().collect();
                    for r in cluster.apply_all(&refs, &options, concurrency) {
                        r.expect("applied");
                    }
                })
            },
        );
    }
    group.finish();
    let _ = std::fs::remove_file(&kubeconfig);
}

criterion_group!(benches, bench);
criterion_main!(benches);
