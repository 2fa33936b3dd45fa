//! One contract, every cluster: the same behaviours checked against (1) the simulator
//! directly, (2) kiln's Kubernetes client (`cluster::kube`) talking to the simulator's API
//! in-process and (3) over HTTP to `kiln sim serve`, and (4) a real cluster when
//! `KILN_E2E_KUBECONFIG` names a kubeconfig (skipped otherwise, with a line saying so).
//!
//! Each check runs the apply engine (`plan`, `apply`) or the trait itself, in a namespace of
//! its own, so a real cluster is left as it was found (the namespace is deleted at the end).

use crate::serve::Served;
use crate::support::scratch;
use kiln::apply::{self, Settings};
use kiln::cluster::kube::KubeCluster;
use kiln::cluster::serve::{ApiServer, Clock};
use kiln::cluster::sim::{SimCluster, SimConfig};
use kiln::cluster::{ApplyOptions, Cluster, DeleteOptions};
use kiln::object::ObjectKey;
use kiln::pipeline::{self, Input};
use kiln::plan::{self, Action, Inventory};
use kiln::simulate::Desired;
use serde_json::json;
use std::path::Path;

/// Says which target a check skips, on the test process's standard error itself (past the
/// test harness's capture), so that CI's log shows it.
fn say_skipped(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// A cluster to hold to the contract, and what keeps it alive.
struct Target {
    name: &'static str,
    cluster: Box<dyn Cluster>,
    _served: Option<Served>,
}

/// Every target, fresh. The simulators run their clocks fast so readiness takes milliseconds.
fn targets(test: &str) -> Vec<Target> {
    let mut out = vec![Target {
        name: "simulator",
        cluster: Box::new(SimCluster::new(SimConfig::default())),
        _served: None,
    }];
    let server = ApiServer::new(
        SimCluster::new(SimConfig::default()),
        Clock::Wall { scale: 50.0 },
    );
    out.push(Target {
        name: "client, in-process",
        cluster: Box::new(KubeCluster::with_service(server, "in-process").expect("client")),
        _served: None,
    });
    let dir = scratch(&format!("contract-{test}"));
    let served = Served::start(&dir, &["--time-scale", "50"]);
    out.push(Target {
        name: "client, kiln sim serve over HTTP",
        cluster: Box::new(KubeCluster::connect(Some(&served.kubeconfig), None).expect("connect")),
        _served: Some(served),
    });
    match std::env::var_os("KILN_E2E_KUBECONFIG") {
        Some(path) => out.push(Target {
            name: "real cluster (KILN_E2E_KUBECONFIG)",
            cluster: Box::new(
                KubeCluster::connect(Some(Path::new(&path)), None)
                    .expect("connect to the e2e cluster"),
            ),
            _served: None,
        }),
        None => say_skipped(&format!(
            "contract {test}: real cluster skipped: KILN_E2E_KUBECONFIG is not set"
        )),
    }
    out
}

/// The three targets with a fault injected (the simulator's own, kiln sim serve's
/// `--fault`, written as it takes it): the faults a real cluster cannot be made to have.
fn targets_with_fault(test: &str, fault: kiln::cluster::sim::Fault, flag: &str) -> Vec<Target> {
    let mut sim = SimCluster::new(SimConfig::default());
    sim.inject(fault.clone());
    let mut out = vec![Target {
        name: "simulator",
        cluster: Box::new(sim),
        _served: None,
    }];
    let mut sim = SimCluster::new(SimConfig::default());
    sim.inject(fault);
    let server = ApiServer::new(sim, Clock::Wall { scale: 50.0 });
    out.push(Target {
        name: "client, in-process",
        cluster: Box::new(KubeCluster::with_service(server, "in-process").expect("client")),
        _served: None,
    });
    let served = Served::start(
        &scratch(&format!("contract-{test}")),
        &["--time-scale", "50", "--fault", flag],
    );
    out.push(Target {
        name: "client, kiln sim serve over HTTP",
        cluster: Box::new(KubeCluster::connect(Some(&served.kubeconfig), None).expect("connect")),
        _served: Some(served),
    });
    say_skipped(&format!(
        "contract {test}: real cluster skipped: a real cluster cannot be given this fault"
    ));
    out
}

/// A desired state from YAML, compiled as kiln compiles a directory.
fn desired(dir: &Path, name: &str, yaml: &str) -> Desired {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).expect("mkdir");
    std::fs::write(d.join("all.yaml"), yaml).expect("write");
    let c = pipeline::compile(&Input::new(d)).expect("compile");
    Desired::from_compiled(c, name)
}

