//! What a change does, object by object: two compiled revisions (base and head) compared by
//! identity (group, kind, namespace, name), renames found (same content, new name), each
//! changed object shown as the fields that change and a unified diff of its YAML, with the
//! file and line in the head revision it comes from. Around it, what a reviewer needs: counts
//! per unit, images changed, findings introduced and fixed, danger notes (RBAC widened,
//! privileged or hostPath added, scaled to zero, suspended, prune disabled), graph changes
//! (edges, cycles, wave moves), and noise hidden by named rules with a count each.
//!
//! Secret values never reach a [`Review`]: Secret `data` and `stringData` are compared as
//! fingerprints, and every value any Secret of either revision holds is taken out of every
//! text (a value substituted into another object, quoted in a finding).
//!
//! It does not render, simulate or print: the CLI compiles both revisions, runs the verdicts
//! in the simulator ([`Verdicts`] holds them) and renders a `Review` in each output format.

pub mod text;

use crate::diag::{Diagnostic, Location, Severity};
use crate::object::{Object, ObjectKey};
use crate::pipeline::Compiled;
use crate::schema::compiled::{NodeId, Schemas};
use crate::util::Pointer;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// How an object changes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase", tag = "change")]
pub enum Change {
    Added,
    Removed,
    Changed,
    /// The same content under a new name (`from` is the old object).
    Renamed {
        from: String,
    },
}

/// One object that changes.
#[derive(Clone, Debug, Serialize)]
pub struct ObjectDiff {
    pub object: String,
    #[serde(flatten)]
    pub change: Change,
    /// The unit (kustomization, Flux Kustomization, directory) it belongs to in head (base
    /// for a removed object).
    pub unit: String,
    /// The unit it belonged to in base, when it moves to another.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<String>,
    /// Where it comes from: head's file and line (base's for a removed object).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<Location>,
    /// The fields that change (`.spec.replicas`, `.spec.template.spec.containers[name="web"].image`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// A unified diff of the object's YAML (three lines of context).
    pub diff: String,
}

/// A rule that hides changes nobody reviews (a chart's version label, a checksum
/// annotation), and how many objects' changes it hid.
#[derive(Clone, Debug, Serialize)]
pub struct NoiseRule {
    pub name: String,
    /// Only objects of this kind (every kind when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// JSON pointers (a trailing `*` matches every key that starts so).
    pub pointers: Vec<String>,
    pub hidden: usize,
}

impl NoiseRule {
    /// The rules kiln ships; `--no-default-filters` turns them off.
    pub fn defaults() -> Vec<NoiseRule> {
        vec![
            NoiseRule {
                name: "helm-chart-labels".into(),
                kind: None,
                pointers: vec![
                    "/metadata/labels/helm.sh~1chart".into(),
                    "/spec/template/metadata/labels/helm.sh~1chart".into(),
                ],
                hidden: 0,
            },
            NoiseRule {
                name: "checksum-annotations".into(),
                kind: None,
                pointers: vec![
                    "/metadata/annotations/checksum~1*".into(),
                    "/spec/template/metadata/annotations/checksum~1*".into(),
                ],
                hidden: 0,
            },
        ]
    }

    /// `v` without the fields this rule hides.
    fn strip(&self, v: &mut Value) {
        if let Some(kind) = &self.kind
            && v.get("kind").and_then(Value::as_str) != Some(kind.as_str())
        {
            return;
        }
        for p in &self.pointers {
            let Some((parent, last)) = p.rsplit_once('/') else {
                continue;
            };
            let last = last.replace("~1", "/").replace("~0", "~");
            if let Some(Value::Object(m)) = v.at_mut(parent) {
                match last.strip_suffix('*') {
                    Some(prefix) => m.retain(|k, _| !k.starts_with(prefix)),
                    None => {
                        m.remove(&last);
                    }
                }
            }
        }
    }
}

/// An image that changes in a workload.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ImageChange {
    pub object: String,
    pub container: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// A finding one revision has and the other has not.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    pub code: String,
    pub severity: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// Something a reviewer wants flagged.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Danger {
    pub object: String,
    pub what: String,
}

impl Danger {
    /// Where the object is written (head's file and line; base's for a removed object).
    pub fn origin<'a>(&self, review: &'a Review) -> Option<&'a Location> {
        review.origins.get(&self.object)
    }
}

