//! The simulator against the record of a real kube-apiserver v1.36
//! (`../shared/reference/apiserver-scenarios/`): each test drives the simulator through the
//! steps of one scenario and compares its answers with what the real server answered, after the
//! record's own normalisation (`normalise.py`: uids, times, resourceVersions, generated names).
//! Where kubectl adds text of its own around a server's answer (the conflict advice, "error
//! when creating"), the server's part is compared.

use super::*;
use crate::cluster::{ApplyOptions, Cluster, DeleteOptions, Propagation};
use crate::syntax::{Limits, parse};
use crate::util::Pointer;
use regex::Regex;
use std::path::PathBuf;
use std::sync::LazyLock;

const NS: &str = "scn-ns";

fn scenarios() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/apiserver-scenarios")
}

/// One recorded step: kubectl's exit status, stdout and stderr (normalised).
#[derive(Debug)]
struct Recorded {
    exit: i32,
    stdout: String,
    stderr: String,
}

fn recorded(scenario: &str, step: usize) -> Recorded {
    let text = std::fs::read_to_string(scenarios().join(scenario).join("expected.txt"))
        .expect("the apiserver scenarios are beside the repository");
    let head = format!("## step {step}: ");
    let start = text
        .find(&head)
        .unwrap_or_else(|| panic!("{scenario} has no step {step}"));
    let body = &text[start..];
    let end = body[1..]
        .find("\n## step ")
        .map(|i| i + 1)
        .unwrap_or(body.len());
    let body = &body[..end];
    let exit = body
        .lines()
        .find_map(|l| l.strip_prefix("exit: "))
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(-1);
    let out_at = body.find("--- stdout\n").map(|i| i + 11).unwrap_or(0);
    let err_at = body.find("--- stderr\n").unwrap_or(body.len());
    let stdout = body[out_at..err_at].trim_end().to_string();
    let stderr = body.get(err_at + 11..).unwrap_or("").trim_end().to_string();
    Recorded {
        exit,
        stdout,
        stderr,
    }
}

/// The server's part of a recorded error: kubectl's conflict advice cut off.
fn server_error(r: &Recorded) -> String {
    assert_ne!(r.exit, 0, "the step succeeded: {r:?}");
    match r.stderr.find("\nPlease review the fields above") {
        Some(i) => r.stderr[..i].to_string(),
        None => r.stderr.clone(),
    }
}

fn recorded_json(scenario: &str, step: usize) -> Value {
    let r = recorded(scenario, step);
    assert_eq!(r.exit, 0, "{scenario} step {step} failed: {r:?}");
    serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{scenario} step {step} is not JSON: {e}"))
}

/// The first document of a scenario file; `-n NS` as kubectl sets it.
fn manifest(scenario: &str, file: &str) -> Value {
    let text =
        std::fs::read_to_string(scenarios().join(scenario).join(file)).expect("scenario file");
    let parsed = parse(&text, &Limits::default(), &|_| {
        crate::diag::Location::file(file)
    });
    assert!(
        parsed.diagnostics.is_empty(),
        "{file}: {:?}",
        parsed.diagnostics
    );
    let mut v = parsed
        .documents
        .into_iter()
        .next()
        .expect("a document")
        .value;
    let cluster_scoped = matches!(
        v.get("kind").and_then(Value::as_str),
        Some("CustomResourceDefinition" | "Namespace")
    );
    if !cluster_scoped && v.at("/metadata/namespace").is_none() {
        meta_mut(&mut v).insert("namespace".into(), json!(NS));
    }
    v
}

fn manifests(scenario: &str, file: &str) -> Vec<Value> {
    let text =
        std::fs::read_to_string(scenarios().join(scenario).join(file)).expect("scenario file");
    parse(&text, &Limits::default(), &|_| {
        crate::diag::Location::file(file)
    })
    .documents
    .into_iter()
    .map(|d| d.value)
    .collect()
}

fn by(manager: &str) -> ApplyOptions {
    ApplyOptions {
        manager: manager.into(),
        force: false,
        dry_run: false,
    }
}

fn forced(manager: &str) -> ApplyOptions {
    ApplyOptions {
        manager: manager.into(),
        force: true,
        dry_run: false,
    }
}

fn dry(manager: &str) -> ApplyOptions {
    ApplyOptions {
        manager: manager.into(),
        force: false,
        dry_run: true,
    }
}

/// A cluster with the scenario namespace (as `kubectl create namespace` makes it).
fn cluster() -> SimCluster {
    let mut sim = SimCluster::new(SimConfig::default());
    sim.apply(
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
        &by("kubectl-create"),
    )
    .unwrap();
    sim
}

fn k(group: &str, kind: &str, name: &str) -> ObjectKey {
    ObjectKey {
        group: group.into(),
        kind: kind.into(),
        namespace: NS.into(),
        name: name.into(),
    }
}

fn cluster_key(group: &str, kind: &str, name: &str) -> ObjectKey {
    ObjectKey {
        group: group.into(),
        kind: kind.into(),
        namespace: String::new(),
        name: name.into(),
    }
}

fn get(sim: &mut SimCluster, key: &ObjectKey) -> Value {
    sim.get(key)
        .unwrap()
        .unwrap_or_else(|| panic!("{key} is not stored"))
}

/// As `kubectl get -o json` shows an object: without managedFields.
fn shown(mut v: Value) -> Value {
    meta_mut(&mut v).remove("managedFields");
    v
}

static UID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b").unwrap()
});
static TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})").unwrap()
});
static GEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"-([bcdfghjklmnpqrstvwxz2456789]{5,10})($|[^A-Za-z0-9])").unwrap()
});

fn norm_string(s: &str) -> String {
    let s = s.replace(NS, "<ns>");
    let s = UID.replace_all(&s, "<uid>");
    let s = TIME.replace_all(&s, "<time>");
    GEN.replace_all(&s, "-<gen>$2").into_owned()
}

