//! The API server's own validation rules for built-in kinds, beyond what the OpenAPI schemas
//! say: what Kubernetes' `pkg/apis/*/validation` code rejects, ported rule by rule with its
//! message text (`spec.ports[1].name: Required value`, `Unsupported value: "Always":
//! supported values: "OnFailure", "Never"`, `Invalid value: "a b": a valid config key must
//! consist of ...`). Each rule names its source function in Kubernetes.
//!
//! The structural walk calls [`check`] on every mapping whose schema is a built-in definition;
//! a rule is keyed by that definition and reads the mapping (and what is below it) as the
//! server's `Validate*` function for the type does. Defaulting runs before validation on the
//! server, so a rule never reports a field the server would have defaulted. Plain enumerations
//! live in the schema (`schema::enums`); this module holds the rules that depend on other
//! fields or are worded otherwise. Values that wait for Flux's substitution are not judged.

use super::rules::{dns1123_label, dns1123_subdomain};
use super::walk::{Seg, Walker};
use crate::diag::Code;
use serde_json::{Map, Value};

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// Applies the rules of `definition` to a mapping of that type.
pub fn check<'v>(definition: &str, m: &'v Map<String, Value>, w: &mut Walker<'_, 'v>) {
    let Some(short) = definition.strip_prefix("io.k8s.api.") else {
        return;
    };
    match short {
        "core.v1.ConfigMap" => config_map(m, w),
        "core.v1.Secret" => secret(m, w),
        "core.v1.ServiceSpec" => service_spec(m, w),
        "core.v1.PersistentVolumeClaimSpec" => pvc_spec(m, w),
        "core.v1.PodSpec" => pod_spec(m, w),
        "apps.v1.DeploymentSpec" => replicated("deployment", m, w),
        // `ValidateReplicaSetSpec` words its empty selector as the Deployment's does.
        "apps.v1.ReplicaSetSpec" => replicated("deployment", m, w),
        "apps.v1.StatefulSetSpec" => replicated("statefulset", m, w),
        "apps.v1.DaemonSetSpec" => replicated("daemonset", m, w),
        "batch.v1.JobSpec" => job_spec(m, w),
        "rbac.v1.RoleBinding" => role_binding(m, w, true),
        "rbac.v1.ClusterRoleBinding" => role_binding(m, w, false),
        _ => {}
    }
}

fn text<'v>(m: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
    m.get(key).and_then(Value::as_str)
}

/// Go's quoting of a list of supported values: `"OnFailure", "Never"`.
fn supported(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("\"{v}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

// ------------------------------------------------------------------------ ConfigMap, Secret

/// `IsConfigMapKey` (apimachinery `util/validation`): the problems with a data key.
pub fn config_key(key: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if key.len() > 253 {
        errs.push("must be no more than 253 characters".to_string());
    }
    if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        errs.push("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')".to_string());
    }
    if key == "." {
        errs.push("must not be '.'".to_string());
    } else if key == ".." {
        errs.push("must not be '..'".to_string());
    } else if key.starts_with("..") {
        errs.push("must not start with '..'".to_string());
    }
    errs
}

/// Keys of `field` checked with `IsConfigMapKey`; the server names them `shown[key]`.
fn keys<'v>(m: &'v Map<String, Value>, field: &'v str, shown: &str, w: &mut Walker<'_, 'v>) {
    let Some(Value::Object(data)) = m.get(field) else {
        return;
    };
    for key in data.keys() {
        for e in config_key(key) {
            let what = format!("{shown}[{key}]: Invalid value: \"{key}\": {e}");
            w.report_as(
                &[Seg::Key(field), Seg::Key(key)],
                Code::InvalidValue,
                true,
                what,
                "not a valid key",
            );
        }
    }
}

