//! Strategic merge patch as kustomize applies it (kyaml `merge2`): maps merge key by key, a
//! patch scalar wins, `null` deletes, `$patch: delete|replace|merge` on maps and lists, lists
//! merge by key only where the schema gives a merge strategy (otherwise the patch list replaces
//! the target list), and merged elements move to the front, as kyaml's prepend mode does.
//! `$retainKeys`, `$deleteFromPrimitiveList` and `$setElementOrder` are not interpreted (kyaml
//! copies them through, and so does kiln).
//!
//! kustomize's only schema is Kubernetes v1.21's: kinds served since then, and all custom
//! resources, have no schema, so all their lists are replaced. [`KNOWN_IN_V1_21`] draws that line.

use crate::schema::{Additional, ListType, Node, NodeId, Schemas};
use crate::util::Pointer;
use serde_json::{Map, Value};

/// Group/versions and kinds in the Kubernetes v1.21 API that kustomize's schema describes.
pub const KNOWN_IN_V1_21: &[(&str, &[&str])] = &[
    (
        "v1",
        &[
            "Binding",
            "ComponentStatus",
            "ConfigMap",
            "Endpoints",
            "Event",
            "LimitRange",
            "Namespace",
            "Node",
            "PersistentVolume",
            "PersistentVolumeClaim",
            "Pod",
            "PodTemplate",
            "ReplicationController",
            "ResourceQuota",
            "Secret",
            "Service",
            "ServiceAccount",
        ],
    ),
    (
        "admissionregistration.k8s.io/v1",
        &[
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
        ],
    ),
    (
        "admissionregistration.k8s.io/v1beta1",
        &[
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
        ],
    ),
    ("apiextensions.k8s.io/v1", &["CustomResourceDefinition"]),
    (
        "apiextensions.k8s.io/v1beta1",
        &["CustomResourceDefinition"],
    ),
    ("apiregistration.k8s.io/v1", &["APIService"]),
    ("apiregistration.k8s.io/v1beta1", &["APIService"]),
    (
        "apps/v1",
        &[
            "ControllerRevision",
            "DaemonSet",
            "Deployment",
            "ReplicaSet",
            "StatefulSet",
        ],
    ),
    ("autoscaling/v1", &["HorizontalPodAutoscaler"]),
    ("autoscaling/v2beta1", &["HorizontalPodAutoscaler"]),
    ("autoscaling/v2beta2", &["HorizontalPodAutoscaler"]),
    ("batch/v1", &["CronJob", "Job"]),
    ("batch/v1beta1", &["CronJob"]),
    ("certificates.k8s.io/v1", &["CertificateSigningRequest"]),
    (
        "certificates.k8s.io/v1beta1",
        &["CertificateSigningRequest"],
    ),
    ("coordination.k8s.io/v1", &["Lease"]),
    ("coordination.k8s.io/v1beta1", &["Lease"]),
    ("discovery.k8s.io/v1", &["EndpointSlice"]),
    ("discovery.k8s.io/v1beta1", &["EndpointSlice"]),
    ("events.k8s.io/v1", &["Event"]),
    ("events.k8s.io/v1beta1", &["Event"]),
    ("extensions/v1beta1", &["Ingress"]),
    (
        "flowcontrol.apiserver.k8s.io/v1beta1",
        &["FlowSchema", "PriorityLevelConfiguration"],
    ),
    (
        "networking.k8s.io/v1",
        &["Ingress", "IngressClass", "NetworkPolicy"],
    ),
    ("networking.k8s.io/v1beta1", &["Ingress", "IngressClass"]),
    ("node.k8s.io/v1", &["RuntimeClass"]),
    ("node.k8s.io/v1beta1", &["RuntimeClass"]),
    ("policy/v1", &["PodDisruptionBudget"]),
    (
        "policy/v1beta1",
        &["PodDisruptionBudget", "PodSecurityPolicy"],
    ),
    (
        "rbac.authorization.k8s.io/v1",
        &["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"],
    ),
    (
        "rbac.authorization.k8s.io/v1beta1",
        &["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"],
    ),
    ("scheduling.k8s.io/v1", &["PriorityClass"]),
    ("scheduling.k8s.io/v1beta1", &["PriorityClass"]),
    (
        "storage.k8s.io/v1",
        &["CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"],
    ),
    (
        "storage.k8s.io/v1beta1",
        &[
            "CSIDriver",
            "CSINode",
            "CSIStorageCapacity",
            "StorageClass",
            "VolumeAttachment",
        ],
    ),
];

