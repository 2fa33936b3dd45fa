//! The simulated cluster: an in-memory API server that behaves like a real one wherever the
//! difference matters to apply order, drift and rollback. Deterministic: ordered maps, a seeded
//! generator for uids and names, a virtual clock, a resourceVersion counter; the same inputs give
//! byte-identical results.
//!
//! It serves discovery (built-in kinds from `schemas/`, custom kinds once their CRD is
//! Established), keeps metadata as the API server does (uid, generation, resourceVersion,
//! creationTimestamp, managedFields, deletionTimestamp and finalizers, ownerReferences), applies
//! with server-side apply's field ownership ([`ssa`], [`fields`]), refuses what the API server
//! refuses ([`admission`]: missing or terminating namespaces, immutable fields, invalid
//! objects), and runs controllers in virtual time ([`controllers`]) that move status as kstatus
//! reads it. Faults and drift are inputs ([`Fault`], [`SimCluster::update_as`]).
//!
//! It does not serve the Kubernetes REST API (`cluster::serve` does) and does not schedule real
//! containers: Pods become ready after a configured delay.

pub mod admission;
pub mod api;
pub mod controllers;
pub mod fields;
pub mod internal;
pub mod ssa;
mod store;
#[cfg(test)]
mod tests;

use super::{
    ApiError, ApplyOptions, Cluster, DeleteOptions, Millis, Propagation, Resource, key_of, rfc3339,
    split_api,
};
use crate::object::ObjectKey;
use crate::object::selector::Selector;
use crate::schema::catalog::{Catalog, Resolution};
use crate::util::Pointer;
use serde_json::{Map, Value, json};
use ssa::{Managed, Operation};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
pub(crate) use store::Store;
pub use store::Stored;

/// Delays and sizes of the simulated cluster.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    /// The virtual time the cluster starts at (2026-01-01T00:00:00Z).
    pub start: Millis,
    /// How long the controllers take between looks.
    pub tick: Millis,
    pub crd_establish: Millis,
    /// From a Pod's creation to Running and Ready.
    pub pod_ready: Millis,
    pub job_complete: Millis,
    pub pvc_bind: Millis,
    pub namespace_finalize: Millis,
    pub load_balancer: Millis,
    /// Nodes: one DaemonSet Pod each; with none, no Pod is ever scheduled.
    pub nodes: u32,
    /// StorageClasses the cluster provides besides those applied to it (the first is the
    /// default).
    pub storage_classes: Vec<String>,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            seed: 42,
            start: 1_767_225_600_000,
            tick: 250,
            crd_establish: 500,
            pod_ready: 2_000,
            job_complete: 3_000,
            pvc_bind: 500,
            namespace_finalize: 1_000,
            load_balancer: 1_000,
            nodes: 3,
            storage_classes: vec!["standard".to_string()],
        }
    }
}

/// Something going wrong in the cluster, on purpose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// The Pods of the object never pull their image (ErrImagePull, then ImagePullBackOff).
    ImagePullBackOff,
    /// The containers of the object's Pods crash (CrashLoopBackOff).
    CrashLoop,
    /// The object's Pods (or the object, for a PVC or a Job) take this much longer.
    Delay(Millis),
    /// The next `times` writes of the object fail with this HTTP status (503: transient).
    FailWrites { times: u32, code: u16 },
    /// A Job's Pods fail (BackoffLimitExceeded).
    JobFails,
    /// A PVC never binds.
    NeverBinds,
}

impl std::fmt::Display for FaultKind {
    /// As `--fault` and scenarios write it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FaultKind::ImagePullBackOff => f.write_str("image-pull-backoff"),
            FaultKind::CrashLoop => f.write_str("crash-loop"),
            FaultKind::Delay(ms) => write!(f, "delay:{ms}ms"),
            FaultKind::FailWrites { times, code } => write!(f, "fail-writes:{times}:{code}"),
            FaultKind::JobFails => f.write_str("job-fails"),
            FaultKind::NeverBinds => f.write_str("never-binds"),
        }
    }
}

/// A fault aimed at objects: `kind/namespace/name`, the name may be `*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub fault: FaultKind,
}

impl Fault {
    fn matches(&self, key: &ObjectKey) -> bool {
        self.kind == key.kind
            && (self.namespace == "*" || self.namespace == key.namespace)
            && (self.name == "*" || self.name == key.name)
    }
}

/// Something that happened, for reports and assertions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub time: Millis,
    pub object: ObjectKey,
    pub reason: String,
    pub message: String,
}

/// A served custom kind.
#[derive(Clone, Debug)]
struct CustomKind {
    resource: Resource,
    versions: Vec<String>,
    established: bool,
    crd: String,
}