fn settings() -> Settings {
    Settings {
        object_timeout: 60_000,
        poll: 100,
        ..Default::default()
    }
}

/// Plans and applies a desired state; the plan's counts and the report's statuses.
fn apply_state(c: &mut dyn Cluster, inv: &Inventory, d: &Desired) -> (String, String) {
    let plan = plan::plan(c, &d.objects, &d.graph, inv, &d.held).expect("plan");
    let counts = format!("{:?}", plan.counts());
    let report = apply::apply(c, &plan, &settings()).expect("apply");
    (counts, format!("{:?}", report.by_status()))
}

fn namespace(ns: &str) -> String {
    format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n")
}

/// A namespace holding one ConfigMap `settings` (`colour: blue`), and the ConfigMap's key.
fn settings_state(ns: &str) -> (Desired, ObjectKey) {
    let dir = scratch(&format!("{ns}-data"));
    let yaml = format!(
        "{}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings, namespace: {ns}}}\ndata: {{colour: blue}}\n",
        namespace(ns)
    );
    let key = ObjectKey {
        group: String::new(),
        kind: "ConfigMap".into(),
        namespace: ns.into(),
        name: "settings".into(),
    };
    (desired(&dir, "state", &yaml), key)
}

/// The inventory of a check: in `default`, which every cluster has (its namespace is created
/// by the apply itself).
fn inventory(ns: &str) -> Inventory {
    Inventory::secret("default", &format!("kiln-{ns}"))
}

fn cleanup(c: &mut dyn Cluster, ns: &str) {
    let _ = c.delete(&inventory(ns).key(), &DeleteOptions::default());
    let _ = c.delete(
        &ObjectKey {
            group: String::new(),
            kind: "Namespace".into(),
            namespace: String::new(),
            name: ns.into(),
        },
        &DeleteOptions::default(),
    );
}

#[test]
fn contract_crds_then_custom_resources_then_nothing_to_do() {
    let dir = scratch("contract-crd-data");
    let ns = "contract-crd";
    let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.contract.kiln.dev\nspec:\n  group: contract.kiln.dev\n  scope: Namespaced\n  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n          spec:\n            type: object\n            properties:\n              size: {type: integer}\n";
    let yaml = format!(
        "{}---\n{crd}---\napiVersion: contract.kiln.dev/v1\nkind: Widget\nmetadata: {{name: w1, namespace: {ns}}}\nspec: {{size: 3}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings, namespace: {ns}}}\ndata: {{colour: blue}}\n",
        namespace(ns)
    );
    let state = desired(&dir, "state", &yaml);
    for mut t in targets("crd") {
        let c = t.cluster.as_mut();
        let inv = inventory(ns);
        let (planned, statuses) = apply_state(c, &inv, &state);
        assert_eq!(planned, "{Create: 4}", "{}", t.name);
        assert_eq!(statuses, "{\"Current\": 4}", "{}", t.name);
        // Applied again: nothing changes, nothing is written.
        let again = plan::plan(c, &state.objects, &state.graph, &inv, &state.held).expect("plan");
        assert_eq!(
            format!("{:?}", again.counts()),
            "{Unchanged: 4}",
            "{}",
            t.name
        );
        let w = c
            .get(&ObjectKey {
                group: "contract.kiln.dev".into(),
                kind: "Widget".into(),
                namespace: ns.into(),
                name: "w1".into(),
            })
            .expect("get")
            .expect("the Widget exists");
        assert_eq!(w["spec"]["size"], 3, "{}", t.name);
        // Managed fields read the same from every cluster.
        assert_eq!(
            w["metadata"]["managedFields"][0]["fields"],
            json!([
                ".metadata.labels.applyset.kubernetes.io/part-of",
                ".spec.size"
            ]),
            "{}",
            t.name
        );
        cleanup(c, ns);
        let _ = c.delete(
            &ObjectKey {
                group: "apiextensions.k8s.io".into(),
                kind: "CustomResourceDefinition".into(),
                namespace: String::new(),
                name: "widgets.contract.kiln.dev".into(),
            },
            &DeleteOptions::default(),
        );
    }
}

