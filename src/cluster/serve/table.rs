//! Server-side printing (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`): each
//! built-in kind's default columns as the API server's printers make them (`-o wide` columns
//! at priority 1), a CRD's `additionalPrinterColumns`, and `Name` / `Created At` for the rest.

use crate::cluster::sim::api::ServedResource;
use crate::cluster::{Millis, sim::controllers::parse_time};
use crate::util::Pointer;
use serde_json::{Value, json};

/// `duration.HumanDuration`: `45s`, `3m20s`, `2h5m`, `5d3h`.
pub fn human_duration(ms: i64) -> String {
    let seconds = ms.div_euclid(1000);
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let d = (hours / 24) % 365;
        return if d == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{d}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.at(p).and_then(Value::as_str).unwrap_or("")
}

fn i(v: &Value, p: &str) -> i64 {
    v.at(p).and_then(Value::as_i64).unwrap_or(0)
}

fn age(v: &Value, now: Millis) -> String {
    match parse_time(s(v, "/metadata/creationTimestamp")) {
        Some(t) => human_duration(now as i64 - t as i64),
        None => "<unknown>".into(),
    }
}

fn len_of(v: &Value, p: &str) -> i64 {
    match v.at(p) {
        Some(Value::Object(m)) => m.len() as i64,
        Some(Value::Array(a)) => a.len() as i64,
        _ => 0,
    }
}

fn or_none(s: String) -> String {
    if s.is_empty() { "<none>".into() } else { s }
}

/// `a=b,c=d` from a map of strings.
fn pairs(v: Option<&Value>) -> String {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

fn selector(v: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(m) = v
        .at("/spec/selector/matchLabels")
        .and_then(Value::as_object)
    {
        parts.extend(
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))),
        );
    }
    for e in v
        .at("/spec/selector/matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let vals: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let key = s(e, "/key");
        parts.push(match s(e, "/operator") {
            "In" => format!("{key} in ({})", vals.join(",")),
            "NotIn" => format!("{key} notin ({})", vals.join(",")),
            "Exists" => key.to_string(),
            _ => format!("!{key}"),
        });
    }
    or_none(parts.join(","))
}