/// `ValidateConfigMap` (pkg/apis/core/validation): keys of `data` and `binaryData`, and no key
/// in both.
fn config_map<'v>(m: &'v Map<String, Value>, w: &mut Walker<'_, 'v>) {
    keys(m, "data", "data", w);
    keys(m, "binaryData", "binaryData", w);
    if let (Some(Value::Object(data)), Some(Value::Object(binary))) =
        (m.get("data"), m.get("binaryData"))
    {
        for key in binary.keys().filter(|k| data.contains_key(*k)) {
            w.report_as(
                &[Seg::Key("data"), Seg::Key(key)],
                Code::InvalidValue,
                true,
                format!(
                    "data[{key}]: Invalid value: \"{key}\": duplicate of key present in binaryData"
                ),
                "also a key of binaryData",
            );
            w.report_as(
                &[Seg::Key("binaryData"), Seg::Key(key)],
                Code::InvalidValue,
                true,
                format!(
                    "binaryData[{key}]: Invalid value: \"{key}\": duplicate of key present in data"
                ),
                "also a key of data",
            );
        }
    }
}

/// `ValidateSecret`: keys of `data`, and of `stringData`, which the server merges into `data`
/// before it validates (so it names them `data[key]`).
fn secret<'v>(m: &'v Map<String, Value>, w: &mut Walker<'_, 'v>) {
    keys(m, "data", "data", w);
    keys(m, "stringData", "data", w);
}

/// A name checked the way the server checks sub-object names: each problem `rule` finds is an
/// `Invalid value`, and a name already in `seen` a `Duplicate value`; then it joins `seen`.
fn unique_name<'v>(
    w: &mut Walker<'_, 'v>,
    at: &[Seg<'v>],
    name: &'v str,
    rule: &[String],
    seen: &mut Vec<&'v str>,
    what: &str,
) {
    for e in rule {
        let msg = format!("Invalid value: {}: {e}", w.quote(name));
        w.report(
            at,
            Code::InvalidValue,
            false,
            &msg,
            &format!("not a valid {what} name"),
        );
    }
    if seen.contains(&name) {
        let msg = format!("Duplicate value: {}", w.quote(name));
        w.report(
            at,
            Code::InvalidValue,
            false,
            &msg,
            &format!("another {what} has this name"),
        );
    }
    seen.push(name);
}

// ------------------------------------------------------------------------ Service

/// `ValidateService` and `validateServicePort`: ports are required unless the Service is
/// headless or an ExternalName; several ports each need a name, names are DNS-1123 labels and
/// unique; an ExternalName Service names its external host.
fn service_spec<'v>(m: &'v Map<String, Value>, w: &mut Walker<'_, 'v>) {
    let ty = text(m, "type").unwrap_or("ClusterIP");
    let headless = text(m, "clusterIP") == Some("None");
    let ports: &[Value] = match m.get("ports") {
        Some(Value::Array(p)) => p,
        _ => &[],
    };
    if ports.is_empty() && !headless && ty != "ExternalName" && !m.contains_key("ports") {
        w.report(
            &[Seg::Key("ports")],
            Code::MissingRequiredField,
            true,
            "Required value",
            "a Service needs ports",
        );
    } else if ports.is_empty() && !headless && ty != "ExternalName" {
        w.report(
            &[Seg::Key("ports")],
            Code::MissingRequiredField,
            false,
            "Required value",
            "no ports",
        );
    }
    if ty == "ExternalName" {
        match m.get("externalName") {
            // The server trims one trailing dot (a fully qualified name) before it checks.
            Some(Value::String(name)) if !name.strip_suffix('.').unwrap_or(name).is_empty() => {
                if !w.pending(&m["externalName"]) {
                    let host = name.strip_suffix('.').unwrap_or(name);
                    for e in dns1123_subdomain(host) {
                        let what = format!("Invalid value: {}: {e}", w.quote(name));
                        w.report(
                            &[Seg::Key("externalName")],
                            Code::InvalidValue,
                            false,
                            &what,
                            "not a DNS name",
                        );
                    }
                }
            }
            _ => w.report(
                &[Seg::Key("externalName")],
                Code::MissingRequiredField,
                true,
                "Required value",
                "an ExternalName Service names its host",
            ),
        }
    }
    let mut names: Vec<&str> = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        let Some(p) = p.as_object() else { continue };
        match p.get("name") {
            Some(v) if w.pending(v) => {}
            Some(Value::String(n)) if !n.is_empty() => {
                let at = [Seg::Key("ports"), Seg::Index(i), Seg::Key("name")];
                unique_name(w, &at, n, &dns1123_label(n), &mut names, "port");
            }
            _ if ports.len() > 1 => w.report_as(
                &[Seg::Key("ports"), Seg::Index(i)],
                Code::MissingRequiredField,
                false,
                format!(
                    "{}: Required value",
                    w.here_with(&format!("ports[{i}].name"))
                ),
                "a Service with several ports names each",
            ),
            _ => {}
        }
        if let Some(n) = p.get("port").and_then(Value::as_i64)
            && !(1..=65535).contains(&n)
        {
            let what = format!("Invalid value: {n}: must be between 1 and 65535, inclusive");
            w.report(
                &[Seg::Key("ports"), Seg::Index(i), Seg::Key("port")],
                Code::InvalidValue,
                false,
                &what,
                "not a port number",
            );
        }
    }
}