#[test]
fn contract_conflicts_fail_unless_forced_and_dry_runs_change_nothing() {
    let ns = "contract-conflict";
    let (state, key) = settings_state(ns);
    for mut t in targets("conflict") {
        let c = t.cluster.as_mut();
        let inv = inventory(ns);
        apply_state(c, &inv, &state);
        let theirs = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": ns}, "data": {"colour": "red"}});
        let by = |force: bool, dry_run: bool| ApplyOptions {
            manager: "someone-else".into(),
            force,
            dry_run,
        };
        let e = c.apply(&theirs, &by(false, false)).expect_err("a conflict");
        assert_eq!(e.code, 409, "{}", t.name);
        assert_eq!(
            e.message, "Apply failed with 1 conflict: conflict with \"kiln\": .data.colour",
            "{}",
            t.name
        );
        // A dry run answers as the write would, and stores nothing.
        let dry = c.apply(&theirs, &by(true, true)).expect("a forced dry run");
        assert_eq!(dry["data"]["colour"], "red", "{}", t.name);
        assert_eq!(
            c.get(&key).expect("get").expect("exists")["data"]["colour"],
            "blue",
            "{}",
            t.name
        );
        let new = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "never", "namespace": ns}, "data": {"a": "b"}});
        c.apply(&new, &by(false, true)).expect("a dry-run create");
        let never = ObjectKey {
            name: "never".into(),
            ..key.clone()
        };
        assert_eq!(c.get(&never).expect("get"), None, "{}", t.name);
        // Forced, the other manager takes the field; kiln's next plan puts it back.
        c.apply(&theirs, &by(true, false)).expect("forced");
        let plan = plan::plan(c, &state.objects, &state.graph, &inv, &state.held).expect("plan");
        let settings_change = plan
            .changes()
            .find(|ch| ch.key.name == "settings")
            .expect("the ConfigMap is planned");
        assert_eq!(settings_change.action, Action::Update, "{}", t.name);
        cleanup(c, ns);
    }
}

#[test]
fn contract_prune_removes_what_the_next_state_lacks_and_immutable_fields_keep_the_servers_text() {
    let dir = scratch("contract-prune-data");
    let ns = "contract-prune";
    let cm = |name: &str, extra: &str| {
        format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {ns}}}\ndata: {{k: v}}\n{extra}"
        )
    };
    let both = desired(
        &dir,
        "both",
        &format!(
            "{}{}{}",
            namespace(ns),
            cm("a", ""),
            cm("frozen", "immutable: true\n")
        ),
    );
    let one = desired(
        &dir,
        "one",
        &format!("{}{}", namespace(ns), cm("frozen", "immutable: true\n")),
    );
    let changed = desired(
        &dir,
        "changed",
        &format!(
            "{}{}",
            namespace(ns),
            cm("frozen", "immutable: true\n").replace("k: v", "k: w")
        ),
    );
    for mut t in targets("prune") {
        let c = t.cluster.as_mut();
        let inv = inventory(ns);
        apply_state(c, &inv, &both);
        let (planned, _) = apply_state(c, &inv, &one);
        assert_eq!(planned, "{Unchanged: 2, Delete: 1}", "{}", t.name);
        let a = ObjectKey {
            group: String::new(),
            kind: "ConfigMap".into(),
            namespace: ns.into(),
            name: "a".into(),
        };
        assert_eq!(c.get(&a).expect("get"), None, "{}: pruned", t.name);
        // The server refuses the change with its own words; nothing is replaced unasked.
        let plan =
            plan::plan(c, &changed.objects, &changed.graph, &inv, &changed.held).expect("plan");
        let report = apply::apply(c, &plan, &settings()).expect("apply");
        let failed = report.failed();
        assert_eq!(failed.len(), 1, "{}", t.name);
        assert_eq!(
            failed[0].error.as_deref(),
            Some(
                "The ConfigMap \"frozen\" is invalid: data: Forbidden: field is immutable when `immutable` is set"
            ),
            "{}",
            t.name
        );
        // Opted in (`--force-recreate`), it is deleted and created again with the change.
        let plan =
            plan::plan(c, &changed.objects, &changed.graph, &inv, &changed.held).expect("plan");
        let report = apply::apply(
            c,
            &plan,
            &Settings {
                force_recreate: true,
                ..settings()
            },
        )
        .expect("apply");
        assert!(
            report.failed().is_empty(),
            "{}: {:?}",
            t.name,
            report.failed()
        );
        let frozen = ObjectKey {
            name: "frozen".into(),
            ..a.clone()
        };
        let replaced = report
            .outcomes
            .iter()
            .find(|o| o.object == frozen.to_string())
            .and_then(|o| o.replaced.clone());
        assert!(
            replaced.is_some_and(|why| why.contains("field is immutable")),
            "{}",
            t.name
        );
        assert_eq!(
            c.get(&frozen).expect("get").expect("there again")["data"]["k"],
            "w",
            "{}",
            t.name
        );
        cleanup(c, ns);
    }
}