fn containers(v: &Value, spec: &str) -> (String, String) {
    let cs = v
        .at(&format!("{spec}/containers"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = cs.iter().map(|c| s(c, "/name")).collect();
    let images: Vec<&str> = cs.iter().map(|c| s(c, "/image")).collect();
    (names.join(","), images.join(","))
}

/// A column: name, type, priority.
type Column = (&'static str, &'static str, u8);

fn builtin(group: &str, kind: &str) -> Option<Vec<Column>> {
    Some(match (group, kind) {
        ("", "ConfigMap") => vec![
            ("Name", "string", 0),
            ("Data", "string", 0),
            ("Age", "string", 0),
        ],
        ("", "Secret") => vec![
            ("Name", "string", 0),
            ("Type", "string", 0),
            ("Data", "string", 0),
            ("Age", "string", 0),
        ],
        ("", "Namespace") => vec![
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Age", "string", 0),
        ],
        ("", "ServiceAccount") => vec![
            ("Name", "string", 0),
            ("Secrets", "string", 0),
            ("Age", "string", 0),
        ],
        ("apps", "Deployment") => vec![
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Up-to-date", "string", 0),
            ("Available", "string", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        ("apps", "ReplicaSet") => vec![
            ("Name", "string", 0),
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        ("apps", "StatefulSet") => vec![
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
        ],
        ("apps", "DaemonSet") => vec![
            ("Name", "string", 0),
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            ("Up-to-date", "integer", 0),
            ("Available", "integer", 0),
            ("Node Selector", "string", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        ("", "Pod") => vec![
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Status", "string", 0),
            ("Restarts", "string", 0),
            ("Age", "string", 0),
            ("IP", "string", 1),
            ("Node", "string", 1),
            ("Nominated Node", "string", 1),
            ("Readiness Gates", "string", 1),
        ],
        ("", "Service") => vec![
            ("Name", "string", 0),
            ("Type", "string", 0),
            ("Cluster-IP", "string", 0),
            ("External-IP", "string", 0),
            ("Port(s)", "string", 0),
            ("Age", "string", 0),
            ("Selector", "string", 1),
        ],
        ("", "PersistentVolumeClaim") => vec![
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Volume", "string", 0),
            ("Capacity", "string", 0),
            ("Access Modes", "string", 0),
            ("StorageClass", "string", 0),
            ("VolumeAttributesClass", "string", 0),
            ("Age", "string", 0),
            ("VolumeMode", "string", 1),
        ],
        ("batch", "Job") => vec![
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Completions", "string", 0),
            ("Duration", "string", 0),
            ("Age", "string", 0),
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            vec![("Name", "string", 0), ("Created At", "date", 0)]
        }
        _ => return None,
    })
}

fn pod_cells(v: &Value, now: Millis) -> Vec<Value> {
    let statuses = v
        .at("/status/containerStatuses")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let total = len_of(v, "/spec/containers");
    let ready = statuses
        .iter()
        .filter(|c| c.get("ready").and_then(Value::as_bool) == Some(true))
        .count();
    let restarts: i64 = statuses.iter().map(|c| i(c, "/restartCount")).sum();
    let mut reason = s(v, "/status/phase").to_string();
    for c in &statuses {
        let waiting = s(c, "/state/waiting/reason");
        if !waiting.is_empty() {
            reason = waiting.to_string();
        }
    }
    if v.at("/metadata/deletionTimestamp").is_some() {
        reason = "Terminating".into();
    }
    vec![
        json!(s(v, "/metadata/name")),
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts.to_string()),
        json!(age(v, now)),
        json!(or_none(s(v, "/status/podIP").to_string())),
        json!(or_none(s(v, "/spec/nodeName").to_string())),
        json!("<none>"),
        json!("<none>"),
    ]
}

fn service_ports(v: &Value) -> String {
    let ports: Vec<String> = v
        .at("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            match p.get("nodePort").and_then(Value::as_i64) {
                Some(n) => format!("{}:{n}/{proto}", i(p, "/port")),
                None => format!("{}/{proto}", i(p, "/port")),
            }
        })
        .collect();
    if ports.is_empty() {
        "<none>".into()
    } else {
        ports.join(",")
    }
}

fn cells(group: &str, kind: &str, v: &Value, now: Millis) -> Vec<Value> {
    let name = json!(s(v, "/metadata/name"));
    match (group, kind) {
        ("", "ConfigMap") => vec![
            name,
            json!(len_of(v, "/data") + len_of(v, "/binaryData")),
            json!(age(v, now)),
        ],
        ("", "Secret") => vec![
            name,
            json!(s(v, "/type")),
            json!(len_of(v, "/data")),
            json!(age(v, now)),
        ],
        ("", "Namespace") => vec![name, json!(s(v, "/status/phase")), json!(age(v, now))],
        ("", "ServiceAccount") => vec![name, json!(len_of(v, "/secrets")), json!(age(v, now))],
        ("apps", "Deployment") => {
            let (c, im) = containers(v, "/spec/template/spec");
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    i(v, "/status/readyReplicas"),
                    v.at("/spec/replicas").and_then(Value::as_i64).unwrap_or(1)
                )),
                json!(i(v, "/status/updatedReplicas")),
                json!(i(v, "/status/availableReplicas")),
                json!(age(v, now)),
                json!(c),
                json!(im),
                json!(selector(v)),
            ]
        }
        ("apps", "ReplicaSet") => {
            let (c, im) = containers(v, "/spec/template/spec");
            vec![
                name,
                json!(i(v, "/spec/replicas")),
                json!(i(v, "/status/replicas")),
                json!(i(v, "/status/readyReplicas")),
                json!(age(v, now)),
                json!(c),
                json!(im),
                json!(selector(v)),
            ]
        }
        ("apps", "StatefulSet") => {
            let (c, im) = containers(v, "/spec/template/spec");
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    i(v, "/status/readyReplicas"),
                    v.at("/spec/replicas").and_then(Value::as_i64).unwrap_or(1)
                )),
                json!(age(v, now)),
                json!(c),
                json!(im),
            ]
        }
        ("apps", "DaemonSet") => {
            let (c, im) = containers(v, "/spec/template/spec");
            vec![
                name,
                json!(i(v, "/status/desiredNumberScheduled")),
                json!(i(v, "/status/currentNumberScheduled")),
                json!(i(v, "/status/numberReady")),
                json!(i(v, "/status/updatedNumberScheduled")),
                json!(i(v, "/status/numberAvailable")),
                json!(or_none(pairs(v.at("/spec/template/spec/nodeSelector")))),
                json!(age(v, now)),
                json!(c),
                json!(im),
                json!(selector(v)),
            ]
        }
        ("", "Pod") => pod_cells(v, now),
        ("", "Service") => {
            let external = match s(v, "/spec/type") {
                "LoadBalancer" => {
                    let ips: Vec<&str> = v
                        .at("/status/loadBalancer/ingress")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|x| x.get("ip").or(x.get("hostname")).and_then(Value::as_str))
                        .collect();
                    if ips.is_empty() {
                        "<pending>".to_string()
                    } else {
                        ips.join(",")
                    }
                }
                "ExternalName" => s(v, "/spec/externalName").to_string(),
                _ => "<none>".to_string(),
            };
            vec![
                name,
                json!(
                    v.at("/spec/type")
                        .and_then(Value::as_str)
                        .unwrap_or("ClusterIP")
                ),
                json!(or_none(s(v, "/spec/clusterIP").to_string())),
                json!(external),
                json!(service_ports(v)),
                json!(age(v, now)),
                json!(or_none(pairs(v.at("/spec/selector")))),
            ]
        }
        ("", "PersistentVolumeClaim") => {
            let modes: Vec<String> = v
                .at("/status/accessModes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|m| match m {
                    "ReadWriteOnce" => "RWO".to_string(),
                    "ReadOnlyMany" => "ROX".to_string(),
                    "ReadWriteMany" => "RWX".to_string(),
                    "ReadWriteOncePod" => "RWOP".to_string(),
                    o => o.to_string(),
                })
                .collect();
            vec![
                name,
                json!(s(v, "/status/phase")),
                json!(s(v, "/spec/volumeName")),
                json!(s(v, "/status/capacity/storage")),
                json!(modes.join(",")),
                json!(or_none(s(v, "/spec/storageClassName").to_string())),
                json!("<unset>"),
                json!(age(v, now)),
                json!(s(v, "/spec/volumeMode")),
            ]
        }
        ("batch", "Job") => {
            let (c, im) = containers(v, "/spec/template/spec");
            let done = v
                .at("/status/conditions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|c| s(c, "/status") == "True")
                .map(|c| match s(c, "/type") {
                    "Complete" => "Complete",
                    "Failed" => "Failed",
                    "Suspended" => "Suspended",
                    _ => "Running",
                })
                .unwrap_or("Running");
            let completions = v
                .at("/spec/completions")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let duration = match (
                parse_time(s(v, "/status/startTime")),
                parse_time(s(v, "/status/completionTime")),
            ) {
                (Some(a), Some(b)) => human_duration(b as i64 - a as i64),
                (Some(a), None) => human_duration(now as i64 - a as i64),
                _ => String::new(),
            };
            vec![
                name,
                json!(done),
                json!(format!("{}/{completions}", i(v, "/status/succeeded"))),
                json!(duration),
                json!(age(v, now)),
                json!(c),
                json!(im),
                json!(selector(v)),
            ]
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            vec![name, json!(s(v, "/metadata/creationTimestamp"))]
        }
        _ => vec![name, json!(s(v, "/metadata/creationTimestamp"))],
    }
}

