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
use crate::util::Pointer;
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FieldChange {
    pub path: String,
    /// Shown values (`(secret, sha256:...)` for Secret data); `None` when absent.
    pub before: Option<String>,
    pub after: Option<String>,
    /// Managers that own the field now (when it changes hands).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[serde(default)]
    pub owners: Vec<String>,
}

/// One object's change.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct Change {
    pub object: String,
    #[serde(skip, default = "no_key")]
    pub key: ObjectKey,
    pub action: Action,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[serde(default)]
    pub fields: Vec<FieldChange>,
    /// The server's refusal, when even a dry run fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default)]
    pub error: Option<String>,
    /// Not applied at all: the repository's own copy is broken (it failed to render or
    /// validate), and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(default)]
    pub refused: Option<String>,
    /// Objects this one waits for (graph edges), by display name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[serde(default)]
    pub after: Vec<String>,
    /// Client-side `kubectl apply` managers whose fields kiln takes over before it applies
    /// (so what the repository no longer sets is removed, KEP-555).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[serde(default)]
    pub take_over: Vec<String>,
    /// The object to apply (with the inventory label); absent for deletes.
    #[serde(skip)]
    pub desired: Option<Value>,
    #[serde(skip)]
    pub why: String,
}

/// The plan.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
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

fn no_key() -> ObjectKey {
    ObjectKey {
        group: String::new(),
        kind: String::new(),
        namespace: String::new(),
        name: String::new(),
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

/// Every leaf of a value by path (`.a.b`; items of lists whose items all have a name, by
/// name: `[name="web"]`).
pub(crate) fn leaves(v: &Value, path: &mut String, out: &mut BTreeMap<String, Value>) {
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
    // kubectl's copy of the whole object (a Secret's values included).
    if path == LAST_APPLIED_PATH {
        return Some(format!(
            "(kubectl's last applied configuration, {})",
            hash(v)
        ));
    }
    Some(match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

const LAST_APPLIED_PATH: &str =
    ".metadata.annotations.kubectl.kubernetes.io/last-applied-configuration";

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
    live.at("/metadata/managedFields")
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
    let a = v.at("/metadata/annotations");
    let l = v.at("/metadata/labels");
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
    let get = |p: &str| v.at(p).and_then(Value::as_str).map(str::to_ascii_lowercase);
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
            .at(&format!("/metadata/annotations/{}", k.replace('/', "~1")))
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
    stored_keys_in(cluster, objects, "default")
}

/// [`stored_keys`], with namespaced objects that name no namespace in `namespace`.
pub fn stored_keys_in(
    cluster: &mut dyn Cluster,
    objects: &[Object],
    namespace: &str,
) -> Vec<ObjectKey> {
    let defined: BTreeMap<(String, String), bool> = objects
        .iter()
        .filter(|o| {
            o.key.group == "apiextensions.k8s.io" && o.key.kind == "CustomResourceDefinition"
        })
        .filter_map(|o| {
            let s = |p: &str| o.value.at(p).and_then(Value::as_str).map(str::to_string);
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
                Some(true) if key.namespace.is_empty() => key.namespace = namespace.into(),
                _ => {}
            }
            key
        })
        .collect()
}

/// Fields a repository leaves to others (Argo CD's `ignoreDifferences`, in `.kiln.yaml`): a
/// webhook's `caBundle` a controller injects, the `replicas` an autoscaler sets. On objects
/// that exist, kiln applies the live value at each pointer (or leaves the field out when it
/// is not there), so plans, drift and applies neither show nor undo those changes; objects
/// created are created as the repository has them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IgnoreRule {
    /// The API group (empty: the core group); `None` matches every group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// RFC 6901 pointers (`/spec/replicas`, `/webhooks/0/clientConfig/caBundle`).
    pub json_pointers: Vec<String>,
}

impl IgnoreRule {
    pub fn matches(&self, key: &ObjectKey) -> bool {
        self.kind == key.kind
            && self.group.as_ref().is_none_or(|g| *g == key.group)
            && self.name.as_ref().is_none_or(|n| *n == key.name)
            && self.namespace.as_ref().is_none_or(|n| *n == key.namespace)
    }
}

/// The desired object with every ignored field set to its live value (or left out).
pub fn respect_ignored(want: &mut Value, live: &Value, key: &ObjectKey, rules: &[IgnoreRule]) {
    for rule in rules.iter().filter(|r| r.matches(key)) {
        for pointer in &rule.json_pointers {
            match live.at(pointer) {
                Some(v) => set_pointer(want, pointer, v.clone()),
                None => remove_pointer(want, pointer),
            }
        }
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn set_pointer(target: &mut Value, pointer: &str, value: Value) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let mut node = target;
    for token in parent.split('/').skip(1) {
        let t = unescape(token);
        node = match node {
            Value::Object(m) => m.entry(t).or_insert_with(|| json!({})),
            Value::Array(a) => match t.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                Some(x) => x,
                None => return,
            },
            _ => return,
        };
    }
    let last = unescape(last);
    match node {
        Value::Object(m) => {
            m.insert(last, value);
        }
        Value::Array(a) => {
            if let Some(x) = last.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                *x = value;
            }
        }
        _ => {}
    }
}