/// True when kustomize has a schema for this `apiVersion` and kind.
pub fn known_in_v1_21(api_version: &str, kind: &str) -> bool {
    KNOWN_IN_V1_21
        .iter()
        .any(|(av, kinds)| *av == api_version && kinds.contains(&kind))
}

enum Out {
    Clear,
    Keep(Value),
}

struct Merger<'s> {
    schemas: Option<&'s Schemas>,
    empty_nulls: &'s [String],
    path: std::cell::RefCell<String>,
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "MappingNode",
        Value::Array(_) => "SequenceNode",
        _ => "ScalarNode",
    }
}

fn wrong_kind(expected: &str, v: &Value) -> String {
    format!(
        "wrong node kind: expected {expected} but got {}: node contents:\n{}",
        kind_name(v),
        crate::syntax::emit::to_yaml(v)
    )
}

/// The `$patch` directive of a map, removed from it.
fn map_directive(m: &mut Map<String, Value>) -> Result<&'static str, String> {
    match m.remove("$patch") {
        None => Ok("merge"),
        Some(Value::String(s)) if s == "delete" => Ok("delete"),
        Some(Value::String(s)) if s == "replace" => Ok("replace"),
        Some(Value::String(s)) if s == "merge" => Ok("merge"),
        Some(other) => Err(format!(
            "unknown patch strategy '{}'",
            other.as_str().unwrap_or(&other.to_string())
        )),
    }
}

impl<'s> Merger<'s> {
    /// A target subtree the patch does not touch: kept, except for the nulls written as nothing
    /// (`key:`), which kyaml's walk drops everywhere it goes.
    fn without_empty_nulls(&self, dest: Option<&Value>) -> Value {
        let mut v = dest.cloned().unwrap_or(Value::Null);
        let base = self.path.borrow().clone();
        let below: Vec<&str> = self
            .empty_nulls
            .iter()
            .filter_map(|p| p.strip_prefix(base.as_str()))
            .filter(|r| r.starts_with('/'))
            .collect();
        // Only map entries are removed, so no other pointer shifts.
        for rel in below {
            let (parent, key) = rel.rsplit_once('/').unwrap_or(("", rel));
            let key = key.replace("~1", "/").replace("~0", "~");
            if let Some(Value::Object(m)) = v.at_mut(parent)
                && m.get(&key).is_some_and(Value::is_null)
            {
                m.remove(&key);
            }
        }
        v
    }