/// `normalise.py`'s structural rules.
fn norm(v: &Value, key: Option<&str>) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, c) in m {
                let n = match (k.as_str(), c) {
                    ("uid", Value::String(s)) if UID.is_match(s) => json!("<uid>"),
                    ("resourceVersion", Value::String(s))
                        if s.chars().all(|c| c.is_ascii_digit()) && !s.is_empty() =>
                    {
                        json!("<rv>")
                    }
                    ("managedFields", Value::Array(entries)) => norm_managed(entries),
                    _ => norm(c, Some(k)),
                };
                out.insert(norm_string(k), n);
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(|i| norm(i, key)).collect();
            if key == Some("items") {
                items.sort_by_key(|i| i.to_string());
            }
            Value::Array(items)
        }
        Value::String(s) => match key {
            Some(
                "clusterIP" | "clusterIPs" | "podIP" | "podIPs" | "hostIP" | "hostIPs"
                | "loadBalancerIP" | "ip",
            ) => json!("<ip>"),
            Some("pod-template-hash" | "controller-revision-hash") => json!("<gen>"),
            _ => json!(norm_string(s)),
        },
        other => other.clone(),
    }
}

fn norm_managed(entries: &[Value]) -> Value {
    let mut out: Vec<Value> = entries
        .iter()
        .filter(|e| e.get("manager").and_then(Value::as_str) != Some("kube-controller-manager"))
        .map(|e| {
            let mut item = json!({
                "manager": e["manager"],
                "operation": e["operation"],
                "apiVersion": e["apiVersion"],
                "fields": e["fields"].as_array().map(|f| { let mut f: Vec<String> = f.iter().filter_map(|p| p.as_str().map(norm_string)).collect(); f.sort(); f }).unwrap_or_default(),
            });
            if let Some(s) = e.get("subresource") {
                item["subresource"] = s.clone();
            }
            item
        })
        .collect();
    out.sort_by_key(|e| {
        (
            e["manager"].to_string(),
            e["operation"].to_string(),
            e.get("subresource")
                .map(Value::to_string)
                .unwrap_or_default(),
            e["apiVersion"].to_string(),
        )
    });
    Value::Array(out)
}

fn normalised(v: &Value) -> Value {
    norm(v, None)
}

fn ours(e: &ApiError) -> String {
    norm_string(&e.to_string())
}

// 01: a custom resource before its CRD, the CRD Established, the CRD deleted.
#[test]
fn custom_resources_wait_for_their_crd_to_be_established() {
    let s = "01-crd-before-cr";
    let mut sim = cluster();
    let widget = manifest(s, "cr.yaml");
    let crd = manifest(s, "crd.yaml");
    let e = sim.apply(&widget, &by("kubectl")).unwrap_err();
    assert_eq!(
        e.message,
        "no matches for kind \"Widget\" in version \"scn.example.com/v1\""
    );
    // kubectl wraps the same discovery answer in its own words.
    assert!(server_error(&recorded(s, 2)).contains(&e.message));
    let e = sim.apply(&widget, &dry("kubectl")).unwrap_err();
    assert!(server_error(&recorded(s, 4)).contains(&e.message));
    assert!(sim.resource("scn.example.com/v1", "Widget").is_none());

    sim.apply(&crd, &by("kubectl")).unwrap();
    // Stored, not yet served: the custom resource still fails.
    assert!(sim.apply(&widget, &by("kubectl")).is_err());
    sim.sleep(sim.config.crd_establish);
    let crd_key = cluster_key(
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        "widgets.scn.example.com",
    );
    assert_eq!(
        normalised(&get(&mut sim, &crd_key)["status"]),
        recorded_json(s, 8)
    );
    sim.apply(&widget, &by("kubectl")).unwrap();
    assert_eq!(
        normalised(&get(&mut sim, &k("scn.example.com", "Widget", "w1"))),
        recorded_json(s, 10)
    );

    // Deleting the CRD removes its objects and stops serving the kind.
    assert!(sim.delete(&crd_key, &DeleteOptions::default()).unwrap());
    sim.sleep(sim.config.tick);
    let e = sim.get(&k("scn.example.com", "Widget", "w1")).unwrap_err();
    assert!(server_error(&recorded(s, 12)).starts_with(&ours(&e)), "{e}");
    assert!(sim.objects().all(|(key, _)| key.kind != "Widget"));
}

// 02: a namespaced object in a namespace that does not exist, or is being deleted.
#[test]
fn objects_in_a_missing_or_terminating_namespace_are_refused() {
    let s = "02-namespace-missing";
    let mut sim = SimCluster::new(SimConfig::default());
    let cm = manifest(s, "cm.yaml");
    let e = sim.apply(&cm, &by("kubectl")).unwrap_err();
    assert_eq!(ours(&e), server_error(&recorded(s, 1)));
    let e = sim.apply(&cm, &dry("kubectl")).unwrap_err();
    assert_eq!(ours(&e), server_error(&recorded(s, 4)));
    // Listing an absent namespace is an empty list (step 6: "No resources found").
    assert!(
        sim.list("v1", "ConfigMap", Some(NS), "")
            .unwrap()
            .is_empty()
    );
    let elsewhere = manifest(s, "cm-elsewhere.yaml");
    let e = sim.apply(&elsewhere, &by("kubectl")).unwrap_err();
    assert_eq!(ours(&e), server_error(&recorded(s, 9)));

    // A terminating namespace takes updates of what it holds, nothing new.
    let mut sim = cluster();
    sim.apply(&cm, &by("kubectl")).unwrap();
    sim.delete(&cluster_key("", "Namespace", NS), &DeleteOptions::default())
        .unwrap();
    let mut other = cm.clone();
    other["metadata"]["name"] = json!("other");
    let e = sim.apply(&other, &by("kubectl")).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "Error from server (Forbidden): configmaps \"other\" is forbidden: unable to create new content in namespace {NS} because it is being terminated"
        )
    );
}

// 03: a Deployment's selector is immutable, whoever changes it.
#[test]
fn deployment_selectors_are_immutable() {
    let s = "03-deployment-selector-immutable";
    let mut sim = cluster();
    sim.apply(&manifest(s, "deploy.yaml"), &by("kubectl"))
        .unwrap();
    let new_selector = manifest(s, "deploy-new-selector.yaml");
    let e = sim.apply(&new_selector, &by("kubectl")).unwrap_err();
    assert_eq!(ours(&e), server_error(&recorded(s, 3)));
    let e = sim
        .apply(&manifest(s, "deploy-selector-only.yaml"), &by("kubectl"))
        .unwrap_err();
    assert_eq!(ours(&e), server_error(&recorded(s, 4)));
    // Another manager first meets the owner's fields (the selector is one atomic field).
    let e = sim.apply(&new_selector, &by("other")).unwrap_err();
    assert_eq!(ours(&e), server_error(&recorded(s, 5)));
    let e = sim.apply(&new_selector, &forced("other")).unwrap_err();
    assert_eq!(ours(&e), server_error(&recorded(s, 6)));
    let selector = get(&mut sim, &k("apps", "Deployment", "web"))["spec"]["selector"].clone();
    assert_eq!(selector, recorded_json(s, 8));
}