/// The simulated cluster.
pub struct SimCluster {
    pub config: SimConfig,
    catalog: Catalog,
    store: Store,
    custom: BTreeMap<(String, String), CustomKind>,
    clock: Millis,
    rv: u64,
    rng: u64,
    faults: Vec<Fault>,
    /// Writes left to fail, per fault index.
    fail_counts: BTreeMap<usize, u32>,
    pub events: Vec<Event>,
    /// Cluster IPs handed out.
    next_ip: u32,
    /// Load balancer addresses handed out.
    load_balancers: u32,
    /// Objects their controllers are to look at on the next tick: written since, or owning
    /// an object written since (a real controller's informers and work queue). Each kind has
    /// one controller, so the key says whose queue it is in.
    wakeups: BTreeSet<ObjectKey>,
    /// When time alone changes what a controller makes of an object (a readiness delay, a
    /// deadline, a back-off): it is woken then.
    timers: BTreeSet<(Millis, ObjectKey)>,
    /// Stored objects by uid, and the objects whose owner references name each uid (the
    /// garbage collector's graph; kept up to date by `put` and `take`).
    by_uid: BTreeMap<String, ObjectKey>,
    owned: BTreeMap<String, BTreeSet<ObjectKey>>,
    /// Something was deleted or marked for deletion, or an object with owners was written,
    /// since the garbage collector last looked.
    gc_pending: bool,
    /// What `served` answered, by `group/version/kind` (cleared when the served kinds change).
    served_memo: std::cell::RefCell<std::collections::HashMap<String, Result<Resource, ApiError>>>,
    /// Pod-template hashes of Deployments by uid, with the generation they were made at.
    template_hashes: std::collections::HashMap<String, (i64, String)>,
    /// Every change in order, for watches; kept only when the cluster is served
    /// ([`SimCluster::serve_api`]), so in-process runs pay nothing for it.
    journal: Option<api::Journal>,
    /// `managedFields` as the REST API writes them (`fieldsV1`) rather than as kiln's reports
    /// read them (paths); set when served.
    wire_fields: bool,
}

