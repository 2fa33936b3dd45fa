//! The kinds kiln knows: every resource of the built-in Kubernetes API (from `schemas/`), and
//! every kind defined by a CustomResourceDefinition found in the input. For each it answers
//! scope (namespaced or cluster), plural, subresources, served versions, and the schema root.
//!
//! It does not validate objects; it tells the validator which schema applies.

use super::compiled::{NodeId, Schemas};
use crate::diag::{Code, Diagnostic, Location};
use crate::util::Pointer;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Where a resource's schema lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SchemaRef {
    Builtin(String),
    /// A CRD version's `openAPIV3Schema` (index into the CRD list, version index).
    Crd(usize, usize),
    /// A CRD version with no schema: anything goes.
    None,
}

/// One served resource version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
    pub subresources: Vec<String>,
    pub schema: SchemaRef,
    /// True for kinds from a CRD in the input.
    pub custom: bool,
}

#[derive(Deserialize)]
struct IndexEntry {
    group: String,
    version: String,
    kind: String,
    plural: String,
    namespaced: bool,
    definition: String,
    subresources: Vec<String>,
}

#[derive(Deserialize)]
struct Index {
    resources: Vec<IndexEntry>,
}

struct CrdVersion {
    schema: Option<Value>,
    compiled: Option<NodeId>,
}

/// What the catalogue knows about a group/version/kind.
#[derive(Debug)]
pub enum Resolution<'a> {
    Found(&'a Resource),
    /// The kind exists, but not in this version.
    UnknownVersion {
        served: Vec<String>,
    },
    /// The group is a Kubernetes API group (or a CRD's) that has no such kind.
    UnknownKind {
        suggestion: Option<String>,
    },
    /// A group Kubernetes removed; the kind lives on in other groups (`served`: api versions).
    Moved {
        served: Vec<String>,
    },
    /// A group nobody in the input defines: a custom resource without its CRD.
    NoSchema,
}

/// All known kinds, with their schemas compiled on first use.
pub struct Catalog {
    pub schemas: Schemas,
    resources: Vec<Resource>,
    by_group_kind: BTreeMap<(String, String), Vec<usize>>,
    builtin_groups: BTreeSet<String>,
    crd_groups: BTreeSet<String>,
    crd_versions: Vec<Vec<CrdVersion>>,
}

impl Default for Catalog {
    fn default() -> Catalog {
        Catalog::builtin()
    }
}

/// API groups Kubernetes served once and has removed; their kinds moved to other groups.
pub const REMOVED_GROUPS: &[&str] = &["extensions"];

fn api_version(r: &Resource) -> String {
    if r.group.is_empty() {
        r.version.clone()
    } else {
        format!("{}/{}", r.group, r.version)
    }
}

/// The Kubernetes version of the built-in schemas.
pub fn kubernetes_version() -> &'static str {
    super::builtin::KUBERNETES_VERSION
}

impl Catalog {
    /// A catalogue that knows no kind (a placeholder while a catalogue is borrowed away).
    pub fn empty() -> Catalog {
        Catalog {
            schemas: Schemas::default(),
            resources: Vec::new(),
            by_group_kind: BTreeMap::new(),
            builtin_groups: BTreeSet::new(),
            crd_groups: BTreeSet::new(),
            crd_versions: Vec::new(),
        }
    }

    /// The built-in API of the Kubernetes version `schemas/` was generated from.
    pub fn builtin() -> Catalog {
        let index: Index = serde_json::from_str(super::builtin::INDEX).unwrap_or(Index {
            resources: Vec::new(),
        });
        let mut c = Catalog::empty();
        for e in index.resources {
            c.builtin_groups.insert(e.group.clone());
            c.insert(Resource {
                group: e.group,
                version: e.version,
                kind: e.kind,
                plural: e.plural,
                namespaced: e.namespaced,
                subresources: e.subresources,
                schema: SchemaRef::Builtin(e.definition),
                custom: false,
            });
        }
        c
    }