// ------------------------------------------------------------------------ Pods and templates

/// `IsValidPortName` (apimachinery `util/validation`): an IANA service name.
pub fn port_name(name: &str) -> Vec<&'static str> {
    let mut errs = Vec::new();
    if name.len() > 15 {
        errs.push("must be no more than 15 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
    }
    if !name.bytes().any(|b| b.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)");
    }
    if name.contains("--") {
        errs.push("must not contain consecutive hyphens");
    }
    if name.starts_with('-') || name.ends_with('-') {
        errs.push("must not begin or end with a hyphen");
    }
    errs
}

/// `ValidatePodSpec` (pkg/apis/core/validation): at least one container; each container
/// (regular, init, ephemeral) named with a unique DNS-1123 label and given an image
/// (`validateContainerCommon`); its ports numbered 1-65535 and named as IANA service names,
/// unique within the container (`validateContainerPorts`); its env variables named
/// (`ValidateEnv`); volumes named with unique DNS-1123 labels (`ValidateVolumes`); every volume
/// mount naming a volume of the Pod (`ValidateVolumeMounts`).
///
/// A StatefulSet's template is not validated as a Pod by the server (its mounts may name the
/// claims of `volumeClaimTemplates`: `ValidatePodTemplateSpecForStatefulSet` leaves it out).
fn pod_spec<'v>(m: &'v Map<String, Value>, w: &mut Walker<'_, 'v>) {
    if w.kind == "StatefulSet" {
        return;
    }
    if m.get("containers")
        .and_then(Value::as_array)
        .is_some_and(|c| c.is_empty())
    {
        w.report(
            &[Seg::Key("containers")],
            Code::MissingRequiredField,
            false,
            "Required value",
            "no containers",
        );
    }
    // Volumes first: mounts refer to them.
    let mut volumes: Vec<&str> = Vec::new();
    if let Some(Value::Array(vs)) = m.get("volumes") {
        for (i, v) in vs.iter().enumerate() {
            let at = [Seg::Key("volumes"), Seg::Index(i), Seg::Key("name")];
            match v.get("name") {
                Some(n) if w.pending(n) => volumes.push("*"),
                Some(Value::String(n)) if !n.is_empty() => {
                    unique_name(w, &at, n, &dns1123_label(n), &mut volumes, "volume");
                }
                Some(Value::String(_)) => w.report(
                    &at,
                    Code::MissingRequiredField,
                    false,
                    "Required value",
                    "an empty name",
                ),
                _ => {}
            }
        }
    }
    let mut names: Vec<&str> = Vec::new();
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        let Some(Value::Array(cs)) = m.get(list) else {
            continue;
        };
        for (i, c) in cs.iter().enumerate() {
            let Some(c) = c.as_object() else { continue };
            container(list, i, c, &volumes, &mut names, w);
        }
    }
}

