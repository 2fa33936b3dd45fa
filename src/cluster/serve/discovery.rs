//! Discovery as the API server answers it: `/version`, `/api`, `/apis` (the legacy group list,
//! or aggregated discovery `apidiscovery.k8s.io/v2` when the client asks for it), `/apis/GROUP`
//! and each group-version's resource list, from what the simulator serves now (built-in kinds,
//! and custom kinds once their CRD is Established).

use crate::cluster::sim::api::{ServedResource, by_preference};
use crate::schema::catalog::kubernetes_version;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// `/version`.
pub fn version() -> Value {
    let v = kubernetes_version().trim_start_matches('v');
    let (major, minor) = v.split_once('.').unwrap_or((v, "0"));
    json!({
        "major": major,
        "minor": minor,
        "emulationMajor": major,
        "emulationMinor": minor,
        "minCompatibilityMajor": major,
        "minCompatibilityMinor": minor,
        "gitVersion": format!("v{major}.{minor}.0+kiln"),
        "gitCommit": env!("KILN_COMMIT"),
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.25.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// `/api`.
pub fn core_versions(address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
    })
}

/// Groups (not the core group) and their versions, preferred first, in the order groups are
/// first served.
fn groups(resources: &[ServedResource]) -> Vec<(String, Vec<String>)> {
    let mut order: Vec<String> = Vec::new();
    let mut versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in resources.iter().filter(|r| !r.group.is_empty()) {
        if !versions.contains_key(&r.group) {
            order.push(r.group.clone());
        }
        versions
            .entry(r.group.clone())
            .or_default()
            .push(r.version.clone());
    }
    order
        .into_iter()
        .map(|g| {
            let v = by_preference(versions.remove(&g).unwrap_or_default());
            (g, v)
        })
        .collect()
}

fn group_json(name: &str, versions: &[String]) -> Value {
    let gv = |v: &String| json!({"groupVersion": format!("{name}/{v}"), "version": v});
    json!({
        "name": name,
        "versions": versions.iter().map(gv).collect::<Vec<_>>(),
        "preferredVersion": versions.first().map(gv).unwrap_or(Value::Null),
    })
}

/// `/apis` (legacy).
pub fn group_list(resources: &[ServedResource]) -> Value {
    json!({
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": groups(resources)
            .iter()
            .map(|(g, v)| group_json(g, v))
            .collect::<Vec<_>>(),
    })
}

/// `/apis/GROUP`, if the group is served.
pub fn group(resources: &[ServedResource], name: &str) -> Option<Value> {
    groups(resources)
        .into_iter()
        .find(|(g, _)| g == name)
        .map(|(g, v)| {
            let mut j = group_json(&g, &v);
            j["kind"] = json!("APIGroup");
            j["apiVersion"] = json!("v1");
            j
        })
}

fn verbs(r: &ServedResource) -> Vec<&'static str> {
    match (r.group.as_str(), r.kind.as_str()) {
        ("", "Binding") => vec!["create"],
        ("", "Namespace") => vec![
            "create", "delete", "get", "list", "patch", "update", "watch",
        ],
        ("authentication.k8s.io" | "authorization.k8s.io", _) => vec!["create"],
        _ => vec![
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ],
    }
}

/// The entries of one resource (and its subresources) in a resource list.
fn resource_entries(r: &ServedResource) -> Vec<Value> {
    let mut main = json!({
        "name": r.plural,
        "singularName": r.singular,
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": verbs(r),
    });
    if !r.short_names.is_empty() {
        main["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        main["categories"] = json!(r.categories);
    }
    let mut out = vec![main];
    for sub in &r.subresources {
        let mut e = json!({
            "name": format!("{}/{sub}", r.plural),
            "singularName": "",
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": ["get", "patch", "update"],
        });
        if sub == "scale" {
            e["group"] = json!("autoscaling");
            e["version"] = json!("v1");
            e["kind"] = json!("Scale");
        }
        out.push(e);
    }
    out
}

/// `/api/v1`, `/apis/GROUP/VERSION`, if served.
pub fn resource_list(resources: &[ServedResource], group: &str, version: &str) -> Option<Value> {
    let mine: Vec<&ServedResource> = resources
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .collect();
    if mine.is_empty() {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": mine.iter().flat_map(|r| resource_entries(r)).collect::<Vec<_>>(),
    }))
}

/// Aggregated discovery (`apidiscovery.k8s.io/v2`, `APIGroupDiscoveryList`): the core group
/// for `/api`, every other group for `/apis`.
pub fn aggregated(resources: &[ServedResource], core: bool, api_version: &str) -> Value {
    let listed: Vec<(String, Vec<String>)> = if core {
        vec![(String::new(), vec!["v1".to_string()])]
    } else {
        groups(resources)
    };
    let items: Vec<Value> = listed
        .iter()
        .map(|(g, versions)| {
            let versions: Vec<Value> = versions
                .iter()
                .map(|v| {
                    let rs: Vec<Value> = resources
                        .iter()
                        .filter(|r| &r.group == g && &r.version == v)
                        .map(|r| {
                            let mut e = json!({
                                "resource": r.plural,
                                "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
                                "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
                                "singularResource": r.singular,
                                "verbs": verbs(r),
                            });
                            if !r.short_names.is_empty() {
                                e["shortNames"] = json!(r.short_names);
                            }
                            if !r.categories.is_empty() {
                                e["categories"] = json!(r.categories);
                            }
                            let subs: Vec<Value> = r
                                .subresources
                                .iter()
                                .map(|s| {
                                    let kind = if s == "scale" {
                                        json!({"group": "autoscaling", "version": "v1", "kind": "Scale"})
                                    } else {
                                        json!({"group": r.group, "version": r.version, "kind": r.kind})
                                    };
                                    json!({"subresource": s, "responseKind": kind, "verbs": ["get", "patch", "update"]})
                                })
                                .collect();
                            if !subs.is_empty() {
                                e["subresources"] = json!(subs);
                            }
                            e
                        })
                        .collect();
                    json!({"version": v, "resources": rs, "freshness": "Current"})
                })
                .collect();
            json!({"metadata": {"name": g, "creationTimestamp": null}, "versions": versions})
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{api_version}"),
        "metadata": {},
        "items": items,
    })
}