// 04: immutable fields of Services, Jobs, PVCs, ConfigMaps and Secrets.
#[test]
fn immutable_fields_are_refused_with_the_servers_messages() {
    let s = "04-immutable-fields";
    let mut sim = cluster();
    sim.apply(&manifest(s, "svc.yaml"), &by("kubectl")).unwrap();
    assert_eq!(
        normalised(&get(&mut sim, &k("", "Service", "api"))["spec"]),
        recorded_json(s, 3)
    );
    let e = sim
        .apply(&manifest(s, "svc-new-ip.yaml"), &by("kubectl"))
        .unwrap_err();
    assert_eq!(ours(&e), server_error(&recorded(s, 4)));
    let e = sim
        .apply(&manifest(s, "svc-headless.yaml"), &by("kubectl"))
        .unwrap_err();
    assert_eq!(ours(&e), server_error(&recorded(s, 6)));
    // Leaving clusterIP out keeps the allocated one.
    sim.apply(&manifest(s, "svc.yaml"), &by("kubectl")).unwrap();
    assert_eq!(recorded(s, 7).exit, 0);

    sim.apply(&manifest(s, "job.yaml"), &by("kubectl")).unwrap();
    let e = sim
        .apply(&manifest(s, "job-new-image.yaml"), &by("kubectl"))
        .unwrap_err();
    let real = server_error(&recorded(s, 9));
    // The server prints the template as its internal Go type: exactly that.
    assert_eq!(ours(&e), real);
    assert_eq!(
        normalised(&get(&mut sim, &k("batch", "Job", "migrate"))["spec"]),
        recorded_json(s, 10)
    );

    sim.apply(&manifest(s, "pvc.yaml"), &by("kubectl")).unwrap();
    for (file, step) in [("pvc-new-class.yaml", 12), ("pvc-bigger.yaml", 13)] {
        let e = sim.apply(&manifest(s, file), &by("kubectl")).unwrap_err();
        // The server appends a diff of its internal types.
        assert_eq!(ours(&e), server_error(&recorded(s, step)));
    }
    // Its StorageClass does not exist: the claim stays Pending.
    sim.sleep(5_000);
    assert_eq!(
        get(&mut sim, &k("", "PersistentVolumeClaim", "data"))["status"],
        recorded_json(s, 14)
    );

    sim.apply(&manifest(s, "cm-immutable.yaml"), &by("kubectl"))
        .unwrap();
    for (file, step) in [
        ("cm-immutable-new-data.yaml", 16),
        ("cm-immutable-false.yaml", 17),
        ("cm-immutable-dropped.yaml", 18),
    ] {
        let e = sim.apply(&manifest(s, file), &by("kubectl")).unwrap_err();
        assert_eq!(ours(&e), server_error(&recorded(s, step)), "{file}");
    }
    assert_eq!(
        normalised(&shown(get(&mut sim, &k("", "ConfigMap", "frozen")))),
        recorded_json(s, 19)
    );
    sim.delete(&k("", "ConfigMap", "frozen"), &DeleteOptions::default())
        .unwrap();
    sim.apply(&manifest(s, "cm-immutable-new-data.yaml"), &by("kubectl"))
        .unwrap();
    sim.apply(&manifest(s, "secret-immutable.yaml"), &by("kubectl"))
        .unwrap();
    let e = sim
        .apply(&manifest(s, "secret-immutable-new.yaml"), &by("kubectl"))
        .unwrap_err();
    assert_eq!(ours(&e), server_error(&recorded(s, 23)));
}

// 05: conflicts between appliers, with `kubectl scale` and with an autoscaler's patch.
#[test]
fn conflicts_name_the_other_managers_as_the_server_does() {
    let s = "05-ssa-conflicts";
    let mut sim = cluster();
    let web = k("apps", "Deployment", "web");
    let a = manifest(s, "deploy-a.yaml");
    let b = manifest(s, "replicas-b.yaml");
    sim.apply(&a, &by("mgr-a")).unwrap();
    let e = sim.apply(&b, &by("mgr-b")).unwrap_err();
    assert_eq!(e.code, 409);
    assert_eq!(ours(&e), server_error(&recorded(s, 3)));
    assert_eq!(
        get(&mut sim, &web)["spec"]["replicas"].to_string(),
        recorded(s, 4).stdout
    );
    sim.apply(&b, &forced("mgr-b")).unwrap();
    assert_eq!(
        get(&mut sim, &web)["spec"]["replicas"].to_string(),
        recorded(s, 6).stdout
    );
    assert_eq!(
        normalised(&get(&mut sim, &web))["metadata"]["managedFields"],
        recorded_json(s, 7)
    );
    let e = sim.apply(&a, &by("mgr-a")).unwrap_err();
    assert_eq!(ours(&e), server_error(&recorded(s, 8)));

    sim.update_as(&web, "kubectl", "scale", &|d| {
        d["spec"]["replicas"] = json!(5)
    })
    .unwrap();
    assert_eq!(
        normalised(&get(&mut sim, &web))["metadata"]["managedFields"],
        recorded_json(s, 10)
    );
    let e = sim.apply(&b, &by("mgr-b")).unwrap_err();
    assert_eq!(ours(&e), server_error(&recorded(s, 11)));
    sim.update_as(&web, "hpa", "", &|d| d["spec"]["replicas"] = json!(4))
        .unwrap();
    let e = sim.apply(&b, &by("mgr-b")).unwrap_err();
    assert_eq!(ours(&e), server_error(&recorded(s, 13)));
    assert_eq!(
        get(&mut sim, &web)["spec"]["replicas"].to_string(),
        recorded(s, 14).stdout
    );
    assert_eq!(
        normalised(&get(&mut sim, &web))["metadata"]["managedFields"],
        recorded_json(s, 15)
    );
}

