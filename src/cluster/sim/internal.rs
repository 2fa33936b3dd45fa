//! Values as the API server prints them inside validation messages: its internal Go types
//! marshalled to JSON (exported field names such as `Spec`, `DNSPolicy`; every field present,
//! `null` for unset pointers, slices and maps, zero values for unset scalars), compact for
//! `Invalid value: {...}`, and indented with a unified diff where a message shows what changed
//! (an unbound PVC's spec).
//!
//! Field order and kinds are those of the Kubernetes v1.36 internal types for the structs such
//! messages print (pod templates, containers, PVC specs); structs without a table print their
//! fields capitalised in the order given.

use serde_json::{Map, Value};

#[derive(Clone, Copy)]
enum F {
    /// A string (zero: `""`).
    S,
    /// A bool (zero: false).
    B,
    /// A pointer, slice or map (zero: null); a map's keys are kept as they are.
    P,
    /// A list of structs of a type.
    L(&'static str),
    /// A struct of a type (zero: all its fields at zero).
    T(&'static str),
    /// A pointer to a struct of a type (zero: null).
    PT(&'static str),
}

/// Internal fields: (name, the JSON field it comes from, kind).
fn fields(ty: &str) -> Option<&'static [(&'static str, &'static str, F)]> {
    use F::*;
    Some(match ty {
        "PodSpec" => &[
            ("Volumes", "volumes", P),
            ("InitContainers", "initContainers", L("Container")),
            ("Containers", "containers", L("Container")),
            ("EphemeralContainers", "ephemeralContainers", P),
            ("RestartPolicy", "restartPolicy", S),
            (
                "TerminationGracePeriodSeconds",
                "terminationGracePeriodSeconds",
                P,
            ),
            ("ActiveDeadlineSeconds", "activeDeadlineSeconds", P),
            ("DNSPolicy", "dnsPolicy", S),
            ("NodeSelector", "nodeSelector", P),
            ("ServiceAccountName", "serviceAccountName", S),
            (
                "AutomountServiceAccountToken",
                "automountServiceAccountToken",
                P,
            ),
            ("NodeName", "nodeName", S),
            (
                "SecurityContext",
                "securityContext",
                PT("PodSecurityContext"),
            ),
            ("ImagePullSecrets", "imagePullSecrets", P),
            ("Hostname", "hostname", S),
            ("Subdomain", "subdomain", S),
            ("SetHostnameAsFQDN", "setHostnameAsFQDN", P),
            ("Affinity", "affinity", P),
            ("SchedulerName", "schedulerName", S),
            ("Tolerations", "tolerations", P),
            ("HostAliases", "hostAliases", P),
            ("PriorityClassName", "priorityClassName", S),
            ("Priority", "priority", P),
            ("PreemptionPolicy", "preemptionPolicy", P),
            ("DNSConfig", "dnsConfig", P),
            ("ReadinessGates", "readinessGates", P),
            ("RuntimeClassName", "runtimeClassName", P),
            ("Overhead", "overhead", P),
            ("EnableServiceLinks", "enableServiceLinks", P),
            ("TopologySpreadConstraints", "topologySpreadConstraints", P),
            ("OS", "os", P),
            ("SchedulingGates", "schedulingGates", P),
            ("ResourceClaims", "resourceClaims", P),
            ("Resources", "resources", P),
            ("HostnameOverride", "hostnameOverride", P),
            ("SchedulingGroup", "schedulingGroup", P),
        ],
        "Container" => &[
            ("Name", "name", S),
            ("Image", "image", S),
            ("Command", "command", P),
            ("Args", "args", P),
            ("WorkingDir", "workingDir", S),
            ("Ports", "ports", P),
            ("EnvFrom", "envFrom", P),
            ("Env", "env", P),
            ("Resources", "resources", T("ResourceRequirements")),
            ("ResizePolicy", "resizePolicy", P),
            ("RestartPolicy", "restartPolicy", P),
            ("RestartPolicyRules", "restartPolicyRules", P),
            ("VolumeMounts", "volumeMounts", P),
            ("VolumeDevices", "volumeDevices", P),
            ("LivenessProbe", "livenessProbe", P),
            ("ReadinessProbe", "readinessProbe", P),
            ("StartupProbe", "startupProbe", P),
            ("Lifecycle", "lifecycle", P),
            ("TerminationMessagePath", "terminationMessagePath", S),
            ("TerminationMessagePolicy", "terminationMessagePolicy", S),
            ("ImagePullPolicy", "imagePullPolicy", S),
            ("SecurityContext", "securityContext", P),
            ("Stdin", "stdin", B),
            ("StdinOnce", "stdinOnce", B),
            ("TTY", "tty", B),
        ],
        "ResourceRequirements" => &[
            ("Limits", "limits", P),
            ("Requests", "requests", P),
            ("Claims", "claims", P),
        ],
        "VolumeResourceRequirements" => &[("Limits", "limits", P), ("Requests", "requests", P)],
        // The pod's host namespaces live in its security context internally.
        "PodSecurityContext" => &[
            ("HostNetwork", "hostNetwork", B),
            ("HostPID", "hostPID", B),
            ("HostIPC", "hostIPC", B),
            ("ShareProcessNamespace", "shareProcessNamespace", P),
            ("HostUsers", "hostUsers", P),
            ("SELinuxOptions", "seLinuxOptions", P),
            ("WindowsOptions", "windowsOptions", P),
            ("RunAsUser", "runAsUser", P),
            ("RunAsGroup", "runAsGroup", P),
            ("RunAsNonRoot", "runAsNonRoot", P),
            ("SupplementalGroups", "supplementalGroups", P),
            ("SupplementalGroupsPolicy", "supplementalGroupsPolicy", P),
            ("FSGroup", "fsGroup", P),
            ("FSGroupChangePolicy", "fsGroupChangePolicy", P),
            ("Sysctls", "sysctls", P),
            ("SeccompProfile", "seccompProfile", P),
            ("AppArmorProfile", "appArmorProfile", P),
            ("SELinuxChangePolicy", "seLinuxChangePolicy", P),
        ],
        "PersistentVolumeClaimSpec" => &[
            ("AccessModes", "accessModes", P),
            ("Selector", "selector", P),
            ("Resources", "resources", T("VolumeResourceRequirements")),
            ("VolumeName", "volumeName", S),
            ("StorageClassName", "storageClassName", P),
            ("VolumeMode", "volumeMode", P),
            ("DataSource", "dataSource", P),
            ("DataSourceRef", "dataSourceRef", P),
            ("VolumeAttributesClassName", "volumeAttributesClassName", P),
        ],
        _ => return None,
    })
}

/// A JSON name as a Go field name (`dnsPolicy` -> `DNSPolicy`).
fn exported(name: &str) -> String {
    match name {
        "apiVersion" => "APIVersion".into(),
        "uid" => "UID".into(),
        "tty" => "TTY".into(),
        "os" => "OS".into(),
        "ip" => "IP".into(),
        _ => {
            let mut c = name.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        }
    }
}

/// A value printed in order (Go prints struct fields in declaration order, map keys sorted).
enum O {
    Obj(Vec<(String, O)>),
    Arr(Vec<O>),
    Leaf(Value),
}

/// A value of unknown type: maps keep their keys, nested objects are structs.
fn generic(v: &Value, in_map: bool) -> O {
    match v {
        Value::Object(m) => O::Obj(
            m.iter()
                .map(|(k, x)| {
                    let k = if in_map { k.clone() } else { exported(k) };
                    (k, generic(x, false))
                })
                .collect(),
        ),
        Value::Array(a) => O::Arr(a.iter().map(|x| generic(x, false)).collect()),
        other => O::Leaf(other.clone()),
    }
}

fn of_type(ty: &str, v: Option<&Value>, extra: Option<&Value>) -> O {
    let Some(table) = fields(ty) else {
        return v.map(|v| generic(v, false)).unwrap_or(O::Leaf(Value::Null));
    };
    let mut out = Vec::new();
    for (name, json, kind) in table {
        // The pod's host namespaces come from the pod spec (`extra`).
        let x = v
            .and_then(|v| v.get(*json))
            .or_else(|| extra.and_then(|e| e.get(*json)));
        let shown = match (kind, x) {
            (F::S, None) => O::Leaf(Value::String(String::new())),
            (F::B, None) => O::Leaf(Value::Bool(false)),
            (F::P | F::L(_) | F::PT(_), None) => O::Leaf(Value::Null),
            (F::T(t), x) => of_type(t, x, None),
            (F::PT(t), Some(x)) => of_type(t, Some(x), extra),
            (F::L(t), Some(Value::Array(items))) => {
                O::Arr(items.iter().map(|i| of_type(t, Some(i), None)).collect())
            }
            (F::P, Some(x)) => {
                let is_map = matches!(
                    *json,
                    "nodeSelector" | "limits" | "requests" | "overhead" | "labels" | "annotations"
                );
                generic(x, is_map)
            }
            (_, Some(x)) => O::Leaf(x.clone()),
        };
        out.push((name.to_string(), shown));
    }
    O::Obj(out)
}

fn write(v: &O, indent: Option<usize>, depth: usize, out: &mut String) {
    let nl = |out: &mut String, d: usize| {
        if let Some(n) = indent {
            out.push('\n');
            out.push_str(&" ".repeat(n * d));
        }
    };
    match v {
        O::Obj(m) if !m.is_empty() => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                nl(out, depth + 1);
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                write(x, indent, depth + 1, out);
            }
            nl(out, depth);
            out.push('}');
        }
        O::Obj(_) => out.push_str("{}"),
        O::Arr(a) if !a.is_empty() => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                nl(out, depth + 1);
                write(x, indent, depth + 1, out);
            }
            nl(out, depth);
            out.push(']');
        }
        O::Arr(_) => out.push_str("[]"),
        O::Leaf(x) => out.push_str(&x.to_string()),
    }
}