/// A cluster whose writes stop after `left` of them (a killed process, a lost connection):
/// every later write fails.
struct Interrupted<'a> {
    inner: &'a mut dyn Cluster,
    left: usize,
}

impl Interrupted<'_> {
    fn write_allowed(&mut self, dry_run: bool) -> Result<(), kiln::cluster::ApiError> {
        if dry_run {
            return Ok(());
        }
        if self.left == 0 {
            return Err(kiln::cluster::ApiError::new(
                0,
                "Interrupted",
                "the connection was lost",
            ));
        }
        self.left -= 1;
        Ok(())
    }
}

impl Cluster for Interrupted<'_> {
    fn resource(&mut self, api_version: &str, kind: &str) -> Option<kiln::cluster::Resource> {
        self.inner.resource(api_version, kind)
    }
    fn get(
        &mut self,
        key: &ObjectKey,
    ) -> Result<Option<serde_json::Value>, kiln::cluster::ApiError> {
        self.inner.get(key)
    }
    fn list(
        &mut self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        selector: &str,
    ) -> Result<Vec<serde_json::Value>, kiln::cluster::ApiError> {
        self.inner.list(api_version, kind, namespace, selector)
    }
    fn apply(
        &mut self,
        object: &serde_json::Value,
        options: &ApplyOptions,
    ) -> Result<serde_json::Value, kiln::cluster::ApiError> {
        self.write_allowed(options.dry_run)?;
        self.inner.apply(object, options)
    }
    fn delete(
        &mut self,
        key: &ObjectKey,
        options: &DeleteOptions,
    ) -> Result<bool, kiln::cluster::ApiError> {
        self.write_allowed(options.dry_run)?;
        self.inner.delete(key, options)
    }
    fn take_over(
        &mut self,
        key: &ObjectKey,
        resource_version: &str,
        from: &[&str],
        to: &str,
    ) -> Result<bool, kiln::cluster::ApiError> {
        self.write_allowed(false)?;
        self.inner.take_over(key, resource_version, from, to)
    }
    fn now(&mut self) -> kiln::cluster::Millis {
        self.inner.now()
    }
    fn sleep(&mut self, millis: kiln::cluster::Millis) {
        self.inner.sleep(millis)
    }
}

#[test]
fn contract_an_apply_interrupted_after_any_write_converges_when_run_again() {
    let dir = scratch("contract-interrupt-data");
    let state = |ns: &str, second: bool| {
        let mut yaml = namespace(ns);
        let cms: &[(&str, &str)] = if second {
            &[("a", "2"), ("b", "2"), ("c", "new")]
        } else {
            &[("a", "1"), ("b", "1"), ("gone", "1")]
        };
        for (name, v) in cms {
            yaml.push_str(&format!(
                "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {ns}}}\ndata: {{v: '{v}'}}\n"
            ));
        }
        let image = if second { "nginx:1.28" } else { "nginx:1.27" };
        yaml.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: {ns}}}\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      containers:\n      - {{name: web, image: '{image}', envFrom: [{{configMapRef: {{name: a}}}}]}}\n"
        ));
        desired(&dir, &format!("{ns}-{second}"), &yaml)
    };
    for mut t in targets("interrupt") {
        let c = t.cluster.as_mut();
        // Writes of the second apply: parent, 5 objects, 1 prune, parent again; past that
        // nothing is left to interrupt.
        for n in 0..9 {
            let ns = format!("contract-int-{n}");
            let inv = inventory(&ns);
            let (first, second) = (state(&ns, false), state(&ns, true));
            apply_state(c, &inv, &first);
            {
                let mut cut = Interrupted { inner: c, left: n };
                let plan = plan::plan(&mut cut, &second.objects, &second.graph, &inv, &second.held)
                    .expect("plan");
                let _ = apply::apply(&mut cut, &plan, &settings());
            }
            let (_, statuses) = apply_state(c, &inv, &second);
            assert_eq!(statuses, "{\"Current\": 5}", "{} after {n} writes", t.name);
            let again =
                plan::plan(c, &second.objects, &second.graph, &inv, &second.held).expect("plan");
            assert_eq!(
                format!("{:?}", again.counts()),
                "{Unchanged: 5}",
                "{} after {n} writes",
                t.name
            );
            let gone = ObjectKey {
                group: String::new(),
                kind: "ConfigMap".into(),
                namespace: ns.clone(),
                name: "gone".into(),
            };
            assert_eq!(
                c.get(&gone).expect("get"),
                None,
                "{} after {n} writes: pruned",
                t.name
            );
            cleanup(c, &ns);
        }
    }
}