// 06: fields a manager stops applying go, unless another manager owns them.
#[test]
fn fields_dropped_from_a_manifest_are_removed_unless_co_owned() {
    let s = "06-ssa-field-removal";
    let mut sim = cluster();
    let cm = k("", "ConfigMap", "settings");
    sim.apply(&manifest(s, "a-full.yaml"), &by("mgr-a"))
        .unwrap();
    sim.apply(&manifest(s, "b-shared.yaml"), &by("mgr-b"))
        .unwrap();
    assert_eq!(normalised(&get(&mut sim, &cm)), recorded_json(s, 4));
    sim.apply(&manifest(s, "a-drift-only.yaml"), &by("mgr-a"))
        .unwrap();
    assert_eq!(normalised(&get(&mut sim, &cm)), recorded_json(s, 6));
    sim.update_as(&cm, "kubectl-patch", "", &|c| {
        c["data"]["drift"] = json!("2")
    })
    .unwrap();
    assert_eq!(normalised(&get(&mut sim, &cm)), recorded_json(s, 8));
    let e = sim
        .apply(&manifest(s, "a-drift-only.yaml"), &by("mgr-a"))
        .unwrap_err();
    assert_eq!(ours(&e), server_error(&recorded(s, 9)));
    sim.apply(&manifest(s, "a-nothing.yaml"), &by("mgr-a"))
        .unwrap();
    assert_eq!(normalised(&get(&mut sim, &cm)), recorded_json(s, 11));
}

