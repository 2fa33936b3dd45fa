//! `/openapi/v3`: the index of group-versions and, for each, a document of its paths whose
//! operations carry their kind (`x-kubernetes-group-version-kind`) and query parameters, as
//! kubectl reads them to learn that the server validates fields itself (`fieldValidation`).
//!
//! `components.schemas` holds each kind's schema and every definition it refers to, from
//! kiln's built-in schemas (`schemas/`) and the CRDs' `openAPIV3Schema`, so that `kubectl
//! explain` finds fields, types and what they mean (the descriptions `cargo xtask schemas`
//! keeps in `schemas/kubernetes-v1.36/descriptions.json`).

use crate::cluster::sim::api::ServedResource;
use serde_json::{Map, Value, json};
use sha2::Digest;
use std::collections::HashMap;
use std::sync::OnceLock;

/// kiln's built-in definitions by full name (`io.k8s.api.apps.v1.Deployment`).
fn definitions() -> &'static HashMap<String, Value> {
    static D: OnceLock<HashMap<String, Value>> = OnceLock::new();
    D.get_or_init(|| {
        let mut out = HashMap::new();
        for (package, text) in crate::schema::builtin::PACKAGES {
            if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(text) {
                for (name, def) in m {
                    out.insert(format!("{package}.{name}"), def);
                }
            }
        }
        out
    })
}

/// Descriptions by definition name: `""` for the definition, else a property's name.
fn descriptions() -> &'static HashMap<String, HashMap<String, String>> {
    static D: OnceLock<HashMap<String, HashMap<String, String>>> = OnceLock::new();
    D.get_or_init(|| serde_json::from_str(crate::schema::builtin::DESCRIPTIONS).unwrap_or_default())
}

/// A built-in definition with its descriptions (a described `$ref` is wrapped in `allOf`, as
/// the API server's documents write it).
fn described(name: &str, mut schema: Value) -> Value {
    let Some(d) = descriptions().get(name) else {
        return schema;
    };
    if let Some(text) = d.get("") {
        schema["description"] = json!(text);
    }
    if let Some(Value::Object(props)) = schema.get_mut("properties") {
        for (p, ps) in props.iter_mut() {
            let Some(text) = d.get(p) else { continue };
            if let Some(r) = ps.as_object_mut().and_then(|m| m.remove("$ref")) {
                ps["allOf"] = json!([{"$ref": r}]);
            }
            ps["description"] = json!(text);
        }
    }
    schema
}

/// A schema with its `$ref`s pointing into `components.schemas`; the names it refers to.
fn relink(v: &Value, refs: &mut Vec<String>) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| {
                    if k == "$ref"
                        && let Some(name) = x.as_str()
                    {
                        refs.push(name.to_string());
                        return (k.clone(), json!(format!("#/components/schemas/{name}")));
                    }
                    (k.clone(), relink(x, refs))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| relink(x, refs)).collect()),
        other => other.clone(),
    }
}

/// The schemas of a group-version's kinds and what they refer to.
fn components(resources: &[&ServedResource]) -> Map<String, Value> {
    let index: Value = serde_json::from_str(crate::schema::builtin::INDEX).unwrap_or(Value::Null);
    let definition_of = |r: &ServedResource| -> Option<String> {
        index
            .get("resources")?
            .as_array()?
            .iter()
            .find(|e| {
                e.get("group").and_then(Value::as_str) == Some(&r.group)
                    && e.get("version").and_then(Value::as_str) == Some(&r.version)
                    && e.get("kind").and_then(Value::as_str) == Some(&r.kind)
            })?
            .get("definition")?
            .as_str()
            .map(str::to_string)
    };
    let mut out = Map::new();
    let mut pending: Vec<String> = Vec::new();
    for r in resources {
        let gvk = json!([{"group": r.group, "version": r.version, "kind": r.kind}]);
        if let Some(schema) = &r.schema {
            let mut schema = relink(schema, &mut pending);
            schema["x-kubernetes-group-version-kind"] = gvk;
            let name = format!(
                "{}.{}.{}",
                r.group.split('.').rev().collect::<Vec<_>>().join("."),
                r.version,
                r.kind
            );
            out.insert(name, schema);
        } else if let Some(name) = definition_of(r)
            && let Some(def) = definitions().get(&name)
        {
            let mut schema = described(&name, relink(def, &mut pending));
            schema["x-kubernetes-group-version-kind"] = gvk;
            out.insert(name, schema);
        }
    }
    while let Some(name) = pending.pop() {
        if out.contains_key(&name) {
            continue;
        }
        if let Some(def) = definitions().get(&name) {
            let schema = described(&name, relink(def, &mut pending));
            out.insert(name, schema);
        }
    }
    out
}

fn prefix(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn param(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

fn operation(r: &ServedResource, action: &str, params: &[&str]) -> Value {
    json!({
        "operationId": format!("{action}{}", r.kind),
        "parameters": params.iter().map(|p| param(p)).collect::<Vec<_>>(),
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": r.group, "version": r.version, "kind": r.kind},
    })
}

/// The document of one group-version, if served.
pub fn document(resources: &[ServedResource], group: &str, version: &str) -> Option<Value> {
    let mine: Vec<&ServedResource> = resources
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .collect();
    if mine.is_empty() {
        return None;
    }
    let schemas = components(&mine);
    let base = prefix(group, version);
    let mut paths = Map::new();
    for r in mine {
        let collection = if r.namespaced {
            format!("/{base}/namespaces/{{namespace}}/{}", r.plural)
        } else {
            format!("/{base}/{}", r.plural)
        };
        let write = ["dryRun", "fieldManager", "fieldValidation"];
        paths.insert(
            collection.clone(),
            json!({
                "get": operation(r, "list", &["labelSelector", "fieldSelector", "limit", "continue", "watch", "resourceVersion", "timeoutSeconds"]),
                "post": operation(r, "post", &write),
                "delete": operation(r, "deletecollection", &["labelSelector", "fieldSelector", "dryRun", "propagationPolicy"]),
            }),
        );
        let item = format!("{collection}/{{name}}");
        paths.insert(
            item.clone(),
            json!({
                "get": operation(r, "get", &[]),
                "put": operation(r, "put", &write),
                "patch": operation(r, "patch", &["dryRun", "fieldManager", "fieldValidation", "force"]),
                "delete": operation(r, "delete", &["dryRun", "gracePeriodSeconds", "propagationPolicy"]),
            }),
        );
        for sub in &r.subresources {
            paths.insert(
                format!("{item}/{sub}"),
                json!({
                    "get": operation(r, "get", &[]),
                    "put": operation(r, "put", &write),
                    "patch": operation(r, "patch", &["dryRun", "fieldManager", "fieldValidation", "force"]),
                }),
            );
        }
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": crate::schema::catalog::kubernetes_version()},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

/// The index: every group-version with the address of its document (the hash changes when
/// the document does, as clients cache by it).
pub fn index(resources: &[ServedResource]) -> Value {
    let mut gvs: Vec<(String, String)> = resources
        .iter()
        .map(|r| (r.group.clone(), r.version.clone()))
        .collect();
    gvs.sort();
    gvs.dedup();
    let mut paths = Map::new();
    for (g, v) in gvs {
        let doc = document(resources, &g, &v).unwrap_or(Value::Null);
        let hash = sha2::Sha256::digest(doc.to_string().as_bytes());
        let hex: String = hash.iter().take(32).map(|b| format!("{b:02X}")).collect();
        let p = prefix(&g, &v);
        paths.insert(
            p.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={hex}")}),
        );
    }
    json!({"paths": paths})
}