fn ordered(v: &O, indent: Option<usize>) -> String {
    let mut s = String::new();
    write(v, indent, 0, &mut s);
    s
}

/// A pod template (`spec.template` of a workload) as `Invalid value: ...` prints it.
pub fn pod_template(template: &Value) -> String {
    let mut s = String::from("{");
    let meta = template.get("metadata").and_then(Value::as_object);
    let mut first = true;
    if let Some(meta) = meta {
        for (k, v) in meta {
            if v.is_null() || v.as_object().is_some_and(Map::is_empty) {
                continue;
            }
            if !first {
                s.push(',');
            }
            first = false;
            s.push_str(&Value::String(k.clone()).to_string());
            s.push(':');
            s.push_str(&v.to_string());
        }
    }
    if !first {
        s.push(',');
    }
    let spec = template.get("spec");
    s.push_str("\"Spec\":");
    s.push_str(&ordered(&of_type("PodSpec", spec, spec), None));
    s.push('}');
    s
}

/// A PVC spec indented as Go's `json.MarshalIndent(spec, "", " ")` prints it.
pub fn pvc_spec(spec: Option<&Value>) -> String {
    ordered(&of_type("PersistentVolumeClaimSpec", spec, None), Some(1))
}

/// A unified diff of two texts, three lines of context, hunks only (no file headers), as
/// go-difflib writes it.
pub fn unified_diff(a: &str, b: &str) -> String {
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    // Longest common subsequence table.
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    // Edit script: (tag, line index in a, line index in b).
    let mut ops: Vec<(char, usize, usize)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push((' ', i, j));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', i, j));
            i += 1;
        } else {
            ops.push(('+', i, j));
            j += 1;
        }
    }
    let changed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| o.0 != ' ')
        .map(|(k, _)| k)
        .collect();
    let mut out = String::new();
    let mut k = 0;
    while k < changed.len() {
        let start = changed[k].saturating_sub(3);
        let mut end = changed[k];
        while k < changed.len() && changed[k] <= end + 6 {
            end = changed[k];
            k += 1;
        }
        let end = (end + 3).min(ops.len() - 1);
        let hunk = &ops[start..=end];
        let a_start = hunk.first().map(|o| o.1).unwrap_or(0);
        let b_start = hunk.first().map(|o| o.2).unwrap_or(0);
        let a_len = hunk.iter().filter(|o| o.0 != '+').count();
        let b_len = hunk.iter().filter(|o| o.0 != '-').count();
        out.push_str(&format!(
            "@@ -{},{a_len} +{},{b_len} @@\n",
            a_start + 1,
            b_start + 1
        ));
        for (tag, ai, bj) in hunk {
            let line = if *tag == '+' { b[*bj] } else { a[*ai] };
            out.push(*tag);
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_pvc_spec_change_reads_as_the_server_prints_it() {
        let old = json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "storageClassName": "scn-slow", "volumeMode": "Filesystem"});
        let mut new = old.clone();
        new["storageClassName"] = json!("scn-fast");
        let diff = unified_diff(&pvc_spec(Some(&old)), &pvc_spec(Some(&new)));
        assert_eq!(
            diff,
            "@@ -10,7 +10,7 @@\n   }\n  },\n  \"VolumeName\": \"\",\n- \"StorageClassName\": \"scn-slow\",\n+ \"StorageClassName\": \"scn-fast\",\n  \"VolumeMode\": \"Filesystem\",\n  \"DataSource\": null,\n  \"DataSourceRef\": null,\n"
        );
    }
}
