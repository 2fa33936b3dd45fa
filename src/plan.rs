//! The plan: a value computed from the desired objects (rendered, validated, ordered), the
//! cluster's live state and the inventory, then shown, saved, applied unchanged, and refused when
//! stale. Waves of changes (create, update with field-level differences, unchanged) in the
//! dependency graph's order, then the prunes in reverse dependency order.
//!
//! Differences are what a server-side apply would change: a dry-run apply as kiln's field
//! manager, compared with the live object. A field another manager owns that the repository does
//! not set is not a difference. Secret values never appear, only that they changed and a hash.
//!
//! Inventory follows the ApplySet convention (KEP-3659) so that kubectl recognises what kiln
//! owns: a parent Secret labelled `applyset.kubernetes.io/id`, members labelled
//! `applyset.kubernetes.io/part-of`.

use crate::cluster::{ApiError, ApplyOptions, Cluster, key_of};
use crate::graph::DependencyGraph;
use crate::object::{Object, ObjectKey};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, BTreeSet};

pub const MANAGER: &str = "kiln";
pub const PART_OF: &str = "applyset.kubernetes.io/part-of";
pub const APPLYSET_ID: &str = "applyset.kubernetes.io/id";
pub const CONTAINS_GROUP_KINDS: &str = "applyset.kubernetes.io/contains-group-kinds";
pub const ADDITIONAL_NAMESPACES: &str = "applyset.kubernetes.io/additional-namespaces";
pub const TOOLING: &str = "applyset.kubernetes.io/tooling";

/// The ApplySet parent of an inventory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Inventory {
    pub namespace: String,
    pub name: String,
    pub id: String,
}

impl Inventory {
    /// A Secret parent: `applyset-<base64url(sha256(name.namespace.Secret.))>-v1`.
    pub fn secret(namespace: &str, name: &str) -> Inventory {
        let digest = Sha256::digest(format!("{name}.{namespace}.Secret.").as_bytes());
        Inventory {
            namespace: namespace.into(),
            name: name.into(),
            id: format!("applyset-{}-v1", base64url(&digest)),
        }
    }

    pub fn key(&self) -> ObjectKey {
        ObjectKey {
            group: String::new(),
            kind: "Secret".into(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }
}

fn base64url(bytes: &[u8]) -> String {
    crate::util::base64_encode(bytes)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

/// What happens to one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Unchanged,
    Delete,
    /// Left alone (prune disabled on it, or it is not in the inventory).
    Keep,
}

/// A field that would change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub path: String,
    /// Shown values (`(secret, sha256:...)` for Secret data); `None` when absent.
    pub before: Option<String>,
    pub after: Option<String>,
    /// Managers that own the field now (when it changes hands).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<String>,
}

/// One object's change.
#[derive(Clone, Debug, Serialize)]
pub struct Change {
    pub object: String,
    #[serde(skip)]
    pub key: ObjectKey,
    pub action: Action,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
    /// The server's refusal, when even a dry run fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Not applied at all: the repository's own copy is broken (it failed to render or
    /// validate), and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Objects this one waits for (graph edges), by display name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    /// The object to apply (with the inventory label); absent for deletes.
    #[serde(skip)]
    pub desired: Option<Value>,
    #[serde(skip)]
    pub why: String,
}

/// The plan.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub inventory: Inventory,
    /// Digest of the desired objects: the plan is applied only for what it was made from.
    pub desired_digest: String,
    /// Digest of the live state the plan was computed against: a plan is stale when it moved.
    pub live_digest: String,
    pub waves: Vec<Vec<Change>>,
    /// Deletes in waves, dependents first: each wave is deleted together and waited for
    /// before the next.
    pub prune: Vec<Vec<Change>>,
    /// Objects that cannot be ordered (a dependency cycle): not applied.
    pub unordered: Vec<String>,
}

impl Plan {
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.waves
            .iter()
            .flatten()
            .chain(self.prune.iter().flatten())
    }

    pub fn counts(&self) -> BTreeMap<Action, usize> {
        let mut out = BTreeMap::new();
        for c in self.changes() {
            *out.entry(c.action).or_insert(0) += 1;
        }
        out
    }
}