#[test]
fn contract_without_force_a_conflict_stops_the_object_and_names_the_manager() {
    let ns = "contract-noforce";
    let (state, key) = settings_state(ns);
    for mut t in targets("noforce") {
        let c = t.cluster.as_mut();
        let inv = inventory(ns);
        apply_state(c, &inv, &state);
        let theirs = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": ns}, "data": {"colour": "red"}});
        let by_them = ApplyOptions {
            manager: "someone-else".into(),
            force: true,
            dry_run: false,
        };
        c.apply(&theirs, &by_them).expect("taken");
        // Unforced, the plan says the change would fail, and names who holds the field.
        let unforced = plan::Options {
            force: false,
            ..Default::default()
        };
        let p = plan::plan_with(
            c,
            &state.objects,
            &state.graph,
            &inv,
            &state.held,
            &unforced,
        )
        .expect("plan");
        let change = p.changes().find(|ch| ch.key == key).expect("planned");
        let error = change.error.clone().unwrap_or_default();
        assert!(
            error.contains("conflict with \"someone-else\"") && error.contains(".data.colour"),
            "{}: {error}",
            t.name
        );
        // The engine without force stops there too.
        let report = apply::apply(
            c,
            &p,
            &Settings {
                force: false,
                ..settings()
            },
        )
        .expect("apply");
        let o = report
            .outcomes
            .iter()
            .find(|o| o.object == key.to_string())
            .expect("an outcome");
        assert!(
            o.error
                .as_deref()
                .is_some_and(|e| e.contains("someone-else")),
            "{}: {o:?}",
            t.name
        );
        assert_eq!(
            report.prune_skipped.as_deref(),
            Some("1 object did not become ready"),
            "{}",
            t.name
        );
        assert_eq!(
            c.get(&key).expect("get").expect("exists")["data"]["colour"],
            "red",
            "{}",
            t.name
        );
        // Forced, the repository's value comes back.
        apply_state(c, &inv, &state);
        assert_eq!(
            c.get(&key).expect("get").expect("exists")["data"]["colour"],
            "blue",
            "{}",
            t.name
        );
        cleanup(c, ns);
    }
}

/// How `kubectl apply` (client-side) would have written an object: a create by the manager
/// `kubectl-client-side-apply` (an Update operation), with the last applied configuration
/// in an annotation.
fn client_side_applied(object: &serde_json::Value) -> serde_json::Value {
    let mut v = object.clone();
    v["metadata"]["annotations"] = json!({
        kiln::cluster::LAST_APPLIED: serde_json::to_string(object).expect("json")});
    v
}