/// The path `list[i].field[j].f` below a pod spec.
fn nested<'v>(list: &'v str, i: usize, field: &'v str, j: usize, f: &'v str) -> [Seg<'v>; 5] {
    [
        Seg::Key(list),
        Seg::Index(i),
        Seg::Key(field),
        Seg::Index(j),
        Seg::Key(f),
    ]
}

fn container<'v>(
    list: &'v str,
    i: usize,
    c: &'v Map<String, Value>,
    volumes: &[&str],
    names: &mut Vec<&'v str>,
    w: &mut Walker<'_, 'v>,
) {
    let here = |f: &'v str| [Seg::Key(list), Seg::Index(i), Seg::Key(f)];
    match c.get("name") {
        Some(n) if w.pending(n) => {}
        Some(Value::String(n)) if !n.is_empty() => {
            unique_name(w, &here("name"), n, &dns1123_label(n), names, "container");
        }
        Some(Value::String(_)) => w.report(
            &here("name"),
            Code::MissingRequiredField,
            false,
            "Required value",
            "an empty name",
        ),
        _ => {}
    }
    match c.get("image") {
        Some(Value::String(s)) if !s.is_empty() => {}
        Some(Value::Null) | None => w.report_as(
            &[Seg::Key(list), Seg::Index(i)],
            Code::MissingRequiredField,
            false,
            format!(
                "{}: Required value",
                w.here_with(&format!("{list}[{i}].image"))
            ),
            "a container needs an image",
        ),
        Some(_) => w.report(
            &here("image"),
            Code::MissingRequiredField,
            false,
            "Required value",
            "an empty image",
        ),
    }
    if let Some(Value::Array(ports)) = c.get("ports") {
        let mut port_names: Vec<&str> = Vec::new();
        for (j, p) in ports.iter().enumerate() {
            let Some(p) = p.as_object() else { continue };
            let at = |f: &'v str| nested(list, i, "ports", j, f);
            if let Some(Value::String(n)) = p.get("name")
                && !n.is_empty()
                && !w.pending(&p["name"])
            {
                let rule: Vec<String> = port_name(n).into_iter().map(String::from).collect();
                unique_name(w, &at("name"), n, &rule, &mut port_names, "port");
            }
            for field in ["containerPort", "hostPort"] {
                match p.get(field).and_then(Value::as_i64) {
                    Some(0) if field == "containerPort" => w.report(
                        &at(field),
                        Code::MissingRequiredField,
                        false,
                        "Required value",
                        "port 0",
                    ),
                    Some(n) if !((1..=65535).contains(&n) || field == "hostPort" && n == 0) => {
                        let what =
                            format!("Invalid value: {n}: must be between 1 and 65535, inclusive");
                        w.report(
                            &at(field),
                            Code::InvalidValue,
                            false,
                            &what,
                            "not a port number",
                        );
                    }
                    _ => {}
                }
            }
        }
    }
    if let Some(Value::Array(env)) = c.get("env") {
        for (j, e) in env.iter().enumerate() {
            let at = nested(list, i, "env", j, "name");
            match e.get("name") {
                Some(Value::String(n)) if n.is_empty() => w.report(
                    &at,
                    Code::MissingRequiredField,
                    false,
                    "Required value",
                    "an empty name",
                ),
                Some(Value::String(n))
                    if !w.pending(&e["name"])
                        && (n.contains('=') || !n.bytes().all(|b| (b' '..=b'~').contains(&b))) =>
                {
                    let what = format!(
                        "Invalid value: {}: a valid environment variable name must consist only of printable ASCII characters other than '='",
                        w.quote(n)
                    );
                    w.report(
                        &at,
                        Code::InvalidValue,
                        false,
                        &what,
                        "not an environment variable name",
                    );
                }
                _ => {}
            }
        }
    }
    if let Some(Value::Array(mounts)) = c.get("volumeMounts")
        && !volumes.contains(&"*")
    {
        let mut paths: Vec<&str> = Vec::new();
        for (j, mnt) in mounts.iter().enumerate() {
            let at = |f: &'v str| nested(list, i, "volumeMounts", j, f);
            if let Some(Value::String(n)) = mnt.get("name")
                && !n.is_empty()
                && !w.pending(&mnt["name"])
                && !volumes.contains(&n.as_str())
            {
                let what = format!("Not found: {}", w.quote(n));
                w.report(
                    &at("name"),
                    Code::InvalidValue,
                    false,
                    &what,
                    "no volume of the Pod has this name",
                );
            }
            if let Some(Value::String(p)) = mnt.get("mountPath")
                && !p.is_empty()
                && !w.pending(&mnt["mountPath"])
            {
                if paths.contains(&p.as_str()) {
                    let what = format!("Invalid value: {}: must be unique", w.quote(p));
                    w.report(
                        &at("mountPath"),
                        Code::InvalidValue,
                        false,
                        &what,
                        "mounted twice",
                    );
                }
                paths.push(p);
            }
        }
    }
}

