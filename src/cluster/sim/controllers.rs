//! Controllers of the simulated cluster, run at every tick of the virtual clock in a fixed
//! order: CRDs become Established, namespaces finalise, the garbage collector follows owner
//! references, Deployments roll out through ReplicaSets to Pods, StatefulSets and DaemonSets
//! make their Pods, Jobs complete, PVCs bind, load balancers get an address. Each writes status
//! the way kstatus reads it; faults (image pull back-off, crash loops, delays, failing Jobs,
//! unbound claims) change what they write.
//!
//! Like real controllers, the busy ones (Deployments, ReplicaSets, StatefulSets, DaemonSets, the
//! kubelet) are woken rather than polled: a write to an object wakes its controller and its
//! owners' ([`SimCluster::touch`]), and a controller whose outcome changes with time alone (a
//! readiness delay, a back-off, a progress deadline) sets a timer ([`SimCluster::wake_at`]). A
//! settled cluster costs next to nothing per tick. The garbage collector runs only after a
//! deletion or a write of owner references.
use super::{FaultKind, SimCluster, dependents_of, meta_mut, orphans};
use crate::cluster::{Millis, rfc3339};
use crate::object::ObjectKey;
use crate::util::Pointer;
use serde_json::{Value, json};
use std::sync::Arc;

fn key(group: &str, kind: &str, ns: &str, name: &str) -> ObjectKey {
    ObjectKey {
        group: group.into(),
        kind: kind.into(),
        namespace: ns.into(),
        name: name.into(),
    }
}

/// Milliseconds since the epoch of an RFC 3339 time written by [`rfc3339`].
pub fn parse_time(s: &str) -> Option<Millis> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (
        n(0..4)?,
        n(5..7)?,
        n(8..10)?,
        n(11..13)?,
        n(14..16)?,
        n(17..19)?,
    );
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = if mo > 2 { mo - 3 } else { mo + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + h * 3600 + mi * 60 + se) * 1000) as Millis)
}