#[test]
fn contract_take_over_from_kubectl_client_side_apply_removes_what_the_repository_dropped() {
    let dir = scratch("contract-csa-data");
    let ns = "contract-csa";
    let before = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "legacy", "namespace": ns}, "data": {"a": "1", "b": "2"}});
    let yaml = format!(
        "{}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: legacy, namespace: {ns}}}\ndata: {{a: '1'}}\n",
        namespace(ns)
    );
    let state = desired(&dir, "state", &yaml);
    let key = ObjectKey {
        group: String::new(),
        kind: "ConfigMap".into(),
        namespace: ns.into(),
        name: "legacy".into(),
    };
    let namespace_object =
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
    // Each target gets the object as kubectl's client-side apply leaves it.
    let mut clusters: Vec<(&str, Box<dyn Cluster>, Option<Served>)> = Vec::new();
    let mut sim = SimCluster::new(SimConfig::default());
    sim.create(namespace_object.clone(), "kubectl-create", false)
        .expect("namespace");
    sim.create(
        client_side_applied(&before),
        "kubectl-client-side-apply",
        false,
    )
    .expect("create");
    clusters.push(("simulator", Box::new(sim), None));
    let server = ApiServer::new(
        SimCluster::new(SimConfig::default()),
        Clock::Wall { scale: 50.0 },
    );
    {
        let mut sim = server.lock();
        sim.create(namespace_object, "kubectl-create", false)
            .expect("namespace");
        sim.create(
            client_side_applied(&before),
            "kubectl-client-side-apply",
            false,
        )
        .expect("create");
    }
    clusters.push((
        "client, in-process",
        Box::new(KubeCluster::with_service(server, "in-process").expect("client")),
        None,
    ));
    let file = dir.join("legacy.json");
    std::fs::write(&file, before.to_string()).expect("write");
    // kubectl's own client-side apply, against kiln sim serve and a real cluster.
    let kubectl_apply = |kubeconfig: &Path| {
        let kubectl = |args: &[&str]| {
            std::process::Command::new("kubectl")
                .arg("--kubeconfig")
                .arg(kubeconfig)
                .args(args)
                .output()
                .expect("kubectl runs (it is on every machine)")
        };
        kubectl(&["create", "namespace", ns]);
        let out = kubectl(&["apply", "-f", file.to_str().expect("utf-8")]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let served = Served::start(&scratch("contract-csa"), &["--time-scale", "50"]);
    kubectl_apply(&served.kubeconfig);
    clusters.push((
        "client, kiln sim serve over HTTP (kubectl apply before)",
        Box::new(KubeCluster::connect(Some(&served.kubeconfig), None).expect("connect")),
        Some(served),
    ));
    match std::env::var_os("KILN_E2E_KUBECONFIG") {
        Some(path) => {
            kubectl_apply(Path::new(&path));
            clusters.push((
                "real cluster (KILN_E2E_KUBECONFIG)",
                Box::new(KubeCluster::connect(Some(Path::new(&path)), None).expect("connect")),
                None,
            ));
        }
        None => {
            say_skipped("contract take-over: real cluster skipped: KILN_E2E_KUBECONFIG is not set")
        }
    }
    for (name, mut c, _served) in clusters {
        let c = c.as_mut();
        let inv = inventory(ns);
        let p = plan::plan(c, &state.objects, &state.graph, &inv, &state.held).expect("plan");
        let change = p.changes().find(|ch| ch.key == key).expect("planned");
        assert_eq!(
            change.take_over,
            vec!["kubectl-client-side-apply"],
            "{name}"
        );
        let paths: Vec<(&str, Option<&str>)> = change
            .fields
            .iter()
            .map(|f| (f.path.as_str(), f.after.as_deref()))
            .collect();
        assert!(paths.contains(&(".data.b", None)), "{name}: {paths:?}");
        let annotation = change
            .fields
            .iter()
            .find(|f| f.path.ends_with("last-applied-configuration"))
            .expect("the annotation goes");
        assert!(
            annotation
                .before
                .as_deref()
                .is_some_and(|b| b.starts_with("(kubectl's last applied configuration, sha256:")),
            "{name}: {annotation:?}"
        );
        let report = apply::apply(c, &p, &settings()).expect("apply");
        assert!(report.failed().is_empty(), "{name}: {:?}", report.failed());
        let live = c.get(&key).expect("get").expect("exists");
        assert_eq!(live["data"], json!({"a": "1"}), "{name}");
        assert_eq!(live["metadata"].get("annotations"), None, "{name}: {live}");
        let managers: Vec<&str> = live["metadata"]["managedFields"]
            .as_array()
            .expect("managedFields")
            .iter()
            .filter_map(|m| m["manager"].as_str())
            .collect();
        assert!(
            !managers.contains(&"kubectl-client-side-apply"),
            "{name}: {managers:?}"
        );
        let again = plan::plan(c, &state.objects, &state.graph, &inv, &state.held).expect("plan");
        assert_eq!(format!("{:?}", again.counts()), "{Unchanged: 2}", "{name}");
        cleanup(c, ns);
    }
}

#[test]
fn contract_throttled_writes_wait_as_the_server_asks_then_succeed() {
    let dir = scratch("contract-429-data");
    let ns = "contract-throttle";
    let yaml = format!(
        "{}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: throttled, namespace: {ns}}}\ndata: {{a: '1'}}\n",
        namespace(ns)
    );
    let state = desired(&dir, "state", &yaml);
    let fault = kiln::cluster::sim::Fault {
        kind: "ConfigMap".into(),
        namespace: ns.into(),
        name: "throttled".into(),
        fault: kiln::cluster::sim::FaultKind::FailWrites {
            times: 2,
            code: 429,
        },
    };
    for mut t in targets_with_fault(
        "429",
        fault,
        &format!("ConfigMap/{ns}/throttled=fail-writes:2:429"),
    ) {
        let (name, c) = (t.name, t.cluster.as_mut());
        let inv = inventory(ns);
        let p = plan::plan(c, &state.objects, &state.graph, &inv, &state.held).expect("plan");
        let mut retries = Vec::new();
        let report = apply::apply_observed(c, &p, &settings(), &mut |e| {
            if let apply::Event::Retrying { error, wait, .. } = e {
                retries.push((error, wait));
            }
        })
        .expect("apply");
        assert!(report.failed().is_empty(), "{name}: {:?}", report.failed());
        assert_eq!(retries.len(), 2, "{name}: {retries:?}");
        for (error, wait) in &retries {
            assert!(error.contains("(TooManyRequests)"), "{name}: {error}");
            assert_eq!(*wait, 1_000, "{name}: Retry-After is one second");
        }
        cleanup(c, ns);
    }
}

#[test]
fn contract_drift_names_the_manager_and_deletes_keep_their_preconditions() {
    let ns = "contract-drift";
    let (state, key) = settings_state(ns);
    for mut t in targets("drift") {
        let c = t.cluster.as_mut();
        let inv = inventory(ns);
        apply_state(c, &inv, &state);
        let p = plan::plan(c, &state.objects, &state.graph, &inv, &state.held).expect("plan");
        assert!(apply::drift(&p).is_empty(), "{}", t.name);
        let theirs = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": ns}, "data": {"colour": "red"}});
        let by_them = ApplyOptions {
            manager: "hand-edit".into(),
            force: true,
            dry_run: false,
        };
        c.apply(&theirs, &by_them).expect("edited");
        let p = plan::plan(c, &state.objects, &state.graph, &inv, &state.held).expect("plan");
        let drift = apply::drift(&p);
        assert_eq!(drift.len(), 1, "{}: {drift:?}", t.name);
        assert_eq!(
            (
                drift[0].path.as_str(),
                drift[0].live.as_deref(),
                drift[0].desired.as_deref(),
                drift[0].changed_by.clone()
            ),
            (
                ".data.colour",
                Some("red"),
                Some("blue"),
                vec!["hand-edit".to_string()]
            ),
            "{}",
            t.name
        );
        // A delete aimed at another incarnation of the object is refused.
        let e = c
            .delete(
                &key,
                &DeleteOptions {
                    uid: Some("not-its-uid".into()),
                    ..Default::default()
                },
            )
            .expect_err("a precondition");
        assert_eq!(e.code, 409, "{}", t.name);
        assert!(
            e.message.starts_with("Operation cannot be fulfilled on configmaps \"settings\": Precondition failed: UID in precondition: not-its-uid, UID in object meta: "),
            "{}: {}",
            t.name,
            e.message
        );
        assert!(c.get(&key).expect("get").is_some(), "{}", t.name);
        cleanup(c, ns);
    }
}

#[test]
fn contract_every_object_the_server_would_refuse_is_named_before_anything_is_written() {
    let dir = scratch("contract-refuse-data");
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: contract-fine, namespace: default}\ndata: {a: b}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: lost, namespace: contract-nowhere}\ndata: {a: b}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: lost, namespace: contract-elsewhere}\n";
    let state = desired(&dir, "state", yaml);
    for mut t in targets("refuse") {
        let c = t.cluster.as_mut();
        let inv = inventory("contract-refuse");
        let p = plan::plan(c, &state.objects, &state.graph, &inv, &state.held).expect("plan");
        let refused: Vec<(String, String)> = p
            .changes()
            .filter_map(|ch| Some((ch.object.clone(), ch.error.clone()?)))
            .collect();
        assert_eq!(
            refused,
            vec![
                (
                    "ServiceAccount/contract-elsewhere/lost".to_string(),
                    "Error from server (NotFound): namespaces \"contract-elsewhere\" not found"
                        .to_string()
                ),
                (
                    "ConfigMap/contract-nowhere/lost".to_string(),
                    "Error from server (NotFound): namespaces \"contract-nowhere\" not found"
                        .to_string()
                ),
            ],
            "{}",
            t.name
        );
        let fine = ObjectKey {
            group: String::new(),
            kind: "ConfigMap".into(),
            namespace: "default".into(),
            name: "contract-fine".into(),
        };
        assert_eq!(
            c.get(&fine).expect("get"),
            None,
            "{}: planning writes nothing",
            t.name
        );
    }
}

