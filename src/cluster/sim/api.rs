//! The simulator's side of the Kubernetes REST API: what discovery lists ([`ServedResource`]),
//! writes as `POST` and `PUT` make them (create with `generateName`, update with its
//! resourceVersion precondition and an Update's field ownership), `managedFields` in the wire
//! format (`fieldsV1`), and the [`Journal`] of changes that watches read.
//!
//! It knows nothing of HTTP: paths, bodies, content types and status codes are
//! `cluster::serve`'s.

use super::fields::{self, Path, Seg};
use super::ssa::{self, Managed, Operation};
use super::{SimCluster, Stored, meta_mut};
use crate::cluster::{ApiError, Millis, Resource};
use crate::cluster::{api_and_kind, key_of, rfc3339, split_api};
use crate::object::ObjectKey;
use crate::util::Pointer;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// A resource as discovery lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedResource {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    /// `status`, `scale`.
    pub subresources: Vec<String>,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// From a CustomResourceDefinition.
    pub custom: bool,
    /// The CRD's `additionalPrinterColumns` for this version (custom kinds only).
    pub printer_columns: Vec<Value>,
    /// The CRD's `openAPIV3Schema` for this version (custom kinds only).
    pub schema: Option<Value>,
}

impl ServedResource {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `deployments.apps`, `configmaps`: how errors name the resource.
    pub fn qualified(&self) -> String {
        qualified(&self.plural, &self.group)
    }
}

fn qualified(plural: &str, group: &str) -> String {
    if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{group}")
    }
}

/// The kinds `kubectl get all` lists.
const CATEGORY_ALL: &[(&str, &str)] = &[
    ("", "Pod"),
    ("", "ReplicationController"),
    ("", "Service"),
    ("apps", "DaemonSet"),
    ("apps", "Deployment"),
    ("apps", "ReplicaSet"),
    ("apps", "StatefulSet"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("batch", "CronJob"),
    ("batch", "Job"),
];

/// What happened to an object, as a watch event names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "ADDED",
            ChangeKind::Modified => "MODIFIED",
            ChangeKind::Deleted => "DELETED",
        }
    }
}

/// One change, with the object as it was right after it (as the API shows it).
#[derive(Clone, Debug)]
pub struct Change {
    pub rv: u64,
    pub kind: ChangeKind,
    pub key: ObjectKey,
    pub object: Value,
}

/// The changes since the cluster was first served, the oldest dropped past a bound (a watch
/// from before them is told `410 Gone`, as etcd's compaction makes the API server say).
#[derive(Debug)]
pub struct Journal {
    changes: VecDeque<Change>,
    /// Each object as last journalled.
    last: HashMap<ObjectKey, Value>,
    capacity: usize,
    /// The resourceVersion from which the journal is complete.
    oldest: u64,
}

impl Journal {
    /// Changes after `rv`, or `Err(oldest)` when they are no longer all kept.
    pub fn since(&self, rv: u64) -> Result<impl Iterator<Item = &Change>, u64> {
        if rv < self.oldest {
            return Err(self.oldest);
        }
        let start = self.changes.partition_point(|c| c.rv <= rv);
        Ok(self.changes.range(start..))
    }

    pub fn oldest(&self) -> u64 {
        self.oldest
    }

    fn push(&mut self, change: Change) {
        if self.changes.len() >= self.capacity
            && let Some(first) = self.changes.pop_front()
        {
            self.oldest = first.rv;
        }
        self.changes.push_back(change);
    }
}