/// How the dependency graph changes.
#[derive(Clone, Debug, Default, Serialize)]
pub struct GraphChanges {
    pub edges_added: Vec<String>,
    pub edges_removed: Vec<String>,
    pub new_cycles: Vec<String>,
    /// Objects in both revisions whose wave changes: (object, base wave, head wave), from 1.
    pub moved: Vec<(String, usize, usize)>,
}

/// What the simulator says: base applied, then head, then base again (the rollback).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Verdicts {
    /// Base did not apply cleanly on its own (the verdicts about head are then weaker).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub base_failures: Vec<String>,
    /// Head's apply converged.
    pub converges: bool,
    /// Objects that failed or were skipped applying head, with the error.
    pub failures: Vec<String>,
    /// Deleted by prune.
    pub pruned: Vec<String>,
    /// Deleted with something else (a namespace's objects, an owner's dependents).
    pub cascaded: Vec<String>,
    /// Removed objects that hold data (PVCs, namespaces, CRDs, StatefulSets with claims).
    pub data_loss: Vec<String>,
    /// The rollback to base converged.
    pub rollback_converges: bool,
    pub rollback_failures: Vec<String>,
}

/// The object a failure line names (`Kind/ns/name: why`).
fn failing_object(line: &str) -> &str {
    line.split_once(": ").map(|(o, _)| o).unwrap_or(line)
}

impl Verdicts {
    /// Failures of head (or of the rollback) that base does not have on its own: what the
    /// change brings. A base that already fails does not fail the change.
    pub fn new_failures(&self) -> Vec<&String> {
        let old: BTreeSet<&str> = self
            .base_failures
            .iter()
            .map(|l| failing_object(l))
            .collect();
        self.failures
            .iter()
            .chain(&self.rollback_failures)
            .filter(|l| !old.contains(failing_object(l)))
            .collect()
    }

    pub fn ok(&self) -> bool {
        self.new_failures().is_empty()
    }
}

/// The review of a change.
#[derive(Clone, Debug, Serialize)]
pub struct Review {
    /// Per unit: objects added, changed (renames included), removed.
    pub units: BTreeMap<String, [usize; 3]>,
    pub objects: Vec<ObjectDiff>,
    pub images: Vec<ImageChange>,
    pub introduced: Vec<Finding>,
    pub fixed: Vec<Finding>,
    pub dangers: Vec<Danger>,
    pub graph: GraphChanges,
    pub noise: Vec<NoiseRule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdicts: Option<Verdicts>,
    /// The introduced findings as diagnostics (for GitHub annotations and SARIF).
    #[serde(skip)]
    pub introduced_diagnostics: Vec<Diagnostic>,
    /// Where each object of head (and each removed object of base) is written.
    #[serde(skip)]
    pub origins: BTreeMap<String, Location>,
}

impl Review {
    /// Counts over every unit: added, changed, removed.
    pub fn totals(&self) -> [usize; 3] {
        let mut t = [0; 3];
        for c in self.units.values() {
            for i in 0..3 {
                t[i] += c[i];
            }
        }
        t
    }
}

fn is_secret(key: &ObjectKey) -> bool {
    key.group.is_empty() && key.kind == "Secret"
}

fn fingerprint(s: &str) -> String {
    let d = Sha256::digest(s.as_bytes());
    d.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// A Secret with each value replaced by a fingerprint (the same value, the same print).
fn masked(o: &Object) -> Value {
    let mut v = o.value.clone();
    if is_secret(&o.key) {
        for field in ["data", "stringData"] {
            if let Some(Value::Object(m)) = v.get_mut(field) {
                for x in m.values_mut() {
                    let text = match &*x {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    *x = Value::String(format!("(secret {})", fingerprint(&text)));
                }
            }
        }
    }
    v
}

/// Every value the Secrets of `objects` hold (decoded too), longest first: what no text may
/// contain.
pub fn secret_values<'a>(objects: impl Iterator<Item = &'a Object>) -> Vec<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    for o in objects.filter(|o| is_secret(&o.key)) {
        for field in ["data", "stringData"] {
            let Some(m) = o.value.get(field).and_then(Value::as_object) else {
                continue;
            };
            for x in m.values() {
                let Some(s) = x.as_str() else { continue };
                out.insert(s.to_string());
                if field == "data"
                    && let Some(d) = crate::util::base64_decode(s)
                    && let Ok(text) = String::from_utf8(d)
                {
                    out.insert(text);
                }
            }
        }
    }
    // Short values would take ordinary words out of the text; they are masked in Secrets
    // themselves, which is where they can be.
    let mut v: Vec<String> = out.into_iter().filter(|s| s.trim().len() >= 4).collect();
    v.sort_by_key(|s| std::cmp::Reverse(s.len()));
    v
}