    fn node(&self, id: Option<NodeId>) -> Option<&'s Node> {
        Some(self.schemas?.node(id?))
    }

    fn child(&self, id: Option<NodeId>, key: &str) -> Option<NodeId> {
        let n = self.node(id)?;
        n.property(key).or(match n.additional {
            Additional::Schema(a) => Some(a),
            _ => None,
        })
    }

    fn items(&self, id: Option<NodeId>) -> Option<NodeId> {
        self.node(id)?.items
    }

    fn walk(
        &self,
        dest: Option<&Value>,
        patch: Option<&Value>,
        schema: Option<NodeId>,
    ) -> Result<Out, String> {
        let first = [dest, patch].into_iter().flatten().find(|v| !v.is_null());
        match first {
            // Nothing but nulls: a target's null stays if it was written out (`null`, `~`) and
            // the patch says nothing; otherwise the field goes.
            None => Ok(match (dest, patch) {
                (Some(d), None) if !self.empty_nulls.contains(&*self.path.borrow()) => {
                    Out::Keep(d.clone())
                }
                _ => Out::Clear,
            }),
            Some(Value::Object(_)) => self.visit_map(dest, patch, schema),
            Some(Value::Array(_)) => self.visit_list(dest, patch, schema),
            Some(_) => Ok(match patch {
                Some(p) if p.is_null() => Out::Clear,
                Some(p) => Out::Keep(p.clone()),
                None => Out::Keep(dest.cloned().unwrap_or(Value::Null)),
            }),
        }
    }

    fn visit_map(
        &self,
        dest: Option<&Value>,
        patch: Option<&Value>,
        schema: Option<NodeId>,
    ) -> Result<Out, String> {
        for v in [dest, patch].into_iter().flatten() {
            if !v.is_null() && !v.is_object() {
                return Err(wrong_kind("MappingNode", v));
            }
        }
        let Some(patch) = patch else {
            return Ok(Out::Keep(self.without_empty_nulls(dest)));
        };
        if patch.is_null() {
            return Ok(Out::Clear);
        }
        let mut p = patch.as_object().cloned().unwrap_or_default();
        let directive = map_directive(&mut p)?;
        let dest_missing = dest.is_none_or(Value::is_null);
        if directive == "delete" {
            return Ok(Out::Clear);
        }
        // With nothing to merge into, or `$patch: replace`, the patch itself is the result, its
        // own directives resolved.
        let base = if dest_missing || directive == "replace" {
            p.clone()
        } else {
            dest.and_then(Value::as_object).cloned().unwrap_or_default()
        };
        let mut keys: Vec<&String> = base.keys().chain(p.keys()).collect();
        keys.sort();
        keys.dedup();
        let mut out = Map::new();
        for k in keys {
            let len = self.path.borrow().len();
            self.path.borrow_mut().push('/');
            self.path
                .borrow_mut()
                .push_str(&k.replace('~', "~0").replace('/', "~1"));
            let walked = self.walk(base.get(k), p.get(k), self.child(schema, k));
            self.path.borrow_mut().truncate(len);
            match walked? {
                Out::Clear => {}
                Out::Keep(v) => {
                    out.insert(k.clone(), v);
                }
            }
        }
        Ok(Out::Keep(Value::Object(out)))
    }

    fn visit_list(
        &self,
        dest: Option<&Value>,
        patch: Option<&Value>,
        schema: Option<NodeId>,
    ) -> Result<Out, String> {
        for v in [dest, patch].into_iter().flatten() {
            if !v.is_null() && !v.is_array() {
                return Err(wrong_kind("SequenceNode", v));
            }
        }
        let node = self.node(schema);
        let associative = node.is_some_and(|n| {
            n.patch_strategy
                .as_deref()
                .is_some_and(|s| s.contains("merge"))
        });
        let Some(patch) = patch else {
            return Ok(Out::Keep(self.without_empty_nulls(dest)));
        };
        if !associative {
            return Ok(if patch.is_null() {
                Out::Clear
            } else {
                Out::Keep(patch.clone())
            });
        }
        if patch.is_null() {
            return Ok(Out::Clear);
        }
        let mut items: Vec<Value> = patch.as_array().cloned().unwrap_or_default();
        // A `{$patch: ...}` element alone in its map is a directive for the whole list.
        let directive = items.iter().position(|e| {
            e.as_object()
                .is_some_and(|m| m.len() == 1 && m.contains_key("$patch"))
        });
        if let Some(i) = directive {
            let d = items.remove(i);
            match d.get("$patch").and_then(Value::as_str) {
                Some("delete") => return Ok(Out::Clear),
                Some("replace") => {
                    return Ok(Out::Keep(Value::Array(self.resolve_items(&items, schema)?)));
                }
                Some("merge") => {}
                other => return Err(format!("unknown patch strategy '{}'", other.unwrap_or(""))),
            }
        }
        let dest_items: Vec<Value> = dest.and_then(Value::as_array).cloned().unwrap_or_default();
        let node = node.expect("associative lists have a schema");
        let keys: Vec<String> = match &node.list_type {
            ListType::Map(k) if !k.is_empty() => k.clone(),
            _ => node.patch_merge_key.iter().map(|k| k.to_string()).collect(),
        };
        let item_schema = self.items(schema);
        let mut out = Vec::new();
        if keys.is_empty() {
            // A primitive list with a merge strategy: the patch's values first, then the rest.
            for v in items.iter().chain(dest_items.iter()) {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
            return Ok(Out::Keep(Value::Array(out)));
        }
        let mut used = vec![false; dest_items.len()];
        for pe in &items {
            let found = (0..dest_items.len())
                .find(|&i| !used[i] && same_element(&dest_items[i], pe, &keys));
            match found {
                Some(i) => {
                    used[i] = true;
                    if let Out::Keep(v) = self.walk(Some(&dest_items[i]), Some(pe), item_schema)? {
                        out.push(v);
                    }
                }
                None => {
                    if let Out::Keep(v) = self.walk(None, Some(pe), item_schema)?
                        && !v.is_null()
                    {
                        out.push(v);
                    }
                }
            }
        }
        for (i, d) in dest_items.into_iter().enumerate() {
            if !used[i] {
                out.push(d);
            }
        }
        Ok(Out::Keep(Value::Array(out)))
    }

    /// Resolves directives inside list items that replace a list.
    fn resolve_items(&self, items: &[Value], schema: Option<NodeId>) -> Result<Vec<Value>, String> {
        let mut out = Vec::new();
        for it in items {
            if let Out::Keep(v) = self.walk(None, Some(it), self.items(schema))? {
                out.push(v);
            }
        }
        Ok(out)
    }
}

