//! The release manifest as Helm assembles it: each rendered file split into documents
//! (chart API v2's separator rule), each document's head read (apiVersion, kind, name,
//! annotations; a document that is not YAML fails the release as Helm's does), hooks
//! (`helm.sh/hook`) set apart, and the rest ordered by Helm's install order of kinds.

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// One document of the release.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// The template it came from (`chart/templates/x.yaml`).
    pub path: String,
    pub content: String,
    pub kind: String,
    pub name: String,
    /// Hook events (`pre-install`, `test`...), empty for ordinary documents.
    pub hook_events: Vec<String>,
    pub hook_weight: i64,
}

impl Manifest {
    pub fn is_test(&self) -> bool {
        self.hook_events.iter().any(|e| e == "test")
    }
}

const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

const HOOK_EVENTS: &[&str] = &[
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
    "test-success",
];

fn separator() -> &'static regex::Regex {
    static R: OnceLock<regex::Regex> = OnceLock::new();
    R.get_or_init(|| regex::Regex::new(r"(?:^|\s*\n)---\s*").unwrap())
}

/// Helm's SplitManifests for chart API v1/v2: documents in file order.
pub fn split_manifests(text: &str) -> Vec<String> {
    let t = text.trim_start();
    separator()
        .split(t)
        .filter(|d| !d.is_empty())
        .map(|d| d.trim_start().to_string())
        .collect()
}

fn order(kind: &str) -> Option<usize> {
    INSTALL_ORDER.iter().position(|k| *k == kind)
}

fn less_by_kind(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (order(a), order(b)) {
        (None, None) => a.cmp(b),
        (None, Some(_)) => Greater,
        (Some(_), None) => Less,
        (Some(x), Some(y)) => x.cmp(&y),
    }
}

/// Helm's SortManifests: (hooks, ordinary documents), each ordered by kind, stably.
pub fn sort_manifests(
    files: &BTreeMap<String, String>,
) -> Result<(Vec<Manifest>, Vec<Manifest>), String> {
    let mut hooks = Vec::new();
    let mut generic = Vec::new();
    for (path, content) in files {
        let base = path.rsplit('/').next().unwrap_or(path);
        if base.starts_with('_') || content.trim().is_empty() {
            continue;
        }
        for doc in split_manifests(content) {
            let head = gotmpl::yaml::from_yaml(&doc)
                .map_err(|e| format!("YAML parse error on {path}: {e}"))?;
            let s = |v: Option<gotmpl::Value>| match v.as_ref() {
                Some(gotmpl::Value::String(s)) => s.to_string(),
                _ => String::new(),
            };
            let (kind, name, annotations) = match &head {
                gotmpl::Value::Map(_) => {
                    let meta = head.get("metadata");
                    (
                        s(head.get("kind")),
                        s(meta.as_ref().and_then(|m| m.get("name"))),
                        meta.and_then(|m| m.get("annotations")),
                    )
                }
                gotmpl::Value::Nil => (String::new(), String::new(), None),
                other => {
                    return Err(format!(
                        "YAML parse error on {path}: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type util.SimpleHead",
                        if matches!(other, gotmpl::Value::List(_)) {
                            "array"
                        } else {
                            "string"
                        }
                    ));
                }
            };
            let hook = annotations
                .as_ref()
                .and_then(|a| a.get("helm.sh/hook"))
                .map(|h| gotmpl::funcs::strval(&h));
            let mut m = Manifest {
                path: path.clone(),
                content: doc.clone(),
                kind,
                name,
                hook_events: Vec::new(),
                hook_weight: 0,
            };
            match hook {
                None => generic.push(m),
                Some(h) => {
                    let events: Vec<String> =
                        h.split(',').map(|e| e.trim().to_lowercase()).collect();
                    if events.iter().any(|e| !HOOK_EVENTS.contains(&e.as_str())) {
                        continue;
                    }
                    m.hook_events = events;
                    m.hook_weight = annotations
                        .and_then(|a| a.get("helm.sh/hook-weight"))
                        .and_then(|w| gotmpl::funcs::strval(&w).parse().ok())
                        .unwrap_or(0);
                    hooks.push(m);
                }
            }
        }
    }
    hooks.sort_by(|a, b| less_by_kind(&a.kind, &b.kind));
    generic.sort_by(|a, b| less_by_kind(&a.kind, &b.kind));
    Ok((hooks, generic))
}

/// `helm template --show-only`: only the documents of the named templates.
pub fn show_only(output: &str, paths: &[String]) -> String {
    let mut out = String::new();
    for part in output.split("---\n# Source: ").filter(|p| !p.is_empty()) {
        let path = part.lines().next().unwrap_or("");
        if paths
            .iter()
            .any(|p| p == path || super::chart::glob_match(p, path, false))
        {
            out.push_str("---\n# Source: ");
            out.push_str(part);
        }
    }
    out
}