    fn insert(&mut self, r: Resource) {
        let key = (r.group.clone(), r.kind.clone());
        self.resources.push(r);
        self.by_group_kind
            .entry(key)
            .or_default()
            .push(self.resources.len() - 1);
    }

    /// The API versions this catalogue serves, as Helm's `.Capabilities.APIVersions` lists
    /// them: `group/version` and `group/version/Kind` of every resource.
    pub fn api_versions(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for r in &self.resources {
            let gv = api_version(r);
            out.insert(format!("{gv}/{}", r.kind));
            out.insert(gv);
        }
        out
    }

    /// Every resource, built-in first, then custom in the order their CRDs were added.
    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }

    /// True for the groups of the Kubernetes API, including groups it has removed.
    pub fn is_builtin_group(&self, group: &str) -> bool {
        self.builtin_groups.contains(group) || REMOVED_GROUPS.contains(&group)
    }

    /// The kinds a group defines, sorted.
    pub fn kinds_in_group(&self, group: &str) -> Vec<String> {
        self.by_group_kind
            .keys()
            .filter(|(g, _)| g == group)
            .map(|(_, k)| k.clone())
            .collect()
    }

    /// Adds the kinds a CustomResourceDefinition object defines. `locate(pointer)` gives the
    /// location of a field of the CRD, for diagnostics.
    pub fn add_crd(&mut self, crd: &Value, locate: &dyn Fn(&str) -> Location) -> Vec<Diagnostic> {
        let mut diags = Vec::new();
        let null = Value::Null;
        let spec = crd.get("spec").unwrap_or(&null);
        let group = spec.get("group").and_then(Value::as_str).unwrap_or("");
        let kind = spec.at("/names/kind").and_then(Value::as_str).unwrap_or("");
        let plural = spec
            .at("/names/plural")
            .and_then(Value::as_str)
            .unwrap_or("");
        if group.is_empty() || kind.is_empty() || plural.is_empty() {
            diags.push(
                Diagnostic::new(
                    Code::InvalidCrd,
                    "this CustomResourceDefinition needs spec.group, spec.names.kind and spec.names.plural",
                )
                .at(locate("/spec"), "incomplete"),
            );
            return diags;
        }
        let namespaced = spec.get("scope").and_then(Value::as_str) != Some("Cluster");
        let name = crd
            .at("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let expected = format!("{plural}.{group}");
        if !name.is_empty() && name != expected {
            diags.push(
                Diagnostic::new(
                    Code::InvalidCrd,
                    format!("metadata.name: Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"),
                )
                .at(locate("/metadata/name"), format!("should be `{expected}`")),
            );
        }
        // Legacy (v1beta1) CRDs put one schema for all versions at spec.validation.
        let shared = spec.at("/validation/openAPIV3Schema");
        let preserve_all = spec
            .get("preserveUnknownFields")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut versions: Vec<(String, bool, Option<&Value>, Vec<String>)> = Vec::new();
        match spec.get("versions") {
            Some(Value::Array(vs)) if !vs.is_empty() => {
                for v in vs {
                    let Some(vname) = v.get("name").and_then(Value::as_str) else {
                        continue;
                    };
                    let served = v.get("served").and_then(Value::as_bool).unwrap_or(true);
                    let schema = v.at("/schema/openAPIV3Schema").or(shared);
                    let mut subs = Vec::new();
                    let sub_src = v.get("subresources").or_else(|| spec.get("subresources"));
                    if let Some(Value::Object(s)) = sub_src {
                        subs.extend(s.keys().cloned());
                    }
                    versions.push((vname.to_string(), served, schema, subs));
                }
            }
            _ => {
                if let Some(v) = spec.get("version").and_then(Value::as_str) {
                    let mut subs = Vec::new();
                    if let Some(Value::Object(s)) = spec.get("subresources") {
                        subs.extend(s.keys().cloned());
                    }
                    versions.push((v.to_string(), true, shared, subs));
                }
            }
        }
        if versions.is_empty() {
            diags.push(
                Diagnostic::new(
                    Code::InvalidCrd,
                    "this CustomResourceDefinition defines no versions",
                )
                .at(locate("/spec"), "no spec.versions"),
            );
            return diags;
        }
        let crd_index = self.crd_versions.len();
        let mut stored = Vec::new();
        for (i, (vname, served, schema, subs)) in versions.into_iter().enumerate() {
            if !served {
                continue;
            }
            // A second CRD for the same group/kind/version: the first one wins, as on a cluster
            // only one can exist; the duplicate object itself is reported elsewhere.
            if self.find(group, &vname, kind).is_some() {
                continue;
            }
            let schema_ref = if schema.is_some() && !preserve_all {
                SchemaRef::Crd(crd_index, i)
            } else {
                SchemaRef::None
            };
            stored.push((i, schema.cloned()));
            self.insert(Resource {
                group: group.to_string(),
                version: vname,
                kind: kind.to_string(),
                plural: plural.to_string(),
                namespaced,
                subresources: subs,
                schema: schema_ref,
                custom: true,
            });
        }
        let mut slots: Vec<CrdVersion> = Vec::new();
        for (i, schema) in stored {
            while slots.len() < i {
                slots.push(CrdVersion {
                    schema: None,
                    compiled: None,
                });
            }
            slots.push(CrdVersion {
                schema,
                compiled: None,
            });
        }
        self.crd_versions.push(slots);
        self.crd_groups.insert(group.to_string());
        diags
    }

    fn find(&self, group: &str, version: &str, kind: &str) -> Option<usize> {
        self.by_group_kind
            .get(&(group.to_string(), kind.to_string()))?
            .iter()
            .copied()
            .find(|i| self.resources[*i].version == version)
    }

    /// What is known about `group/version, Kind=kind`.
    pub fn resolve(&self, group: &str, version: &str, kind: &str) -> Resolution<'_> {
        if let Some(i) = self.find(group, version, kind) {
            return Resolution::Found(&self.resources[i]);
        }
        if let Some(idx) = self
            .by_group_kind
            .get(&(group.to_string(), kind.to_string()))
        {
            let mut served: Vec<String> = idx
                .iter()
                .map(|i| api_version(&self.resources[*i]))
                .collect();
            served.sort();
            served.dedup();
            return Resolution::UnknownVersion { served };
        }
        if REMOVED_GROUPS.contains(&group) {
            let mut served: Vec<String> = self
                .resources
                .iter()
                .filter(|r| r.kind == kind && !r.custom)
                .map(api_version)
                .collect();
            served.sort();
            served.dedup();
            return if served.is_empty() {
                Resolution::UnknownKind { suggestion: None }
            } else {
                Resolution::Moved { served }
            };
        }
        if self.is_builtin_group(group) || self.crd_groups.contains(group) {
            let kinds: BTreeSet<&str> = self
                .by_group_kind
                .keys()
                .filter(|(g, _)| g == group)
                .map(|(_, k)| k.as_str())
                .collect();
            let suggestion = crate::util::suggest(kind, kinds.iter().copied()).map(String::from);
            return Resolution::UnknownKind { suggestion };
        }
        Resolution::NoSchema
    }

    /// The scope of a kind in any version: `Some(true)` when namespaced.
    pub fn namespaced(&self, group: &str, kind: &str) -> Option<bool> {
        let idx = self
            .by_group_kind
            .get(&(group.to_string(), kind.to_string()))?;
        idx.first().map(|i| self.resources[*i].namespaced)
    }

    /// The schema root of a resource, compiling it on first use; `None` when it has no schema.
    pub fn root(&mut self, r: &Resource) -> Option<NodeId> {
        match &r.schema {
            SchemaRef::Builtin(def) => Some(self.schemas.definition(def)),
            SchemaRef::Crd(ci, vi) => {
                let slot = self.crd_versions.get_mut(*ci)?.get_mut(*vi)?;
                if let Some(id) = slot.compiled {
                    return Some(id);
                }
                let schema = slot.schema.take()?;
                let id = self.schemas.compile_resource_root(&schema);
                self.crd_versions[*ci][*vi].compiled = Some(id);
                Some(id)
            }
            SchemaRef::None => None,
        }
    }
}