impl SimCluster {
    pub fn new(config: SimConfig) -> SimCluster {
        let clock = config.start;
        let rng = config.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut sim = SimCluster {
            config,
            catalog: Catalog::builtin(),
            store: Store::default(),
            custom: BTreeMap::new(),
            clock,
            rv: 1000,
            rng,
            faults: Vec::new(),
            fail_counts: BTreeMap::new(),
            events: Vec::new(),
            next_ip: 10,
            load_balancers: 0,
            wakeups: BTreeSet::new(),
            timers: BTreeSet::new(),
            by_uid: BTreeMap::new(),
            owned: BTreeMap::new(),
            gc_pending: false,
            template_hashes: Default::default(),
            served_memo: Default::default(),
            journal: None,
            wire_fields: false,
        };
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
            let _ = sim.apply(
                &obj,
                &ApplyOptions {
                    manager: "kube-apiserver".into(),
                    force: true,
                    dry_run: false,
                },
            );
        }
        sim.events.clear();
        sim
    }

    /// Serves a kind whose CRD is not in the cluster (installed outside the repository, by
    /// Helm or by hand): established at once, without a schema (maps merge field by field,
    /// lists are atomic). Reports say which kinds were assumed.
    pub fn assume_kind(&mut self, api_version: &str, kind: &str, namespaced: bool) {
        let (group, version) = split_api(api_version);
        let entry = self
            .custom
            .entry((group.to_string(), kind.to_string()))
            .or_insert_with(|| CustomKind {
                resource: Resource {
                    group: group.to_string(),
                    version: version.to_string(),
                    kind: kind.to_string(),
                    plural: guess_plural(kind),
                    namespaced,
                    status_subresource: true,
                },
                versions: Vec::new(),
                established: true,
                crd: String::new(),
            });
        if !entry.versions.iter().any(|v| v == version) {
            entry.versions.push(version.to_string());
        }
        self.kinds_changed();
    }

    /// Adds a fault.
    pub fn inject(&mut self, fault: Fault) {
        if let FaultKind::FailWrites { times, .. } = fault.fault {
            self.fail_counts.insert(self.faults.len(), times);
        }
        self.faults.push(fault);
        // Every Pod's kubelet looks again: the fault may be its own or its workload's.
        let pods: Vec<ObjectKey> = self
            .stored_of("", "Pod", None)
            .map(|(k, _)| k.clone())
            .collect();
        self.wakeups.extend(pods);
    }

    pub fn faults_for(&self, key: &ObjectKey) -> Vec<FaultKind> {
        self.faults
            .iter()
            .filter(|f| f.matches(key))
            .map(|f| f.fault.clone())
            .collect()
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// The uid the next created object gets (a Job's generated selector names it).
    pub(crate) fn peek_uid(&mut self) -> String {
        let saved = self.rng;
        let uid = self.uid();
        self.rng = saved;
        uid
    }

    fn uid(&mut self) -> String {
        let a = self.next_random();
        let b = self.next_random();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            (b >> 48) & 0x3fff | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }

    /// Five characters from Kubernetes' name alphabet (generateName suffixes).
    pub fn suffix(&mut self, n: usize) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let mut r = self.next_random();
        (0..n)
            .map(|_| {
                let c = ALPHABET[(r % ALPHABET.len() as u64) as usize] as char;
                r /= ALPHABET.len() as u64;
                c
            })
            .collect()
    }

    fn next_rv(&mut self) -> String {
        self.rv += 1;
        self.rv.to_string()
    }

    pub fn record(&mut self, object: &ObjectKey, reason: &str, message: impl Into<String>) {
        self.events.push(Event {
            time: self.clock,
            object: object.clone(),
            reason: reason.into(),
            message: message.into(),
        });
    }

    /// Every stored object, in key order.
    /// Stored objects of a kind (in one namespace), in key order: keys sort by group, kind,
    /// namespace, name, so this is a range of the store, not a scan.
    pub(crate) fn stored_of<'a>(
        &'a self,
        group: &'a str,
        kind: &'a str,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a ObjectKey, &'a Stored)> + 'a {
        let start = ObjectKey {
            group: group.to_string(),
            kind: kind.to_string(),
            namespace: namespace.unwrap_or("").to_string(),
            name: String::new(),
        };
        self.store.range(start).take_while(move |(k, _)| {
            k.group == group && k.kind == kind && namespace.is_none_or(|n| k.namespace == n)
        })
    }

    pub fn objects(&self) -> impl Iterator<Item = (&ObjectKey, &Stored)> {
        self.store.iter()
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn time(&self) -> Millis {
        self.clock
    }

    /// Discovery for a group and kind (any version served).
    fn served(&self, group: &str, version: &str, kind: &str) -> Result<Resource, ApiError> {
        let memo = format!("{group}/{version}/{kind}");
        if let Some(answer) = self.served_memo.borrow().get(&memo) {
            return answer.clone();
        }
        let answer = self.served_uncached(group, version, kind);
        self.served_memo.borrow_mut().insert(memo, answer.clone());
        answer
    }

    /// What discovery answers has changed (a CRD registered, Established or removed, a kind
    /// assumed): the memo of `served` is stale.
    fn kinds_changed(&mut self) {
        self.served_memo.get_mut().clear();
    }

    fn served_uncached(
        &self,
        group: &str,
        version: &str,
        kind: &str,
    ) -> Result<Resource, ApiError> {
        if let Some(c) = self.custom.get(&(group.to_string(), kind.to_string()))
            && c.established
            && (version.is_empty() || c.versions.iter().any(|v| v == version))
        {
            return Ok(c.resource.clone());
        }
        let resolution = match self.catalog.resolve(group, version, kind) {
            // Any version: the preferred one (stable before beta before alpha).
            Resolution::UnknownVersion { served } if version.is_empty() => {
                let rank = |v: &str| {
                    if v.contains("alpha") {
                        2
                    } else if v.contains("beta") {
                        1
                    } else {
                        0
                    }
                };
                let preferred = served
                    .iter()
                    .min_by_key(|v| rank(v))
                    .map(|v| split_api(v).1.to_string())
                    .unwrap_or_default();
                self.catalog.resolve(group, &preferred, kind)
            }
            other => other,
        };
        match resolution {
            Resolution::Found(r) if !r.custom => Ok(Resource {
                group: r.group.clone(),
                version: r.version.clone(),
                kind: r.kind.clone(),
                plural: r.plural.clone(),
                namespaced: r.namespaced,
                // Built-in strategies reset status on writes to the main resource, whether
                // or not a status subresource is listed.
                status_subresource: true,
            }),
            _ => {
                let gv = if group.is_empty() {
                    version.to_string()
                } else {
                    format!("{group}/{version}")
                };
                Err(ApiError::not_found(format!(
                    "no matches for kind \"{kind}\" in version \"{gv}\""
                )))
            }
        }
    }

    fn namespace_state(&self, ns: &str) -> Option<bool> {
        let key = ObjectKey {
            group: String::new(),
            kind: "Namespace".into(),
            namespace: String::new(),
            name: ns.to_string(),
        };
        self.store
            .get(&key)
            .map(|s| s.object.at("/metadata/deletionTimestamp").is_none())
    }

    /// The schema root of a kind, for list types in merges.
    pub fn schema_root(
        &mut self,
        group: &str,
        version: &str,
        kind: &str,
    ) -> Option<crate::schema::NodeId> {
        let r = match self.catalog.resolve(group, version, kind) {
            Resolution::Found(r) => r.clone(),
            _ => return None,
        };
        self.catalog.root(&r)
    }

    fn take_write_fault(&mut self, key: &ObjectKey) -> Option<ApiError> {
        let hit = self
            .faults
            .iter()
            .enumerate()
            .find(|(i, f)| {
                f.matches(key)
                    && matches!(f.fault, FaultKind::FailWrites { .. })
                    && self.fail_counts.get(i).is_some_and(|n| *n > 0)
            })
            .map(|(i, f)| (i, f.fault.clone()));
        let (i, FaultKind::FailWrites { code, .. }) = hit? else {
            return None;
        };
        *self.fail_counts.get_mut(&i)? -= 1;
        let (reason, retry_after) = match code {
            429 => ("TooManyRequests", Some(1)),
            503 => ("ServiceUnavailable", None),
            _ => ("InternalError", None),
        };
        let message = if code == 429 {
            format!("Too many requests, please try again later. (simulated fault on {key})")
        } else {
            format!(
                "the server is currently unable to handle the request (simulated fault on {key})"
            )
        };
        Some(ApiError::new(code, reason, message).with_retry_after(retry_after))
    }

    /// Writes an object as another field manager, with an Update operation: what `kubectl
    /// edit`, `kubectl scale` or an autoscaler does. `change` edits the live object.
    pub fn update_as(
        &mut self,
        key: &ObjectKey,
        manager: &str,
        subresource: &str,
        change: &dyn Fn(&mut Value),
    ) -> Result<Value, ApiError> {
        let Some(stored) = self.store.get(key).cloned() else {
            return Err(ApiError::not_found(format!(
                "{} \"{}\" not found",
                self.plural_of(key),
                key.name
            )));
        };
        let mut next = (*stored.object).clone();
        change(&mut next);
        let api = stored
            .object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let (group, version) = split_api(&api);
        let root = self.schema_root(group, version, &key.kind);
        let schema = fields::Schema {
            schemas: Some(&self.catalog.schemas),
            node: root,
        };
        let managed = ssa::update(
            &stored.managed,
            &stored.object,
            &next,
            manager,
            subresource,
            &api,
            self.clock,
            schema,
        );
        self.commit(key.clone(), &stored.object, next, managed, false, true)
    }

    fn plural_of(&self, key: &ObjectKey) -> String {
        self.served(&key.group, "", &key.kind)
            .map(|r| r.plural)
            .unwrap_or_else(|_| key.kind.to_lowercase() + "s")
    }

    /// Stores `next` over `old` (or as new), with metadata kept as the API server keeps it.
    /// Stores a write; returns the stored object as the API shows it when `show` (a controller's
    /// own writes need no copy back).
    fn commit(
        &mut self,
        key: ObjectKey,
        old: &Value,
        mut next: Value,
        managed: Vec<Managed>,
        creating: bool,
        show: bool,
    ) -> Result<Value, ApiError> {
        let now = rfc3339(self.clock);
        if creating {
            let uid = self.uid();
            let meta = meta_mut(&mut next);
            meta.insert("uid".into(), json!(uid));
            meta.insert("creationTimestamp".into(), json!(now));
            if admission::has_generation(&key) {
                meta.insert("generation".into(), json!(1));
            }
        } else {
            for k in [
                "uid",
                "creationTimestamp",
                "generation",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "resourceVersion",
            ] {
                if let Some(v) = old.at(&format!("/metadata/{k}")) {
                    meta_mut(&mut next).insert(k.into(), v.clone());
                }
            }
            let status_subresource = self
                .served(&key.group, "", &key.kind)
                .map(|r| r.status_subresource)
                .unwrap_or(true);
            if admission::has_generation(&key)
                && admission::bumps_generation(&key, old, &next, status_subresource)
            {
                let g = old
                    .at("/metadata/generation")
                    .and_then(Value::as_i64)
                    .unwrap_or(1)
                    + 1;
                meta_mut(&mut next).insert("generation".into(), json!(g));
            }
        }
        let unchanged = !creating
            && same_but_volatile(old, &next)
            && self.store.get(&key).is_some_and(|s| s.managed == managed);
        if unchanged {
            return Ok(if show { self.render(&key) } else { Value::Null });
        }
        let rv = self.next_rv();
        meta_mut(&mut next).insert("resourceVersion".into(), json!(rv));
        // Fields that no longer exist are no longer owned.
        let api = next
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let (group, version) = split_api(&api);
        let root = self.schema_root(group, version, &key.kind);
        let managed = ssa::prune_missing(
            managed,
            &next,
            fields::Schema {
                schemas: Some(&self.catalog.schemas),
                node: root,
            },
        );
        let released = next.at("/metadata/deletionTimestamp").is_some()
            && next
                .at("/metadata/finalizers")
                .and_then(Value::as_array)
                .is_none_or(|f| f.is_empty());
        self.gc_pending |= next.at("/metadata/ownerReferences").is_some();
        self.put(
            key.clone(),
            Stored {
                object: Arc::new(next),
                managed,
                managed_json: std::cell::OnceCell::new(),
            },
        );
        // The last finalizer removed from a deleted object: it goes.
        if released && !(key.group.is_empty() && key.kind == "Namespace") {
            self.remove_now(&key);
            return Ok(Value::Null);
        }
        self.after_write(&key, creating);
        Ok(if show { self.render(&key) } else { Value::Null })
    }

    /// The object as the API returns it, with managedFields.
    /// Stores an object, keeping the uid and owner indexes.
    fn put(&mut self, key: ObjectKey, stored: Stored) {
        if let Some(old) = self.store.get(&key) {
            let old = old.object.clone();
            self.unindex(&key, &old);
        }
        if let Some(u) = stored.object.at("/metadata/uid").and_then(Value::as_str) {
            self.by_uid.insert(u.to_string(), key.clone());
        }
        for owner in owner_uids(&stored.object) {
            self.owned
                .entry(owner.to_string())
                .or_default()
                .insert(key.clone());
        }
        self.store.insert(key.clone(), stored);
        self.touch(&key);
    }

    /// Wakes the controllers of an object that changed and of its owners.
    pub(crate) fn touch(&mut self, key: &ObjectKey) {
        self.wake_owners(key);
        self.wakeups.insert(key.clone());
        self.journal_change(key);
    }

    /// Wakes the controllers of an object's owners.
    fn wake_owners(&mut self, key: &ObjectKey) {
        if let Some(s) = self.store.get(key) {
            let owners = owner_keys(&key.namespace, &s.object);
            self.wakeups.extend(owners);
        }
    }

    /// Wakes the controller of an object at a time.
    pub(crate) fn wake_at(&mut self, key: &ObjectKey, at: Millis) {
        self.timers.insert((at, key.clone()));
    }

    /// Moves the timers that are due to the wake-ups.
    pub(crate) fn due_timers(&mut self) {
        while let Some(first) = self.timers.first() {
            if first.0 > self.clock {
                break;
            }
            if let Some((_, k)) = self.timers.pop_first() {
                self.wakeups.insert(k);
            }
        }
    }

    /// Takes the wake-ups of a kind.
    pub(crate) fn woken(&mut self, group: &str, kind: &str) -> Vec<ObjectKey> {
        let start = ObjectKey {
            group: group.to_string(),
            kind: kind.to_string(),
            namespace: String::new(),
            name: String::new(),
        };
        let keys: Vec<ObjectKey> = self
            .wakeups
            .range(start..)
            .take_while(|k| k.group == group && k.kind == kind)
            .cloned()
            .collect();
        for k in &keys {
            self.wakeups.remove(k);
        }
        keys.into_iter()
            .filter(|k| self.store.contains_key(k))
            .collect()
    }

    /// Removes an object, keeping the uid and owner indexes.
    fn take(&mut self, key: &ObjectKey) -> Option<Stored> {
        let stored = self.store.remove(key)?;
        self.unindex(key, &stored.object);
        if let Some(u) = stored.object.at("/metadata/uid").and_then(Value::as_str) {
            self.template_hashes.remove(u);
        }
        self.journal_removal(key, &stored);
        self.wakeups
            .extend(owner_keys(&key.namespace, &stored.object));
        Some(stored)
    }

    fn unindex(&mut self, key: &ObjectKey, object: &Value) {
        if let Some(u) = object.at("/metadata/uid").and_then(Value::as_str)
            && self.by_uid.get(u) == Some(key)
        {
            self.by_uid.remove(u);
        }
        for owner in owner_uids(object) {
            if let Some(set) = self.owned.get_mut(owner) {
                set.remove(key);
                if set.is_empty() {
                    self.owned.remove(owner);
                }
            }
        }
    }

    /// An object no longer names `owner` among its owners (orphaning).
    pub(crate) fn disown(&mut self, key: &ObjectKey, owner: &str) {
        if let Some(set) = self.owned.get_mut(owner) {
            set.remove(key);
            if set.is_empty() {
                self.owned.remove(owner);
            }
        }
    }

    pub fn render(&self, key: &ObjectKey) -> Value {
        let Some(s) = self.store.get(key) else {
            return Value::Null;
        };
        let mut v = (*s.object).clone();
        if !s.managed.is_empty() {
            let managed = s.managed_json.get_or_init(|| {
                Value::Array(s.managed.iter().map(|m| self.managed_json(m)).collect())
            });
            meta_mut(&mut v).insert("managedFields".into(), managed.clone());
        }
        v
    }

    /// A `managedFields` entry as this cluster shows it.
    fn managed_json(&self, m: &Managed) -> Value {
        if self.wire_fields {
            m.to_wire()
        } else {
            m.to_json()
        }
    }

    /// What a write sets off at once (controllers do the rest in virtual time).
    fn after_write(&mut self, key: &ObjectKey, creating: bool) {
        if key.group == "apiextensions.k8s.io" && key.kind == "CustomResourceDefinition" {
            self.register_crd(key);
        }
        if creating {
            controllers::on_create(self, key);
        }
    }

    /// Records a CRD's kind as known (served once Established).
    fn register_crd(&mut self, key: &ObjectKey) {
        let Some(obj) = self.store.get(key).map(|s| s.object.clone()) else {
            return;
        };
        let s = |p: &str| obj.at(p).and_then(Value::as_str).unwrap_or("").to_string();
        let (group, kind, plural) = (
            s("/spec/group"),
            s("/spec/names/kind"),
            s("/spec/names/plural"),
        );
        let versions: Vec<String> = obj
            .at("/spec/versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|v| v.get("served").and_then(Value::as_bool).unwrap_or(true))
            .filter_map(|v| v.get("name").and_then(Value::as_str).map(str::to_string))
            .collect();
        let status_sub = obj
            .at("/spec/versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|v| v.at("/subresources/status").is_some());
        let established = self
            .custom
            .get(&(group.clone(), kind.clone()))
            .is_some_and(|c| c.established);
        self.custom.insert(
            (group.clone(), kind.clone()),
            CustomKind {
                resource: Resource {
                    group,
                    version: versions.first().cloned().unwrap_or_default(),
                    kind,
                    plural,
                    namespaced: s("/spec/scope") != "Cluster",
                    status_subresource: status_sub,
                },
                versions,
                established,
                crd: key.name.clone(),
            },
        );
        self.kinds_changed();
    }

    /// Marks a CRD Established: its kind is served, its schema known.
    pub(crate) fn establish(&mut self, crd: &ObjectKey) {
        let Some(obj) = self.store.get(crd).map(|s| s.object.clone()) else {
            return;
        };
        let _ = self
            .catalog
            .add_crd(&obj, &|_| crate::diag::Location::file("sim"));
        for c in self.custom.values_mut() {
            if c.crd == crd.name {
                c.established = true;
            }
        }
        self.kinds_changed();
    }

    /// Removes an object at once (finalizers already done), and what its removal implies.
    pub(crate) fn remove_now(&mut self, key: &ObjectKey) {
        let Some(removed) = self.take(key) else {
            return;
        };
        self.gc_pending = true;
        self.record(key, "Deleted", format!("{key} deleted"));
        if key.group == "apiextensions.k8s.io" && key.kind == "CustomResourceDefinition" {
            // The CRD's cleanup finalizer removes every stored object of its kind first.
            let group = removed
                .object
                .at("/spec/group")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let kind = removed
                .object
                .at("/spec/names/kind")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let instances: Vec<ObjectKey> = self
                .stored_of(&group, &kind, None)
                .map(|(k, _)| k.clone())
                .collect();
            for k in instances {
                self.remove_now(&k);
            }
            self.custom.retain(|_, c| c.crd != key.name);
            self.kinds_changed();
        }
    }

    /// Sets a stored object's status (a controller's write through the status subresource).
    pub(crate) fn set_status(&mut self, key: &ObjectKey, status: Value) {
        let Some(s) = self.store.get(key) else { return };
        if s.object.get("status") == Some(&status) {
            return;
        }
        let rv = self.next_rv();
        if let Some(s) = self.store.get_mut(key) {
            if let Some(m) = s.object_mut().as_object_mut() {
                m.insert("status".into(), status);
            }
            meta_mut(s.object_mut()).insert("resourceVersion".into(), json!(rv));
        }
        // A status is written by the object's own controller: its owners look again, it
        // need not.
        self.wake_owners(key);
        self.journal_change(key);
    }

    /// Creates an object as a controller would (no managed fields recorded for it beyond the
    /// controller's own Update).
    pub(crate) fn create_as_controller(&mut self, obj: Value, manager: &str) -> ObjectKey {
        let key = key_of(&obj);
        let api = obj
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let managed = vec![Managed {
            manager: manager.into(),
            operation: Operation::Update,
            subresource: String::new(),
            api_version: api,
            fields: fields::field_set(&strip_meta_for_fields(&obj), fields::Schema::none()),
            time: self.clock,
        }];
        let _ = self.commit(key.clone(), &Value::Null, obj, managed, true, false);
        key
    }

    /// The status a new built-in object starts with (`{}`, as the API strategies reset it);
    /// none for custom resources.
    fn initial_status(
        &self,
        key: &ObjectKey,
        root: Option<crate::schema::NodeId>,
    ) -> Option<Value> {
        if self
            .custom
            .contains_key(&(key.group.clone(), key.kind.clone()))
        {
            return None;
        }
        let root = root?;
        self.catalog.schemas.node(root).property("status")?;
        Some(match (key.group.as_str(), key.kind.as_str()) {
            ("", "Service") => json!({"loadBalancer": {}}),
            _ => json!({}),
        })
    }

    pub(crate) fn allocate_ip(&mut self) -> String {
        self.next_ip += 1;
        format!("10.96.{}.{}", self.next_ip / 250, self.next_ip % 250 + 1)
    }

    /// The last steps of every write: defaults, the initial status of a new object, admission,
    /// then stored (or, for a dry run, shown as it would be stored).
    #[allow(clippy::too_many_arguments)]
    fn admit(
        &mut self,
        key: ObjectKey,
        resource: &Resource,
        creating: bool,
        live: &Value,
        mut next: Value,
        managed: Vec<Managed>,
        root: Option<crate::schema::NodeId>,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let allocated = self.next_ip;
        let old = (!creating).then_some(live);
        admission::defaults(self, &key, old, &mut next);
        if creating
            && next.get("status").is_none()
            && let Some(status) = self.initial_status(&key, root)
        {
            next["status"] = status;
        }
        if let Err(e) = admission::validate(&key, old, &next) {
            self.next_ip = allocated;
            return Err(e);
        }
        if dry_run {
            // Nothing is kept, not even an allocated address.
            self.next_ip = allocated;
            let mut v = next;
            if creating {
                meta_mut(&mut v).insert("creationTimestamp".into(), json!(rfc3339(self.clock)));
                if admission::has_generation(&key) {
                    meta_mut(&mut v).insert("generation".into(), json!(1));
                }
                meta_mut(&mut v)
                    .insert("uid".into(), json!("00000000-0000-0000-0000-000000000000"));
            } else {
                for k in ["uid", "creationTimestamp", "generation", "resourceVersion"] {
                    if let Some(x) = live.at(&format!("/metadata/{k}")) {
                        meta_mut(&mut v).insert(k.into(), x.clone());
                    }
                }
                if admission::has_generation(&key)
                    && admission::bumps_generation(&key, live, &v, resource.status_subresource)
                {
                    let g = live
                        .at("/metadata/generation")
                        .and_then(Value::as_i64)
                        .unwrap_or(1)
                        + 1;
                    meta_mut(&mut v).insert("generation".into(), json!(g));
                }
            }
            meta_mut(&mut v).insert(
                "managedFields".into(),
                Value::Array(managed.iter().map(|m| self.managed_json(m)).collect()),
            );
            return Ok(v);
        }
        self.commit(key, live, next, managed, creating, true)
    }

    /// Runs the controllers up to the current time.
    fn run_controllers(&mut self) {
        controllers::reconcile(self);
    }
}

/// kubectl's guess of a kind's plural (`Policy` -> `policies`), for kinds known without a CRD.
fn guess_plural(kind: &str) -> String {
    let k = kind.to_lowercase();
    if k.ends_with('s') || k.ends_with('x') || k.ends_with("ch") || k.ends_with("sh") {
        format!("{k}es")
    } else if let Some(stem) = k
        .strip_suffix('y')
        .filter(|s| !s.ends_with(['a', 'e', 'i', 'o', 'u']))
    {
        format!("{stem}ies")
    } else {
        format!("{k}s")
    }
}

/// The metadata map of an object, created if missing.
pub(crate) fn meta_mut(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = json!({});
    }
    let m = v.as_object_mut().expect("object");
    let meta = m.entry("metadata").or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    meta.as_object_mut().expect("metadata")
}

/// Metadata the server owns: never part of a manager's fields.
const SERVER_METADATA: &[&str] = &[
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "generateName",
];

/// An applied configuration as field sets see it: no apiVersion/kind/name/namespace.
pub(crate) fn strip_meta_for_fields(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("apiVersion");
        m.remove("kind");
        if let Some(Value::Object(meta)) = m.get_mut("metadata") {
            meta.remove("name");
            meta.remove("namespace");
            for k in SERVER_METADATA {
                meta.remove(*k);
            }
            if meta.is_empty() {
                m.remove("metadata");
            }
        }
    }
    v
}

