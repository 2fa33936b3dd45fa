//! The transformer configuration: which fields each built-in transformer touches. The
//! defaults (`defaults.yaml`) are merged with a kustomization's `configurations:` files, and the
//! configurations of child kustomizations flow up into their parents, as in kustomize.

use super::fieldspec::{FieldSpec, Gvk};
use crate::util::Pointer;
use serde::Deserialize;

/// One `nameReference` entry: a kind that is referred to, and where referrers hold its name.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct NameBackReference {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub field_specs: Vec<FieldSpec>,
}

impl NameBackReference {
    pub fn gvk(&self) -> Gvk {
        Gvk {
            group: self.group.clone(),
            version: self.version.clone(),
            kind: self.kind.clone(),
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct TransformerConfig {
    pub name_prefix: Vec<FieldSpec>,
    pub name_suffix: Vec<FieldSpec>,
    #[serde(rename = "namespace")]
    pub name_space: Vec<FieldSpec>,
    pub common_labels: Vec<FieldSpec>,
    pub template_labels: Vec<FieldSpec>,
    pub labels: Vec<FieldSpec>,
    pub common_annotations: Vec<FieldSpec>,
    pub var_reference: Vec<FieldSpec>,
    pub name_reference: Vec<NameBackReference>,
    pub images: Vec<FieldSpec>,
    pub replicas: Vec<FieldSpec>,
}

const DEFAULTS: &str = include_str!("defaults.yaml");

/// kustomize's kind ranking used to sort field specs (`Gvk.IsLessThan`).
pub const ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];
pub const ORDER_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// The legacy rank of a kind: negative for the first kinds, 0 otherwise, positive for the last.
pub fn kind_rank(kind: &str, first: &[&str], last: &[&str]) -> i32 {
    if let Some(i) = first.iter().position(|k| *k == kind) {
        return i as i32 - first.len() as i32;
    }
    if let Some(i) = last.iter().position(|k| *k == kind) {
        return i as i32 + 1;
    }
    0
}

/// kustomize's legacy sort string of a gvk: `group_version_kind`, `~G`/`~V`/`~K` for empty parts.
pub fn gvk_sort_string(g: &Gvk) -> String {
    let or = |s: &str, d: &'static str| {
        if s.is_empty() {
            d.to_string()
        } else {
            s.to_string()
        }
    };
    format!(
        "{}_{}_{}",
        or(&g.group, "~G"),
        or(&g.version, "~V"),
        or(&g.kind, "~K")
    )
}

/// kustomize's `Gvk.IsLessThan` as a sort key: kind rank, then the gvk string.
fn sort_key(g: &Gvk) -> (i32, String) {
    (
        kind_rank(&g.kind, ORDER_FIRST, ORDER_LAST),
        gvk_sort_string(g),
    )
}

/// `FsSlice.MergeOne`: a spec selecting the same gvk and path is a duplicate; duplicates with a
/// different `create` conflict.
pub fn merge_one(into: &mut Vec<FieldSpec>, fs: FieldSpec) -> Result<(), String> {
    let selects = |sel: &str, v: &str| sel.is_empty() || sel == v;
    for existing in into.iter() {
        if existing.path == fs.path
            && selects(&fs.group, &existing.group)
            && selects(&fs.version, &existing.version)
            && selects(&fs.kind, &existing.kind)
        {
            if existing.create != fs.create {
                return Err(format!(
                    "conflicting fieldspecs: {} and {}",
                    fs.path, existing.path
                ));
            }
            return Ok(());
        }
    }
    into.push(fs);
    Ok(())
}

pub fn merge_all(into: &mut Vec<FieldSpec>, other: &[FieldSpec]) -> Result<(), String> {
    for fs in other {
        merge_one(into, fs.clone())?;
    }
    Ok(())
}

impl TransformerConfig {
    /// The built-in configuration (parsed once per process).
    pub fn defaults() -> TransformerConfig {
        static DEFAULT_CONFIG: std::sync::OnceLock<TransformerConfig> = std::sync::OnceLock::new();
        DEFAULT_CONFIG
            .get_or_init(TransformerConfig::parse_defaults)
            .clone()
    }

    fn parse_defaults() -> TransformerConfig {
        let parsed = crate::syntax::parse(DEFAULTS, &crate::syntax::Limits::default(), &|_| {
            crate::diag::Location::file("defaults.yaml")
        });
        let value = parsed
            .documents
            .into_iter()
            .next()
            .map(|d| d.value)
            .unwrap_or_default();
        let mut tc: TransformerConfig =
            serde_json::from_value(value).expect("the built-in configuration parses");
        tc.sort();
        tc
    }

    /// Parses a `configurations:` file's content.
    pub fn from_value(v: serde_json::Value) -> Result<TransformerConfig, String> {
        if v.is_null() {
            return Ok(TransformerConfig::default());
        }
        serde_json::from_value(v).map_err(|e| {
            let s = e.to_string();
            s.split(" at line ").next().unwrap_or(&s).to_string()
        })
    }

