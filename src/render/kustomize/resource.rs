//! kustomize's resources: an object plus its build history (previous ids, prefixes and
//! suffixes applied, generator options), and the ordered resource map with kustomize's identity
//! rules (group, version, kind, name and effective namespace: `""` is `default`, and the
//! namespace of a kind known to be cluster-scoped does not count).

use super::fieldspec::{Gvk, split_api_version};
use crate::object::Origin;
use crate::util::Pointer;
use serde_json::{Map, Value};
use std::fmt;
use std::rc::Rc;

/// The namespace kustomize gives cluster-scoped ids.
pub const NOT_NAMESPACEABLE: &str = "_non_namespaceable_";

/// Kinds kustomize (its Kubernetes v1.21 schema and precomputed table) knows to be
/// cluster-scoped, by `apiVersion` group and kind. Anything else is treated as namespaced.
const CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "ComponentStatus"),
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("networking.k8s.io", "IngressClass"),
    ("node.k8s.io", "RuntimeClass"),
    ("policy", "PodSecurityPolicy"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("authentication.k8s.io", "TokenReview"),
    ("authorization.k8s.io", "SelfSubjectAccessReview"),
    ("authorization.k8s.io", "SelfSubjectRulesReview"),
    ("authorization.k8s.io", "SubjectAccessReview"),
];

/// True when kustomize treats this kind as cluster-scoped.
pub fn is_cluster_scoped(gvk: &Gvk) -> bool {
    CLUSTER_SCOPED
        .iter()
        .any(|(g, k)| *g == gvk.group && *k == gvk.kind)
}

/// A resource id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResId {
    pub gvk: Gvk,
    pub name: String,
    pub namespace: String,
}

impl ResId {
    pub fn effective_namespace(&self) -> &str {
        if is_cluster_scoped(&self.gvk) {
            NOT_NAMESPACEABLE
        } else if self.namespace.is_empty() || self.namespace == "default" {
            "default"
        } else {
            &self.namespace
        }
    }

    /// kustomize's `Equals`: same group, version, kind, name and effective namespace.
    pub fn same(&self, o: &ResId) -> bool {
        self.gvk == o.gvk
            && self.name == o.name
            && self.effective_namespace() == o.effective_namespace()
    }

    /// `GvknEquals`: same group, version, kind and name, whatever the namespace.
    pub fn same_gvkn(&self, o: &ResId) -> bool {
        self.gvk == o.gvk && self.name == o.name
    }
}

impl fmt::Display for ResId {
    /// kustomize v5's form: `Kind.version.group/name.namespace`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or = |s: &str, d: &'static str| {
            if s.is_empty() {
                d.to_string()
            } else {
                s.to_string()
            }
        };
        write!(
            f,
            "{}.{}.{}/{}.{}",
            or(&self.gvk.kind, "[noKind]"),
            or(&self.gvk.version, "[noVer]"),
            or(&self.gvk.group, "[noGrp]"),
            or(&self.name, "[noName]"),
            or(&self.namespace, "[noNs]")
        )
    }
}

/// How a generated resource meets an existing one of the same id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Behavior {
    #[default]
    Create,
    Merge,
    Replace,
}

/// One resource being built.
#[derive(Clone, Debug)]
pub struct Resource {
    /// The object, shared (copy on write) with the parsed file and with every build that
    /// includes it, until a transformation changes it.
    pub obj: Rc<Value>,
    /// Where it came from, for diagnostics.
    pub origin: Option<Origin>,
    /// buildMetadata origin: path relative to the top kustomization, or the generator.
    pub origin_note: Option<Value>,
    /// Transformations recorded for buildMetadata.
    pub transformations: Vec<Value>,
    /// Ids it had before renames, oldest first (namespace stored effective, as kustomize does).
    pub prev: Vec<ResId>,
    pub prefixes: Vec<String>,
    pub suffixes: Vec<String>,
    pub behavior: Behavior,
    pub needs_hash: bool,
    pub allow_name_change: bool,
    pub allow_kind_change: bool,
    /// Names of legacy vars bound to this resource.
    pub ref_vars: Vec<String>,
    /// JSON pointers of nulls written as nothing (`key:`), which kyaml drops when it merges a
    /// patch into the object (a written `null` or `~` it keeps).
    pub empty_nulls: Vec<String>,
}

fn str_at<'v>(v: &'v Value, a: &str, b: &str) -> &'v str {
    v.get(a)
        .and_then(|m| m.get(b))
        .and_then(Value::as_str)
        .unwrap_or("")
}

impl Resource {
    pub fn new(obj: impl Into<Rc<Value>>, origin: Option<Origin>) -> Resource {
        Resource {
            obj: obj.into(),
            origin,
            origin_note: None,
            transformations: Vec::new(),
            prev: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            behavior: Behavior::Create,
            needs_hash: false,
            allow_name_change: false,
            allow_kind_change: false,
            ref_vars: Vec::new(),
            empty_nulls: Vec::new(),
        }
    }

    pub fn gvk(&self) -> Gvk {
        Gvk::of(&self.obj)
    }

    /// The object, to change (copied first if shared).
    pub fn obj_mut(&mut self) -> &mut Value {
        Rc::make_mut(&mut self.obj)
    }

    /// The object, owned.
    pub fn into_value(self) -> Value {
        Rc::try_unwrap(self.obj).unwrap_or_else(|rc| (*rc).clone())
    }

    pub fn name(&self) -> &str {
        str_at(&self.obj, "metadata", "name")
    }