/// Whether two versions of an object are the same but for what every write changes
/// (`resourceVersion`, `managedFields`), compared in place.
fn same_but_volatile(a: &Value, b: &Value) -> bool {
    const VOLATILE: [&str; 2] = ["resourceVersion", "managedFields"];
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return a == b;
    };
    let same_meta = |x: Option<&Value>, y: Option<&Value>| match (x, y) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let kept = |m: &'_ Map<String, Value>| {
                m.iter()
                    .filter(|(k, _)| !VOLATILE.contains(&k.as_str()))
                    .count()
            };
            kept(x) == kept(y)
                && x.iter()
                    .filter(|(k, _)| !VOLATILE.contains(&k.as_str()))
                    .all(|(k, v)| y.get(k) == Some(v))
        }
        (x, y) => x == y,
    };
    a.len() == b.len()
        && a.iter().all(|(k, v)| {
            if k == "metadata" {
                same_meta(Some(v), b.get(k))
            } else {
                b.get(k) == Some(v)
            }
        })
}

impl Cluster for SimCluster {
    fn resource(&mut self, api_version: &str, kind: &str) -> Option<Resource> {
        let (g, v) = split_api(api_version);
        self.served(g, v, kind).ok()
    }

    fn get(&mut self, key: &ObjectKey) -> Result<Option<Value>, ApiError> {
        if self.served(&key.group, "", &key.kind).is_err() {
            return Err(ApiError::not_found(
                "the server could not find the requested resource",
            ));
        }
        Ok(self.store.contains_key(key).then(|| self.render(key)))
    }