#[test]
fn contract_a_failed_object_skips_what_waits_for_it_and_is_named_as_the_culprit() {
    let dir = scratch("contract-skip-data");
    let ns = "contract-skip";
    let yaml = format!(
        "{}---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: {ns}}}\nspec:\n  progressDeadlineSeconds: 30\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      containers:\n      - {{name: web, image: 'nginx:no-such-tag'}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after\n  namespace: {ns}\n  annotations: {{config.kubernetes.io/depends-on: apps/namespaces/{ns}/Deployment/web}}\ndata: {{a: b}}\n",
        namespace(ns)
    );
    let state = desired(&dir, "state", &yaml);
    let fault = kiln::cluster::sim::Fault {
        kind: "Deployment".into(),
        namespace: ns.into(),
        name: "web".into(),
        fault: kiln::cluster::sim::FaultKind::ImagePullBackOff,
    };
    for mut t in targets_with_fault(
        "skip",
        fault,
        &format!("Deployment/{ns}/web=image-pull-backoff"),
    ) {
        let (name, c) = (t.name, t.cluster.as_mut());
        let inv = inventory(ns);
        let p = plan::plan(c, &state.objects, &state.graph, &inv, &state.held).expect("plan");
        let report = apply::apply(c, &p, &settings()).expect("apply");
        let outcome = |name: &str| {
            report
                .outcomes
                .iter()
                .find(|o| o.object == name)
                .unwrap_or_else(|| panic!("{name}: {:?}", report.outcomes))
                .clone()
        };
        let web = outcome(&format!("Deployment/{ns}/web"));
        // Timed out, or Failed once its progress deadline passed: either way the culprit.
        assert!(
            web.error
                .as_deref()
                .is_some_and(|e| e.starts_with("timed out after "))
                || web.status == kiln::status::Status::Failed,
            "{name}: {web:?}"
        );
        let after = outcome(&format!("ConfigMap/{ns}/after"));
        assert_eq!(
            (after.word(), after.blocked_by.clone()),
            ("Skipped".to_string(), vec![format!("Deployment/{ns}/web")]),
            "{name}: only the culprit is named"
        );
        assert_eq!(
            report.prune_skipped.as_deref(),
            Some("2 objects did not become ready"),
            "{name}"
        );
        let after = ObjectKey {
            group: String::new(),
            kind: "ConfigMap".into(),
            namespace: ns.into(),
            name: "after".into(),
        };
        assert_eq!(c.get(&after).expect("get"), None, "{name}: not written");
        cleanup(c, ns);
    }
}

