//! Generation of `schemas/` from the Kubernetes OpenAPI v3 documents (`cargo xtask schemas`).
//!
//! Input: the `v3/*.json` documents an API server serves. Output: an index of every resource
//! (group, version, kind, plural, scope, subresources, definition) and one file per Go package
//! of definitions, stripped to what validation and merging read (types, formats, properties,
//! required, list and map types, patch strategies, defaults), with `allOf: [$ref]` wrappers
//! collapsed and the apimachinery special types rewritten to what the API server accepts
//! (IntOrString, Quantity, RawExtension, JSON). A Rust file lists the files for embedding.
//!
//! This module only transforms data; it never validates an object.

use crate::util::Pointer;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The generated files: path relative to the project root -> content.
pub struct Generated {
    pub files: BTreeMap<String, String>,
}

const KEEP: &[&str] = &[
    "type",
    "format",
    "properties",
    "additionalProperties",
    "items",
    "required",
    "enum",
    "default",
    "nullable",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-patch-strategy",
    "x-kubernetes-patch-merge-key",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-int-or-string",
    "x-kiln-empty-is-unset",
];

const REF_PREFIX: &str = "#/components/schemas/";

/// Definitions whose wire form is not what their OpenAPI text says.
fn special(name: &str) -> Option<Value> {
    Some(match name {
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString" => {
            json!({"x-kubernetes-int-or-string": true})
        }
        "io.k8s.apimachinery.pkg.api.resource.Quantity" => json!({"format": "quantity"}),
        "io.k8s.apimachinery.pkg.runtime.RawExtension"
        | "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1" => {
            json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
        }
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON"
        | "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray"
        | "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool"
        | "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray" =>
        {
            json!({"x-kubernetes-preserve-unknown-fields": true})
        }
        _ => return None,
    })
}

fn strip(v: &Value) -> Value {
    let Value::Object(m) = v else {
        return v.clone();
    };
    // `allOf: [{$ref}]` is how OpenAPI v3 puts a description or default next to a reference.
    if let Some(Value::Array(all)) = m.get("allOf")
        && all.len() == 1
        && let Some(Value::String(r)) = all[0].get("$ref")
    {
        let mut out = Map::new();
        out.insert(
            "$ref".into(),
            Value::String(r.trim_start_matches(REF_PREFIX).to_string()),
        );
        if let Some(d) = m.get("default") {
            out.insert("default".into(), d.clone());
        }
        return Value::Object(out);
    }
    if let Some(Value::String(r)) = m.get("$ref") {
        return json!({"$ref": r.trim_start_matches(REF_PREFIX)});
    }
    let mut out = Map::new();
    for (k, val) in m {
        if !KEEP.contains(&k.as_str()) {
            continue;
        }
        let val = match k.as_str() {
            "properties" => Value::Object(
                val.as_object()
                    .map(|p| p.iter().map(|(pk, pv)| (pk.clone(), strip(pv))).collect())
                    .unwrap_or_default(),
            ),
            "items" | "additionalProperties" if val.is_object() => strip(val),
            _ => val.clone(),
        };
        out.insert(k.clone(), val);
    }
    Value::Object(out)
}

fn package_of(def: &str) -> (&str, &str) {
    match def.rfind('.') {
        Some(i) => (&def[..i], &def[i + 1..]),
        None => ("", def),
    }
}

#[derive(Default)]
struct Resource {
    plural: String,
    namespaced: bool,
    subresources: BTreeSet<String>,
}