/// `text` with every secret value replaced.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "(secret)");
        }
    }
    out
}

/// Every leaf of a value by path, the items of lists matched as the schema merges them: by
/// their list-map keys (`ports[port=80,protocol="TCP"]`, a key the item leaves out taking
/// its schema default), or their patch merge key (`env[name="DOMAIN"]`); schema-less lists
/// of named items by name, as plans write them; other lists whole.
fn keyed_leaves(
    schemas: &Schemas,
    node: Option<NodeId>,
    v: &Value,
    path: &mut String,
    out: &mut BTreeMap<String, Value>,
) {
    let n = node.map(|id| schemas.node(id));
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, c) in m {
                let child = n.and_then(|n| {
                    n.property(k).or(match &n.additional {
                        crate::schema::compiled::Additional::Schema(id) => Some(*id),
                        _ => None,
                    })
                });
                let len = path.len();
                path.push('.');
                path.push_str(k);
                keyed_leaves(schemas, child, c, path, out);
                path.truncate(len);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            let items = n.and_then(|n| n.items);
            let keys: Vec<String> = match n.map(|n| &n.list_type) {
                Some(crate::schema::compiled::ListType::Map(keys)) => keys.clone(),
                _ => n
                    .and_then(|n| n.patch_merge_key.as_deref())
                    .map(|k| vec![k.to_string()])
                    .unwrap_or_default(),
            };
            let key_of = |x: &Value| -> Option<String> {
                let item = items.map(|id| schemas.node(id));
                let parts: Vec<String> = keys
                    .iter()
                    .filter_map(|k| {
                        let value = x.get(k).cloned().or_else(|| {
                            let field = item?.property(k)?;
                            schemas.node(field).default.as_deref().cloned()
                        })?;
                        Some(format!("{k}={value}"))
                    })
                    .collect();
                (!parts.is_empty()).then(|| parts.join(","))
            };
            let keyed: Option<Vec<String>> = if keys.is_empty() {
                None
            } else {
                a.iter().map(key_of).collect()
            };
            match keyed {
                Some(ks) if ks.iter().collect::<BTreeSet<_>>().len() == ks.len() => {
                    for (x, k) in a.iter().zip(ks) {
                        let len = path.len();
                        path.push_str(&format!("[{k}]"));
                        keyed_leaves(schemas, items, x, path, out);
                        path.truncate(len);
                    }
                }
                _ if node.is_none() || items.is_none() => {
                    let mut sub = BTreeMap::new();
                    crate::plan::leaves(v, &mut path.clone(), &mut sub);
                    out.extend(sub);
                }
                _ => {
                    out.insert(path.clone(), v.clone());
                }
            }
        }
        _ => {
            out.insert(path.clone(), v.clone());
        }
    }
}

/// The fields that differ, list items matched by the schema's merge keys.
fn changed_fields(schemas: &Schemas, root: Option<NodeId>, a: &Value, b: &Value) -> Vec<String> {
    let (mut x, mut y) = (BTreeMap::new(), BTreeMap::new());
    keyed_leaves(schemas, root, a, &mut String::new(), &mut x);
    keyed_leaves(schemas, root, b, &mut String::new(), &mut y);
    let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
    keys.into_iter()
        .filter(|k| x.get(*k) != y.get(*k))
        .cloned()
        .collect()
}

/// Where an object comes from.
fn origin(c: &Compiled, o: &Object) -> Option<Location> {
    let l = c.locate(o, "", false);
    (!l.path.is_empty()).then_some(l)
}

fn unit_of(c: &Compiled, index: usize) -> String {
    c.units
        .iter()
        .find(|u| u.objects.contains(&index))
        .map(|u| {
            if u.name.is_empty() {
                u.path.clone()
            } else {
                u.name.clone()
            }
        })
        .unwrap_or_else(|| "(input)".to_string())
}