// 07: associative lists merge item by item, by their keys (with defaulted key fields).
#[test]
fn list_maps_merge_by_key_across_managers() {
    let s = "07-ssa-list-map-merge";
    let mut sim = cluster();
    let web = k("apps", "Deployment", "web");
    let containers = |sim: &mut SimCluster| {
        normalised(&get(sim, &web)["spec"]["template"]["spec"]["containers"])
    };
    let names = |sim: &mut SimCluster| {
        let d = get(sim, &web);
        d["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let managed =
        |sim: &mut SimCluster| normalised(&get(sim, &web))["metadata"]["managedFields"].clone();
    sim.apply(&manifest(s, "a.yaml"), &by("mgr-a")).unwrap();
    sim.apply(&manifest(s, "b.yaml"), &by("mgr-b")).unwrap();
    assert_eq!(containers(&mut sim), recorded_json(s, 4));
    assert_eq!(managed(&mut sim), recorded_json(s, 5));
    sim.apply(&manifest(s, "a.yaml"), &by("mgr-a")).unwrap();
    assert_eq!(names(&mut sim), recorded(s, 7).stdout);
    let e = sim
        .apply(&manifest(s, "b-image-of-a.yaml"), &by("mgr-b"))
        .unwrap_err();
    assert_eq!(ours(&e), server_error(&recorded(s, 8)));
    sim.apply(&manifest(s, "b-port-on-a.yaml"), &by("mgr-b"))
        .unwrap();
    assert_eq!(containers(&mut sim), recorded_json(s, 10));
    assert_eq!(managed(&mut sim), recorded_json(s, 11));
    // Container a is co-owned by key: it stays, without the image only mgr-a set.
    let e = sim
        .apply(&manifest(s, "a-without-a.yaml"), &by("mgr-a"))
        .unwrap_err();
    assert_eq!(ours(&e), server_error(&recorded(s, 12)));
    assert_eq!(containers(&mut sim), recorded_json(s, 13));
    sim.apply(&manifest(s, "b-nothing.yaml"), &by("mgr-b"))
        .unwrap();
    assert_eq!(containers(&mut sim), recorded_json(s, 15));
    assert_eq!(managed(&mut sim), recorded_json(s, 16));
    sim.apply(&manifest(s, "a-without-a.yaml"), &by("mgr-a"))
        .unwrap();
    assert_eq!(names(&mut sim), recorded(s, 18).stdout);
}

// 08: generation moves on spec changes (and Deployment annotations), not on metadata or status.
#[test]
fn generation_follows_the_servers_rules() {
    let s = "08-generation";
    let mut sim = cluster();
    let generation =
        |sim: &mut SimCluster, key: &ObjectKey| get(sim, key)["metadata"]["generation"].to_string();
    let d = k("apps", "Deployment", "gen");
    let steps = [
        ("deploy.yaml", 3),
        ("deploy-label.yaml", 5),
        ("deploy-annotation.yaml", 7),
        ("deploy-spec.yaml", 9),
        ("deploy-spec.yaml", 11),
    ];
    for (file, step) in steps {
        sim.apply(&manifest(s, file), &by("kubectl")).unwrap();
        assert_eq!(generation(&mut sim, &d), recorded(s, step).stdout, "{file}");
    }
    sim.apply(&manifest(s, "deploy-status.yaml"), &by("kubectl"))
        .unwrap();
    let v = get(&mut sim, &d);
    let replicas = v
        .at("/status/replicas")
        .map(Value::to_string)
        .unwrap_or_default();
    assert_eq!(
        format!(
            "generation={} status.replicas={replicas}",
            v["metadata"]["generation"]
        ),
        recorded(s, 13).stdout
    );
    assert_eq!(
        normalised(&v)["metadata"]["managedFields"],
        recorded_json(s, 15)
    );

    for crd in manifests(s, "crds.yaml") {
        sim.apply(&crd, &by("kubectl")).unwrap();
    }
    sim.sleep(sim.config.crd_establish);
    let c = k("scn.example.com", "Counter", "c1");
    sim.apply(&manifest(s, "counter.yaml"), &by("kubectl"))
        .unwrap();
    assert_eq!(generation(&mut sim, &c), recorded(s, 19).stdout);
    sim.apply(&manifest(s, "counter-meta.yaml"), &by("kubectl"))
        .unwrap();
    assert_eq!(generation(&mut sim, &c), recorded(s, 21).stdout);
    sim.apply(&manifest(s, "counter-status.yaml"), &by("kubectl"))
        .unwrap();
    assert_eq!(normalised(&get(&mut sim, &c)), recorded_json(s, 23));
    sim.update_as(&c, "kubectl-patch", "status", &|v| {
        v["status"] = json!({"ready": true})
    })
    .unwrap();
    assert_eq!(normalised(&get(&mut sim, &c)), recorded_json(s, 25));
    sim.apply(&manifest(s, "counter-spec.yaml"), &by("kubectl"))
        .unwrap();
    assert_eq!(generation(&mut sim, &c), recorded(s, 27).stdout);

    let n = k("scn.example.com", "Note", "n1");
    sim.apply(&manifest(s, "note.yaml"), &by("kubectl"))
        .unwrap();
    sim.apply(&manifest(s, "note-meta.yaml"), &by("kubectl"))
        .unwrap();
    assert_eq!(generation(&mut sim, &n), recorded(s, 30).stdout);
    // Without a status subresource, status is part of the object.
    sim.apply(&manifest(s, "note-status.yaml"), &by("kubectl"))
        .unwrap();
    assert_eq!(normalised(&get(&mut sim, &n)), recorded_json(s, 32));
}

// 09: a deleted namespace is Terminating, then gone with everything in it.
#[test]
fn namespace_deletion_takes_its_contents() {
    let s = "09-namespace-deletion";
    let mut sim = cluster();
    sim.apply(&manifest(s, "cm.yaml"), &by("kubectl")).unwrap();
    sim.apply(&manifest(s, "deploy.yaml"), &by("kubectl"))
        .unwrap();
    sim.sleep(1_000);
    assert_eq!(sim.list("v1", "Pod", Some(NS), "").unwrap().len(), 1);
    let ns = cluster_key("", "Namespace", NS);
    sim.delete(&ns, &DeleteOptions::default()).unwrap();
    let v = get(&mut sim, &ns);
    let line = format!(
        "phase={} finalizers={} deletionTimestamp={}",
        v["status"]["phase"].as_str().unwrap(),
        v["spec"]["finalizers"],
        v["metadata"]["deletionTimestamp"].as_str().unwrap()
    );
    assert_eq!(norm_string(&line), recorded(s, 6).stdout);
    sim.sleep(sim.config.namespace_finalize + sim.config.tick);
    assert!(sim.get(&ns).unwrap().is_none());
    assert!(sim.get(&k("", "ConfigMap", "settings")).unwrap().is_none());
    assert!(
        sim.list("apps/v1", "ReplicaSet", Some(NS), "")
            .unwrap()
            .is_empty()
    );
    assert!(sim.list("v1", "Pod", Some(NS), "").unwrap().is_empty());
    assert_eq!(recorded_json(s, 10)["items"], json!([]));
}

/// A child manifest of scenario 10 rendered from its owner (as the scenario's go-template does).
fn child_of(sim: &mut SimCluster, s: &str, file: &str, owner: &str) -> Value {
    let text = std::fs::read_to_string(scenarios().join(s).join(file)).unwrap();
    let o = get(sim, &k("", "ConfigMap", owner));
    let text = text
        .replace("{{.metadata.name}}", owner)
        .replace("{{.metadata.uid}}", o["metadata"]["uid"].as_str().unwrap());
    let mut v = parse(&text, &Limits::default(), &|_| {
        crate::diag::Location::file(file)
    })
    .documents
    .remove(0)
    .value;
    meta_mut(&mut v).insert("namespace".into(), json!(NS));
    v
}

// 10: garbage collection: background, orphan and foreground deletion; dangling owners.
#[test]
fn garbage_collection_follows_owner_references() {
    let s = "10-owner-references-gc";
    let mut sim = cluster();
    sim.apply(&manifest(s, "owner-a.yaml"), &by("kubectl"))
        .unwrap();
    let child = child_of(&mut sim, s, "child-a.tmpl", "owner-a");
    sim.apply(&child, &by("kubectl")).unwrap();
    assert_eq!(
        normalised(&shown(get(&mut sim, &k("", "ConfigMap", "child-a")))),
        recorded_json(s, 4)
    );
    sim.delete(&k("", "ConfigMap", "owner-a"), &DeleteOptions::default())
        .unwrap();
    sim.sleep(sim.config.tick);
    assert!(sim.get(&k("", "ConfigMap", "child-a")).unwrap().is_none());
    assert_eq!(
        server_error(&recorded(s, 6)),
        "Error from server (NotFound): configmaps \"child-a\" not found"
    );

    sim.apply(&manifest(s, "owner-b.yaml"), &by("kubectl"))
        .unwrap();
    let child = child_of(&mut sim, s, "child-b.tmpl", "owner-b");
    sim.apply(&child, &by("kubectl")).unwrap();
    sim.delete(
        &k("", "ConfigMap", "owner-b"),
        &DeleteOptions {
            propagation: Propagation::Orphan,
            ..Default::default()
        },
    )
    .unwrap();
    sim.sleep(sim.config.tick);
    assert_eq!(
        normalised(&get(&mut sim, &k("", "ConfigMap", "child-b"))),
        recorded_json(s, 10)
    );

    sim.apply(&manifest(s, "owner-c.yaml"), &by("kubectl"))
        .unwrap();
    let child = child_of(&mut sim, s, "child-c.tmpl", "owner-c");
    sim.apply(&child, &by("kubectl")).unwrap();
    sim.delete(
        &k("", "ConfigMap", "owner-c"),
        &DeleteOptions {
            propagation: Propagation::Foreground,
            ..Default::default()
        },
    )
    .unwrap();
    // The owner stays (with the foregroundDeletion finalizer) until its dependents are gone.
    assert!(
        get(&mut sim, &k("", "ConfigMap", "owner-c"))["metadata"]["finalizers"]
            .as_array()
            .unwrap()
            .contains(&json!("foregroundDeletion"))
    );
    sim.sleep(sim.config.tick);
    assert!(sim.get(&k("", "ConfigMap", "owner-c")).unwrap().is_none());
    assert!(sim.get(&k("", "ConfigMap", "child-c")).unwrap().is_none());
    assert_eq!(recorded(s, 14).exit, 1);

    sim.apply(&manifest(s, "child-dangling.yaml"), &by("kubectl"))
        .unwrap();
    sim.sleep(sim.config.tick);
    assert!(
        sim.get(&k("", "ConfigMap", "child-dangling"))
            .unwrap()
            .is_none()
    );
}

// 11: server dry-run computes the result, defaults and errors included, and stores nothing.
#[test]
fn dry_run_answers_without_storing() {
    let s = "11-dry-run";
    let mut sim = cluster();
    let cm = k("", "ConfigMap", "settings");
    let v = sim.apply(&manifest(s, "cm.yaml"), &dry("kubectl")).unwrap();
    assert_eq!(normalised(&v), recorded_json(s, 2));
    assert!(sim.get(&cm).unwrap().is_none());
    sim.apply(&manifest(s, "cm.yaml"), &by("kubectl")).unwrap();
    let v = sim
        .apply(&manifest(s, "cm-changed.yaml"), &dry("kubectl"))
        .unwrap();
    assert_eq!(normalised(&shown(v)), recorded_json(s, 10));
    assert_eq!(normalised(&shown(get(&mut sim, &cm))), recorded_json(s, 11));
    let v = sim
        .apply(&manifest(s, "deploy.yaml"), &dry("kubectl"))
        .unwrap();
    assert_eq!(normalised(&shown(v)), recorded_json(s, 12));
    sim.apply(&manifest(s, "deploy.yaml"), &by("kubectl"))
        .unwrap();
    let e = sim
        .apply(&manifest(s, "deploy-new-selector.yaml"), &dry("kubectl"))
        .unwrap_err();
    assert_eq!(ours(&e), server_error(&recorded(s, 14)));
    assert!(
        sim.delete(
            &cm,
            &DeleteOptions {
                propagation: Propagation::Background,
                dry_run: true,
                ..Default::default()
            }
        )
        .unwrap()
    );
    assert_eq!(
        get(&mut sim, &cm)["data"].to_string(),
        recorded(s, 16).stdout.replace(['\n', ' '], "")
    );
}

// 12: Deployment status as the controller writes it; with no nodes, nothing becomes available.
#[test]
fn deployment_status_and_progress_deadline_without_nodes() {
    let s = "12-deployment-status-no-nodes";
    let mut sim = SimCluster::new(SimConfig {
        nodes: 0,
        ..SimConfig::default()
    });
    sim.apply(
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
        &by("kubectl-create"),
    )
    .unwrap();
    sim.apply(&manifest(s, "web.yaml"), &by("kubectl")).unwrap();
    sim.apply(&manifest(s, "stuck.yaml"), &by("kubectl"))
        .unwrap();
    sim.sleep(10_000);
    assert_eq!(
        normalised(&shown(get(&mut sim, &k("apps", "Deployment", "web")))),
        recorded_json(s, 4)
    );
    let replicasets = json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": sim.list("apps/v1", "ReplicaSet", Some(NS), "app=web").unwrap().into_iter().map(shown).collect::<Vec<_>>()});
    assert_eq!(normalised(&replicasets), recorded_json(s, 5));
    let pods: Vec<String> = sim
        .list("v1", "Pod", Some(NS), "app=web")
        .unwrap()
        .iter()
        .map(|p| {
            let name = p["metadata"]["name"].as_str().unwrap();
            let generate = &name[..name.len() - 5];
            let owner = &p["metadata"]["ownerReferences"][0];
            norm_string(&format!(
                "{generate} owner={}/{} node= status={}",
                owner["kind"].as_str().unwrap(),
                owner["name"].as_str().unwrap(),
                p["status"]
            ))
        })
        .collect();
    assert_eq!(pods.join("\n"), recorded(s, 6).stdout);
    assert_eq!(
        normalised(&get(&mut sim, &k("apps", "Deployment", "stuck"))["status"]),
        recorded_json(s, 8)
    );
    let stuck = get(&mut sim, &k("apps", "Deployment", "stuck"));
    let status = crate::status::compute(Some(&stuck));
    assert_eq!(status.status, crate::status::Status::Failed);
    assert!(
        recorded(s, 10)
            .stderr
            .contains("exceeded its progress deadline")
    );
}

// 13: server-side apply refuses fields its schema does not declare, whatever the validation level.
#[test]
fn undeclared_fields_fail_the_typed_patch() {
    let s = "13-unknown-fields";
    let mut sim = cluster();
    let e = sim
        .apply(&manifest(s, "typo.yaml"), &by("kubectl"))
        .unwrap_err();
    assert_eq!(e.code, 500);
    assert_eq!(ours(&e), server_error(&recorded(s, 2)));
    assert!(sim.get(&k("apps", "Deployment", "typo")).unwrap().is_none());
    let e = sim
        .apply(&manifest(s, "typo-cm.yaml"), &by("kubectl"))
        .unwrap_err();
    assert_eq!(ours(&e), server_error(&recorded(s, 11)));
}

// Beyond the record: controllers, faults and determinism.

fn deployment(name: &str, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "app", "image": image}]}}},
    })
}