fn is_secret(key: &ObjectKey) -> bool {
    key.group.is_empty() && key.kind == "Secret"
}

/// Decodes standard base64 (Secret `data`), `None` when it is not.
fn unbase64(s: &str) -> Option<String> {
    let mut bits: u32 = 0;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    String::from_utf8(out).ok()
}

/// A message from the API server about `object` with the values of a Secret taken out: the
/// server may quote the object it refuses, and Secret values never reach a report.
pub fn mask_secret_values(message: &str, object: &Value) -> String {
    if object.get("kind").and_then(Value::as_str) != Some("Secret") {
        return message.to_string();
    }
    let mut values: Vec<String> = Vec::new();
    for field in ["data", "stringData"] {
        for v in object
            .get(field)
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.values())
            .filter_map(Value::as_str)
        {
            values.push(v.to_string());
            if field == "data"
                && let Some(plain) = unbase64(v)
            {
                values.push(plain);
            }
        }
    }
    // Longest first, so that a value containing another is taken whole.
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    let mut out = message.to_string();
    for v in values.iter().filter(|v| v.len() >= 3) {
        out = out.replace(v.as_str(), "<secret>");
    }
    out
}

fn hash(v: &Value) -> String {
    let d = Sha256::digest(v.to_string().as_bytes());
    format!(
        "sha256:{}",
        d.iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

/// The object as a comparison sees it: no server-set metadata, no status.
pub fn comparable(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("status");
        if let Some(Value::Object(meta)) = m.get_mut("metadata") {
            for k in SERVER_SET {
                meta.remove(k);
            }
        }
    }
    v
}

fn leaves(v: &Value, path: &mut String, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, c) in m {
                let len = path.len();
                path.push('.');
                path.push_str(k);
                leaves(c, path, out);
                path.truncate(len);
            }
        }
        Value::Array(a) if !a.is_empty() && a.iter().all(|x| x.get("name").is_some()) => {
            for x in a {
                let len = path.len();
                path.push_str(&format!("[name={}]", x["name"]));
                leaves(x, path, out);
                path.truncate(len);
            }
        }
        _ => {
            out.insert(path.clone(), v.clone());
        }
    }
}

fn show(key: &ObjectKey, path: &str, v: Option<&Value>) -> Option<String> {
    let v = v?;
    if is_secret(key) && (path.starts_with(".data") || path.starts_with(".stringData")) {
        return Some(format!("(secret, {})", hash(v)));
    }
    Some(match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// Field differences between two states of an object.
pub fn diff(key: &ObjectKey, live: &Value, next: &Value) -> Vec<FieldChange> {
    let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
    leaves(&comparable(live), &mut String::new(), &mut a);
    leaves(&comparable(next), &mut String::new(), &mut b);
    let paths: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    paths
        .into_iter()
        .filter(|p| a.get(*p) != b.get(*p))
        .map(|p| FieldChange {
            path: p.clone(),
            before: show(key, p, a.get(p)),
            after: show(key, p, b.get(p)),
            owners: Vec::new(),
        })
        .collect()
}

/// Managers that own a field path (in the simulator's notation) of a live object.
fn owners(live: &Value, path: &str) -> Vec<String> {
    live.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|m| {
            m.get("fields").and_then(Value::as_array).is_some_and(|f| {
                f.iter().any(|x| {
                    x.as_str()
                        .is_some_and(|s| path.starts_with(s) || s.starts_with(path))
                })
            })
        })
        .filter_map(|m| m.get("manager").and_then(Value::as_str).map(str::to_string))
        .collect()
}

/// The desired object with the inventory label.
pub fn labelled(v: &Value, inventory: &Inventory) -> Value {
    let mut v = v.clone();
    let meta = v
        .as_object_mut()
        .map(|m| m.entry("metadata").or_insert_with(|| json!({})));
    if let Some(Value::Object(meta)) = meta {
        let labels = meta.entry("labels").or_insert_with(|| json!({}));
        if let Some(l) = labels.as_object_mut() {
            l.insert(PART_OF.into(), json!(inventory.id));
        }
    }
    v
}

fn digest_of<'a>(values: impl Iterator<Item = &'a Value>) -> String {
    let mut d = LiveDigest::default();
    for v in values {
        d.add(v);
    }
    d.finish()
}