/// One target of the prune-failure check: `inject` breaks the delete after the first apply.
fn prune_failure_check<C: Cluster>(name: &str, c: &mut C, inject: impl Fn(&mut C)) {
    let dir = scratch(&format!("contract-prune-fail-{}", name.len()));
    let ns = "contract-prune-fail";
    let cm = |name: &str| {
        format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {ns}}}\ndata: {{k: v}}\n"
        )
    };
    let first = desired(
        &dir,
        "first",
        &format!("{}{}{}", namespace(ns), cm("kept"), cm("gone")),
    );
    let second = desired(&dir, "second", &format!("{}{}", namespace(ns), cm("kept")));
    let gone = ObjectKey {
        group: String::new(),
        kind: "ConfigMap".into(),
        namespace: ns.into(),
        name: "gone".into(),
    };
    let inv = inventory(ns);
    apply_state(c, &inv, &first);
    inject(c);
    let p = plan::plan(c, &second.objects, &second.graph, &inv, &second.held).expect("plan");
    let report = apply::apply(c, &p, &settings()).expect("apply");
    let failures: Vec<(String, bool)> = report
        .prune_failures()
        .iter()
        .map(|p| {
            (
                p.object.clone(),
                p.error
                    .as_deref()
                    .is_some_and(|e| e.contains("simulated fault")),
            )
        })
        .collect();
    assert_eq!(failures, vec![(gone.to_string(), true)], "{name}");
    assert!(c.get(&gone).expect("get").is_some(), "{name}: still there");
    // The next run finds it in the inventory and prunes it.
    let p = plan::plan(c, &second.objects, &second.graph, &inv, &second.held).expect("plan");
    assert!(
        p.prune
            .iter()
            .flatten()
            .any(|ch| ch.key == gone && ch.action == Action::Delete),
        "{name}: still a member"
    );
    let report = apply::apply(c, &p, &settings()).expect("apply");
    assert!(report.prune_failures().is_empty(), "{name}");
    assert_eq!(c.get(&gone).expect("get"), None, "{name}: pruned");
    cleanup(c, ns);
}

#[test]
fn contract_a_prune_the_server_refuses_keeps_the_object_in_the_inventory_until_a_later_run() {
    let fault = kiln::cluster::sim::Fault {
        kind: "ConfigMap".into(),
        namespace: "contract-prune-fail".into(),
        name: "gone".into(),
        fault: kiln::cluster::sim::FaultKind::FailWrites {
            times: 1,
            code: 500,
        },
    };
    let mut sim = SimCluster::new(SimConfig::default());
    prune_failure_check("simulator", &mut sim, |s| s.inject(fault.clone()));
    let server = ApiServer::new(
        SimCluster::new(SimConfig::default()),
        Clock::Wall { scale: 50.0 },
    );
    let mut client = KubeCluster::with_service(server.clone(), "in-process").expect("client");
    prune_failure_check("client, in-process", &mut client, |_| {
        server.lock().inject(fault.clone())
    });
    say_skipped(
        "contract prune-fail: kiln sim serve and a real cluster skipped: the fault comes after the first apply",
    );
}