fn remove_pointer(target: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let last = unescape(last);
    match target.at_mut(parent) {
        Some(Value::Object(m)) => {
            m.remove(&last);
        }
        Some(Value::Array(a)) => {
            if let Some(i) = last.parse::<usize>().ok().filter(|i| *i < a.len()) {
                a.remove(i);
            }
        }
        _ => {}
    }
}

/// How a plan is made.
#[derive(Clone, Debug)]
pub struct Options {
    /// Take fields other managers own (a conflict otherwise stops the object).
    pub force: bool,
    pub ignore: Vec<IgnoreRule>,
    /// Where namespaced objects that name no namespace go (`-n`, else the kubeconfig
    /// context's namespace, else `default`).
    pub namespace: String,
    /// Reads and dry runs in flight at once within a wave.
    pub concurrency: usize,
}

impl Default for Options {
    /// As Flux's kustomize-controller applies: forcing.
    fn default() -> Options {
        Options {
            force: true,
            ignore: Vec::new(),
            namespace: "default".into(),
            concurrency: 8,
        }
    }
}

/// Client-side-apply managers with fields in a live object (as `get` shows it).
fn client_side_managers(live: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in live
        .at("/metadata/managedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let s = |f: &str| m.get(f).and_then(Value::as_str).unwrap_or("");
        if crate::cluster::CLIENT_SIDE_APPLY_MANAGERS.contains(&s("manager"))
            && s("operation") == "Update"
            && s("subresource").is_empty()
            && !out.iter().any(|x| x == s("manager"))
        {
            out.push(s("manager").to_string());
        }
    }
    out
}

/// What a take-over removes: fields kubectl last applied that the repository no longer sets,
/// and kubectl's annotation itself.
fn removed_by_take_over(key: &ObjectKey, live: &Value, want: &Value) -> Vec<FieldChange> {
    let pointer = format!(
        "/metadata/annotations/{}",
        crate::cluster::LAST_APPLIED
            .replace('~', "~0")
            .replace('/', "~1")
    );
    let Some(text) = live.at(&pointer).and_then(Value::as_str) else {
        return Vec::new();
    };
    let last: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let (mut was, mut now, mut wants) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    leaves(&comparable(&last), &mut String::new(), &mut was);
    leaves(&comparable(live), &mut String::new(), &mut now);
    leaves(&comparable(want), &mut String::new(), &mut wants);
    let mut out: Vec<FieldChange> = was
        .keys()
        .filter(|p| !wants.contains_key(*p) && now.contains_key(*p))
        .map(|p| FieldChange {
            path: p.clone(),
            before: show(key, p, now.get(p)),
            after: None,
            owners: Vec::new(),
        })
        .collect();
    out.push(FieldChange {
        path: LAST_APPLIED_PATH.to_string(),
        before: show(key, LAST_APPLIED_PATH, now.get(LAST_APPLIED_PATH)),
        after: None,
        owners: Vec::new(),
    });
    out
}

/// Computes the plan for `objects` (ordered by `graph`) against the cluster, forcing conflicts
/// as Flux does ([`plan_with`] chooses).
pub fn plan(
    cluster: &mut dyn Cluster,
    objects: &[Object],
    graph: &DependencyGraph,
    inventory: &Inventory,
    held: &BTreeMap<usize, String>,
) -> Result<Plan, ApiError> {
    plan_with(
        cluster,
        objects,
        graph,
        inventory,
        held,
        &Options::default(),
    )
}