/// A digest of values, written straight into the hash (no string made of them).
#[derive(Default)]
struct LiveDigest(Sha256);

impl std::io::Write for LiveDigest {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LiveDigest {
    fn add(&mut self, v: &Value) {
        let _ = serde_json::to_writer(&mut *self, v);
        self.0.update(b"\n");
    }

    /// Adds what [`comparable`] keeps of a live object, without copying it.
    fn add_comparable(&mut self, v: &Value) {
        let _ = serde_json::to_writer(&mut *self, &Comparable(v));
        self.0.update(b"\n");
    }

    fn finish(self) -> String {
        self.0
            .finalize()
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Serializes as `comparable(v)` would be.
struct Comparable<'a>(&'a Value);

const SERVER_SET: [&str; 6] = [
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
];

impl serde::Serialize for Comparable<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let Value::Object(m) = self.0 else {
            return self.0.serialize(s);
        };
        let mut map = s.serialize_map(None)?;
        for (k, v) in m {
            match (k.as_str(), v) {
                ("status", _) => {}
                ("metadata", Value::Object(meta)) => {
                    struct Meta<'a>(&'a serde_json::Map<String, Value>);
                    impl serde::Serialize for Meta<'_> {
                        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                            let mut map = s.serialize_map(None)?;
                            for (k, v) in self
                                .0
                                .iter()
                                .filter(|(k, _)| !SERVER_SET.contains(&k.as_str()))
                            {
                                map.serialize_entry(k, v)?;
                            }
                            map.end()
                        }
                    }
                    map.serialize_entry(k, &Meta(meta))?;
                }
                _ => map.serialize_entry(k, v)?,
            }
        }
        map.end()
    }
}

/// Annotations that keep an object out of prune.
pub fn prune_disabled(v: &Value) -> Option<&'static str> {
    let a = v.pointer("/metadata/annotations");
    let l = v.pointer("/metadata/labels");
    let get = |m: Option<&Value>, k: &str| {
        m.and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
    };
    if get(a, "kustomize.toolkit.fluxcd.io/prune")
        .or(get(l, "kustomize.toolkit.fluxcd.io/prune"))
        .as_deref()
        == Some("disabled")
    {
        return Some("kustomize.toolkit.fluxcd.io/prune: disabled");
    }
    if get(a, "client.lifecycle.config.k8s.io/deletion").as_deref() == Some("detach") {
        return Some("client.lifecycle.config.k8s.io/deletion: detach");
    }
    if get(a, "cli-utils.sigs.k8s.io/on-remove").as_deref() == Some("keep") {
        return Some("cli-utils.sigs.k8s.io/on-remove: keep");
    }
    None
}

/// Objects kiln leaves to others even when they are in the input.
pub fn reconcile_disabled(v: &Value) -> bool {
    let get = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
    };
    get("/metadata/annotations/kustomize.toolkit.fluxcd.io~1reconcile")
        .or(get(
            "/metadata/labels/kustomize.toolkit.fluxcd.io~1reconcile",
        ))
        .as_deref()
        == Some("disabled")
}