fn created(v: &Value) -> Millis {
    v.at("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .and_then(parse_time)
        .unwrap_or(0)
}

fn deleting(v: &Value) -> bool {
    v.at("/metadata/deletionTimestamp").is_some()
}

fn uid(v: &Value) -> String {
    v.at("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

fn i64_at(v: &Value, p: &str, default: i64) -> i64 {
    v.at(p).and_then(Value::as_i64).unwrap_or(default)
}

/// Keys of stored objects of a kind.
fn of_kind(sim: &SimCluster, group: &str, kind: &str) -> Vec<ObjectKey> {
    sim.stored_of(group, kind, None)
        .map(|(k, _)| k.clone())
        .collect()
}

fn object(sim: &SimCluster, k: &ObjectKey) -> Option<Arc<Value>> {
    sim.store.get(k).map(|s| s.object.clone())
}

/// What happens at creation.
pub fn on_create(sim: &mut SimCluster, k: &ObjectKey) {
    match (k.group.as_str(), k.kind.as_str()) {
        ("", "Namespace") => sim.set_status(k, json!({"phase": "Active"})),
        ("", "Pod") => sim.set_status(k, json!({"phase": "Pending", "qosClass": "BestEffort"})),
        ("", "PersistentVolumeClaim") => sim.set_status(k, json!({"phase": "Pending"})),
        _ => {}
    }
}

/// One look of every controller.
pub fn reconcile(sim: &mut SimCluster) {
    sim.due_timers();
    crds(sim);
    namespaces(sim);
    garbage_collector(sim);
    deployments(sim);
    replicasets(sim);
    statefulsets(sim);
    daemonsets(sim);
    jobs(sim);
    kubelet(sim);
    claims(sim);
    load_balancers(sim);
}

fn crds(sim: &mut SimCluster) {
    for k in of_kind(sim, "apiextensions.k8s.io", "CustomResourceDefinition") {
        let Some(o) = object(sim, &k) else { continue };
        if deleting(&o) || o.at("/status/conditions").is_some() {
            continue;
        }
        if sim.clock < created(&o) + sim.config.crd_establish {
            continue;
        }
        let names = o.at("/spec/names").cloned().unwrap_or(json!({}));
        let kind = names.get("kind").and_then(Value::as_str).unwrap_or("");
        let plural = names.get("plural").and_then(Value::as_str).unwrap_or("");
        let mut accepted = json!({
            "kind": kind,
            "listKind": names.get("listKind").and_then(Value::as_str).map(str::to_string).unwrap_or(format!("{kind}List")),
            "plural": plural,
            "singular": names.get("singular").and_then(Value::as_str).map(str::to_string).unwrap_or(kind.to_lowercase()),
        });
        for extra in ["shortNames", "categories"] {
            if let Some(v) = names.get(extra) {
                accepted[extra] = v.clone();
            }
        }
        let stored: Vec<Value> = o
            .at("/spec/versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
            .filter_map(|v| v.get("name").cloned())
            .collect();
        let now = rfc3339(sim.clock);
        sim.set_status(
            &k,
            json!({
                "acceptedNames": accepted,
                "conditions": [
                    {"lastTransitionTime": now, "message": "no conflicts found", "reason": "NoConflicts", "status": "True", "type": "NamesAccepted"},
                    {"lastTransitionTime": now, "message": "the initial names have been accepted", "reason": "InitialNamesAccepted", "status": "True", "type": "Established"},
                ],
                "storedVersions": stored,
            }),
        );
        sim.establish(&k);
        sim.record(&k, "Established", format!("{kind} is served"));
    }
}

fn namespaces(sim: &mut SimCluster) {
    for k in of_kind(sim, "", "Namespace") {
        if sim.store.get(&k).is_none_or(|s| !deleting(&s.object)) {
            continue;
        }
        let Some(o) = object(sim, &k) else { continue };
        let Some(since) = o
            .at("/metadata/deletionTimestamp")
            .and_then(Value::as_str)
            .and_then(parse_time)
        else {
            continue;
        };
        // The namespace controller deletes everything in it, then finalises it.
        let contents: Vec<ObjectKey> = sim
            .store
            .keys()
            .filter(|c| c.namespace == k.name)
            .cloned()
            .collect();
        for c in &contents {
            sim.remove_now(c);
        }
        if sim.clock >= since + sim.config.namespace_finalize {
            sim.remove_now(&k);
        }
    }
}

/// Removes dependents whose owners are gone (background), clears foreground deletions whose
/// dependents are gone.
fn garbage_collector(sim: &mut SimCluster) {
    if !sim.gc_pending {
        return;
    }
    loop {
        let dangling = orphans(sim);
        let foreground: Vec<ObjectKey> = sim
            .store
            .iter()
            .filter(|(_, s)| {
                deleting(&s.object)
                    && s.object
                        .at("/metadata/finalizers")
                        .and_then(Value::as_array)
                        .is_some_and(|f| f.contains(&json!("foregroundDeletion")))
            })
            .map(|(k, _)| k.clone())
            .collect();
        let mut changed = false;
        for k in dangling {
            sim.remove_now(&k);
            changed = true;
        }
        for k in foreground {
            let Some(o) = object(sim, &k) else { continue };
            let deps = dependents_of(sim, &uid(&o));
            if deps.is_empty() {
                sim.remove_now(&k);
            } else {
                for d in deps {
                    sim.remove_now(&d);
                }
            }
            changed = true;
        }
        if !changed {
            break;
        }
    }
    sim.gc_pending = false;
}

/// Orphan propagation: dependents lose their owner reference to the owner with uid `u`.
pub fn orphan_dependents(sim: &mut SimCluster, u: &str) {
    for d in dependents_of(sim, u) {
        sim.disown(&d, u);
        if let Some(s) = sim.store.get_mut(&d) {
            if let Some(Value::Array(refs)) = s.object_mut().at_mut("/metadata/ownerReferences") {
                refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(u));
                if refs.is_empty() {
                    meta_mut(s.object_mut()).remove("ownerReferences");
                }
            }
            s.managed = super::ssa::prune_missing(
                std::mem::take(&mut s.managed),
                &s.object,
                super::fields::Schema::none(),
            );
            s.managed_json = std::cell::OnceCell::new();
        }
        sim.touch(&d);
    }
}

impl SimCluster {
    /// A Deployment's pod-template-hash, made once per generation of the Deployment (the
    /// controller looks at a Deployment each time one of its ReplicaSets or Pods moves).
    fn template_hash(&mut self, d: &Value, template: &Value) -> String {
        let uid = uid(d);
        let generation = i64_at(d, "/metadata/generation", 1);
        if let Some((g, h)) = self.template_hashes.get(&uid)
            && *g == generation
        {
            return h.clone();
        }
        let h = template_hash(template);
        self.template_hashes.insert(uid, (generation, h.clone()));
        h
    }
}

/// kube's `SafeEncodeString` of an FNV-32a hash: a pod-template-hash.
fn template_hash(template: &Value) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    /// FNV-32a over the bytes written to it.
    struct Fnv(u32);
    impl std::io::Write for Fnv {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            for b in buf {
                self.0 ^= u32::from(*b);
                self.0 = self.0.wrapping_mul(0x0100_0193);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut h = Fnv(0x811c_9dc5);
    // The template's JSON, as `to_string` writes it, without making the string.
    let _ = serde_json::to_writer(&mut h, template);
    let h = h.0;
    h.to_string()
        .bytes()
        .map(|b| ALPHABET[b as usize % ALPHABET.len()] as char)
        .collect()
}

fn owner_ref(api: &str, kind: &str, name: &str, uid: &str) -> Value {
    json!({"apiVersion": api, "kind": kind, "name": name, "uid": uid, "controller": true, "blockOwnerDeletion": true})
}

fn owned_by(
    sim: &SimCluster,
    ns: &str,
    owner_uid: &str,
    group: &str,
    kind: &str,
) -> Vec<ObjectKey> {
    sim.owned
        .get(owner_uid)
        .into_iter()
        .flatten()
        .filter(|k| k.namespace == ns && k.group == group && k.kind == kind)
        .cloned()
        .collect()
}

/// A condition list entry, keeping its transition time when its status did not change.
fn condition(
    old: Option<&Value>,
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: &str,
    update_time: bool,
) -> Value {
    let prior = old.and_then(Value::as_array).and_then(|c| {
        c.iter()
            .find(|x| x.get("type").and_then(Value::as_str) == Some(kind))
    });
    let same = prior.is_some_and(|p| p.get("status").and_then(Value::as_str) == Some(status));
    let transition = if same {
        prior
            .and_then(|p| p.get("lastTransitionTime"))
            .cloned()
            .unwrap_or(json!(now))
    } else {
        json!(now)
    };
    let same_reason =
        same && prior.and_then(|p| p.get("reason")).and_then(Value::as_str) == Some(reason);
    let mut c = json!({"type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": transition});
    if update_time {
        c["lastUpdateTime"] = if same_reason {
            prior
                .and_then(|p| p.get("lastUpdateTime"))
                .cloned()
                .unwrap_or(json!(now))
        } else {
            json!(now)
        };
    }
    c
}

fn percent(v: Option<&Value>, of: i64, round_up: bool, default: i64) -> i64 {
    match v {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(default),
        Some(Value::String(s)) if s.ends_with('%') => {
            let p: i64 = s.trim_end_matches('%').parse().unwrap_or(0);
            if round_up {
                (p * of + 99) / 100
            } else {
                p * of / 100
            }
        }
        _ => default,
    }
}

fn deployments(sim: &mut SimCluster) {
    for k in sim.woken("apps", "Deployment") {
        let Some(d) = object(sim, &k) else {
            continue;
        };
        if deleting(&d) {
            continue;
        }
        let empty = json!({});
        let template = d.at("/spec/template").unwrap_or(&empty);
        let hash = sim.template_hash(&d, template);
        let rs_name = format!("{}-{hash}", k.name);
        let rs_key = key("apps", "ReplicaSet", &k.namespace, &rs_name);
        let replicas = i64_at(&d, "/spec/replicas", 1);
        let duid = uid(&d);
        let existing = owned_by(sim, &k.namespace, &duid, "apps", "ReplicaSet");
        let revision = existing
            .iter()
            .filter_map(|r| object(sim, r))
            .filter_map(|r| {
                r.at("/metadata/annotations/deployment.kubernetes.io~1revision")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<i64>().ok())
            })
            .max()
            .unwrap_or(0);
        if !sim.store.contains_key(&rs_key) {
            let mut labels = template
                .at("/metadata/labels")
                .cloned()
                .unwrap_or(json!({}));
            labels["pod-template-hash"] = json!(hash);
            let mut selector = d.at("/spec/selector").cloned().unwrap_or(json!({}));
            selector["matchLabels"]["pod-template-hash"] = json!(hash);
            let mut tmpl = template.clone();
            tmpl["metadata"]["labels"] = labels.clone();
            let max = replicas
                + percent(
                    d.at("/spec/strategy/rollingUpdate/maxSurge"),
                    replicas,
                    true,
                    1,
                );
            let rs = json!({
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": rs_name, "namespace": k.namespace, "labels": labels,
                    "annotations": {"deployment.kubernetes.io/desired-replicas": replicas.to_string(), "deployment.kubernetes.io/max-replicas": max.to_string(), "deployment.kubernetes.io/revision": (revision + 1).to_string()},
                    "ownerReferences": [owner_ref("apps/v1", "Deployment", &k.name, &duid)],
                },
                "spec": {"replicas": replicas, "selector": selector, "template": tmpl},
            });
            sim.create_as_controller(rs, "kube-controller-manager");
            sim.record(
                &k,
                "ScalingReplicaSet",
                format!("Scaled up replica set {rs_name} from 0 to {replicas}"),
            );
            if let Some(s) = sim.store.get_mut(&k) {
                meta_mut(s.object_mut())
                    .entry("annotations")
                    .or_insert_with(|| json!({}))["deployment.kubernetes.io/revision"] =
                    json!((revision + 1).to_string());
            }
            sim.journal_change(&k);
        }
        // Scale: the new ReplicaSet to the desired count, old ones down as the new one becomes
        // available (a rolling update with surge).
        let new_available = object(sim, &rs_key)
            .map(|r| i64_at(&r, "/status/availableReplicas", 0))
            .unwrap_or(0);
        set_replicas(sim, &rs_key, replicas);
        let mut old_total = 0;
        for r in owned_by(sim, &k.namespace, &duid, "apps", "ReplicaSet") {
            if r == rs_key {
                continue;
            }
            let want = (replicas - new_available).max(0).min(
                object(sim, &r)
                    .map(|o| i64_at(&o, "/spec/replicas", 0))
                    .unwrap_or(0),
            );
            set_replicas(sim, &r, want);
            old_total += object(sim, &r)
                .map(|o| i64_at(&o, "/status/replicas", 0))
                .unwrap_or(0);
        }
        // Status.
        let Some(rs) = object(sim, &rs_key) else {
            continue;
        };
        let (new_replicas, ready, available) = (
            i64_at(&rs, "/status/replicas", 0),
            i64_at(&rs, "/status/readyReplicas", 0),
            i64_at(&rs, "/status/availableReplicas", 0),
        );
        let total = new_replicas + old_total;
        let max_unavailable = percent(
            d.at("/spec/strategy/rollingUpdate/maxUnavailable"),
            replicas,
            false,
            0,
        );
        let now = rfc3339(sim.clock);
        let old_conditions = d.at("/status/conditions").cloned();
        let available_cond =
            if available >= replicas - max_unavailable && replicas > 0 || replicas == 0 {
                condition(
                    old_conditions.as_ref(),
                    "Available",
                    "True",
                    "MinimumReplicasAvailable",
                    "Deployment has minimum availability.",
                    &now,
                    true,
                )
            } else {
                condition(
                    old_conditions.as_ref(),
                    "Available",
                    "False",
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.",
                    &now,
                    true,
                )
            };
        let complete = new_replicas == replicas && available == replicas && old_total == 0;
        let deadline = i64_at(&d, "/spec/progressDeadlineSeconds", 600).max(0) as Millis * 1000;
        // A rollout that completed stays complete when availability later dips (a Pod lost):
        // the deadline only applies to a rollout in progress (`DeploymentTimedOut` ignores
        // NewReplicaSetAvailable).
        let succeeded = format!("ReplicaSet \"{rs_name}\" has successfully progressed.");
        let was_complete = old_conditions
            .as_ref()
            .and_then(Value::as_array)
            .is_some_and(|c| {
                c.iter().any(|x| {
                    x.get("type").and_then(Value::as_str) == Some("Progressing")
                        && x.get("reason").and_then(Value::as_str) == Some("NewReplicaSetAvailable")
                        && x.get("message").and_then(Value::as_str) == Some(succeeded.as_str())
                })
            });
        let complete_once = complete || was_complete;
        let progressing = if complete_once {
            condition(
                old_conditions.as_ref(),
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                &succeeded,
                &now,
                true,
            )
        } else if sim.clock >= created(&rs) + deadline {
            condition(
                old_conditions.as_ref(),
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                &format!("ReplicaSet \"{rs_name}\" has timed out progressing."),
                &now,
                true,
            )
        } else {
            condition(
                old_conditions.as_ref(),
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                &format!("ReplicaSet \"{rs_name}\" is progressing."),
                &now,
                true,
            )
        };
        // Zero counts are left out, as Go's `omitempty` leaves them out.
        let mut status = json!({
            "observedGeneration": i64_at(&d, "/metadata/generation", 1),
            "terminatingReplicas": 0,
            "conditions": [available_cond, progressing],
        });
        if total > 0 {
            status["replicas"] = json!(total);
        }
        if new_replicas > 0 {
            status["updatedReplicas"] = json!(new_replicas);
        }
        if ready > 0 {
            status["readyReplicas"] = json!(ready);
        }
        if available > 0 {
            status["availableReplicas"] = json!(available);
        }
        let unavailable = (replicas - available).max(0);
        if unavailable > 0 {
            status["unavailableReplicas"] = json!(unavailable);
        }
        let was = d.get("status").cloned();
        sim.set_status(&k, status.clone());
        if was.as_ref().and_then(|w| w.at("/conditions/1/reason"))
            != status.at("/conditions/1/reason")
        {
            let reason = status
                .at("/conditions/1/reason")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let message = status
                .at("/conditions/1/message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            sim.record(&k, &reason, message);
        }
        // A rollout in progress has a deadline to watch.
        if !complete_once {
            sim.wake_at(&k, created(&rs) + deadline);
        }
    }
}

/// The Deployment controller's update of a ReplicaSet's replicas: a spec change, so a new
/// resourceVersion and generation, and the ReplicaSet controller looks again.
fn set_replicas(sim: &mut SimCluster, k: &ObjectKey, n: i64) {
    let changed = sim
        .store
        .get(k)
        .is_some_and(|s| s.object.at("/spec/replicas").and_then(Value::as_i64) != Some(n));
    if !changed {
        return;
    }
    let rv = sim.next_rv();
    if let Some(s) = sim.store.get_mut(k) {
        s.object_mut()["spec"]["replicas"] = json!(n);
        let generation = i64_at(&s.object, "/metadata/generation", 1) + 1;
        let meta = meta_mut(s.object_mut());
        meta.insert("generation".into(), json!(generation));
        meta.insert("resourceVersion".into(), json!(rv));
    }
    sim.touch(k);
}

fn pod_ready(p: &Value) -> bool {
    p.at("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| {
            c.iter().any(|x| {
                x.get("type").and_then(Value::as_str) == Some("Ready")
                    && x.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

/// Creates or removes Pods of a controller so that it has `want` of them.
fn scale_pods(
    sim: &mut SimCluster,
    owner: &ObjectKey,
    owner_obj: &Value,
    api: &str,
    want: i64,
    names: &mut dyn FnMut(&mut SimCluster, usize) -> String,
) -> Vec<ObjectKey> {
    let ouid = uid(owner_obj);
    let mut pods: Vec<ObjectKey> = owned_by(sim, &owner.namespace, &ouid, "", "Pod")
        .into_iter()
        .filter(|p| object(sim, p).is_some_and(|o| !deleting(&o)))
        .collect();
    let mut i = 0;
    while (pods.len() as i64) < want {
        let name = names(sim, pods.len() + i);
        i += 1;
        let k = key("", "Pod", &owner.namespace, &name);
        if sim.store.contains_key(&k) {
            continue;
        }
        let template = owner_obj.at("/spec/template").cloned().unwrap_or(json!({}));
        let mut pod = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": owner.namespace, "labels": template.at("/metadata/labels").cloned().unwrap_or(json!({})), "ownerReferences": [owner_ref(api, &owner.kind, &owner.name, &ouid)]},
            "spec": template.get("spec").cloned().unwrap_or(json!({})),
        });
        // Controllers other than the StatefulSet's name Pods by generateName.
        if owner.kind != "StatefulSet" {
            meta_mut(&mut pod).insert("generateName".into(), json!(format!("{}-", owner.name)));
        }
        if let Some(a) = template.at("/metadata/annotations") {
            pod["metadata"]["annotations"] = a.clone();
        }
        pods.push(sim.create_as_controller(pod, "kube-controller-manager"));
    }
    while (pods.len() as i64) > want {
        if let Some(p) = pods.pop() {
            sim.remove_now(&p);
        }
    }
    pods
}

fn replicasets(sim: &mut SimCluster) {
    for k in sim.woken("apps", "ReplicaSet") {
        let Some(rs) = object(sim, &k) else { continue };
        if deleting(&rs) {
            continue;
        }
        let want = i64_at(&rs, "/spec/replicas", 1);
        let base = k.name.clone();
        let pods = scale_pods(sim, &k, &rs, "apps/v1", want, &mut |sim, _| {
            format!("{base}-{}", sim.suffix(5))
        });
        let ready = pods
            .iter()
            .filter(|p| object(sim, p).is_some_and(|o| pod_ready(&o)))
            .count() as i64;
        let mut status = json!({"replicas": pods.len(), "observedGeneration": i64_at(&rs, "/metadata/generation", 1), "terminatingReplicas": 0});
        if !pods.is_empty() {
            status["fullyLabeledReplicas"] = json!(pods.len());
        }
        if ready > 0 {
            status["readyReplicas"] = json!(ready);
            status["availableReplicas"] = json!(ready);
        }
        sim.set_status(&k, status);
    }
}

fn statefulsets(sim: &mut SimCluster) {
    for k in sim.woken("apps", "StatefulSet") {
        let Some(ss) = object(sim, &k) else { continue };
        if deleting(&ss) {
            continue;
        }
        let want = i64_at(&ss, "/spec/replicas", 1);
        let ordered =
            ss.at("/spec/podManagementPolicy").and_then(Value::as_str) != Some("Parallel");
        // Ordered: the next Pod only once all before it are ready.
        let ouid = uid(&ss);
        let existing = owned_by(sim, &k.namespace, &ouid, "", "Pod");
        let all_ready = existing
            .iter()
            .all(|p| object(sim, p).is_some_and(|o| pod_ready(&o)));
        let target = if ordered && !all_ready {
            existing.len() as i64
        } else if ordered {
            (existing.len() as i64 + 1).min(want)
        } else {
            want
        };
        let target = target.min(want).max(if want < existing.len() as i64 {
            want
        } else {
            0
        });
        let base = k.name.clone();
        // Claims of the volume claim templates, one per ordinal, kept after the Pods.
        for ordinal in 0..target {
            for t in ss
                .at("/spec/volumeClaimTemplates")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
            {
                let tname = t
                    .at("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("data");
                let claim = format!("{tname}-{}-{ordinal}", k.name);
                let ck = key("", "PersistentVolumeClaim", &k.namespace, &claim);
                if !sim.store.contains_key(&ck) {
                    let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": claim, "namespace": k.namespace, "labels": ss.at("/spec/selector/matchLabels").cloned().unwrap_or(json!({}))}, "spec": t.get("spec").cloned().unwrap_or(json!({}))});
                    sim.create_as_controller(pvc, "kube-controller-manager");
                }
            }
        }
        let pods = scale_pods(sim, &k, &ss, "apps/v1", target, &mut |_, i| {
            format!("{base}-{i}")
        });
        let ready = pods
            .iter()
            .filter(|p| object(sim, p).is_some_and(|o| pod_ready(&o)))
            .count() as i64;
        let revision = format!(
            "{}-{}",
            k.name,
            template_hash(ss.at("/spec/template").unwrap_or(&Value::Null))
        );
        let mut status = json!({
            "observedGeneration": i64_at(&ss, "/metadata/generation", 1),
            "replicas": pods.len(),
            "currentReplicas": pods.len(),
            "updatedReplicas": pods.len(),
            "currentRevision": revision,
            "updateRevision": revision,
            "collisionCount": 0,
            "availableReplicas": ready,
        });
        if ready > 0 {
            status["readyReplicas"] = json!(ready);
        }
        sim.set_status(&k, status);
    }
}

fn daemonsets(sim: &mut SimCluster) {
    for k in sim.woken("apps", "DaemonSet") {
        let Some(ds) = object(sim, &k) else { continue };
        if deleting(&ds) {
            continue;
        }
        let nodes = i64::from(sim.config.nodes);
        let base = k.name.clone();
        let pods = scale_pods(sim, &k, &ds, "apps/v1", nodes, &mut |sim, _| {
            format!("{base}-{}", sim.suffix(5))
        });
        let ready = pods
            .iter()
            .filter(|p| object(sim, p).is_some_and(|o| pod_ready(&o)))
            .count() as i64;
        let status = json!({
            "observedGeneration": i64_at(&ds, "/metadata/generation", 1),
            "desiredNumberScheduled": nodes,
            "currentNumberScheduled": pods.len(),
            "updatedNumberScheduled": pods.len(),
            "numberMisscheduled": 0,
            "numberReady": ready,
            "numberAvailable": ready,
            "numberUnavailable": nodes - ready,
        });
        sim.set_status(&k, status);
    }
}

fn jobs(sim: &mut SimCluster) {
    for k in of_kind(sim, "batch", "Job") {
        if sim
            .store
            .get(&k)
            .is_none_or(|s| s.object.at("/status/completionTime").is_some())
        {
            continue;
        }
        let Some(job) = object(sim, &k) else { continue };
        if deleting(&job)
            || job.at("/status/completionTime").is_some()
            || job
                .at("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|c| {
                    c.iter()
                        .any(|x| x.get("type").and_then(Value::as_str) == Some("Failed"))
                })
        {
            continue;
        }
        let base = k.name.clone();
        let pods = scale_pods(sim, &k, &job, "batch/v1", 1, &mut |sim, _| {
            format!("{base}-{}", sim.suffix(5))
        });
        let phase = pods
            .first()
            .and_then(|p| object(sim, p))
            .and_then(|p| {
                p.at("/status/phase")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default();
        let now = rfc3339(sim.clock);
        let start = job.at("/status/startTime").cloned().unwrap_or(json!(now));
        let status = match phase.as_str() {
            "Succeeded" => json!({
                "startTime": start, "completionTime": now, "succeeded": 1, "ready": 0, "terminating": 0,
                "conditions": [
                    {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods", "lastProbeTime": now, "lastTransitionTime": now},
                    {"type": "Complete", "status": "True", "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods", "lastProbeTime": now, "lastTransitionTime": now},
                ],
            }),
            "Failed" => json!({
                "startTime": start, "failed": 1, "ready": 0, "terminating": 0,
                "conditions": [
                    {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastProbeTime": now, "lastTransitionTime": now},
                    {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastProbeTime": now, "lastTransitionTime": now},
                ],
            }),
            _ => json!({"startTime": start, "active": 1, "ready": 0, "terminating": 0}),
        };
        let done = matches!(phase.as_str(), "Succeeded" | "Failed");
        sim.set_status(&k, status);
        if done {
            sim.record(
                &k,
                if phase == "Succeeded" {
                    "Completed"
                } else {
                    "BackoffLimitExceeded"
                },
                format!("Job {phase}"),
            );
        }
    }
}

/// The top controller of a Pod (Deployment over ReplicaSet), for faults.
fn workload_of(sim: &SimCluster, pod: &Value) -> Vec<ObjectKey> {
    let mut out = Vec::new();
    let mut cur = pod;
    let ns = pod
        .at("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    for _ in 0..4 {
        let Some(r) = cur.at("/metadata/ownerReferences/0") else {
            break;
        };
        let api = r.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let group = api.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
        let k = key(
            group,
            r.get("kind").and_then(Value::as_str).unwrap_or(""),
            ns,
            r.get("name").and_then(Value::as_str).unwrap_or(""),
        );
        let next = sim.store.get(&k);
        out.push(k);
        match next {
            Some(o) => cur = &o.object,
            None => break,
        }
    }
    out
}

fn kubelet(sim: &mut SimCluster) {
    // Without nodes nothing schedules: Pods stay Pending, as on a cluster without a scheduler.
    if sim.config.nodes == 0 {
        return;
    }
    for k in sim.woken("", "Pod") {
        let Some(p) = sim.store.get(&k).map(|s| &s.object) else {
            continue;
        };
        if deleting(p) {
            continue;
        }
        let workloads = workload_of(sim, p);
        let mut faults = sim.faults_for(&k);
        for w in &workloads {
            faults.extend(sim.faults_for(w));
        }
        let delay: Millis = faults
            .iter()
            .map(|f| if let FaultKind::Delay(d) = f { *d } else { 0 })
            .sum();
        let age = sim.clock.saturating_sub(created(p));
        let job = workloads.iter().any(|w| w.kind == "Job");
        let broken =
            faults.contains(&FaultKind::ImagePullBackOff) || faults.contains(&FaultKind::CrashLoop);
        if !broken
            && !job
            && p.at("/status/phase").and_then(Value::as_str) == Some("Running")
            && pod_ready(p)
        {
            // Running and ready, and nothing to break it.
            continue;
        }
        let containers: Vec<Value> = p
            .at("/spec/containers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let now = rfc3339(sim.clock);
        let cond = |t: &str, s: &str, reason: Option<&str>| {
            let mut c =
                json!({"type": t, "status": s, "lastProbeTime": null, "lastTransitionTime": now});
            if let Some(r) = reason {
                c["reason"] = json!(r);
            }
            c
        };
        let phase = p
            .at("/status/phase")
            .and_then(Value::as_str)
            .unwrap_or("Pending")
            .to_string();
        if matches!(phase.as_str(), "Succeeded" | "Failed") {
            continue;
        }
        let born = created(p);
        if age < sim.config.pod_ready + delay {
            sim.wake_at(&k, born + sim.config.pod_ready + delay);
            continue;
        }
        let mut wake = None;
        let statuses = |waiting: Option<(&str, String)>,
                        running: bool,
                        restarts: i64|
         -> Vec<Value> {
            containers
                .iter()
                .map(|c| {
                    let name = c.get("name").cloned().unwrap_or(json!(""));
                    let image = c.get("image").cloned().unwrap_or(json!(""));
                    let state = match (&waiting, running) {
                        (Some((reason, message)), _) => json!({"waiting": {"reason": reason, "message": message}}),
                        (None, true) => json!({"running": {"startedAt": now}}),
                        (None, false) => json!({"terminated": {"exitCode": 0, "reason": "Completed"}}),
                    };
                    json!({"name": name, "image": image, "ready": waiting.is_none() && running, "restartCount": restarts, "started": waiting.is_none(), "state": state})
                })
                .collect()
        };
        let status = if faults.contains(&FaultKind::ImagePullBackOff) {
            let image = containers
                .first()
                .and_then(|c| c.get("image"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let backoff = age >= sim.config.pod_ready + delay + 5_000;
            if !backoff {
                wake = Some(born + sim.config.pod_ready + delay + 5_000);
            }
            let (reason, message) = if backoff {
                (
                    "ImagePullBackOff",
                    format!("Back-off pulling image \"{image}\""),
                )
            } else {
                (
                    "ErrImagePull",
                    format!("failed to pull and unpack image \"{image}\""),
                )
            };
            json!({"phase": "Pending", "qosClass": "BestEffort", "conditions": [cond("PodScheduled", "True", None), cond("Initialized", "True", None), cond("Ready", "False", Some("ContainersNotReady")), cond("ContainersReady", "False", Some("ContainersNotReady"))], "containerStatuses": statuses(Some((reason, message)), false, 0)})
        } else if faults.contains(&FaultKind::CrashLoop) {
            let restarts = ((age - sim.config.pod_ready - delay) / 10_000) as i64 + 1;
            wake = Some(born + sim.config.pod_ready + delay + restarts as Millis * 10_000);
            json!({"phase": "Running", "qosClass": "BestEffort", "conditions": [cond("PodScheduled", "True", None), cond("Initialized", "True", None), cond("Ready", "False", Some("ContainersNotReady")), cond("ContainersReady", "False", Some("ContainersNotReady"))], "containerStatuses": statuses(Some(("CrashLoopBackOff", "back-off restarting failed container".into())), true, restarts)})
        } else if job {
            let fails = workloads
                .iter()
                .any(|w| sim.faults_for(w).contains(&FaultKind::JobFails));
            if age < sim.config.job_complete + delay {
                wake = Some(born + sim.config.job_complete + delay);
                json!({"phase": "Running", "qosClass": "BestEffort", "conditions": [cond("PodScheduled", "True", None), cond("Ready", "True", None)], "containerStatuses": statuses(None, true, 0)})
            } else {
                json!({"phase": if fails { "Failed" } else { "Succeeded" }, "qosClass": "BestEffort", "conditions": [cond("PodScheduled", "True", None), cond("Ready", "False", Some("PodCompleted"))], "containerStatuses": statuses(None, false, 0)})
            }
        } else {
            json!({"phase": "Running", "qosClass": "BestEffort", "podIP": "10.244.0.1", "conditions": [cond("PodScheduled", "True", None), cond("Initialized", "True", None), cond("Ready", "True", None), cond("ContainersReady", "True", None)], "containerStatuses": statuses(None, true, 0)})
        };
        if let Some(at) = wake {
            sim.wake_at(&k, at);
        }
        // What changed, not when it was last looked at: times alone are not a new status.
        if sim
            .store
            .get(&k)
            .and_then(|s| s.object.get("status"))
            .is_none_or(|old| timeless(old) != timeless(&status))
        {
            sim.set_status(&k, status);
        }
    }
}

/// A status without its timestamps.
fn timeless(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| {
                    !matches!(
                        k.as_str(),
                        "lastTransitionTime" | "lastProbeTime" | "startedAt"
                    )
                })
                .map(|(k, v)| (k.clone(), timeless(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(timeless).collect()),
        other => other.clone(),
    }
}

fn claims(sim: &mut SimCluster) {
    for k in of_kind(sim, "", "PersistentVolumeClaim") {
        if sim
            .store
            .get(&k)
            .is_some_and(|s| s.object.at("/status/phase").and_then(Value::as_str) == Some("Bound"))
        {
            continue;
        }
        let Some(c) = object(sim, &k) else { continue };
        if deleting(&c) || c.at("/status/phase").and_then(Value::as_str) == Some("Bound") {
            continue;
        }
        let faults = sim.faults_for(&k);
        if faults.contains(&FaultKind::NeverBinds) {
            continue;
        }
        let delay: Millis = faults
            .iter()
            .map(|f| if let FaultKind::Delay(d) = f { *d } else { 0 })
            .sum();
        if sim.clock < created(&c) + sim.config.pvc_bind + delay {
            continue;
        }
        // A claim binds through its StorageClass (the default one when it names none); a class
        // that does not exist leaves it Pending, as a real cluster does.
        let class = c
            .at("/spec/storageClassName")
            .and_then(Value::as_str)
            .map(str::to_string);
        let provisioned = match &class {
            None => {
                !sim.config.storage_classes.is_empty()
                    || !of_kind(sim, "storage.k8s.io", "StorageClass").is_empty()
            }
            Some(name) => {
                sim.config.storage_classes.iter().any(|s| s == name)
                    || sim
                        .store
                        .contains_key(&key("storage.k8s.io", "StorageClass", "", name))
            }
        };
        if !provisioned {
            let message = match &class {
                Some(n) if n.is_empty() => {
                    "waiting for a volume to be created or bound statically".to_string()
                }
                Some(n) => format!("storageclass.storage.k8s.io \"{n}\" not found"),
                None => "no default StorageClass".to_string(),
            };
            if !sim
                .events
                .iter()
                .any(|e| e.object == k && e.reason == "ProvisioningFailed")
            {
                sim.record(&k, "ProvisioningFailed", message);
            }
            continue;
        }
        let status = json!({
            "phase": "Bound",
            "accessModes": c.at("/spec/accessModes").cloned().unwrap_or(json!(["ReadWriteOnce"])),
            "capacity": c.at("/spec/resources/requests").cloned().unwrap_or(json!({})),
        });
        sim.set_status(&k, status);
        sim.record(&k, "Bound", "claim bound".to_string());
    }
}

/// The cloud's load balancer controller: a LoadBalancer Service gets an address a while after
/// it is created (woken when written, and again when its delay is up).
fn load_balancers(sim: &mut SimCluster) {
    for k in sim.woken("", "Service") {
        let Some(s) = object(sim, &k) else { continue };
        if s.at("/spec/type").and_then(Value::as_str) != Some("LoadBalancer")
            || s.at("/status/loadBalancer/ingress").is_some()
            || deleting(&s)
        {
            continue;
        }
        let ready_at = created(&s) + sim.config.load_balancer;
        if sim.clock < ready_at {
            sim.wake_at(&k, ready_at);
            continue;
        }
        sim.load_balancers += 1;
        let n = sim.load_balancers;
        sim.set_status(
            &k,
            json!({"loadBalancer": {"ingress": [{"ip": format!("192.0.2.{}", (n - 1) % 250 + 1)}]}}),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_round_trip() {
        for ms in [0u64, 1_767_225_600_000, 1_709_164_800_000 + 3_661_000] {
            assert_eq!(parse_time(&rfc3339(ms)), Some(ms));
        }
    }
}