fn kstatus(sim: &mut SimCluster, key: &ObjectKey) -> crate::status::Status {
    crate::status::compute(Some(&get(sim, key))).status
}

#[test]
fn workloads_become_current_after_their_delays() {
    use crate::status::Status;
    let mut sim = cluster();
    sim.apply(&deployment("web", "nginx:1.27"), &by("kiln"))
        .unwrap();
    let web = k("apps", "Deployment", "web");
    sim.sleep(sim.config.tick);
    assert_eq!(kstatus(&mut sim, &web), Status::InProgress);
    sim.sleep(sim.config.pod_ready + sim.config.tick);
    assert_eq!(kstatus(&mut sim, &web), Status::Current);
    let d = get(&mut sim, &web);
    assert_eq!(d["status"]["availableReplicas"], json!(2));
    assert_eq!(
        d["status"]["conditions"][1]["reason"],
        json!("NewReplicaSetAvailable")
    );

    // A StatefulSet starts its Pods one by one and claims its volumes.
    let sts = json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": NS},
        "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}}, "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}},
                 "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]},
    });
    sim.apply(&sts, &by("kiln")).unwrap();
    let db = k("apps", "StatefulSet", "db");
    sim.sleep(sim.config.pod_ready + sim.config.tick);
    assert_eq!(
        sim.list("v1", "Pod", Some(NS), "app=db").unwrap().len(),
        2,
        "the second Pod starts once the first is ready"
    );
    assert_eq!(kstatus(&mut sim, &db), Status::InProgress);
    sim.sleep(sim.config.pod_ready + sim.config.tick);
    assert_eq!(kstatus(&mut sim, &db), Status::Current);
    assert_eq!(
        kstatus(&mut sim, &k("", "PersistentVolumeClaim", "data-db-1")),
        Status::Current
    );

    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "namespace": NS}, "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "busybox:1.36"}]}}}});
    sim.apply(&job, &by("kiln")).unwrap();
    let migrate = k("batch", "Job", "migrate");
    assert_eq!(
        kstatus(&mut sim, &migrate),
        Status::InProgress,
        "not started"
    );
    // kstatus counts a started Job as Current; completion is in its message.
    sim.sleep(sim.config.job_complete + sim.config.tick);
    let done = crate::status::compute(Some(&get(&mut sim, &migrate)));
    assert_eq!(
        (done.status, done.message.as_str()),
        (Status::Current, "Job Completed. succeeded: 1/1")
    );

    let ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": NS}, "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{"name": "a", "image": "agent:1"}]}}}});
    sim.apply(&ds, &by("kiln")).unwrap();
    sim.sleep(sim.config.pod_ready + sim.config.tick);
    assert_eq!(
        kstatus(&mut sim, &k("apps", "DaemonSet", "agent")),
        Status::Current
    );
    assert_eq!(
        sim.list("v1", "Pod", Some(NS), "app=agent").unwrap().len(),
        sim.config.nodes as usize
    );
}

