//! `/openapi/v3`: the index of group-versions and, for each, a document of its paths whose
//! operations carry their kind (`x-kubernetes-group-version-kind`) and query parameters, as
//! kubectl reads them to learn that the server validates fields itself (`fieldValidation`).
//!
//! Schemas are not served yet (`components.schemas` is empty): `kubectl explain` has nothing
//! to show, and clients fall back to what they know of the built-in types.

use crate::cluster::sim::api::ServedResource;
use serde_json::{Map, Value, json};
use sha2::Digest;

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
        "components": {"schemas": {}},
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