// ------------------------------------------------------------------------ PersistentVolumeClaim

/// `ValidatePersistentVolumeClaimSpec`: at least one access mode, each a known one, and a
/// storage request.
///
/// A StatefulSet's claim templates are not judged: whether the server validates them as
/// claims is not settled in kiln's sources, and a false error is worse than a miss.
fn pvc_spec<'v>(m: &'v Map<String, Value>, w: &mut Walker<'_, 'v>) {
    if w.kind == "StatefulSet" {
        return;
    }
    let modes = m.get("accessModes").and_then(Value::as_array);
    // The server names the list, not the item (`spec.accessModes: Unsupported value: ...`).
    const MODES: &[&str] = &[
        "ReadOnlyMany",
        "ReadWriteMany",
        "ReadWriteOnce",
        "ReadWriteOncePod",
    ];
    for (i, mode) in modes.into_iter().flatten().enumerate() {
        if let Some(s) = mode.as_str()
            && !MODES.contains(&s)
            && !w.pending(mode)
        {
            w.report_as(
                &[Seg::Key("accessModes"), Seg::Index(i)],
                Code::InvalidValue,
                false,
                format!(
                    "{}: Unsupported value: {}: supported values: {}",
                    w.here_with("accessModes"),
                    w.quote(s),
                    supported(MODES)
                ),
                "not an access mode",
            );
        }
    }
    if modes.is_none_or(|a| a.is_empty()) {
        w.report(
            &[Seg::Key("accessModes")],
            Code::MissingRequiredField,
            modes.is_none(),
            "Required value: at least 1 access mode is required",
            "no access mode",
        );
    }
    let storage = m
        .get("resources")
        .and_then(|r| r.get("requests"))
        .and_then(|r| r.get("storage"));
    if storage.is_none() {
        w.report_as(
            &[Seg::Key("resources")],
            Code::MissingRequiredField,
            true,
            format!("{}: Required value", w.here_with("resources[storage]")),
            "no storage request",
        );
    }
}

// ------------------------------------------------------------------------ workloads

/// A non-string value as the server prints it in a message: `json.Marshal` since Kubernetes
/// 1.34 (`{"app":"web"}`, `null`).
fn go_json(v: Option<&Map<String, Value>>) -> String {
    match v {
        None => "null".to_string(),
        Some(m) => serde_json::to_string(m).unwrap_or_default(),
    }
}

