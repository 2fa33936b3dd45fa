//! A real Kubernetes client (kube-rs) against the simulated cluster's tower service,
//! in-process with no socket: discovery, server-side apply, get, list, a watch through
//! `kube::runtime::watcher`, and delete. The clock is virtual: the test moves it.

use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kiln::cluster::Cluster;
use kiln::cluster::serve::{ApiServer, Clock};
use kiln::cluster::sim::{SimCluster, SimConfig};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::watcher;
use serde_json::json;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
}

#[test]
fn kube_client_runs_against_the_tower_service_in_process() {
    let server = ApiServer::new(SimCluster::new(SimConfig::default()), Clock::Virtual);
    runtime().block_on(async {
        let client = kube::Client::new(server.clone(), "default");

        // Discovery: built-in groups and a kind's resource.
        let discovery = kube::Discovery::new(client.clone())
            .run()
            .await
            .expect("discovery");
        let groups: Vec<String> = discovery.groups().map(|g| g.name().to_string()).collect();
        assert!(groups.contains(&"apps".to_string()), "{groups:?}");
        let (ar, caps) = discovery
            .resolve_gvk(&kube::api::GroupVersionKind::gvk(
                "apps",
                "v1",
                "Deployment",
            ))
            .expect("Deployment is served");
        assert_eq!(ar.plural, "deployments");
        assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);

        // Server-side apply, then get and list.
        let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
        let applied = deployments
            .patch(
                "web",
                &PatchParams::apply("kiln-test"),
                &Patch::Apply(json!({
                    "apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": "web", "labels": {"app": "web"}},
                    "spec": {
                        "replicas": 2,
                        "selector": {"matchLabels": {"app": "web"}},
                        "template": {"metadata": {"labels": {"app": "web"}},
                            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}},
                    },
                })),
            )
            .await
            .expect("server-side apply");
        assert_eq!(applied.metadata.generation, Some(1));
        let managers: Vec<String> = applied
            .metadata
            .managed_fields
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| m.manager)
            .collect();
        assert_eq!(managers, ["kiln-test"]);

        // The controllers run as the (virtual) clock moves.
        Cluster::sleep(&mut *server.lock(), 5_000);
        let got = deployments.get("web").await.expect("get");
        assert_eq!(got.status.and_then(|s| s.ready_replicas), Some(2));
        let listed = deployments
            .list(&ListParams::default().labels("app=web"))
            .await
            .expect("list");
        assert_eq!(listed.items.len(), 1);

        // A watch sees what happens after it starts, in order.
        let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
        let mut events = watcher(config_maps.clone(), watcher::Config::default()).boxed();
        // The initial list (empty), then what is written next.
        let mut seen = Vec::new();
        let writer = config_maps.clone();
        let write = async move {
            for name in ["a", "b"] {
                writer
                    .patch(
                        name,
                        &PatchParams::apply("kiln-test"),
                        &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": name}, "data": {"k": name}})),
                    )
                    .await
                    .expect("apply a ConfigMap");
            }
            writer
                .delete("a", &DeleteParams::default())
                .await
                .expect("delete");
        };
        let read = async {
            while let Some(e) = events.next().await {
                match e.expect("a watch event") {
                    watcher::Event::Apply(cm) => {
                        seen.push(format!("apply {}", cm.metadata.name.unwrap_or_default()))
                    }
                    watcher::Event::Delete(cm) => {
                        seen.push(format!("delete {}", cm.metadata.name.unwrap_or_default()));
                        break;
                    }
                    watcher::Event::InitDone => seen.push("init done".into()),
                    _ => {}
                }
            }
        };
        let read = tokio::time::timeout(std::time::Duration::from_secs(10), read);
        let (_, timed) = tokio::join!(write, read);
        timed.expect("the watch saw the deletion in time");
        // `a` and `b` may be seen in the initial list or as events: what matters is that the
        // deletion of `a` arrives after both were written.
        assert_eq!(
            seen.last().map(String::as_str),
            Some("delete a"),
            "{seen:?}"
        );
        assert!(seen.iter().any(|s| s == "apply b"), "{seen:?}");

        // Delete, and the object is gone.
        deployments
            .delete("web", &DeleteParams::default())
            .await
            .expect("delete");
        let err = deployments.get("web").await.expect_err("gone");
        match err {
            kube::Error::Api(s) => {
                assert_eq!(s.code, 404);
                assert_eq!(s.message, "deployments.apps \"web\" not found");
            }
            other => panic!("{other}"),
        }
    });
}