fn by_key(c: &Compiled) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (i, o) in c.objects.iter().enumerate() {
        out.entry(o.key.to_string()).or_insert(i);
    }
    out
}

/// The content of an object without its name (what a rename keeps).
fn content_without_name(v: &Value) -> String {
    let mut v = v.clone();
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("name");
    }
    v.to_string()
}

/// A generated name without kustomize's content hash (`web-files-d586m5cm6g` -> `web-files`).
fn generated_stem(name: &str) -> Option<&str> {
    let (stem, hash) = name.rsplit_once('-')?;
    (hash.len() == 10
        && hash
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && !stem.is_empty())
    .then_some(stem)
}

/// Containers of a workload, by name: (container, image).
fn images(v: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for pod in [
        "/spec/template/spec",
        "/spec/jobTemplate/spec/template/spec",
        "/spec",
    ] {
        let Some(spec) = v.at(pod) else { continue };
        for list in ["initContainers", "containers"] {
            for c in spec
                .get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let (Some(n), Some(i)) = (
                    c.get("name").and_then(Value::as_str),
                    c.get("image").and_then(Value::as_str),
                ) {
                    out.insert(n.to_string(), i.to_string());
                }
            }
        }
        if !out.is_empty() {
            break;
        }
    }
    out
}

fn finding(d: &Diagnostic) -> Finding {
    Finding {
        code: d.code.as_str().to_string(),
        severity: match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            _ => "note",
        }
        .to_string(),
        message: d.message.clone(),
        location: d.primary.as_ref().map(|l| {
            let loc = &l.location;
            match &loc.range {
                Some(r) => format!("{}:{}:{}", loc.path, r.line, r.column),
                None => loc.path.clone(),
            }
        }),
    }
}

/// Findings as a set that does not move with line numbers: code, message and file.
fn finding_keys(diags: &[Diagnostic]) -> BTreeMap<(String, String, String), Finding> {
    diags
        .iter()
        .filter(|d| matches!(d.severity, Severity::Error | Severity::Warning))
        .map(|d| {
            let f = finding(d);
            let file = d
                .primary
                .as_ref()
                .map(|l| l.location.path.clone())
                .unwrap_or_default();
            ((f.code.clone(), f.message.clone(), file), f)
        })
        .collect()
}

