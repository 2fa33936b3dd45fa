//! The kustomization file (`Kustomization` and `Component`) as kustomize v5.5 reads it: every
//! field it accepts, unknown fields refused, field names matched without regard to case (as Go's
//! JSON decoder does), and the deprecated fields folded in the way kustomize folds them.

use super::fieldspec::FieldSpec;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub const KUSTOMIZATION_VERSION: &str = "kustomize.config.k8s.io/v1beta1";
pub const COMPONENT_VERSION: &str = "kustomize.config.k8s.io/v1alpha1";

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct GeneratorOptions {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub disable_name_suffix_hash: bool,
    pub immutable: bool,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct GeneratorArgs {
    pub name: String,
    pub namespace: String,
    pub behavior: String,
    pub literals: Vec<String>,
    pub files: Vec<String>,
    pub envs: Vec<String>,
    pub env: String,
    pub options: Option<GeneratorOptions>,
    /// Secrets only.
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Selector {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub label_selector: String,
    pub annotation_selector: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Patch {
    pub path: String,
    pub patch: String,
    pub target: Option<Selector>,
    pub options: BTreeMap<String, bool>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Image {
    pub name: String,
    pub new_name: String,
    pub new_tag: String,
    pub digest: String,
    pub tag_suffix: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Replica {
    pub name: String,
    pub count: i64,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Label {
    pub pairs: BTreeMap<String, String>,
    pub include_selectors: bool,
    pub include_templates: bool,
    pub fields: Vec<FieldSpec>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ObjRef {
    pub kind: String,
    pub name: String,
    pub namespace: String,
    #[serde(alias = "apiversion")]
    pub api_version: String,
    pub group: String,
    pub version: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FieldRef {
    #[serde(alias = "fieldPath", alias = "FieldPath")]
    pub fieldpath: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Var {
    pub name: String,
    #[serde(alias = "objRef", alias = "ObjRef")]
    pub objref: ObjRef,
    #[serde(alias = "fieldRef", alias = "FieldRef")]
    pub fieldref: FieldRef,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ReplacementOptions {
    pub delimiter: String,
    pub index: i64,
    pub encoding: String,
    pub create: bool,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ReplacementSource {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub field_path: String,
    pub options: Option<ReplacementOptions>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ReplacementTarget {
    pub select: Option<Selector>,
    pub reject: Vec<Selector>,
    pub field_paths: Vec<String>,
    pub options: Option<ReplacementOptions>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Replacement {
    pub source: Option<ReplacementSource>,
    pub targets: Option<Vec<ReplacementTarget>>,
}

/// A `replacements:` entry: a file, or a replacement written inline.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplacementField {
    pub path: String,
    pub source: Option<ReplacementSource>,
    pub targets: Option<Vec<ReplacementTarget>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct LegacySortOptions {
    pub order_first: Vec<String>,
    pub order_last: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct SortOptions {
    pub order: String,
    pub legacy_sort_options: Option<LegacySortOptions>,
}

/// Every field of a kustomization file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Kustomization {
    pub api_version: String,
    pub kind: String,
    pub metadata: Option<Value>,
    #[serde(rename = "openapi")]
    pub open_api: Option<Value>,
    pub name_prefix: String,
    pub name_suffix: String,
    pub namespace: String,
    pub common_labels: BTreeMap<String, String>,
    pub labels: Vec<Label>,
    pub common_annotations: BTreeMap<String, String>,
    pub patches_strategic_merge: Vec<String>,
    pub patches_json6902: Vec<Patch>,
    pub patches: Vec<Patch>,
    pub images: Vec<Image>,
    pub image_tags: Vec<Image>,
    pub replacements: Vec<ReplacementField>,
    pub replicas: Vec<Replica>,
    pub vars: Vec<Var>,
    pub sort_options: Option<SortOptions>,
    pub resources: Vec<String>,
    pub components: Vec<String>,
    pub crds: Vec<String>,
    pub bases: Vec<String>,
    pub config_map_generator: Vec<GeneratorArgs>,
    pub secret_generator: Vec<GeneratorArgs>,
    pub helm_globals: Option<Value>,
    pub helm_charts: Vec<Value>,
    pub helm_chart_inflation_generator: Vec<Value>,
    pub generator_options: Option<GeneratorOptions>,
    pub configurations: Vec<String>,
    pub generators: Vec<String>,
    pub transformers: Vec<String>,
    pub validators: Vec<String>,
    pub build_metadata: Vec<String>,
}

/// The JSON names of every field, for case-insensitive matching and suggestions.
pub const FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "openapi",
    "namePrefix",
    "nameSuffix",
    "namespace",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "patchesStrategicMerge",
    "patchesJson6902",
    "patches",
    "images",
    "imageTags",
    "replacements",
    "replicas",
    "vars",
    "sortOptions",
    "resources",
    "components",
    "crds",
    "bases",
    "configMapGenerator",
    "secretGenerator",
    "helmGlobals",
    "helmCharts",
    "helmChartInflationGenerator",
    "generatorOptions",
    "configurations",
    "generators",
    "transformers",
    "validators",
    "buildMetadata",
];

/// A problem with the file, at a top-level field (pointer `/field`), or the whole file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseProblem {
    pub pointer: String,
    pub at_key: bool,
    pub message: String,
    pub help: Option<String>,
}

/// Parses a kustomization document. The keys of the returned value are the canonical ones.
pub fn parse(value: &Value) -> Result<(Kustomization, Map<String, Value>), ParseProblem> {
    let Value::Object(m) = value else {
        return Err(ParseProblem {
            pointer: String::new(),
            at_key: false,
            message: "invalid Kustomization: the file is not a mapping".into(),
            help: None,
        });
    };
    let mut canonical = Map::new();
    for (k, v) in m {
        match FIELDS.iter().find(|f| f.eq_ignore_ascii_case(k)) {
            Some(f) => {
                // Go's decoder keeps the last of two keys that match the same field.
                canonical.insert((*f).to_string(), v.clone());
            }
            None => {
                return Err(ParseProblem {
                    pointer: format!("/{}", k.replace('~', "~0").replace('/', "~1")),
                    at_key: true,
                    message: format!("invalid Kustomization: json: unknown field \"{k}\""),
                    help: crate::util::suggest(k, FIELDS.iter().copied())
                        .map(|s| format!("did you mean `{s}`?")),
                });
            }
        }
    }
    // Go's decoder leaves a field at its zero value for `null`; serde would refuse it.
    strip_nulls(&mut canonical);
    match serde_json::from_value::<Kustomization>(Value::Object(canonical.clone())) {
        Ok(k) => Ok((k, canonical)),
        Err(whole) => {
            // Find the field at fault, to point at it.
            for (k, v) in &canonical {
                let one = Value::Object(Map::from_iter([(k.clone(), v.clone())]));
                if let Err(e) = serde_json::from_value::<Kustomization>(one) {
                    return Err(ParseProblem {
                        pointer: format!("/{k}"),
                        at_key: true,
                        message: format!("invalid Kustomization: {k}: {}", clean_serde(&e)),
                        help: None,
                    });
                }
            }
            Err(ParseProblem {
                pointer: String::new(),
                at_key: false,
                message: format!("invalid Kustomization: {}", clean_serde(&whole)),
                help: None,
            })
        }
    }
}

fn strip_nulls(m: &mut Map<String, Value>) {
    m.retain(|_, v| !v.is_null());
    for v in m.values_mut() {
        match v {
            Value::Object(o) => strip_nulls(o),
            Value::Array(a) => a
                .iter_mut()
                .filter_map(Value::as_object_mut)
                .for_each(strip_nulls),
            _ => {}
        }
    }
}

fn clean_serde(e: &serde_json::Error) -> String {
    let s = e.to_string();
    // serde_json appends a line/column of its own JSON text, which means nothing to a user.
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

impl Kustomization {
    /// kustomize's FixKustomization: defaults, and deprecated fields folded into current ones.
    pub fn fix(&mut self) {
        if self.kind.is_empty() {
            self.kind = "Kustomization".into();
        }
        if self.api_version.is_empty() {
            self.api_version = if self.kind == "Component" {
                COMPONENT_VERSION.into()
            } else {
                KUSTOMIZATION_VERSION.into()
            };
        }
        let bases = std::mem::take(&mut self.bases);
        self.resources.extend(bases);
        let tags = std::mem::take(&mut self.image_tags);
        self.images.extend(tags);
        for g in self
            .config_map_generator
            .iter_mut()
            .chain(self.secret_generator.iter_mut())
        {
            if !g.env.is_empty() {
                let e = std::mem::take(&mut g.env);
                g.envs.push(e);
            }
        }
        let charts = std::mem::take(&mut self.helm_chart_inflation_generator);
        self.helm_charts.extend(charts);
    }

    /// kustomize's EnforceFields: the apiVersion/kind pairs it accepts.
    pub fn enforce(&self) -> Vec<String> {
        let mut errs = Vec::new();
        if self.kind != "Kustomization" && self.kind != "Component" {
            errs.push("kind should be Kustomization or Component".to_string());
        }
        let required = if self.kind == "Component" {
            COMPONENT_VERSION
        } else {
            KUSTOMIZATION_VERSION
        };
        if self.api_version != required {
            errs.push(format!("apiVersion for {} should be {required}", self.kind));
        }
        errs
    }

    /// kustomize's CheckEmpty: nothing but type meta.
    pub fn is_empty(&self, raw: &Map<String, Value>) -> bool {
        raw.keys().all(|k| k == "apiVersion" || k == "kind")
    }
}