/// The live members of an inventory (objects labelled part-of it, of the kinds and namespaces
/// the parent lists), in key order.
pub fn members(cluster: &mut dyn Cluster, inventory: &Inventory) -> Result<Vec<Value>, ApiError> {
    let Some(parent) = cluster.get(&inventory.key())? else {
        return Ok(Vec::new());
    };
    let ann = |k: &str| {
        parent
            .pointer(&format!("/metadata/annotations/{}", k.replace('/', "~1")))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let kinds: Vec<String> = ann(CONTAINS_GROUP_KINDS)
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let mut namespaces: Vec<String> = ann(ADDITIONAL_NAMESPACES)
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    namespaces.push(inventory.namespace.clone());
    let selector = format!("{PART_OF}={}", inventory.id);
    let mut out: BTreeMap<ObjectKey, Value> = BTreeMap::new();
    for gk in kinds {
        let (kind, group) = gk.split_once('.').unwrap_or((&gk, ""));
        // Discovery gives the version.
        let Some(r) = find_resource(cluster, group, kind) else {
            continue;
        };
        let api = if group.is_empty() {
            r.version.clone()
        } else {
            format!("{group}/{}", r.version)
        };
        let lists: Vec<Option<&str>> = if r.namespaced {
            namespaces.iter().map(|n| Some(n.as_str())).collect()
        } else {
            vec![None]
        };
        for ns in lists {
            for v in cluster.list(&api, kind, ns, &selector)? {
                out.insert(key_of(&v), v);
            }
        }
    }
    Ok(out.into_values().collect())
}

fn find_resource(
    cluster: &mut dyn Cluster,
    group: &str,
    kind: &str,
) -> Option<crate::cluster::Resource> {
    for version in [
        "v1", "v2", "v1beta1", "v1beta2", "v1alpha1", "v2beta2", "v1alpha2", "v1beta3",
    ] {
        let api = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        if let Some(r) = cluster.resource(&api, kind) {
            return Some(r);
        }
    }
    None
}

/// The keys objects are stored under: a cluster-scoped object given a namespace is stored
/// without it, a namespaced one without a namespace goes to `default` (scopes from discovery,
/// or from the CRDs among the objects for kinds not served yet).
pub fn stored_keys(cluster: &mut dyn Cluster, objects: &[Object]) -> Vec<ObjectKey> {
    let defined: BTreeMap<(String, String), bool> = objects
        .iter()
        .filter(|o| {
            o.key.group == "apiextensions.k8s.io" && o.key.kind == "CustomResourceDefinition"
        })
        .filter_map(|o| {
            let s = |p: &str| {
                o.value
                    .pointer(p)
                    .and_then(Value::as_str)
                    .map(str::to_string)
            };
            Some((
                (s("/spec/group")?, s("/spec/names/kind")?),
                s("/spec/scope").as_deref() != Some("Cluster"),
            ))
        })
        .collect();
    let mut scopes: BTreeMap<(String, String), Option<bool>> = BTreeMap::new();
    objects
        .iter()
        .map(|o| {
            let namespaced = *scopes
                .entry((o.api_version.clone(), o.key.kind.clone()))
                .or_insert_with(|| {
                    cluster
                        .resource(&o.api_version, &o.key.kind)
                        .map(|r| r.namespaced)
                        .or_else(|| {
                            defined
                                .get(&(o.key.group.clone(), o.key.kind.clone()))
                                .copied()
                        })
                });
            let mut key = o.key.clone();
            match namespaced {
                Some(false) => key.namespace.clear(),
                Some(true) if key.namespace.is_empty() => key.namespace = "default".into(),
                _ => {}
            }
            key
        })
        .collect()
}

/// Computes the plan for `objects` (ordered by `graph`) against the cluster. `held` names the
/// objects (by index) that must not be applied, with the reason (their repository copy failed to
/// render or validate); they stay desired, so prune leaves their live copies alone.
pub fn plan(
    cluster: &mut dyn Cluster,
    objects: &[Object],
    graph: &DependencyGraph,
    inventory: &Inventory,
    held: &BTreeMap<usize, String>,
) -> Result<Plan, ApiError> {
    let mut waves: Vec<Vec<Change>> = Vec::new();
    let mut live_state = LiveDigest::default();
    let keys = stored_keys(cluster, objects);
    let desired: BTreeSet<ObjectKey> = keys.iter().cloned().collect();
    for wave in &graph.waves {
        let mut changes = Vec::new();
        for &i in wave {
            let o = &objects[i];
            if reconcile_disabled(&o.value) {
                continue;
            }
            let want = labelled(&o.value, inventory);
            let after: Vec<String> = graph.incoming[i]
                .iter()
                .filter_map(|&e| match graph.nodes[graph.edges[e].from] {
                    crate::graph::Node::Object(j) => Some(keys[j].to_string()),
                    _ => None,
                })
                .collect();
            let key = &keys[i];
            let live = if cluster.resource(&o.api_version, &o.key.kind).is_some() {
                cluster.get(key).ok().flatten()
            } else {
                None
            };
            if let Some(reason) = held.get(&i) {
                let action = if live.is_some() {
                    Action::Update
                } else {
                    Action::Create
                };
                changes.push(Change {
                    object: key.to_string(),
                    key: key.clone(),
                    action,
                    fields: Vec::new(),
                    error: None,
                    refused: Some(reason.clone()),
                    after,
                    desired: None,
                    why: String::new(),
                });
                continue;
            }
            if let Some(l) = &live {
                live_state.add_comparable(l);
            }
            let dry = cluster.apply(
                &want,
                &ApplyOptions {
                    manager: MANAGER.into(),
                    force: true,
                    dry_run: true,
                },
            );
            // A kind whose CRD, or a namespace, this very plan creates: the server can only
            // answer once it exists (the apply itself dry-runs nothing, it writes in order).
            let created_here = |e: &ApiError| {
                e.message.starts_with("no matches for kind")
                    || (e.code == 404
                        && e.message == format!("namespaces \"{}\" not found", key.namespace)
                        && objects.iter().any(|x| {
                            x.key.group.is_empty()
                                && x.key.kind == "Namespace"
                                && x.key.name == key.namespace
                        }))
            };
            let (action, fields, error) = match (&live, dry) {
                (_, Err(e)) if created_here(&e) => (
                    if live.is_some() {
                        Action::Update
                    } else {
                        Action::Create
                    },
                    Vec::new(),
                    None,
                ),
                (_, Err(e)) => (
                    if live.is_some() {
                        Action::Update
                    } else {
                        Action::Create
                    },
                    Vec::new(),
                    Some(mask_secret_values(&e.to_string(), &want)),
                ),
                (None, Ok(_)) => (Action::Create, Vec::new(), None),
                (Some(l), Ok(next)) => {
                    let mut fields = diff(key, l, &next);
                    for f in fields.iter_mut() {
                        f.owners = owners(l, &f.path)
                            .into_iter()
                            .filter(|m| m != MANAGER)
                            .collect();
                    }
                    if fields.is_empty() {
                        (Action::Unchanged, fields, None)
                    } else {
                        (Action::Update, fields, None)
                    }
                }
            };
            changes.push(Change {
                object: key.to_string(),
                key: key.clone(),
                action,
                fields,
                error,
                refused: None,
                after,
                desired: Some(want),
                why: String::new(),
            });
        }
        waves.push(changes);
    }
    // Prune: inventory members no longer desired, dependents first.
    let mut prune: Vec<Vec<Change>> = Vec::new();
    let current = members(cluster, inventory)?;
    let gone: Vec<Value> = current
        .into_iter()
        .filter(|v| !desired.contains(&key_of(v)))
        .collect();
    if !gone.is_empty() {
        let gone_objects: Vec<Object> = gone
            .iter()
            .map(|v| Object {
                key: key_of(v),
                api_version: v
                    .get("apiVersion")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .into(),
                value: v.clone(),
                origin: crate::object::Origin {
                    file: crate::source::FileId(0),
                    document: 0,
                    pointer: String::new(),
                },
            })
            .collect();
        let input = crate::graph::Input::single(&gone_objects);
        let (g, _) = crate::graph::build(&input, &|_, _, _| crate::diag::Location::file("live"));
        // The graph's waves reversed; what cannot be ordered goes last.
        let mut groups: Vec<Vec<usize>> = g.waves.iter().rev().cloned().collect();
        let rest: Vec<usize> = g
            .blocked
            .iter()
            .copied()
            .chain(g.cycles.iter().flat_map(|c| c.members.clone()))
            .collect();
        if !rest.is_empty() {
            groups.push(rest);
        }
        for group in groups {
            let mut wave = Vec::new();
            for i in group {
                let v = &gone[i];
                let key = key_of(v);
                live_state.add_comparable(v);
                let (action, why) = match prune_disabled(v) {
                    Some(reason) => (Action::Keep, reason.to_string()),
                    None => (Action::Delete, String::new()),
                };
                wave.push(Change {
                    object: key.to_string(),
                    key,
                    action,
                    fields: Vec::new(),
                    error: None,
                    refused: None,
                    after: Vec::new(),
                    desired: None,
                    why,
                });
            }
            prune.push(wave);
        }
    }
    let unordered = graph
        .cycles
        .iter()
        .flat_map(|c| c.members.iter())
        .chain(graph.blocked.iter())
        .map(|&i| objects[i].key.to_string())
        .collect();
    Ok(Plan {
        inventory: inventory.clone(),
        desired_digest: digest_of(objects.iter().map(|o| &o.value)),
        live_digest: live_state.finish(),
        waves,
        prune,
        unordered,
    })
}

/// The live digest a plan would see now: different from the plan's means the plan is stale.
pub fn live_digest(cluster: &mut dyn Cluster, plan: &Plan) -> Result<String, ApiError> {
    let mut digest = LiveDigest::default();
    for c in plan.waves.iter().flatten() {
        if let Some(d) = &c.desired {
            let api = d.get("apiVersion").and_then(Value::as_str).unwrap_or("");
            if cluster.resource(api, &c.key.kind).is_some()
                && let Some(l) = cluster.get(&c.key)?
            {
                digest.add_comparable(&l);
            }
        }
    }
    for c in plan.prune.iter().flatten() {
        if let Some(l) = cluster.get(&c.key).ok().flatten() {
            digest.add_comparable(&l);
        }
    }
    Ok(digest.finish())
}

/// The plan as a reviewer reads it.
pub fn render_text(plan: &Plan) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let counts = plan.counts();
    let count = |a: Action| counts.get(&a).copied().unwrap_or(0);
    let _ = writeln!(
        s,
        "plan: {} to create, {} to update, {} unchanged, {} to delete, {} kept (inventory {}/{})",
        count(Action::Create),
        count(Action::Update),
        count(Action::Unchanged),
        count(Action::Delete),
        count(Action::Keep),
        plan.inventory.namespace,
        plan.inventory.name
    );
    for (w, wave) in plan.waves.iter().enumerate() {
        let interesting: Vec<&Change> = wave
            .iter()
            .filter(|c| c.action != Action::Unchanged || c.error.is_some() || c.refused.is_some())
            .collect();
        if interesting.is_empty() {
            continue;
        }
        let _ = writeln!(s, "wave {}", w + 1);
        for c in interesting {
            let sign = match c.action {
                Action::Create => "+",
                Action::Update => "~",
                _ => " ",
            };
            let _ = writeln!(s, "  {sign} {}", c.object);
            for f in &c.fields {
                let owners = if f.owners.is_empty() {
                    String::new()
                } else {
                    format!("  (now owned by {})", f.owners.join(", "))
                };
                let _ = writeln!(
                    s,
                    "      {}: {} -> {}{owners}",
                    f.path,
                    f.before.as_deref().unwrap_or("(none)"),
                    f.after.as_deref().unwrap_or("(none)")
                );
            }
            if let Some(e) = &c.error {
                let _ = writeln!(s, "      would fail: {e}");
            }
            if let Some(r) = &c.refused {
                let _ = writeln!(s, "      not applied: {r}");
            }
        }
    }
    if !plan.prune.is_empty() {
        let _ = writeln!(s, "prune (dependents first)");
        for c in plan.prune.iter().flatten() {
            match c.action {
                Action::Keep => {
                    let _ = writeln!(s, "    {} (kept: {})", c.object, c.why);
                }
                _ => {
                    let _ = writeln!(s, "  - {}", c.object);
                }
            }
        }
    }
    if !plan.unordered.is_empty() {
        let _ = writeln!(
            s,
            "not applied (dependency cycle): {}",
            plan.unordered.join(", ")
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_values_are_taken_out_of_server_messages() {
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
            "data": {"password": "aHVudGVyMg=="}, "stringData": {"token": "s3cr3t-token"}});
        let message = "The Secret \"db\" is invalid: data[password]: Invalid value: \"hunter2\" (aHVudGVyMg==); stringData[token]: s3cr3t-token";
        assert_eq!(
            mask_secret_values(message, &secret),
            "The Secret \"db\" is invalid: data[password]: Invalid value: \"<secret>\" (<secret>); stringData[token]: <secret>"
        );
        let cm = json!({"kind": "ConfigMap", "data": {"a": "hunter2"}});
        assert_eq!(mask_secret_values("hunter2", &cm), "hunter2");
    }
}