    pub fn namespace(&self) -> &str {
        str_at(&self.obj, "metadata", "namespace")
    }

    pub fn kind(&self) -> &str {
        self.obj.get("kind").and_then(Value::as_str).unwrap_or("")
    }

    /// `cur_id().same(id)` without building the id.
    pub fn has_current_id(&self, id: &ResId) -> bool {
        let api = self
            .obj
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        let (g, v) = split_api_version(api);
        if g != id.gvk.group
            || v != id.gvk.version
            || self.kind() != id.gvk.kind
            || self.name() != id.name
        {
            return false;
        }
        let ns = self.namespace();
        let effective = if is_cluster_scoped(&id.gvk) {
            NOT_NAMESPACEABLE
        } else if ns.is_empty() {
            "default"
        } else {
            ns
        };
        effective == id.effective_namespace()
    }

    pub fn cur_id(&self) -> ResId {
        ResId {
            gvk: self.gvk(),
            name: self.name().to_string(),
            namespace: self.namespace().to_string(),
        }
    }

    /// The first id it ever had.
    pub fn org_id(&self) -> ResId {
        self.prev.first().cloned().unwrap_or_else(|| self.cur_id())
    }

    /// Previous ids and the current one, oldest first.
    pub fn all_ids(&self) -> Vec<ResId> {
        let mut v = self.prev.clone();
        v.push(self.cur_id());
        v
    }

    /// Records the current id as a previous one (before a rename).
    pub fn store_previous_id(&mut self) {
        let mut id = self.cur_id();
        id.namespace = id.effective_namespace().to_string();
        if id.namespace == NOT_NAMESPACEABLE {
            id.namespace = self.namespace().to_string();
        }
        self.prev.push(id);
    }

    fn meta_mut(&mut self) -> &mut Map<String, Value> {
        let obj = self
            .obj_mut()
            .as_object_mut()
            .expect("resources are objects");
        let meta = obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if !meta.is_object() {
            *meta = Value::Object(Map::new());
        }
        meta.as_object_mut().expect("metadata is an object")
    }

    pub fn set_name(&mut self, name: &str) {
        self.meta_mut()
            .insert("name".into(), Value::String(name.to_string()));
    }

    pub fn set_namespace(&mut self, ns: &str) {
        if ns.is_empty() {
            self.meta_mut().remove("namespace");
        } else {
            self.meta_mut()
                .insert("namespace".into(), Value::String(ns.to_string()));
        }
    }

    pub fn set_kind(&mut self, kind: &str) {
        if let Some(o) = self.obj_mut().as_object_mut() {
            o.insert("kind".into(), Value::String(kind.to_string()));
        }
    }

    pub fn labels(&self) -> Option<&Map<String, Value>> {
        self.obj.at("/metadata/labels").and_then(Value::as_object)
    }

    pub fn annotations(&self) -> Option<&Map<String, Value>> {
        self.obj
            .at("/metadata/annotations")
            .and_then(Value::as_object)
    }

    /// True for an object with nothing in it (a `$patch: delete` leaves this).
    pub fn is_empty(&self) -> bool {
        match &*self.obj {
            Value::Object(m) => m.is_empty(),
            Value::Null => true,
            _ => false,
        }
    }
}

/// Builds a Gvk from `apiVersion` and `kind` strings.
pub fn gvk_from(api_version: &str, kind: &str) -> Gvk {
    let (g, v) = split_api_version(api_version);
    Gvk {
        group: g.to_string(),
        version: v.to_string(),
        kind: kind.to_string(),
    }
}

/// The resources of a build, in accumulation order.
#[derive(Clone, Debug, Default)]
pub struct ResMap {
    pub list: Vec<Resource>,
}

impl ResMap {
    /// Appends, refusing a second resource with the same current id.
    pub fn append(&mut self, r: Resource) -> Result<(), String> {
        let id = r.cur_id();
        if self.list.iter().any(|x| x.has_current_id(&id)) {
            return Err(format!(
                "may not add resource with an already registered id: {id}"
            ));
        }
        self.list.push(r);
        Ok(())
    }

    pub fn append_all(&mut self, rs: Vec<Resource>) -> Result<(), String> {
        for r in rs {
            self.append(r)?;
        }
        Ok(())
    }

    /// Indexes of resources that any of whose ids (previous or current) satisfy `f`.
    pub fn by_any_id(&self, f: impl Fn(&ResId) -> bool) -> Vec<usize> {
        (0..self.list.len())
            .filter(|&i| self.list[i].all_ids().iter().any(&f))
            .collect()
    }

    /// Indexes of resources whose current id satisfies `f`.
    pub fn by_current_id(&self, f: impl Fn(&ResId) -> bool) -> Vec<usize> {
        (0..self.list.len())
            .filter(|&i| f(&self.list[i].cur_id()))
            .collect()
    }

    /// The one resource whose any id equals `id`, as kustomize's `GetById`.
    pub fn get_by_id(&self, id: &ResId) -> Result<usize, String> {
        let found = self.by_any_id(|x| x.same(id));
        match found.len() {
            1 => Ok(found[0]),
            0 => Err(format!(
                "no matches for Id {id}; failed to find unique target for patch {id}"
            )),
            _ => Err(format!(
                "multiple matches for Id {id}; failed to find unique target for patch {id}"
            )),
        }
    }

    pub fn drop_empties(&mut self) {
        self.list.retain(|r| !r.is_empty());
    }
}