/// Computes the plan for `objects` (ordered by `graph`) against the cluster. `held` names the
/// objects (by index) that must not be applied, with the reason (their repository copy failed to
/// render or validate); they stay desired, so prune leaves their live copies alone.
pub fn plan_with(
    cluster: &mut dyn Cluster,
    objects: &[Object],
    graph: &DependencyGraph,
    inventory: &Inventory,
    held: &BTreeMap<usize, String>,
    options: &Options,
) -> Result<Plan, ApiError> {
    let mut waves: Vec<Vec<Change>> = Vec::new();
    let mut live_state = LiveDigest::default();
    let keys = stored_keys_in(cluster, objects, &options.namespace);
    let desired: BTreeSet<ObjectKey> = keys.iter().cloned().collect();
    // A kind whose CRD, or a namespace, this very plan creates: the server can only answer
    // once it exists (the apply itself dry-runs nothing, it writes in order). Both sets are
    // made once, so each refused dry run is a lookup, not a scan of every object.
    let crd_kinds: BTreeSet<(&str, &str)> = objects
        .iter()
        .filter(|x| x.key.kind == "CustomResourceDefinition")
        .filter_map(|x| {
            Some((
                x.value.at("/spec/group")?.as_str()?,
                x.value.at("/spec/names/kind")?.as_str()?,
            ))
        })
        .collect();
    let namespaces_here: BTreeSet<&str> = objects
        .iter()
        .filter(|x| x.key.group.is_empty() && x.key.kind == "Namespace")
        .map(|x| x.key.name.as_str())
        .collect();
    let created_here = |e: &ApiError, o: &Object, key: &ObjectKey| {
        (e.message.starts_with("no matches for kind")
            && crd_kinds.contains(&(o.key.group.as_str(), o.key.kind.as_str())))
            || (e.code == 404
                && namespaces_here.contains(key.namespace.as_str())
                && e.message == format!("namespaces \"{}\" not found", key.namespace))
    };
    let dry = |force: bool| ApplyOptions {
        manager: MANAGER.into(),
        force,
        dry_run: true,
    };
    for wave in &graph.waves {
        // The wave's objects, their live copies read and their dry runs sent `concurrency`
        // at a time (the order of the plan is the wave's).
        let members: Vec<usize> = wave
            .iter()
            .copied()
            .filter(|&i| !reconcile_disabled(&objects[i].value))
            .collect();
        let served: Vec<bool> = members
            .iter()
            .map(|&i| {
                cluster
                    .resource(&objects[i].api_version, &objects[i].key.kind)
                    .is_some()
            })
            .collect();
        let to_read: Vec<&ObjectKey> = members
            .iter()
            .zip(&served)
            .filter(|(_, s)| **s)
            .map(|(&i, _)| &keys[i])
            .collect();
        let mut read = cluster.get_all(&to_read, options.concurrency).into_iter();
        let mut lives: Vec<Option<Value>> = Vec::with_capacity(members.len());
        for s in &served {
            // A read that fails is the plan's failure, never an object taken for absent.
            lives.push(if *s {
                read.next().unwrap_or(Ok(None))?
            } else {
                None
            });
        }
        let mut wants: Vec<Value> = Vec::with_capacity(members.len());
        let mut take_overs: Vec<Vec<String>> = Vec::with_capacity(members.len());
        for (&i, live) in members.iter().zip(&lives) {
            let key = &keys[i];
            let mut want = labelled(&objects[i].value, inventory);
            if !key.namespace.is_empty()
                && want.at("/metadata/namespace").is_none()
                && let Some(meta) = want.get_mut("metadata").and_then(Value::as_object_mut)
            {
                meta.insert("namespace".into(), Value::String(key.namespace.clone()));
            }
            let mut take_over = Vec::new();
            if let Some(l) = live
                && !held.contains_key(&i)
            {
                live_state.add_comparable(l);
                respect_ignored(&mut want, l, key, &options.ignore);
                take_over = client_side_managers(l);
            }
            wants.push(want);
            take_overs.push(take_over);
        }
        let checked: Vec<&Value> = members
            .iter()
            .zip(&wants)
            .filter(|(i, _)| !held.contains_key(*i))
            .map(|(_, w)| w)
            .collect();
        let mut answers = cluster
            .apply_all(&checked, &dry(options.force), options.concurrency)
            .into_iter();
        let mut changes = Vec::new();
        for (n, &i) in members.iter().enumerate() {
            let (key, live, take_over) = (&keys[i], &lives[n], &take_overs[n]);
            let after: Vec<String> = graph.incoming[i]
                .iter()
                .filter_map(|&e| match graph.nodes[graph.edges[e].from] {
                    crate::graph::Node::Object(j) => Some(keys[j].to_string()),
                    _ => None,
                })
                .collect();
            let exists = if live.is_some() {
                Action::Update
            } else {
                Action::Create
            };
            if let Some(reason) = held.get(&i) {
                changes.push(Change {
                    object: key.to_string(),
                    key: key.clone(),
                    action: exists,
                    fields: Vec::new(),
                    error: None,
                    refused: Some(reason.clone()),
                    after,
                    take_over: Vec::new(),
                    desired: None,
                    why: String::new(),
                });
                continue;
            }
            // Taken, not copied: the plan keeps the one copy.
            let want = std::mem::take(&mut wants[n]);
            let mut answer = answers
                .next()
                .unwrap_or_else(|| Err(ApiError::new(500, "InternalError", "no answer")));
            // Conflicts with kubectl's client-side apply only: its fields become kiln's.
            if let Err(e) = &answer
                && !take_over.is_empty()
                && !e.conflicting_managers().is_empty()
                && e.conflicting_managers()
                    .iter()
                    .all(|m| take_over.contains(m))
            {
                answer = cluster.apply(&want, &dry(true));
            }
            let (action, fields, error) = match (live, answer) {
                (_, Err(e)) if created_here(&e, &objects[i], key) => (exists, Vec::new(), None),
                (_, Err(e)) => (
                    exists,
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
                    if !take_over.is_empty() {
                        for removed in removed_by_take_over(key, l, &want) {
                            if !fields.iter().any(|f| f.path == removed.path) {
                                fields.push(removed);
                            }
                        }
                        fields.sort_by(|a, b| a.path.cmp(&b.path));
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
                take_over: take_over.clone(),
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
                    take_over: Vec::new(),
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
    let mut applied: Vec<&ObjectKey> = Vec::new();
    for c in plan.waves.iter().flatten() {
        if let Some(d) = &c.desired {
            let api = d.get("apiVersion").and_then(Value::as_str).unwrap_or("");
            if cluster.resource(api, &c.key.kind).is_some() {
                applied.push(&c.key);
            }
        }
    }
    for live in cluster.get_all(&applied, 8) {
        if let Some(l) = live? {
            digest.add_comparable(&l);
        }
    }
    let pruned: Vec<&ObjectKey> = plan.prune.iter().flatten().map(|c| &c.key).collect();
    for live in cluster.get_all(&pruned, 8) {
        if let Some(l) = live.ok().flatten() {
            digest.add_comparable(&l);
        }
    }
    Ok(digest.finish())
}

/// The digest of desired objects a plan records (a saved plan is applied only for the same).
pub fn desired_digest(objects: &[Object]) -> String {
    digest_of(objects.iter().map(|o| &o.value))
}

/// What a saved plan file says it is.
pub const SAVED_KIND: &str = "KilnPlan";

/// Where a saved plan was made, besides the plan itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Origin {
    /// The kubeconfig context and the API server's address the plan was made against.
    pub context: String,
    pub server: String,
    /// Whether conflicts are forced (`--force`).
    pub force: bool,
    /// Where namespaced objects that name none went.
    pub namespace: String,
    /// The directory and the arguments of `kiln plan`, to read the repository again (for the
    /// values of Secrets, which a plan file never holds).
    pub cwd: String,
    pub args: Vec<String>,
}

fn key_json(k: &ObjectKey) -> Value {
    json!({"group": k.group, "kind": k.kind, "namespace": k.namespace, "name": k.name})
}

fn key_from(v: &Value) -> ObjectKey {
    let s = |f: &str| v.get(f).and_then(Value::as_str).unwrap_or("").to_string();
    ObjectKey {
        group: s("group"),
        kind: s("kind"),
        namespace: s("namespace"),
        name: s("name"),
    }
}

const MASKED_PREFIX: &str = "(secret, ";

/// A Secret's values replaced by their hashes, as plans show them.
fn mask_secret(v: &Value) -> Value {
    let mut v = v.clone();
    for field in ["data", "stringData"] {
        if let Some(Value::Object(m)) = v.get_mut(field) {
            for x in m.values_mut() {
                *x = Value::String(format!("{MASKED_PREFIX}{})", hash(x)));
            }
        }
    }
    v
}

/// The plan as a file: the plan, each object it applies (Secret values replaced by their
/// hashes), and where it was made.
pub fn save(plan: &Plan, origin: &Origin) -> String {
    let keys = |waves: &[Vec<Change>]| -> Value {
        waves
            .iter()
            .map(|w| w.iter().map(|c| key_json(&c.key)).collect::<Vec<_>>())
            .collect::<Vec<_>>()
            .into()
    };
    let objects: Vec<Vec<Value>> = plan
        .waves
        .iter()
        .map(|w| {
            w.iter()
                .map(|c| match &c.desired {
                    Some(d) if is_secret(&c.key) => mask_secret(d),
                    Some(d) => d.clone(),
                    None => Value::Null,
                })
                .collect()
        })
        .collect();
    let v = json!({
        "kind": SAVED_KIND,
        "version": 1,
        "kiln": env!("CARGO_PKG_VERSION"),
        "origin": origin,
        "plan": plan,
        "keys": keys(&plan.waves),
        "pruneKeys": keys(&plan.prune),
        "objects": objects,
    });
    let mut text = serde_json::to_string_pretty(&v).unwrap_or_default();
    text.push('\n');
    text
}

/// Whether `text` is a saved plan (rather than manifests).
pub fn is_saved(text: &str) -> bool {
    serde_json::from_str::<Value>(text)
        .ok()
        .is_some_and(|v| v.get("kind").and_then(Value::as_str) == Some(SAVED_KIND))
}

/// A saved plan read back, with the Secrets whose values it needs from the repository.
pub struct Loaded {
    pub plan: Plan,
    pub origin: Origin,
    /// `(wave, index)` of each Secret whose values were left out of the file.
    pub masked: Vec<(usize, usize)>,
}

/// Reads a saved plan; `Err` says what is wrong with the file.
pub fn load(text: &str) -> Result<Loaded, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not a plan file: {e}"))?;
    if v.get("kind").and_then(Value::as_str) != Some(SAVED_KIND) {
        return Err(format!("not a plan file (its kind is not {SAVED_KIND})"));
    }
    match v.get("version").and_then(Value::as_u64) {
        Some(1) => {}
        other => {
            return Err(format!(
                "a plan file of version {other:?}; this kiln reads version 1"
            ));
        }
    }
    let origin: Origin = serde_json::from_value(v.get("origin").cloned().unwrap_or(Value::Null))
        .map_err(|e| format!("the plan file's origin: {e}"))?;
    let mut plan: Plan = serde_json::from_value(v.get("plan").cloned().unwrap_or(Value::Null))
        .map_err(|e| format!("the plan file's plan: {e}"))?;
    let shape = |name: &str, waves: &[Vec<Change>]| -> Result<Vec<Vec<Value>>, String> {
        let lists: Vec<Vec<Value>> =
            serde_json::from_value(v.get(name).cloned().unwrap_or(Value::Null))
                .map_err(|e| format!("the plan file's {name}: {e}"))?;
        if lists.len() != waves.len() || lists.iter().zip(waves).any(|(a, b)| a.len() != b.len()) {
            return Err(format!("the plan file's {name} do not match its plan"));
        }
        Ok(lists)
    };
    let keys = shape("keys", &plan.waves)?;
    let prune_keys = shape("pruneKeys", &plan.prune)?;
    let objects = shape("objects", &plan.waves)?;
    let mut masked = Vec::new();
    for (w, wave) in plan.waves.iter_mut().enumerate() {
        for (i, c) in wave.iter_mut().enumerate() {
            c.key = key_from(&keys[w][i]);
            if c.key.to_string() != c.object {
                return Err(format!(
                    "the plan file's keys do not match its plan ({})",
                    c.object
                ));
            }
            let o = &objects[w][i];
            c.desired = (!o.is_null()).then(|| o.clone());
            if is_secret(&c.key) && c.desired.is_some() {
                masked.push((w, i));
            }
        }
    }
    for (w, wave) in plan.prune.iter_mut().enumerate() {
        for (i, c) in wave.iter_mut().enumerate() {
            c.key = key_from(&prune_keys[w][i]);
        }
    }
    Ok(Loaded {
        plan,
        origin,
        masked,
    })
}

/// Puts back the values of the Secrets a saved plan left out, from the repository read again
/// (`objects`, labelled as the plan labelled them): refused when a Secret is missing or its
/// values are not the ones planned.
pub fn restore_secrets(loaded: &mut Loaded, objects: &[(ObjectKey, Value)]) -> Result<(), String> {
    for &(w, i) in &loaded.masked {
        let c = &mut loaded.plan.waves[w][i];
        let saved = c.desired.as_ref().expect("masked Secrets have objects");
        let Some((_, real)) = objects.iter().find(|(k, _)| *k == c.key) else {
            return Err(format!("{} is no longer in the repository", c.object));
        };
        if mask_secret(real) != *saved {
            return Err(format!(
                "{}'s values in the repository are not the ones planned",
                c.object
            ));
        }
        c.desired = Some(real.clone());
    }
    loaded.masked.clear();
    Ok(())
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