    /// The name-reference, label, annotation and prefix field specs kustomize derives from the
    /// OpenAPI definitions of a `crds:` file (`x-kubernetes-object-ref-*` and friends).
    pub fn from_openapi_definitions(defs: &serde_json::Value) -> TransformerConfig {
        use serde_json::Value;
        fn walk(
            tc: &mut TransformerConfig,
            kind: &str,
            defs: &serde_json::Map<String, Value>,
            type_name: &str,
            path: &mut Vec<String>,
            depth: usize,
        ) {
            let Some(props) = defs
                .get(type_name)
                .and_then(|d| d.at("/Schema/properties"))
                .and_then(Value::as_object)
            else {
                return;
            };
            if depth > 32 {
                return;
            }
            for (name, prop) in props {
                path.push(name.clone());
                let fs = FieldSpec {
                    kind: kind.to_string(),
                    path: path.join("/"),
                    ..FieldSpec::default()
                };
                if prop.get("x-kubernetes-annotation").is_some() {
                    let _ = merge_one(&mut tc.common_annotations, fs.clone());
                }
                if prop.get("x-kubernetes-label-selector").is_some() {
                    let _ = merge_one(&mut tc.common_labels, fs.clone());
                }
                if prop.get("x-kubernetes-identity").is_some() {
                    let _ = merge_one(&mut tc.name_prefix, fs.clone());
                }
                if let (Some(v), Some(k)) = (
                    prop.get("x-kubernetes-object-ref-api-version")
                        .and_then(Value::as_str),
                    prop.get("x-kubernetes-object-ref-kind")
                        .and_then(Value::as_str),
                ) {
                    let key = prop
                        .get("x-kubernetes-object-ref-name-key")
                        .and_then(Value::as_str)
                        .unwrap_or("name");
                    let referrer = FieldSpec {
                        path: format!("{}/{key}", path.join("/")),
                        ..fs.clone()
                    };
                    let back = NameBackReference {
                        version: v.to_string(),
                        kind: k.to_string(),
                        field_specs: vec![referrer],
                        ..NameBackReference::default()
                    };
                    let _ = tc.merge(&TransformerConfig {
                        name_reference: vec![back],
                        ..TransformerConfig::default()
                    });
                }
                if let Some(r) = prop.get("$ref").and_then(Value::as_str) {
                    walk(tc, kind, defs, r, path, depth + 1);
                }
                path.pop();
            }
        }
        let mut tc = TransformerConfig::default();
        let Some(defs) = defs.as_object() else {
            return tc;
        };
        for (name, def) in defs {
            let props = def.at("/Schema/properties").and_then(Value::as_object);
            if !props.is_some_and(|p| {
                p.contains_key("kind") && p.contains_key("apiVersion") && p.contains_key("metadata")
            }) {
                continue;
            }
            let kind = name.rsplit('.').next().unwrap_or(name).to_string();
            walk(&mut tc, &kind, defs, name, &mut Vec::new(), 0);
        }
        tc
    }

    /// Merges another configuration into this one.
    pub fn merge(&mut self, o: &TransformerConfig) -> Result<(), String> {
        if self == o {
            // Merging a configuration into itself changes nothing (the usual case: defaults).
            return Ok(());
        }
        if *self == TransformerConfig::default() {
            *self = o.clone();
            return Ok(());
        }
        merge_all(&mut self.name_prefix, &o.name_prefix)?;
        merge_all(&mut self.name_suffix, &o.name_suffix)?;
        merge_all(&mut self.name_space, &o.name_space)?;
        merge_all(&mut self.common_labels, &o.common_labels)?;
        merge_all(&mut self.template_labels, &o.template_labels)?;
        merge_all(&mut self.labels, &o.labels)?;
        merge_all(&mut self.common_annotations, &o.common_annotations)?;
        merge_all(&mut self.var_reference, &o.var_reference)?;
        merge_all(&mut self.images, &o.images)?;
        merge_all(&mut self.replicas, &o.replicas)?;
        for nbr in &o.name_reference {
            match self
                .name_reference
                .iter_mut()
                .find(|x| x.gvk() == nbr.gvk())
            {
                Some(existing) => merge_all(&mut existing.field_specs, &nbr.field_specs)?,
                None => self.name_reference.push(nbr.clone()),
            }
        }
        self.sort();
        Ok(())
    }

    fn sort(&mut self) {
        for fs in [
            &mut self.name_prefix,
            &mut self.name_suffix,
            &mut self.name_space,
            &mut self.common_labels,
            &mut self.template_labels,
            &mut self.labels,
            &mut self.common_annotations,
            &mut self.var_reference,
            &mut self.images,
            &mut self.replicas,
        ] {
            fs.sort_by_cached_key(|a| sort_key(&a.gvk()));
        }
        self.name_reference
            .sort_by_cached_key(|a| sort_key(&a.gvk()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load() {
        let tc = TransformerConfig::defaults();
        assert!(tc.name_reference.iter().any(|n| n.kind == "ConfigMap"));
        assert!(
            tc.common_labels
                .iter()
                .any(|f| f.path == "spec/selector/matchLabels" && f.kind == "Deployment")
        );
        assert_eq!(tc.name_prefix.len(), 1);
    }
}