#[test]
fn faults_fail_workloads_as_kstatus_reads_them() {
    use crate::status::Status;
    let mut sim = cluster();
    sim.inject(Fault {
        kind: "Deployment".into(),
        namespace: NS.into(),
        name: "broken".into(),
        fault: FaultKind::ImagePullBackOff,
    });
    sim.apply(&json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "broken", "namespace": NS},
        "spec": {"replicas": 1, "progressDeadlineSeconds": 30, "selector": {"matchLabels": {"app": "broken"}}, "template": {"metadata": {"labels": {"app": "broken"}}, "spec": {"containers": [{"name": "app", "image": "nginx:missing"}]}}}}), &by("kiln")).unwrap();
    let broken = k("apps", "Deployment", "broken");
    sim.sleep(10_000);
    assert_eq!(kstatus(&mut sim, &broken), Status::InProgress);
    let pod = sim
        .list("v1", "Pod", Some(NS), "app=broken")
        .unwrap()
        .remove(0);
    assert_eq!(
        pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
        json!("ImagePullBackOff")
    );
    sim.sleep(30_000);
    assert_eq!(kstatus(&mut sim, &broken), Status::Failed);

    sim.inject(Fault {
        kind: "Job".into(),
        namespace: NS.into(),
        name: "*".into(),
        fault: FaultKind::JobFails,
    });
    sim.apply(&json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "namespace": NS}, "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "busybox"}]}}}}), &by("kiln")).unwrap();
    sim.sleep(sim.config.job_complete + sim.config.tick);
    assert_eq!(kstatus(&mut sim, &k("batch", "Job", "j")), Status::Failed);

    sim.inject(Fault {
        kind: "ConfigMap".into(),
        namespace: NS.into(),
        name: "flaky".into(),
        fault: FaultKind::FailWrites {
            times: 2,
            code: 503,
        },
    });
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "flaky", "namespace": NS}});
    for _ in 0..2 {
        let e = sim.apply(&cm, &by("kiln")).unwrap_err();
        assert!(e.is_transient(), "{e}");
    }
    sim.apply(&cm, &by("kiln")).unwrap();

    sim.inject(Fault {
        kind: "PersistentVolumeClaim".into(),
        namespace: NS.into(),
        name: "never".into(),
        fault: FaultKind::NeverBinds,
    });
    sim.apply(&json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "never", "namespace": NS}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}), &by("kiln")).unwrap();
    sim.sleep(5_000);
    assert_eq!(
        kstatus(&mut sim, &k("", "PersistentVolumeClaim", "never")),
        Status::InProgress
    );
}