    fn list(
        &mut self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        selector: &str,
    ) -> Result<Vec<Value>, ApiError> {
        let (g, v) = split_api(api_version);
        self.served(g, v, kind)?;
        let sel = Selector::parse(selector).map_err(|e| ApiError::new(400, "BadRequest", e))?;
        let keys: Vec<ObjectKey> = self
            .stored_of(g, kind, namespace)
            .filter(|(_, s)| {
                sel.matches(s.object.at("/metadata/labels").and_then(Value::as_object))
            })
            .map(|(k, _)| k.clone())
            .collect();
        Ok(keys.iter().map(|k| self.render(k)).collect())
    }

    fn apply(&mut self, object: &Value, options: &ApplyOptions) -> Result<Value, ApiError> {
        let mut config = object.clone();
        let (api, resource, key) = self.request_target(&mut config)?;
        let kind = resource.kind.clone();
        let (group, version) = split_api(&api);
        if key.name.is_empty() {
            return Err(ApiError::invalid(format!(
                "The {kind} \"\" is invalid: metadata.name: Required value: name or generateName is required"
            )));
        }
        self.check_namespace(&resource, &key)?;
        // Faults hit writes; a dry run stores nothing and is not one.
        if !options.dry_run
            && let Some(e) = self.take_write_fault(&key)
        {
            return Err(e);
        }
        if resource.status_subresource
            && let Some(m) = config.as_object_mut()
        {
            m.remove("status");
        }
        let root = self.schema_root(group, version, &kind);
        let old = self.store.get(&key);
        let creating = old.is_none();
        let live = old.map(|s| s.object.clone()).unwrap_or_default();
        let previous = old.map(|s| s.managed.clone()).unwrap_or_default();
        let schema = fields::Schema {
            schemas: Some(&self.catalog.schemas),
            node: root,
        };
        let undeclared = fields::undeclared(&strip_meta_for_fields(&config), schema);
        if !undeclared.is_empty() {
            let shown: Vec<String> = undeclared
                .iter()
                .map(|p| format!("{}: field not declared in schema", fields::Display(p)))
                .collect();
            let shown = if shown.len() == 1 {
                shown[0].clone()
            } else {
                format!("errors:\n  {}", shown.join("\n  "))
            };
            return Err(ApiError::new(
                500,
                "",
                format!(
                    "failed to create typed patch object ({}/{}; {group}/{version}, Kind={kind}): {shown}",
                    key.namespace, key.name
                ),
            ));
        }
        let outcome = ssa::apply(
            &previous,
            &live,
            &config,
            &options.manager,
            &api,
            options.force,
            self.clock,
            schema,
        )?;
        let mut next = outcome.object;
        // apiVersion and kind are those of the request.
        if let Some(m) = next.as_object_mut() {
            m.insert("apiVersion".into(), json!(api));
            m.insert("kind".into(), json!(kind));
        }
        self.admit(
            key,
            &resource,
            creating,
            &live,
            next,
            outcome.managed,
            root,
            options.dry_run,
        )
    }