/// What a reviewer is warned of in an object of head (compared with its base version).
fn dangers_of(key: &str, base: Option<&Value>, head: &Value, kind: &ObjectKey) -> Vec<Danger> {
    let mut out = Vec::new();
    let mut say = |what: String| {
        out.push(Danger {
            object: key.to_string(),
            what,
        })
    };
    let rbac = kind.group == "rbac.authorization.k8s.io";
    if rbac && kind.kind == "ClusterRoleBinding" && base.is_none() {
        let role = head
            .at("/roleRef/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        say(format!("new ClusterRoleBinding (to {role})"));
    }
    if rbac && matches!(kind.kind.as_str(), "Role" | "ClusterRole") {
        let wild = |v: Option<&Value>| -> BTreeSet<String> {
            v.and_then(|v| v.get("rules"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .flat_map(|r| {
                    ["verbs", "resources", "apiGroups"].into_iter().filter(|f| {
                        r.get(*f)
                            .and_then(Value::as_array)
                            .is_some_and(|a| a.iter().any(|x| x == "*"))
                    })
                })
                .map(str::to_string)
                .collect()
        };
        for f in wild(Some(head)).difference(&wild(base)) {
            say(format!("rules grant `*` {f}"));
        }
    }
    let flag = |v: Option<&Value>, test: &dyn Fn(&Value) -> bool| v.is_some_and(test);
    let privileged = |v: &Value| {
        [
            "/spec/template/spec",
            "/spec/jobTemplate/spec/template/spec",
            "/spec",
        ]
        .iter()
        .filter_map(|p| v.at(p))
        .flat_map(|s| {
            ["containers", "initContainers"]
                .into_iter()
                .filter_map(move |l| s.get(l).and_then(Value::as_array))
                .flatten()
        })
        .any(|c| c.at("/securityContext/privileged") == Some(&Value::Bool(true)))
    };
    if flag(Some(head), &privileged) && !flag(base, &privileged) {
        say("a privileged container".into());
    }
    let host_path = |v: &Value| {
        ["/spec/template/spec/volumes", "/spec/volumes"]
            .iter()
            .filter_map(|p| v.at(p).and_then(Value::as_array))
            .flatten()
            .any(|vol| vol.get("hostPath").is_some())
    };
    if flag(Some(head), &host_path) && !flag(base, &host_path) {
        say("a hostPath volume".into());
    }
    let replicas = |v: Option<&Value>| v.and_then(|v| v.at("/spec/replicas")).cloned();
    if replicas(Some(head)) == Some(Value::from(0)) && replicas(base) != Some(Value::from(0)) {
        say("scaled to 0 replicas".into());
    }
    let suspend = |v: Option<&Value>| {
        v.and_then(|v| v.at("/spec/suspend"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    if base.is_some() && suspend(Some(head)) != suspend(base) {
        say(if suspend(Some(head)) {
            "suspended".into()
        } else {
            "resumed (suspend removed)".into()
        });
    }
    if crate::plan::prune_disabled(head).is_some()
        && base.is_none_or(|b| crate::plan::prune_disabled(b).is_none())
    {
        say("prune disabled".into());
    }
    out
}

fn edge_names(c: &Compiled) -> BTreeSet<String> {
    let g = &c.graph;
    g.edges
        .iter()
        .filter_map(|e| {
            let (crate::graph::Node::Object(a), crate::graph::Node::Object(b)) =
                (&g.nodes[e.from], &g.nodes[e.to])
            else {
                return None;
            };
            Some(format!(
                "{} -> {} ({})",
                c.objects[*a].key,
                c.objects[*b].key,
                e.rule.name()
            ))
        })
        .collect()
}

fn cycle_names(c: &Compiled) -> BTreeSet<String> {
    c.graph
        .cycles
        .iter()
        .map(|cy| {
            let mut m: Vec<String> = cy
                .members
                .iter()
                .map(|&i| c.objects[i].key.to_string())
                .collect();
            m.sort();
            m.join(", ")
        })
        .collect()
}

/// The schema root of an object's kind, compiled on first use.
fn schema_root(catalog: &mut crate::schema::catalog::Catalog, o: &Object) -> Option<NodeId> {
    let (group, version) = crate::cluster::split_api(&o.api_version);
    let r = match catalog.resolve(group, version, &o.key.kind) {
        crate::schema::catalog::Resolution::Found(r) => r.clone(),
        _ => return None,
    };
    catalog.root(&r)
}

/// Compares two compiled revisions (head's catalogue compiles the schemas that match list
/// items).
pub fn review(base: &Compiled, head: &mut Compiled, noise: Vec<NoiseRule>) -> Review {
    let mut catalog =
        std::mem::replace(&mut head.catalog, crate::schema::catalog::Catalog::empty());
    let r = review_with(base, head, &mut catalog, noise);
    head.catalog = catalog;
    r
}

fn review_with(
    base: &Compiled,
    head: &Compiled,
    catalog: &mut crate::schema::catalog::Catalog,
    noise: Vec<NoiseRule>,
) -> Review {
    let mut noise = noise;
    let secrets = secret_values(base.objects.iter().chain(&head.objects));
    let (bk, hk) = (by_key(base), by_key(head));
    let mut units: BTreeMap<String, [usize; 3]> = BTreeMap::new();
    let mut objects = Vec::new();
    let mut images_changed = Vec::new();
    let mut dangers = Vec::new();
    let comparable = |o: &Object, noise: &[NoiseRule]| {
        let mut v = masked(o);
        for r in noise {
            r.strip(&mut v);
        }
        v
    };
    // Renames: a removed and an added object of the same kind and namespace, equal but for
    // the name.
    let removed: Vec<&String> = bk.keys().filter(|k| !hk.contains_key(*k)).collect();
    let added: Vec<&String> = hk.keys().filter(|k| !bk.contains_key(*k)).collect();
    let mut renamed_from: BTreeMap<String, String> = BTreeMap::new();
    {
        let mut by_content: BTreeMap<(String, String, String, String), &String> = BTreeMap::new();
        for k in &removed {
            let o = &base.objects[bk[*k]];
            by_content.insert(
                (
                    o.key.group.clone(),
                    o.key.kind.clone(),
                    o.key.namespace.clone(),
                    content_without_name(&masked(o)),
                ),
                k,
            );
        }
        for k in &added {
            let o = &head.objects[hk[*k]];
            let content = (
                o.key.group.clone(),
                o.key.kind.clone(),
                o.key.namespace.clone(),
                content_without_name(&masked(o)),
            );
            if let Some(from) = by_content.remove(&content) {
                renamed_from.insert((*k).clone(), from.clone());
            }
        }
        // A generator's object whose content (so its hash suffix) changed: the same stem.
        let stem_key = |o: &Object| {
            generated_stem(&o.key.name).map(|stem| {
                (
                    o.key.group.clone(),
                    o.key.kind.clone(),
                    o.key.namespace.clone(),
                    stem.to_string(),
                )
            })
        };
        let taken: BTreeSet<String> = renamed_from.values().cloned().collect();
        let mut by_stem: BTreeMap<(String, String, String, String), Vec<&String>> = BTreeMap::new();
        for k in removed.iter().filter(|k| !taken.contains(**k)) {
            if let Some(sk) = stem_key(&base.objects[bk[*k]]) {
                by_stem.entry(sk).or_default().push(k);
            }
        }
        for k in &added {
            if renamed_from.contains_key(*k) {
                continue;
            }
            if let Some(sk) = stem_key(&head.objects[hk[*k]])
                && let Some(list) = by_stem.get_mut(&sk)
                && list.len() == 1
            {
                let from = list.remove(0);
                renamed_from.insert((*k).clone(), from.clone());
            }
        }
    }
    let renamed_away: BTreeSet<&String> = renamed_from.values().collect();
    let all: BTreeSet<&String> = bk.keys().chain(hk.keys()).collect();
    for k in all {
        let (b, h) = (
            bk.get(k).map(|&i| &base.objects[i]),
            hk.get(k).map(|&i| &head.objects[i]),
        );
        let (change, unit, origin_at, before, after) = match (b, h) {
            (Some(_), None) if renamed_away.contains(k) => continue,
            (Some(b), None) => (
                Change::Removed,
                unit_of(base, bk[k]),
                origin(base, b),
                Some(comparable(b, &noise)),
                None,
            ),
            (None, Some(h)) => {
                let change = match renamed_from.get(k) {
                    Some(from) => Change::Renamed { from: from.clone() },
                    None => Change::Added,
                };
                let before = renamed_from
                    .get(k)
                    .map(|from| comparable(&base.objects[bk[from]], &noise));
                (
                    change,
                    unit_of(head, hk[k]),
                    origin(head, h),
                    before,
                    Some(comparable(h, &noise)),
                )
            }
            (Some(b), Some(h)) => {
                let (x, y) = (comparable(b, &[]), comparable(h, &[]));
                if x == y {
                    continue;
                }
                let (xs, ys) = (comparable(b, &noise), comparable(h, &noise));
                if xs == ys {
                    // Only what the rules hide differs: each rule that hid part of it counts.
                    let root = schema_root(catalog, h);
                    let count =
                        |a: &Value, b: &Value| changed_fields(&catalog.schemas, root, a, b).len();
                    let before = count(&x, &y);
                    for r in noise.iter_mut() {
                        let (mut xr, mut yr) = (x.clone(), y.clone());
                        r.strip(&mut xr);
                        r.strip(&mut yr);
                        if count(&xr, &yr) < before {
                            r.hidden += 1;
                        }
                    }
                    continue;
                }
                (
                    Change::Changed,
                    unit_of(head, hk[k]),
                    origin(head, h),
                    Some(xs),
                    Some(ys),
                )
            }
            (None, None) => continue,
        };
        let slot = match change {
            Change::Added => 0,
            Change::Changed | Change::Renamed { .. } => 1,
            Change::Removed => 2,
        };
        units.entry(unit.clone()).or_insert([0; 3])[slot] += 1;
        let fields = match (&before, &after, h) {
            (Some(x), Some(y), Some(h)) => {
                let root = schema_root(catalog, h);
                changed_fields(&catalog.schemas, root, x, y)
            }
            _ => Vec::new(),
        };
        let yaml = |v: Option<&Value>| v.map(crate::syntax::emit::to_yaml).unwrap_or_default();
        let diff = text::unified(&yaml(before.as_ref()), &yaml(after.as_ref()), 3);
        let moved_from = match (&change, bk.get(k)) {
            (Change::Changed, Some(&bi)) => Some(unit_of(base, bi)).filter(|u| *u != unit),
            _ => None,
        };
        if change == Change::Removed
            && let Some(b) = b
            && holds_data(&b.key, &b.value)
        {
            dangers.push(Danger {
                object: k.clone(),
                what: "removed, and it holds data (deleting it deletes the data)".into(),
            });
        }
        // Images and dangers of what head has.
        if let Some(h) = h {
            let bi = b.map(|b| images(&b.value)).unwrap_or_default();
            let hi = images(&h.value);
            for name in bi.keys().chain(hi.keys()).collect::<BTreeSet<_>>() {
                if bi.get(name) != hi.get(name) {
                    images_changed.push(ImageChange {
                        object: k.clone(),
                        container: name.clone(),
                        before: bi.get(name).cloned(),
                        after: hi.get(name).cloned(),
                    });
                }
            }
            dangers.extend(dangers_of(k, b.map(|b| &b.value), &h.value, &h.key));
        }
        objects.push(ObjectDiff {
            object: k.clone(),
            change,
            unit,
            moved_from,
            origin: origin_at,
            fields: fields.iter().map(|f| scrub(f, &secrets)).collect(),
            diff: scrub(&diff, &secrets),
        });
    }
    // Findings.
    let (bf, hf) = (
        finding_keys(&base.diagnostics),
        finding_keys(&head.diagnostics),
    );
    let scrubbed = |f: &Finding| Finding {
        message: scrub(&f.message, &secrets),
        ..f.clone()
    };
    let introduced = hf
        .iter()
        .filter(|(k, _)| !bf.contains_key(*k))
        .map(|(_, f)| scrubbed(f))
        .collect();
    let introduced_diagnostics: Vec<Diagnostic> = head
        .diagnostics
        .iter()
        .filter(|d| matches!(d.severity, Severity::Error | Severity::Warning))
        .filter(|d| {
            let file = d
                .primary
                .as_ref()
                .map(|l| l.location.path.clone())
                .unwrap_or_default();
            !bf.contains_key(&(d.code.as_str().to_string(), d.message.clone(), file))
        })
        .map(|d| {
            let mut d = d.clone();
            d.message = scrub(&d.message, &secrets);
            d
        })
        .collect();
    let mut origins: BTreeMap<String, Location> = BTreeMap::new();
    for (k, &i) in &bk {
        if let Some(l) = origin(base, &base.objects[i]) {
            origins.insert(k.clone(), l);
        }
    }
    for (k, &i) in &hk {
        if let Some(l) = origin(head, &head.objects[i]) {
            origins.insert(k.clone(), l);
        }
    }
    let fixed = bf
        .iter()
        .filter(|(k, _)| !hf.contains_key(*k))
        .map(|(_, f)| scrubbed(f))
        .collect();
    // The graph.
    let (be, he) = (edge_names(base), edge_names(head));
    let (bc, hc) = (cycle_names(base), cycle_names(head));
    let wave = |c: &Compiled, i: usize| c.graph.wave_of.get(i).copied().flatten();
    let mut moved = Vec::new();
    for (k, &hi) in &hk {
        if let Some(&bi) = bk.get(k)
            && let (Some(a), Some(b)) = (wave(base, bi), wave(head, hi))
            && a != b
        {
            moved.push((k.clone(), a + 1, b + 1));
        }
    }
    let graph = GraphChanges {
        edges_added: he.difference(&be).cloned().collect(),
        edges_removed: be.difference(&he).cloned().collect(),
        new_cycles: hc.difference(&bc).cloned().collect(),
        moved,
    };
    images_changed.sort();
    dangers.sort();
    Review {
        units,
        objects,
        images: images_changed,
        introduced,
        fixed,
        dangers,
        graph,
        noise,
        verdicts: None,
        introduced_diagnostics,
        origins,
    }
}

/// Kinds whose removal loses data.
pub fn holds_data(key: &ObjectKey, v: &Value) -> bool {
    match (key.group.as_str(), key.kind.as_str()) {
        ("", "PersistentVolumeClaim" | "PersistentVolume" | "Namespace") => true,
        ("apiextensions.k8s.io", "CustomResourceDefinition") => true,
        ("apps", "StatefulSet") => v
            .at("/spec/volumeClaimTemplates")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty()),
        _ => false,
    }
}