/// A CRD column's cell: the value at its JSONPath (`.spec.size`), dates as ages.
fn crd_cell(v: &Value, column: &Value, now: Millis) -> Value {
    let path = column.get("jsonPath").and_then(Value::as_str).unwrap_or("");
    let pointer: String = path
        .trim_start_matches('.')
        .split('.')
        .filter(|p| !p.is_empty())
        .map(|p| format!("/{p}"))
        .collect();
    let found = v.at(&pointer).cloned().unwrap_or(Value::Null);
    match column.get("type").and_then(Value::as_str) {
        Some("date") => match found.as_str().and_then(parse_time) {
            Some(t) => json!(human_duration(now as i64 - t as i64)),
            None => Value::Null,
        },
        _ => found,
    }
}

fn definition(name: &str, ty: &str, priority: u8) -> Value {
    let format = if name == "Name" { "name" } else { "" };
    json!({"name": name, "type": ty, "format": format, "description": "", "priority": priority})
}

/// The table of `objects` of a resource.
pub fn table(r: &ServedResource, objects: &[Value], now: Millis, list_meta: Value) -> Value {
    let (columns, rows): (Vec<Value>, Vec<Vec<Value>>) = if r.custom {
        let mut defs = vec![definition("Name", "string", 0)];
        let shown: Vec<&Value> = r.printer_columns.iter().collect();
        for c in &shown {
            defs.push(json!({
                "name": c.get("name").and_then(Value::as_str).unwrap_or(""),
                "type": c.get("type").and_then(Value::as_str).unwrap_or("string"),
                "format": c.get("format").and_then(Value::as_str).unwrap_or(""),
                "description": c.get("description").and_then(Value::as_str).unwrap_or(""),
                "priority": c.get("priority").and_then(Value::as_i64).unwrap_or(0),
            }));
        }
        if shown.is_empty() {
            defs.push(definition("Age", "date", 0));
        }
        let rows = objects
            .iter()
            .map(|o| {
                let mut cells = vec![json!(s(o, "/metadata/name"))];
                if shown.is_empty() {
                    cells.push(json!(age(o, now)));
                } else {
                    cells.extend(shown.iter().map(|c| crd_cell(o, c, now)));
                }
                cells
            })
            .collect();
        (defs, rows)
    } else {
        let cols = builtin(&r.group, &r.kind)
            .unwrap_or_else(|| vec![("Name", "string", 0), ("Created At", "date", 0)]);
        let defs = cols.iter().map(|(n, t, p)| definition(n, t, *p)).collect();
        let rows = objects
            .iter()
            .map(|o| cells(&r.group, &r.kind, o, now))
            .collect();
        (defs, rows)
    };
    let rows: Vec<Value> = rows
        .into_iter()
        .zip(objects)
        .map(|(cells, o)| {
            let mut meta = o.get("metadata").cloned().unwrap_or(json!({}));
            if let Some(m) = meta.as_object_mut() {
                m.remove("managedFields");
            }
            json!({
                "cells": cells,
                "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta},
            })
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": columns,
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::human_duration;

    #[test]
    fn ages_read_as_kubectl_prints_them() {
        for (ms, want) in [
            (5_000, "5s"),
            (119_000, "119s"),
            (200_000, "3m20s"),
            (600_000, "10m"),
            (3 * 3_600_000 + 300_000, "3h5m"),
            (30 * 3_600_000, "30h"),
            (50 * 3_600_000, "2d2h"),
            (-5_000, "<invalid>"),
        ] {
            assert_eq!(human_duration(ms), want);
        }
    }
}