/// Two list elements are the same entry when their merge keys agree; a key one of them lacks
/// does not count against it (so a port without `protocol` matches `protocol: TCP`).
fn same_element(a: &Value, b: &Value, keys: &[String]) -> bool {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return a == b;
    };
    let mut any = false;
    for k in keys {
        match (a.get(k), b.get(k)) {
            (Some(x), Some(y)) if x == y => any = true,
            (Some(_), Some(_)) => return false,
            _ => {}
        }
    }
    any
}

/// Merges `patch` into `dest`. `None` means the patch deleted the object. `empty_nulls` are
/// the pointers of `dest`'s nulls that were written as nothing.
pub fn merge(
    dest: &Value,
    patch: &Value,
    root: Option<NodeId>,
    schemas: Option<&Schemas>,
    empty_nulls: &[String],
) -> Result<Option<Value>, String> {
    let m = Merger {
        schemas,
        empty_nulls,
        path: std::cell::RefCell::new(String::new()),
    };
    match m.walk(Some(dest), Some(patch), root)? {
        Out::Clear => Ok(None),
        Out::Keep(v) if v.as_object().is_some_and(Map::is_empty) => Ok(None),
        Out::Keep(v) => Ok(Some(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Catalog;
    use serde_json::json;

    fn deployment_merge(dest: Value, patch: Value) -> Option<Value> {
        let mut catalog = Catalog::builtin();
        let root = catalog.schemas.definition("io.k8s.api.apps.v1.Deployment");
        merge(&dest, &patch, Some(root), Some(&catalog.schemas), &[]).unwrap()
    }

    #[test]
    fn maps_merge_nulls_delete_scalars_win() {
        let out = merge(
            &json!({"a": {"b": 1, "c": 2}, "d": "x"}),
            &json!({"a": {"b": null, "e": 3}, "d": "y"}),
            None,
            None,
            &[],
        );
        assert_eq!(
            out.unwrap().unwrap(),
            json!({"a": {"c": 2, "e": 3}, "d": "y"})
        );
    }

    #[test]
    fn lists_without_schema_are_replaced() {
        let out = merge(
            &json!({"l": [1, 2, 3]}),
            &json!({"l": [9]}),
            None,
            None,
            &[],
        );
        assert_eq!(out.unwrap().unwrap(), json!({"l": [9]}));
        let kept = merge(
            &json!({"n": null, "e": null}),
            &json!({"x": 1}),
            None,
            None,
            &["/e".to_string()],
        );
        assert_eq!(kept.unwrap().unwrap(), json!({"n": null, "x": 1}));
        let out = merge(
            &json!({"l": [1, 2, 3]}),
            &json!({"l": [9]}),
            None,
            None,
            &[],
        );
        assert_eq!(out.unwrap().unwrap(), json!({"l": [9]}));
    }

    #[test]
    fn containers_merge_by_name_and_move_to_the_front() {
        let dest = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}, {"name": "c", "image": "c:1"}]}}}});
        let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "b:2"}, {"name": "d", "image": "d:1"}]}}}});
        let out = deployment_merge(dest, patch).unwrap();
        let names: Vec<_> = out["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["image"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["b:2", "d:1", "a:1", "c:1"]);
    }

    #[test]
    fn patch_directives() {
        let dest = json!({"spec": {"template": {"spec": {"containers": [{"name": "a"}, {"name": "b"}], "volumes": [{"name": "v"}]}}}});
        let del = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "$patch": "delete"}]}}}});
        let out = deployment_merge(dest.clone(), del).unwrap();
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "b"}])
        );
        let rep = json!({"spec": {"template": {"spec": {"containers": [{"$patch": "replace"}, {"name": "z"}]}}}});
        let out = deployment_merge(dest.clone(), rep).unwrap();
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "z"}])
        );
        assert_eq!(
            deployment_merge(dest.clone(), json!({"$patch": "delete"})),
            None
        );
        let map_replace =
            json!({"spec": {"template": {"spec": {"$patch": "replace", "volumes": []}}}});
        let out = deployment_merge(dest, map_replace).unwrap();
        assert_eq!(out["spec"]["template"]["spec"], json!({"volumes": []}));
    }
}