/// `ValidateDeploymentSpec`, `ValidateReplicaSetSpec`, `ValidateStatefulSetSpec`,
/// `ValidateDaemonSetSpec` with `ValidatePodTemplateSpecForReplicaSet` (pkg/apis/apps/
/// validation): a non-empty selector that matches the template's labels, and a template that
/// restarts `Always`.
fn replicated<'v>(what: &str, m: &'v Map<String, Value>, w: &mut Walker<'_, 'v>) {
    let template = m.get("template").and_then(Value::as_object);
    // An absent selector: the schema requires it, and the walk says so.
    if let Some(Value::Object(sel)) = m.get("selector") {
        let empty = sel
            .get("matchLabels")
            .and_then(Value::as_object)
            .is_none_or(|x| x.is_empty())
            && sel
                .get("matchExpressions")
                .and_then(Value::as_array)
                .is_none_or(|x| x.is_empty());
        if empty {
            w.report(
                &[Seg::Key("selector")],
                Code::InvalidValue,
                false,
                &format!("Invalid value: {{}}: empty selector is invalid for {what}"),
                "matches everything",
            );
        } else if let Some(t) = template
            && !substitution_pending(w, sel)
        {
            let labels = t
                .get("metadata")
                .and_then(|md| md.get("labels"))
                .and_then(Value::as_object);
            if !labels.is_some_and(|l| l.values().any(|v| w.pending(v))) && !selects(sel, labels) {
                let at: &[Seg] = if labels.is_some() {
                    &[
                        Seg::Key("template"),
                        Seg::Key("metadata"),
                        Seg::Key("labels"),
                    ]
                } else {
                    &[Seg::Key("template")]
                };
                w.report_as(
                    at,
                    Code::InvalidValue,
                    labels.is_none(),
                    format!(
                        "{}: Invalid value: {}: `selector` does not match template `labels`",
                        w.here_with("template.metadata.labels"),
                        go_json(labels)
                    ),
                    "not matched by spec.selector",
                );
            }
        }
    }
    if let Some(v) = template
        .and_then(|t| t.get("spec"))
        .and_then(|s| s.get("restartPolicy"))
        && !w.pending(v)
        && let Some(policy) = v.as_str()
        && policy != "Always"
        && !policy.is_empty()
    {
        w.report(
            &[
                Seg::Key("template"),
                Seg::Key("spec"),
                Seg::Key("restartPolicy"),
            ],
            Code::InvalidValue,
            false,
            &format!(
                "Unsupported value: {}: supported values: {}",
                w.quote(policy),
                supported(&["Always"])
            ),
            "must be Always",
        );
    }
}

/// Whether a label selector (`matchLabels`, `matchExpressions`) selects these labels, without
/// building anything (it runs for every workload). An operator it does not know selects: the
/// schema walk reports that.
fn selects(sel: &Map<String, Value>, labels: Option<&Map<String, Value>>) -> bool {
    let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    if let Some(Value::Object(want)) = sel.get("matchLabels")
        && want.iter().any(|(k, v)| label(k) != v.as_str())
    {
        return false;
    }
    let Some(Value::Array(exprs)) = sel.get("matchExpressions") else {
        return true;
    };
    exprs.iter().all(|e| {
        let key = e.get("key").and_then(Value::as_str).unwrap_or("");
        let has = label(key);
        let listed = |v: &str| {
            e.get("values")
                .and_then(Value::as_array)
                .is_some_and(|vs| vs.iter().any(|x| x.as_str() == Some(v)))
        };
        match e.get("operator").and_then(Value::as_str).unwrap_or("") {
            "In" => has.is_some_and(listed),
            "NotIn" => !has.is_some_and(listed),
            "Exists" => has.is_some(),
            "DoesNotExist" => has.is_none(),
            _ => true,
        }
    })
}

fn substitution_pending(w: &Walker, sel: &Map<String, Value>) -> bool {
    fn any(w: &Walker, v: &Value) -> bool {
        match v {
            Value::String(_) => w.pending(v),
            Value::Array(a) => a.iter().any(|x| any(w, x)),
            Value::Object(o) => o.values().any(|x| any(w, x)),
            _ => false,
        }
    }
    sel.values().any(|v| any(w, v))
}