#[test]
fn drift_by_another_manager_takes_ownership() {
    let mut sim = cluster();
    let web = k("apps", "Deployment", "web");
    sim.apply(&deployment("web", "nginx:1.27"), &by("kiln"))
        .unwrap();
    let rv = get(&mut sim, &web)["metadata"]["resourceVersion"].clone();
    sim.update_as(&web, "kubectl-edit", "", &|d| {
        d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:hacked")
    })
    .unwrap();
    let v = get(&mut sim, &web);
    assert_ne!(v["metadata"]["resourceVersion"], rv);
    let edit = v["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["manager"] == "kubectl-edit")
        .unwrap()
        .clone();
    assert_eq!(
        edit["fields"],
        json!([".spec.template.spec.containers[name=\"app\"].image"])
    );
    // Re-applying without force meets the edit; forcing takes the field back.
    let e = sim
        .apply(&deployment("web", "nginx:1.27"), &by("kiln"))
        .unwrap_err();
    assert_eq!(
        e.message,
        "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using apps/v1: .spec.template.spec.containers[name=\"app\"].image"
    );
    sim.apply(&deployment("web", "nginx:1.27"), &forced("kiln"))
        .unwrap();
    let v = get(&mut sim, &web);
    assert_eq!(
        v["spec"]["template"]["spec"]["containers"][0]["image"],
        json!("nginx:1.27")
    );
    assert!(
        v["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["manager"] != "kubectl-edit")
    );
    // An unchanged apply writes nothing.
    let rv = get(&mut sim, &web)["metadata"]["resourceVersion"].clone();
    sim.apply(&deployment("web", "nginx:1.27"), &by("kiln"))
        .unwrap();
    assert_eq!(get(&mut sim, &web)["metadata"]["resourceVersion"], rv);
}

#[test]
fn finalizers_hold_deletion_until_removed() {
    let mut sim = cluster();
    let cm = k("", "ConfigMap", "held");
    sim.apply(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held", "namespace": NS, "finalizers": ["example.com/hold"]}}), &by("kiln")).unwrap();
    sim.delete(&cm, &DeleteOptions::default()).unwrap();
    sim.sleep(5_000);
    let v = get(&mut sim, &cm);
    assert!(v["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(
        crate::status::compute(Some(&v)).status,
        crate::status::Status::Terminating
    );
    sim.update_as(&cm, "controller", "", &|v| {
        v["metadata"].as_object_mut().unwrap().remove("finalizers");
    })
    .unwrap();
    sim.sleep(sim.config.tick);
    assert!(sim.get(&cm).unwrap().is_none());
}

#[test]
fn the_same_inputs_give_the_same_cluster() {
    let run = || {
        let mut sim = cluster();
        sim.apply(&deployment("web", "nginx:1.27"), &by("kiln"))
            .unwrap();
        sim.apply(&json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": NS}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}), &by("kiln")).unwrap();
        sim.sleep(5_000);
        let objects: Vec<Value> = sim.objects().map(|(key, _)| sim.render(key)).collect();
        (
            serde_json::to_string(&objects).unwrap(),
            format!("{:?}", sim.events),
        )
    };
    assert_eq!(run(), run());
}

#[test]
fn controllers_wake_on_changes_and_leave_a_settled_cluster_alone() {
    use crate::status::Status;
    let mut sim = cluster();
    sim.apply(&deployment("web", "nginx:1.27"), &by("kiln"))
        .unwrap();
    let web = k("apps", "Deployment", "web");
    sim.sleep(sim.config.pod_ready * 2);
    assert_eq!(kstatus(&mut sim, &web), Status::Current);
    // Settled: an hour of ticks writes nothing.
    let before: Vec<Value> = sim.objects().map(|(_, s)| (*s.object).clone()).collect();
    sim.sleep(3_600_000);
    let after: Vec<Value> = sim.objects().map(|(_, s)| (*s.object).clone()).collect();
    assert_eq!(before, after, "a settled cluster changes nothing");
    // A Pod deleted by hand wakes its ReplicaSet, which makes another; the Deployment becomes
    // Current again once it is ready.
    let pods = sim.list("v1", "Pod", Some(NS), "app=web").unwrap();
    let gone = crate::cluster::key_of(&pods[0]);
    sim.delete(&gone, &crate::cluster::DeleteOptions::default())
        .unwrap();
    // One tick for the ReplicaSet, one for the Deployment that owns it.
    sim.sleep(2 * sim.config.tick);
    let now = sim.list("v1", "Pod", Some(NS), "app=web").unwrap();
    assert_eq!(now.len(), 2, "the ReplicaSet replaced the Pod");
    assert!(now.iter().all(|p| crate::cluster::key_of(p) != gone));
    assert_eq!(kstatus(&mut sim, &web), Status::InProgress);
    sim.sleep(sim.config.pod_ready + sim.config.tick);
    assert_eq!(kstatus(&mut sim, &web), Status::Current);
    // A fault injected later reaches Pods that were already running (their kubelet looks
    // again), and time alone moves a crashing Pod's restart count (a timer).
    sim.inject(super::Fault {
        kind: "Deployment".into(),
        namespace: NS.into(),
        name: "web".into(),
        fault: super::FaultKind::CrashLoop,
    });
    sim.sleep(sim.config.tick);
    let restarts = |sim: &mut SimCluster| {
        let p = &sim.list("v1", "Pod", Some(NS), "app=web").unwrap()[0];
        p["status"]["containerStatuses"][0]["restartCount"].clone()
    };
    let first = restarts(&mut sim)
        .as_i64()
        .expect("a crashing Pod counts its restarts");
    sim.sleep(10_000);
    assert_eq!(restarts(&mut sim), json!(first + 1));
    assert_eq!(kstatus(&mut sim, &web), Status::InProgress);
}

#[test]
fn a_load_balancer_service_gets_an_address_once_its_delay_is_up_and_others_get_none() {
    let mut sim = cluster();
    let service = |name: &str, kind: &str| {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NS},
            "spec": {"type": kind, "selector": {"app": name}, "ports": [{"port": 80}]}})
    };
    for (name, kind) in [
        ("front", "LoadBalancer"),
        ("back", "ClusterIP"),
        ("edge", "LoadBalancer"),
    ] {
        sim.apply(&service(name, kind), &by("kiln")).unwrap();
    }
    let (front, back, edge) = (
        k("", "Service", "front"),
        k("", "Service", "back"),
        k("", "Service", "edge"),
    );
    let ingress = |sim: &mut SimCluster, key: &ObjectKey| {
        get(sim, key)
            .pointer("/status/loadBalancer/ingress")
            .cloned()
    };
    sim.sleep(sim.config.load_balancer / 2);
    assert_eq!(ingress(&mut sim, &front), None);
    // Nothing writes the Services meanwhile: the controller is woken by its own timer.
    sim.sleep(sim.config.load_balancer);
    // Addresses are handed out in the order the controller looks: by name.
    assert_eq!(ingress(&mut sim, &edge), Some(json!([{"ip": "192.0.2.1"}])));
    assert_eq!(
        ingress(&mut sim, &front),
        Some(json!([{"ip": "192.0.2.2"}]))
    );
    assert_eq!(ingress(&mut sim, &back), None);
}

#[test]
fn a_write_is_unchanged_when_only_resource_version_and_managed_fields_differ() {
    use super::same_but_volatile;
    let base = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "a", "resourceVersion": "1", "managedFields": [], "labels": {"x": "1"}},
        "data": {"k": "v"}});
    let mut other = base.clone();
    other["metadata"]["resourceVersion"] = json!("2");
    other["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("managedFields");
    assert!(same_but_volatile(&base, &other));
    for change in [
        json!({"metadata": {"name": "a", "resourceVersion": "1", "labels": {"x": "2"}}, "data": {"k": "v"}}),
        json!({"metadata": {"name": "a", "resourceVersion": "1", "labels": {"x": "1"}, "uid": "u"}, "data": {"k": "v"}}),
        json!({"metadata": {"name": "a", "labels": {"x": "1"}}, "data": {"k": "w"}}),
        json!({"metadata": {"name": "a", "labels": {"x": "1"}}}),
        json!({"metadata": "not a map", "data": {"k": "v"}}),
        Value::Null,
    ] {
        let mut changed = change.clone();
        if let Some(m) = changed.as_object_mut() {
            m.insert("apiVersion".into(), json!("v1"));
            m.insert("kind".into(), json!("ConfigMap"));
        }
        assert!(!same_but_volatile(&base, &changed), "{changed}");
        assert!(!same_but_volatile(&changed, &base), "{changed}");
    }
}