/// Reads `<openapi_dir>/v3/*.json` and produces the files of `schemas/` plus the embedding list.
pub fn generate(openapi_dir: &Path, version_label: &str) -> Result<Generated, String> {
    let v3 = openapi_dir.join("v3");
    let mut names: Vec<_> = std::fs::read_dir(&v3)
        .map_err(|e| format!("{}: {e}", v3.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    let mut schemas: BTreeMap<String, Value> = BTreeMap::new();
    let mut resources: BTreeMap<(String, String, String), Resource> = BTreeMap::new();
    for path in &names {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let doc: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some(Value::Object(s)) = doc.at("/components/schemas") {
            for (k, v) in s {
                schemas.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        let Some(Value::Object(paths)) = doc.get("paths") else {
            continue;
        };
        for (p, item) in paths {
            collect_resource(p, item, &mut resources);
        }
    }

    // Which definition is each resource's kind.
    let mut gvk_def: BTreeMap<(String, String, String), String> = BTreeMap::new();
    for (name, s) in &schemas {
        let Some(Value::Array(gvks)) = s.get("x-kubernetes-group-version-kind") else {
            continue;
        };
        for g in gvks {
            let key = (
                g["group"].as_str().unwrap_or("").to_string(),
                g["version"].as_str().unwrap_or("").to_string(),
                g["kind"].as_str().unwrap_or("").to_string(),
            );
            let better = match gvk_def.get(&key) {
                None => true,
                Some(prev) => {
                    let prev_n = schemas[prev]["x-kubernetes-group-version-kind"]
                        .as_array()
                        .map_or(0, Vec::len);
                    gvks.len() < prev_n
                }
            };
            if better {
                gvk_def.insert(key, name.clone());
            }
        }
    }

    let mut index = Vec::new();
    for ((group, version, kind), r) in &resources {
        let Some(def) = gvk_def.get(&(group.clone(), version.clone(), kind.clone())) else {
            continue;
        };
        index.push(json!({
            "group": group, "version": version, "kind": kind, "plural": r.plural,
            "namespaced": r.namespaced, "definition": def,
            "subresources": r.subresources.iter().collect::<Vec<_>>(),
        }));
    }

    let mut packages: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut unused: BTreeSet<(&str, &str)> = super::enums::ENUMS
        .iter()
        .map(|e| (e.definition, e.property))
        .collect();
    for (name, s) in &schemas {
        let (pkg, short) = package_of(name);
        let mut v = special(name).unwrap_or_else(|| strip(s));
        for e in super::enums::ENUMS.iter().filter(|e| e.definition == name) {
            if super::enums::apply(e, &mut v) {
                unused.remove(&(e.definition, e.property));
            }
        }
        packages
            .entry(pkg.to_string())
            .or_default()
            .insert(short.to_string(), v);
    }

    if !unused.is_empty() {
        return Err(format!(
            "enumerations for properties the OpenAPI documents do not have: {unused:?}"
        ));
    }
    let dir = format!("schemas/kubernetes-{version_label}");
    let mut files = BTreeMap::new();
    let index_doc = json!({ "kubernetes": version_label, "resources": index });
    files.insert(format!("{dir}/index.json"), pretty(&index_doc));
    let mut rust = format!(
        "// @generated by `cargo xtask schemas` from the Kubernetes OpenAPI v3 documents; do not edit.\n\
         #![cfg_attr(rustfmt, rustfmt::skip)]\n\n\
         /// The Kubernetes version the built-in schemas describe.\n\
         pub const KUBERNETES_VERSION: &str = \"{version_label}\";\n\n\
         /// Every resource the API server serves.\n\
         pub const INDEX: &str = include_str!(\"../../{dir}/index.json\");\n\n\
         /// Definitions by Go package.\n\
         pub const PACKAGES: &[(&str, &str)] = &[\n"
    );
    for (pkg, defs) in &packages {
        files.insert(
            format!("{dir}/{pkg}.json"),
            pretty(&Value::Object(defs.clone())),
        );
        rust.push_str(&format!(
            "    (\"{pkg}\", include_str!(\"../../{dir}/{pkg}.json\")),\n"
        ));
    }
    rust.push_str("];\n");
    // What each definition and its properties mean, as `kubectl explain` shows it (read only
    // by the API server `kiln sim serve` runs).
    let mut descriptions = Map::new();
    for (name, s) in &schemas {
        let mut d = Map::new();
        if let Some(text) = s.get("description").and_then(Value::as_str) {
            d.insert(String::new(), json!(text));
        }
        if let Some(Value::Object(props)) = s.get("properties") {
            for (p, ps) in props {
                if let Some(text) = ps.get("description").and_then(Value::as_str) {
                    d.insert(p.clone(), json!(text));
                }
            }
        }
        if !d.is_empty() {
            descriptions.insert(name.clone(), Value::Object(d));
        }
    }
    files.insert(
        format!("{dir}/descriptions.json"),
        serde_json::to_string(&Value::Object(descriptions)).unwrap_or_default() + "\n",
    );
    rust.push_str(&format!(
        "\n/// Descriptions of definitions (key \"\") and their properties, by definition.\n\
         pub const DESCRIPTIONS: &str = include_str!(\"../../{dir}/descriptions.json\");\n"
    ));
    files.insert("src/schema/builtin.rs".to_string(), rust);
    Ok(Generated { files })
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

fn collect_resource(
    path: &str,
    item: &Value,
    out: &mut BTreeMap<(String, String, String), Resource>,
) {
    if path.contains("/watch/") {
        return;
    }
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return,
    };
    let (namespaced, rest) = match rest {
        ["namespaces", "{namespace}", r @ ..] if !r.is_empty() => (true, r),
        r => (false, r),
    };
    let Some((plural, tail)) = rest.split_first() else {
        return;
    };
    if plural.starts_with('{') {
        return;
    }
    for method in ["get", "post", "put", "patch", "delete"] {
        let Some(op) = item.get(method) else { continue };
        let Some(gvk) = op.get("x-kubernetes-group-version-kind") else {
            continue;
        };
        let kind = gvk["kind"].as_str().unwrap_or("");
        let gvk_group = gvk["group"].as_str().unwrap_or("");
        let gvk_version = gvk["version"].as_str().unwrap_or("");
        match tail {
            [] | ["{name}"] => {
                if gvk_group != group || gvk_version != version {
                    continue;
                }
                let r = out
                    .entry((group.to_string(), version.to_string(), kind.to_string()))
                    .or_default();
                r.plural = plural.to_string();
                r.namespaced |= namespaced;
            }
            ["{name}", sub] => {
                // The subresource belongs to the resource at `plural`; find it by plural.
                if let Some(r) = out
                    .iter_mut()
                    .find(|((g, v, _), r)| g == group && v == version && r.plural == *plural)
                    .map(|(_, r)| r)
                {
                    r.subresources.insert(sub.to_string());
                } else {
                    // Seen before its resource: remember under a placeholder that the resource
                    // entry will pick up (paths are sorted, so the resource usually comes first).
                    let key = (group.to_string(), version.to_string(), format!("~{plural}"));
                    let r = out.entry(key).or_default();
                    r.plural = plural.to_string();
                    r.subresources.insert(sub.to_string());
                }
            }
            _ => {}
        }
    }
    // Fold placeholders into their resources.
    let placeholders: Vec<_> = out
        .keys()
        .filter(|(_, _, k)| k.starts_with('~'))
        .cloned()
        .collect();
    for key in placeholders {
        let (g, v, _) = &key;
        let target = out
            .iter()
            .find(|((tg, tv, tk), r)| {
                tg == g && tv == v && !tk.starts_with('~') && r.plural == key.2[1..]
            })
            .map(|(k, _)| k.clone());
        if let Some(t) = target {
            let subs = out.remove(&key).map(|r| r.subresources).unwrap_or_default();
            if let Some(r) = out.get_mut(&t) {
                r.subresources.extend(subs);
            }
        }
    }
}