/// `validateJobPodTemplateSpec` (pkg/apis/batch/validation): a Job's Pods restart `OnFailure`
/// or `Never`; an unset policy is defaulted to `Always`, which the server then refuses.
fn job_spec<'v>(m: &'v Map<String, Value>, w: &mut Walker<'_, 'v>) {
    let Some(spec) = m
        .get("template")
        .and_then(|t| t.get("spec"))
        .and_then(Value::as_object)
    else {
        return;
    };
    let valid = ["OnFailure", "Never"];
    match spec.get("restartPolicy") {
        Some(v) if w.pending(v) => {}
        Some(Value::String(p)) if valid.contains(&p.as_str()) => {}
        Some(Value::String(p)) if !p.is_empty() && p != "Always" => {
            let what = format!(
                "Unsupported value: {}: supported values: {}",
                w.quote(p),
                supported(&valid)
            );
            w.report(
                &[
                    Seg::Key("template"),
                    Seg::Key("spec"),
                    Seg::Key("restartPolicy"),
                ],
                Code::InvalidValue,
                false,
                &what,
                "a Job's Pods restart OnFailure or Never",
            );
        }
        found => {
            let what = format!("Required value: valid values: {}", supported(&valid));
            let at: &[Seg] = if found.is_some() {
                &[
                    Seg::Key("template"),
                    Seg::Key("spec"),
                    Seg::Key("restartPolicy"),
                ]
            } else {
                &[Seg::Key("template"), Seg::Key("spec")]
            };
            w.report_as(
                at,
                Code::MissingRequiredField,
                found.is_none(),
                format!("{}: {what}", w.here_with("template.spec.restartPolicy")),
                "a Job's Pods restart OnFailure or Never",
            );
        }
    }
}

// ------------------------------------------------------------------------ RBAC