    fn take_over(
        &mut self,
        key: &ObjectKey,
        resource_version: &str,
        from: &[&str],
        to: &str,
    ) -> Result<bool, ApiError> {
        let clock = self.clock;
        let Some(stored) = self.store.get(key) else {
            return Err(ApiError::not_found(format!("{key} not found")));
        };
        let rv = stored
            .object
            .at("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        if rv != resource_version {
            return Err(ApiError::conflict(format!(
                "Operation cannot be fulfilled on {key}: the object has been modified; please apply your changes to the latest version and try again"
            )));
        }
        let wire: Vec<Value> = stored.managed.iter().map(|m| m.to_wire()).collect();
        let Some(upgraded) = super::upgrade_managed_fields(&wire, from, to) else {
            return Ok(false);
        };
        let managed = api::managed_from_wire(&upgraded, clock);
        let mut object = (*stored.object).clone();
        let rv = self.next_rv();
        meta_mut(&mut object).insert("resourceVersion".into(), json!(rv));
        self.put(
            key.clone(),
            Stored {
                object: Arc::new(object),
                managed,
                managed_json: std::cell::OnceCell::new(),
            },
        );
        Ok(true)
    }

    fn delete(&mut self, key: &ObjectKey, options: &DeleteOptions) -> Result<bool, ApiError> {
        if self.served(&key.group, "", &key.kind).is_err() {
            return Err(ApiError::not_found(
                "the server could not find the requested resource",
            ));
        }
        let Some(stored) = self.store.get(key) else {
            return Ok(false);
        };
        for (label, want, pointer) in [
            ("UID", &options.uid, "/metadata/uid"),
            (
                "ResourceVersion",
                &options.resource_version,
                "/metadata/resourceVersion",
            ),
        ] {
            let have = stored
                .object
                .at(pointer)
                .and_then(Value::as_str)
                .unwrap_or("");
            if let Some(want) = want
                && want != have
            {
                let plural = self.plural_of(key);
                let qualified = if key.group.is_empty() {
                    plural
                } else {
                    format!("{plural}.{}", key.group)
                };
                return Err(ApiError::conflict(format!(
                    "Operation cannot be fulfilled on {qualified} \"{}\": Precondition failed: {label} in precondition: {want}, {label} in object meta: {have}",
                    key.name
                )));
            }
        }
        if options.dry_run {
            return Ok(true);
        }
        if let Some(e) = self.take_write_fault(key) {
            return Err(e);
        }
        let Some(object) = self.store.get(key).map(|s| &s.object) else {
            return Ok(false);
        };
        if object.at("/metadata/deletionTimestamp").is_some() {
            return Ok(true);
        }
        let namespace = key.group.is_empty() && key.kind == "Namespace";
        let mut finalizers: Vec<Value> = object
            .at("/metadata/finalizers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let uid = object
            .at("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        match options.propagation {
            Propagation::Foreground => {
                if !finalizers.contains(&json!("foregroundDeletion")) {
                    finalizers.push(json!("foregroundDeletion"));
                }
            }
            Propagation::Orphan => controllers::orphan_dependents(self, &uid),
            Propagation::Background => {}
        }
        if finalizers.is_empty() && !namespace {
            // Nothing holds it: it goes now (background dependents follow through the
            // collector).
            self.remove_now(key);
            return Ok(true);
        }
        // Held by finalizers: marked, and copied only then.
        let Some(mut obj) = self.store.get(key).map(|s| (*s.object).clone()) else {
            return Ok(false);
        };
        let now = rfc3339(self.clock);
        let meta = meta_mut(&mut obj);
        meta.insert("deletionTimestamp".into(), json!(now));
        self.gc_pending = true;
        meta.insert("deletionGracePeriodSeconds".into(), json!(0));
        if !finalizers.is_empty() {
            meta.insert("finalizers".into(), Value::Array(finalizers));
        }
        if namespace {
            obj["spec"] = json!({"finalizers": ["kubernetes"]});
            obj["status"] = json!({"phase": "Terminating"});
        }
        let rv = self.next_rv();
        meta_mut(&mut obj).insert("resourceVersion".into(), json!(rv));
        if let Some(s) = self.store.get_mut(key) {
            s.object = Arc::new(obj);
        }
        self.touch(key);
        self.record(key, "Terminating", format!("{key} is being deleted"));
        Ok(true)
    }

    fn now(&mut self) -> Millis {
        self.clock
    }

    fn sleep(&mut self, millis: Millis) {
        let end = self.clock + millis;
        // Controllers look every tick; the last look is at the end.
        loop {
            let step = self.config.tick.min(end - self.clock);
            self.clock += step;
            self.run_controllers();
            if self.clock >= end {
                break;
            }
        }
    }
}

/// The keys of an object's owners (owners are in the object's namespace, or cluster-scoped).
fn owner_keys(namespace: &str, object: &Value) -> Vec<ObjectKey> {
    let refs = object
        .at("/metadata/ownerReferences")
        .and_then(Value::as_array);
    refs.into_iter()
        .flatten()
        .filter_map(|r| {
            let api = r.get("apiVersion").and_then(Value::as_str)?;
            let group = api.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
            Some(ObjectKey {
                group: group.to_string(),
                kind: r.get("kind").and_then(Value::as_str)?.to_string(),
                namespace: namespace.to_string(),
                name: r.get("name").and_then(Value::as_str)?.to_string(),
            })
        })
        .collect()
}

/// The uids an object's owner references name.
fn owner_uids(object: &Value) -> impl Iterator<Item = &str> {
    object
        .at("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("uid").and_then(Value::as_str))
}

/// Objects with owner references to `uid`, in key order.
pub(crate) fn dependents_of(sim: &SimCluster, uid: &str) -> Vec<ObjectKey> {
    sim.owned
        .get(uid)
        .map(|s| s.iter().cloned().collect())
        .unwrap_or_default()
}

/// Objects whose every owner is gone (the garbage collector's to delete), in key order.
pub(crate) fn orphans(sim: &SimCluster) -> Vec<ObjectKey> {
    let mut out: BTreeSet<ObjectKey> = BTreeSet::new();
    for (owner, keys) in &sim.owned {
        if sim.by_uid.contains_key(owner) {
            continue;
        }
        for k in keys {
            let all_gone = sim
                .store
                .get(k)
                .is_some_and(|s| owner_uids(&s.object).all(|u| !sim.by_uid.contains_key(u)));
            if all_gone {
                out.insert(k.clone());
            }
        }
    }
    out.into_iter().collect()
}