fn rv_of(v: &Value) -> &str {
    v.at("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// One segment of a field path as `fieldsV1` writes it.
fn wire_segment(seg: &Seg) -> String {
    match seg {
        Seg::Field(n) => format!("f:{n}"),
        Seg::Key(kv) => {
            let mut kv = kv.clone();
            kv.sort();
            let inner: Vec<String> = kv
                .iter()
                .map(|(k, v)| format!("{}:{v}", Value::String(k.clone())))
                .collect();
            format!("k:{{{}}}", inner.join(","))
        }
        Seg::Value(v) => format!("v:{v}"),
        Seg::Index(i) => format!("i:{i}"),
    }
}

/// A field set as `fieldsV1`: nested `f:`/`k:`/`v:` keys, `.` where a node is owned itself and
/// has owned children.
pub fn fields_v1<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Value {
    fn mark(node: &mut Map<String, Value>, path: &mut Vec<String>, owned: &HashSet<Vec<String>>) {
        for (k, child) in node.iter_mut() {
            path.push(k.clone());
            if let Some(c) = child.as_object_mut() {
                mark(c, path, owned);
                if !c.is_empty() && !c.contains_key(".") && owned.contains(path) {
                    c.insert(".".into(), json!({}));
                }
            }
            path.pop();
        }
    }
    let mut owned = HashSet::new();
    let mut root = Map::new();
    for p in paths {
        let wire: Vec<String> = p.iter().map(wire_segment).collect();
        let mut node = &mut root;
        for seg in &wire {
            node = node
                .entry(seg.clone())
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("fieldsV1 nodes are objects");
        }
        owned.insert(wire);
    }
    mark(&mut root, &mut Vec::new(), &owned);
    Value::Object(root)
}

impl Managed {
    /// As the API server writes a `managedFields` entry.
    pub fn to_wire(&self) -> Value {
        let mut v = json!({
            "manager": self.manager,
            "operation": match self.operation { Operation::Apply => "Apply", Operation::Update => "Update" },
            "apiVersion": self.api_version,
            "time": rfc3339(self.time),
            "fieldsType": "FieldsV1",
            "fieldsV1": fields_v1(&self.fields),
        });
        if !self.subresource.is_empty() {
            v["subresource"] = json!(self.subresource);
        }
        v
    }
}

fn preferred_rank(version: &str) -> (u8, i64, i64) {
    // v2 before v1 before v1beta2 before v1beta1 before v1alpha1; unparsable last.
    let digits = |s: &str| s.parse::<i64>().unwrap_or(0);
    let Some(rest) = version.strip_prefix('v') else {
        return (3, 0, 0);
    };
    let major_len = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let major = digits(&rest[..major_len]);
    let tail = &rest[major_len..];
    if tail.is_empty() {
        (0, -major, 0)
    } else if let Some(n) = tail.strip_prefix("beta") {
        (1, -major, -digits(n))
    } else if let Some(n) = tail.strip_prefix("alpha") {
        (2, -major, -digits(n))
    } else {
        (3, 0, 0)
    }
}

/// A group's versions, preferred first (as discovery orders them).
pub fn by_preference(mut versions: Vec<String>) -> Vec<String> {
    versions.sort_by_key(|v| preferred_rank(v));
    versions.dedup();
    versions
}

impl SimCluster {
    /// From now on the cluster is seen through the REST API: `managedFields` are shown in
    /// the wire format, and a journal of changes is kept for watches (from the current
    /// resourceVersion, at most `capacity` changes).
    pub fn serve_api(&mut self, capacity: usize) {
        self.wire_fields = true;
        for s in self.store.values_mut() {
            s.managed_json = std::cell::OnceCell::new();
        }
        let last = self
            .store
            .keys()
            .map(|k| (k.clone(), self.render(k)))
            .collect();
        self.journal = Some(Journal {
            changes: VecDeque::new(),
            last,
            capacity: capacity.max(1),
            oldest: self.rv,
        });
    }

    pub fn journal(&self) -> Option<&Journal> {
        self.journal.as_ref()
    }

    /// The cluster's current resourceVersion (a list's).
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    /// Records a change to a stored object in the journal (if kept). A change that did not
    /// move the object's resourceVersion (a controller's bookkeeping) gets a new one, as every
    /// write to a real server does.
    pub(crate) fn journal_change(&mut self, key: &ObjectKey) {
        if self.journal.is_none() || !self.store.contains_key(key) {
            return;
        }
        let mut now = self.render(key);
        let Some(journal) = self.journal.as_ref() else {
            return;
        };
        let last = journal.last.get(key);
        if last == Some(&now) {
            return;
        }
        let kind = if last.is_some() {
            ChangeKind::Modified
        } else {
            ChangeKind::Added
        };
        if last.is_some_and(|l| rv_of(l) == rv_of(&now)) {
            let rv = self.next_rv();
            if let Some(s) = self.store.get_mut(key) {
                meta_mut(s.object_mut()).insert("resourceVersion".into(), json!(rv));
            }
            meta_mut(&mut now).insert("resourceVersion".into(), json!(rv));
        }
        let rv = self.rv;
        if let Some(j) = self.journal.as_mut() {
            j.last.insert(key.clone(), now.clone());
            j.push(Change {
                rv,
                kind,
                key: key.clone(),
                object: now,
            });
        }
    }

    /// Records a removal in the journal (if kept); a removal is a write with its own
    /// resourceVersion.
    pub(crate) fn journal_removal(&mut self, key: &ObjectKey, stored: &Stored) {
        if self.journal.is_none() {
            return;
        }
        let rv = self.next_rv();
        let mut object = (*stored.object).clone();
        if !stored.managed.is_empty() {
            meta_mut(&mut object).insert(
                "managedFields".into(),
                Value::Array(stored.managed.iter().map(Managed::to_wire).collect()),
            );
        }
        meta_mut(&mut object).insert("resourceVersion".into(), json!(rv.to_string()));
        if let Some(j) = self.journal.as_mut() {
            j.last.remove(key);
            j.push(Change {
                rv: self.rv,
                kind: ChangeKind::Deleted,
                key: key.clone(),
                object,
            });
        }
    }

    /// Every resource served now: the built-in API, then the kinds of Established CRDs.
    pub fn served_resources(&self) -> Vec<ServedResource> {
        let mut out = Vec::new();
        for r in self.catalog.resources().iter().filter(|r| !r.custom) {
            // Built-in kinds only reach here: the table's CRD entries never match.
            let short = crate::object::reference::SHORT_NAMES
                .iter()
                .find(|(g, k, _)| *g == r.group && *k == r.kind)
                .map(|(_, _, s)| s.iter().map(|s| s.to_string()).collect())
                .unwrap_or_default();
            let categories = if CATEGORY_ALL.contains(&(r.group.as_str(), r.kind.as_str())) {
                vec!["all".to_string()]
            } else {
                Vec::new()
            };
            out.push(ServedResource {
                group: r.group.clone(),
                version: r.version.clone(),
                kind: r.kind.clone(),
                plural: r.plural.clone(),
                singular: r.kind.to_lowercase(),
                namespaced: r.namespaced,
                subresources: r.subresources.clone(),
                short_names: short,
                categories,
                custom: false,
                printer_columns: Vec::new(),
                schema: None,
            });
        }
        for c in self.custom.values().filter(|c| c.established) {
            let crd = self
                .store
                .get(&ObjectKey {
                    group: "apiextensions.k8s.io".into(),
                    kind: "CustomResourceDefinition".into(),
                    namespace: String::new(),
                    name: c.crd.clone(),
                })
                .map(|s| &s.object);
            let strings = |p: &str| -> Vec<String> {
                crd.and_then(|o| o.at(p))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            };
            let singular = crd
                .and_then(|o| o.at("/spec/names/singular"))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .unwrap_or_else(|| c.resource.kind.to_lowercase());
            for version in &c.versions {
                let spec = crd
                    .and_then(|o| o.at("/spec/versions"))
                    .and_then(Value::as_array)
                    .and_then(|vs| {
                        vs.iter()
                            .find(|v| v.get("name").and_then(Value::as_str) == Some(version))
                    });
                let mut subresources = Vec::new();
                for sub in ["status", "scale"] {
                    if spec
                        .and_then(|s| s.at(&format!("/subresources/{sub}")))
                        .is_some()
                    {
                        subresources.push(sub.to_string());
                    }
                }
                out.push(ServedResource {
                    group: c.resource.group.clone(),
                    version: version.clone(),
                    kind: c.resource.kind.clone(),
                    plural: c.resource.plural.clone(),
                    singular: singular.clone(),
                    namespaced: c.resource.namespaced,
                    subresources,
                    short_names: strings("/spec/names/shortNames"),
                    categories: strings("/spec/names/categories"),
                    custom: true,
                    printer_columns: spec
                        .and_then(|s| s.get("additionalPrinterColumns"))
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                    schema: spec.and_then(|s| s.at("/schema/openAPIV3Schema")).cloned(),
                });
            }
        }
        out
    }

    /// Refuses a write into a namespace that does not exist, or a new object in one that is
    /// terminating.
    pub(crate) fn check_namespace(
        &self,
        resource: &Resource,
        key: &ObjectKey,
    ) -> Result<(), ApiError> {
        if !resource.namespaced {
            return Ok(());
        }
        match self.namespace_state(&key.namespace) {
            None => Err(ApiError::not_found(format!(
                "namespaces \"{}\" not found",
                key.namespace
            ))),
            Some(false) if !self.store.contains_key(key) => Err(ApiError::forbidden(format!(
                "{} \"{}\" is forbidden: unable to create new content in namespace {} because it is being terminated",
                resource.plural, key.name, key.namespace
            ))),
            _ => Ok(()),
        }
    }

    /// The resource and key of an object in a request.
    pub(crate) fn request_target(
        &self,
        object: &mut Value,
    ) -> Result<(String, Resource, ObjectKey), ApiError> {
        let (api, kind) = api_and_kind(object);
        let (group, version) = split_api(&api);
        let resource = self.served(group, version, &kind)?;
        let mut key = key_of(object);
        if resource.namespaced && key.namespace.is_empty() {
            key.namespace = "default".into();
            meta_mut(object).insert("namespace".into(), json!("default"));
        }
        if !resource.namespaced && !key.namespace.is_empty() {
            key.namespace.clear();
            meta_mut(object).remove("namespace");
        }
        Ok((api, resource, key))
    }

    /// `POST`: creates an object (a name from `generateName` when it has none), owned by
    /// `manager` through an Update.
    pub fn create(
        &mut self,
        mut object: Value,
        manager: &str,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let named = object
            .at("/metadata/name")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.is_empty());
        if !named
            && let Some(prefix) = object
                .at("/metadata/generateName")
                .and_then(Value::as_str)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
        {
            let name = format!("{prefix}{}", self.suffix(5));
            meta_mut(&mut object).insert("name".into(), json!(name));
        }
        let (api, resource, key) = self.request_target(&mut object)?;
        if key.name.is_empty() {
            return Err(ApiError::invalid(format!(
                "The {} \"\" is invalid: metadata.name: Required value: name or generateName is required",
                resource.kind
            )));
        }
        self.check_namespace(&resource, &key)?;
        if self.store.contains_key(&key) {
            return Err(ApiError::new(
                409,
                "AlreadyExists",
                format!(
                    "{} \"{}\" already exists",
                    qualified(&resource.plural, &resource.group),
                    key.name
                ),
            ));
        }
        if !dry_run && let Some(e) = self.take_write_fault(&key) {
            return Err(e);
        }
        let meta = meta_mut(&mut object);
        for k in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "generation",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "managedFields",
            "selfLink",
        ] {
            meta.remove(k);
        }
        if resource.status_subresource
            && let Some(m) = object.as_object_mut()
        {
            m.remove("status");
        }
        let root = self.schema_root(&resource.group, &resource.version, &resource.kind);
        let schema = fields::Schema {
            schemas: Some(&self.catalog.schemas),
            node: root,
        };
        let managed = ssa::update(
            &[],
            &Value::Null,
            &object,
            manager,
            "",
            &api,
            self.clock,
            schema,
        );
        self.admit(
            key,
            &resource,
            true,
            &Value::Null,
            object,
            managed,
            root,
            dry_run,
        )
    }

    /// `PUT`: replaces an object (or, with `subresource` `status`, its status), refused when
    /// the request names a resourceVersion that is no longer current.
    pub fn update(
        &mut self,
        mut object: Value,
        manager: &str,
        subresource: &str,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let (api, resource, key) = self.request_target(&mut object)?;
        let plural = qualified(&resource.plural, &resource.group);
        let Some(old) = self.store.get(&key).cloned() else {
            return Err(ApiError::not_found(format!(
                "{plural} \"{}\" not found",
                key.name
            )));
        };
        let wanted = rv_of(&object);
        if !wanted.is_empty() && wanted != rv_of(&old.object) {
            return Err(ApiError::conflict(format!(
                "Operation cannot be fulfilled on {plural} \"{}\": the object has been modified; please apply your changes to the latest version and try again",
                key.name
            )));
        }
        if !dry_run && let Some(e) = self.take_write_fault(&key) {
            return Err(e);
        }
        let live = old.object.clone();
        let mut next = if subresource == "status" {
            let mut next = (*live).clone();
            match object.get("status") {
                Some(s) => next["status"] = s.clone(),
                None => {
                    if let Some(m) = next.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
            next
        } else {
            let mut next = object;
            if resource.status_subresource
                && let Some(m) = next.as_object_mut()
            {
                match live.get("status") {
                    Some(s) => {
                        m.insert("status".into(), s.clone());
                    }
                    None => {
                        m.remove("status");
                    }
                }
            }
            next
        };
        if let Some(m) = next.as_object_mut() {
            m.insert("apiVersion".into(), json!(api));
        }
        // managedFields written by the request replace the live ones, as the API server's
        // field manager takes them (kubectl's take-over of client-side-applied objects
        // writes them with a JSON patch); left out or unchanged, the live ones stay.
        let given = meta_mut(&mut next).remove("managedFields");
        let previous = match given.as_ref().and_then(Value::as_array) {
            Some(entries)
                if !entries.is_empty()
                    && Some(&Value::Array(entries.clone()))
                        != self.render(&key).at("/metadata/managedFields") =>
            {
                managed_from_wire(entries, self.clock)
            }
            _ => old.managed.clone(),
        };
        let root = self.schema_root(&resource.group, &resource.version, &resource.kind);
        let schema = fields::Schema {
            schemas: Some(&self.catalog.schemas),
            node: root,
        };
        let managed = ssa::update(
            &previous,
            &live,
            &next,
            manager,
            subresource,
            &api,
            self.clock,
            schema,
        );
        self.admit(key, &resource, false, &live, next, managed, root, dry_run)
    }

    /// The served resource for a kind (any version when `version` is empty).
    pub fn served_kind(
        &self,
        group: &str,
        version: &str,
        kind: &str,
    ) -> Result<Resource, ApiError> {
        self.served(group, version, kind)
    }

    /// The stored object's current resourceVersion and uid, for delete preconditions.
    pub fn identity(&self, key: &ObjectKey) -> Option<(String, String)> {
        let o = &self.store.get(key)?.object;
        Some((
            rv_of(o).to_string(),
            o.at("/metadata/uid")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        ))
    }
}

/// One `fieldsV1` key as a path segment.
fn parse_segment(k: &str) -> Option<Seg> {
    let (tag, rest) = k.split_once(':')?;
    Some(match tag {
        "f" => Seg::Field(rest.to_string()),
        "k" => {
            let Value::Object(m) = serde_json::from_str::<Value>(rest).ok()? else {
                return None;
            };
            Seg::Key(m.into_iter().map(|(k, v)| (k, v.to_string())).collect())
        }
        "v" => Seg::Value(serde_json::from_str::<Value>(rest).ok()?.to_string()),
        "i" => Seg::Index(rest.parse().ok()?),
        _ => return None,
    })
}

/// A `fieldsV1` tree as a field set (the inverse of [`fields_v1`]).
pub fn parse_fields_v1(v: &Value) -> fields::FieldSet {
    fn walk(v: &Value, path: &mut Path, out: &mut fields::FieldSet) {
        let Some(m) = v.as_object() else { return };
        for (k, child) in m {
            if k == "." {
                continue;
            }
            let Some(seg) = parse_segment(k) else {
                continue;
            };
            path.push(seg);
            let leaf = child
                .as_object()
                .is_none_or(|c| c.is_empty() || c.contains_key("."));
            if leaf {
                out.insert(path.clone());
            }
            walk(child, path, out);
            path.pop();
        }
    }
    let mut out = fields::FieldSet::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

/// `managedFields` entries as the API writes them (`fieldsV1`) read back.
pub fn managed_from_wire(entries: &[Value], clock: Millis) -> Vec<Managed> {
    entries
        .iter()
        .map(|m| {
            let s = |f: &str| m.get(f).and_then(Value::as_str).unwrap_or("").to_string();
            Managed {
                manager: s("manager"),
                operation: if s("operation") == "Apply" {
                    Operation::Apply
                } else {
                    Operation::Update
                },
                subresource: s("subresource"),
                api_version: s("apiVersion"),
                fields: m.get("fieldsV1").map(parse_fields_v1).unwrap_or_default(),
                time: super::controllers::parse_time(&s("time")).unwrap_or(clock),
            }
        })
        .collect()
}

impl SimCluster {
    /// Loads objects as a real cluster returned them (a saved state, or what `kubectl get -A
    /// -o yaml` prints): uid, resourceVersion, creationTimestamp, managedFields and status are
    /// kept as given. CRDs are loaded first and served at once; kinds with no CRD among the
    /// objects are assumed. Returns one line per object that could not be loaded.
    pub fn restore(&mut self, objects: Vec<Value>) -> Vec<String> {
        let mut problems = Vec::new();
        let (crds, rest): (Vec<Value>, Vec<Value>) = objects.into_iter().partition(|o| {
            o.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition")
        });
        for mut object in crds.into_iter().chain(rest) {
            let (api, kind) = api_and_kind(&object);
            let key = key_of(&object);
            if api.is_empty() || kind.is_empty() || key.name.is_empty() {
                problems.push(format!(
                    "an item without apiVersion, kind or metadata.name ({api} {kind} {:?})",
                    key.name
                ));
                continue;
            }
            let (group, version) = split_api(&api);
            if self.served(group, version, &kind).is_err() {
                self.assume_kind(&api, &kind, !key.namespace.is_empty());
            }
            let managed = object
                .at("/metadata/managedFields")
                .and_then(Value::as_array)
                .map(|entries| managed_from_wire(entries, self.clock))
                .unwrap_or_default();
            let meta = meta_mut(&mut object);
            meta.remove("managedFields");
            if !meta.contains_key("uid") {
                let uid = self.uid();
                meta_mut(&mut object).insert("uid".into(), json!(uid));
            }
            let meta = meta_mut(&mut object);
            if !meta.contains_key("creationTimestamp") {
                meta.insert("creationTimestamp".into(), json!(rfc3339(self.clock)));
            }
            let rv = meta
                .get("resourceVersion")
                .and_then(Value::as_str)
                .and_then(|r| r.parse::<u64>().ok());
            match rv {
                Some(n) => self.rv = self.rv.max(n),
                None => {
                    let rv = self.next_rv();
                    meta_mut(&mut object).insert("resourceVersion".into(), json!(rv));
                }
            }
            self.put(
                key.clone(),
                Stored {
                    object: Arc::new(object),
                    managed,
                    managed_json: std::cell::OnceCell::new(),
                },
            );
            if key.group == "apiextensions.k8s.io" && key.kind == "CustomResourceDefinition" {
                self.register_crd(&key);
                self.establish(&key);
            }
        }
        problems
    }

    /// Every stored object as the API shows it, in key order (a state to save).
    pub fn dump(&self) -> Vec<Value> {
        self.store.keys().map(|k| self.render(k)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_sets_are_written_as_the_api_server_writes_them() {
        let paths: Vec<Path> = vec![
            vec![Seg::Field("data".into()), Seg::Field("a".into())],
            vec![
                Seg::Field("spec".into()),
                Seg::Field("containers".into()),
                Seg::Key(vec![("name".into(), "\"web\"".into())]),
            ],
            vec![
                Seg::Field("spec".into()),
                Seg::Field("containers".into()),
                Seg::Key(vec![("name".into(), "\"web\"".into())]),
                Seg::Field("image".into()),
            ],
        ];
        assert_eq!(
            fields_v1(&paths),
            json!({
                "f:data": {"f:a": {}},
                "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}}}}
            })
        );
    }

    #[test]
    fn field_sets_read_back_as_written() {
        let paths: fields::FieldSet = [
            vec![Seg::Field("data".into()), Seg::Field("a".into())],
            vec![
                Seg::Field("spec".into()),
                Seg::Field("ports".into()),
                Seg::Key(vec![
                    ("port".into(), "80".into()),
                    ("protocol".into(), "\"TCP\"".into()),
                ]),
            ],
            vec![
                Seg::Field("spec".into()),
                Seg::Field("ports".into()),
                Seg::Key(vec![
                    ("port".into(), "80".into()),
                    ("protocol".into(), "\"TCP\"".into()),
                ]),
                Seg::Field("name".into()),
            ],
            vec![Seg::Field("finalizers".into()), Seg::Value("\"a\"".into())],
        ]
        .into_iter()
        .collect();
        assert_eq!(parse_fields_v1(&fields_v1(&paths)), paths);
    }

    #[test]
    fn versions_are_ordered_as_discovery_prefers_them() {
        let v = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            by_preference(v(&["v1beta1", "v1", "v2", "v1alpha1", "v2beta2"])),
            v(&["v2", "v1", "v2beta2", "v1beta1", "v1alpha1"])
        );
    }
}