/// `ValidateRoleBinding` / `ValidateClusterRoleBinding` with `ValidateRoleBindingSubject`
/// (pkg/apis/rbac/validation): the role reference's kind and group, and each subject's kind,
/// group and (for a ServiceAccount in a ClusterRoleBinding) namespace.
fn role_binding<'v>(m: &'v Map<String, Value>, w: &mut Walker<'_, 'v>, namespaced: bool) {
    if let Some(Value::Object(role)) = m.get("roleRef") {
        let kinds: &[&str] = if namespaced {
            &["Role", "ClusterRole"]
        } else {
            &["ClusterRole"]
        };
        if let Some(k) = text(role, "kind")
            && !kinds.contains(&k)
            && !w.pending(&role["kind"])
        {
            let what = format!(
                "Unsupported value: {}: supported values: {}",
                w.quote(k),
                supported(kinds)
            );
            w.report(
                &[Seg::Key("roleRef"), Seg::Key("kind")],
                Code::InvalidValue,
                false,
                &what,
                "not a role kind",
            );
        }
        // An empty group is defaulted to RBAC's (`SetDefaults_RoleBinding`).
        if let Some(g) = text(role, "apiGroup")
            && g != RBAC_GROUP
            && !g.is_empty()
            && !w.pending(&role["apiGroup"])
        {
            let what = format!(
                "Unsupported value: {}: supported values: {}",
                w.quote(g),
                supported(&[RBAC_GROUP])
            );
            w.report(
                &[Seg::Key("roleRef"), Seg::Key("apiGroup")],
                Code::InvalidValue,
                false,
                &what,
                "not the RBAC group",
            );
        }
    }
    let Some(Value::Array(subjects)) = m.get("subjects") else {
        return;
    };
    for (i, s) in subjects.iter().enumerate() {
        let Some(s) = s.as_object() else { continue };
        if s.values().any(|v| w.pending(v)) {
            continue;
        }
        let at = |f: &'static str| [Seg::Key("subjects"), Seg::Index(i), Seg::Key(f)];
        let group = text(s, "apiGroup").unwrap_or("");
        match text(s, "kind").unwrap_or("") {
            "ServiceAccount" => {
                if !group.is_empty() {
                    let what = format!(
                        "Unsupported value: {}: supported values: {}",
                        w.quote(group),
                        supported(&[""])
                    );
                    w.report(
                        &at("apiGroup"),
                        Code::InvalidValue,
                        false,
                        &what,
                        "a ServiceAccount has no API group",
                    );
                }
                if !namespaced && text(s, "namespace").unwrap_or("").is_empty() {
                    w.report_as(
                        &[Seg::Key("subjects"), Seg::Index(i)],
                        Code::MissingRequiredField,
                        false,
                        format!("subjects[{i}].namespace: Required value"),
                        "a ServiceAccount subject of a ClusterRoleBinding names its namespace",
                    );
                }
            }
            "User" | "Group" => {
                if !group.is_empty() && group != RBAC_GROUP {
                    let what = format!(
                        "Unsupported value: {}: supported values: {}",
                        w.quote(group),
                        supported(&[RBAC_GROUP])
                    );
                    w.report(
                        &at("apiGroup"),
                        Code::InvalidValue,
                        false,
                        &what,
                        "not the RBAC group",
                    );
                }
            }
            other => {
                let what = format!(
                    "Unsupported value: {}: supported values: {}",
                    w.quote(other),
                    supported(&["ServiceAccount", "User", "Group"])
                );
                w.report(
                    &at("kind"),
                    Code::InvalidValue,
                    false,
                    &what,
                    "not a subject kind",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_keys_as_apimachinery_judges_them() {
        assert!(config_key("app.properties").is_empty());
        assert!(config_key("KEY_NAME-1").is_empty());
        assert_eq!(config_key("a b").len(), 1);
        assert_eq!(config_key(".."), vec!["must not be '..'".to_string()]);
        assert_eq!(
            config_key("..x"),
            vec!["must not start with '..'".to_string()]
        );
        assert_eq!(config_key(&"a".repeat(254)).len(), 1);
    }

    #[test]
    fn selectors_match_labels_as_the_server_does() {
        let map = |t: &str| serde_json::from_str::<Map<String, Value>>(t).unwrap();
        let labels = map(r#"{"app":"web","tier":"front"}"#);
        assert!(selects(
            &map(r#"{"matchLabels":{"app":"web"}}"#),
            Some(&labels)
        ));
        assert!(!selects(
            &map(r#"{"matchLabels":{"app":"api"}}"#),
            Some(&labels)
        ));
        assert!(!selects(&map(r#"{"matchLabels":{"app":"web"}}"#), None));
        let expr = |op: &str, values: &str| {
            map(&format!(
                r#"{{"matchExpressions":[{{"key":"tier","operator":"{op}","values":{values}}}]}}"#
            ))
        };
        assert!(selects(&expr("In", r#"["front","back"]"#), Some(&labels)));
        assert!(!selects(&expr("NotIn", r#"["front"]"#), Some(&labels)));
        assert!(selects(&expr("Exists", "[]"), Some(&labels)));
        assert!(!selects(&expr("DoesNotExist", "[]"), Some(&labels)));
    }

    #[test]
    fn values_print_as_json_with_sorted_keys() {
        let m: Map<String, Value> = serde_json::from_str(r#"{"tier":"web","app":"shop"}"#).unwrap();
        assert_eq!(go_json(Some(&m)), r#"{"app":"shop","tier":"web"}"#);
        assert_eq!(go_json(None), "null");
    }

    #[test]
    fn port_names_as_iana_service_names() {
        assert!(port_name("http").is_empty());
        assert!(port_name("web-8080").is_empty());
        assert_eq!(
            port_name("8080"),
            vec!["must contain at least one letter (a-z)"]
        );
        assert_eq!(
            port_name("a--b"),
            vec!["must not contain consecutive hyphens"]
        );
        assert_eq!(
            port_name("-ab"),
            vec!["must not begin or end with a hyphen"]
        );
        assert_eq!(port_name("abcdefghijklmnop").len(), 1);
        assert_eq!(
            port_name("Http_1"),
            vec!["must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"]
        );
    }
}
