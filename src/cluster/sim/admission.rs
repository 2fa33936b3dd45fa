//! What the API server refuses and fills in: immutable fields (with the server's own messages),
//! invalid pod templates and selectors, defaults of new objects that matter to status and drift,
//! and when `metadata.generation` moves.

use super::SimCluster;
use crate::cluster::ApiError;
use crate::object::ObjectKey;
use crate::util::Pointer;
use serde_json::{Value, json};

fn compact(v: &Value) -> String {
    v.to_string()
}

fn invalid(key: &ObjectKey, errors: Vec<String>) -> ApiError {
    let head = format!("The {} \"{}\" is invalid:", key.kind, key.name);
    if errors.len() == 1 {
        ApiError::invalid(format!("{head} {}", errors[0]))
    } else {
        ApiError::invalid(format!(
            "{head}\n{}",
            errors
                .iter()
                .map(|e| format!("* {e}"))
                .collect::<Vec<_>>()
                .join("\n")
        ))
    }
}

fn pod_spec_pointer(key: &ObjectKey) -> Option<&'static str> {
    match (key.group.as_str(), key.kind.as_str()) {
        ("", "Pod") => Some("/spec"),
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
        | ("batch", "Job")
        | ("", "ReplicationController") => Some("/spec/template/spec"),
        ("batch", "CronJob") => Some("/spec/jobTemplate/spec/template/spec"),
        _ => None,
    }
}

fn template_pointer(spec: &str) -> String {
    spec.strip_suffix("/spec").unwrap_or(spec).to_string()
}

/// Checks a new state of an object against the old one.
pub fn validate(key: &ObjectKey, old: Option<&Value>, new: &Value) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if let Some(spec) = pod_spec_pointer(key) {
        let base = spec.trim_start_matches('/').replace('/', ".");
        for list in ["initContainers", "containers"] {
            for (i, c) in new
                .at(&format!("{spec}/{list}"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                if c.get("image")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    errors.push(format!("{base}.{list}[{i}].image: Required value"));
                }
                if c.get("name")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    errors.push(format!("{base}.{list}[{i}].name: Required value"));
                }
            }
        }
        if key.kind != "Pod" && key.kind != "CronJob" && key.kind != "Job" {
            let selector = new
                .at("/spec/selector/matchLabels")
                .and_then(Value::as_object);
            let labels = new
                .at(&format!("{}/metadata/labels", template_pointer(spec)))
                .and_then(Value::as_object);
            if let Some(sel) = selector
                && !sel
                    .iter()
                    .all(|(k, v)| labels.is_some_and(|l| l.get(k) == Some(v)))
            {
                errors.push(format!(
                        "spec.template.metadata.labels: Invalid value: {}: `selector` does not match template `labels`",
                        compact(&labels.map(|l| Value::Object(l.clone())).unwrap_or(json!({})))
                    ));
            }
        }
    }
    if let Some(old) = old {
        errors.extend(immutable_changes(key, old, new));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(invalid(key, errors))
    }
}

/// The fields the API server refuses to change, with its messages.
pub fn immutable_changes(key: &ObjectKey, old: &Value, new: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let differs = |p: &str| old.at(p) != new.at(p);
    match (key.group.as_str(), key.kind.as_str()) {
        ("apps", "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet")
            if differs("/spec/selector") =>
        {
            errors.push(format!(
                "spec.selector: Invalid value: {}: field is immutable",
                compact(new.at("/spec/selector").unwrap_or(&Value::Null))
            ));
        }
        _ => {}
    }
    if key.group == "apps" && key.kind == "StatefulSet" {
        let strip = |v: &Value| {
            let mut s = v.get("spec").cloned().unwrap_or(Value::Null);
            if let Some(m) = s.as_object_mut() {
                for k in [
                    "replicas",
                    "ordinals",
                    "template",
                    "updateStrategy",
                    "persistentVolumeClaimRetentionPolicy",
                    "minReadySeconds",
                    "selector",
                ] {
                    m.remove(k);
                }
            }
            s
        };
        if strip(old) != strip(new) {
            errors.push("spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden".into());
        }
    }
    if key.group == "batch" && key.kind == "Job" {
        if differs("/spec/template") {
            errors.push(format!(
                "spec.template: Invalid value: {}: field is immutable",
                super::internal::pod_template(new.at("/spec/template").unwrap_or(&Value::Null))
            ));
        }
        if differs("/spec/selector") {
            errors.push(format!(
                "spec.selector: Invalid value: {}: field is immutable",
                compact(new.at("/spec/selector").unwrap_or(&Value::Null))
            ));
        }
    }
    if key.group.is_empty() && key.kind == "Service" {
        let ip = |v: &Value| {
            v.at("/spec/clusterIP")
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        if let (Some(o), Some(n)) = (ip(old), ip(new))
            && o != n
        {
            errors.push(format!(
                "spec.clusterIPs[0]: Invalid value: [\"{n}\"]: may not change once set"
            ));
        }
    }
    if key.group.is_empty() && key.kind == "PersistentVolumeClaim" {
        let strip = |v: &Value| {
            let mut s = v.get("spec").cloned().unwrap_or(Value::Null);
            if let Some(m) = s.as_object_mut() {
                m.remove("volumeAttributesClassName");
                if let Some(Value::Object(r)) = m.get_mut("resources") {
                    r.remove("requests");
                }
            }
            s
        };
        let bound = old.at("/status/phase").and_then(Value::as_str) == Some("Bound");
        let changed = if bound {
            strip(old) != strip(new)
        } else {
            old.get("spec") != new.get("spec")
        };
        if changed {
            // The server shows what changed: a diff of the internal specs.
            let diff = super::internal::unified_diff(
                &super::internal::pvc_spec(old.get("spec")),
                &super::internal::pvc_spec(new.get("spec")),
            );
            errors.push(format!("spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n{}", diff.trim_end_matches('\n')));
        }
    }
    if key.group.is_empty()
        && (key.kind == "ConfigMap" || key.kind == "Secret")
        && old.get("immutable") == Some(&json!(true))
    {
        if new.get("immutable") != Some(&json!(true)) {
            errors.push("immutable: Forbidden: field is immutable when `immutable` is set".into());
        } else if old.get("data") != new.get("data")
            || old.get("binaryData") != new.get("binaryData")
        {
            errors.push("data: Forbidden: field is immutable when `immutable` is set".into());
        }
    }
    if key.group == "apiextensions.k8s.io" && key.kind == "CustomResourceDefinition" {
        if differs("/spec/scope") {
            errors.push(format!(
                "spec.scope: Invalid value: {}: field is immutable",
                compact(new.at("/spec/scope").unwrap_or(&Value::Null))
            ));
        }
        if differs("/spec/group") {
            errors.push(format!(
                "spec.group: Invalid value: {}: field is immutable",
                compact(new.at("/spec/group").unwrap_or(&Value::Null))
            ));
        }
        if differs("/spec/names/plural") || differs("/spec/names/kind") {
            errors.push("status.storedVersions: Invalid value: the names of a CustomResourceDefinition cannot change".into());
        }
    }
    errors
}

/// Whether objects of a kind carry `metadata.generation`: custom resources and the kinds whose
/// API strategy sets it (workloads, CRDs, policies...). Plain data (ConfigMap, Secret, Service,
/// RBAC, storage classes) has none.
pub fn has_generation(key: &ObjectKey) -> bool {
    match key.group.as_str() {
        "" => matches!(key.kind.as_str(), "Pod" | "ReplicationController"),
        "rbac.authorization.k8s.io"
        | "storage.k8s.io"
        | "coordination.k8s.io"
        | "certificates.k8s.io"
        | "discovery.k8s.io"
        | "scheduling.k8s.io"
        | "node.k8s.io"
        | "events.k8s.io" => false,
        _ => true,
    }
}

/// Whether an update moves `metadata.generation`: any change outside metadata and status, and
/// for a Deployment a change of annotations too (as the apps strategy does). A kind without a
/// status subresource counts status as part of the object.
pub fn bumps_generation(
    key: &ObjectKey,
    old: &Value,
    new: &Value,
    status_subresource: bool,
) -> bool {
    let body = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v.as_object_mut() {
            m.remove("metadata");
            if status_subresource {
                m.remove("status");
            }
            m.remove("apiVersion");
            m.remove("kind");
        }
        v
    };
    if body(old) != body(new) {
        return true;
    }
    if key.group == "apps"
        && key.kind == "Deployment"
        && old.at("/metadata/annotations") != new.at("/metadata/annotations")
    {
        return true;
    }
    false
}

fn set_default(obj: &mut Value, field: &str, value: Value) {
    if let Some(m) = obj.as_object_mut() {
        m.entry(field).or_insert(value);
    }
}

/// `imagePullPolicy`'s default: `Always` for `:latest` or an untagged image, else `IfNotPresent`.
fn pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rsplit_once(':') {
        Some((_, "latest")) | None => "Always",
        Some(_) => "IfNotPresent",
    }
}

/// The API server's defaults of a PodSpec and its containers.
fn default_pod_spec(spec: &mut Value, restart: Option<&str>) {
    if !spec.is_object() {
        return;
    }
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    if let Some(r) = restart {
        set_default(spec, "restartPolicy", json!(r));
    }
    set_default(spec, "schedulerName", json!("default-scheduler"));
    set_default(spec, "securityContext", json!({}));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    for list in ["initContainers", "containers"] {
        let Some(Value::Array(cs)) = spec.get_mut(list) else {
            continue;
        };
        for c in cs.iter_mut().filter(|c| c.is_object()) {
            let image = c
                .get("image")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if !image.is_empty() {
                set_default(c, "imagePullPolicy", json!(pull_policy(&image)));
            }
            set_default(c, "resources", json!({}));
            set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
            set_default(c, "terminationMessagePolicy", json!("File"));
            if let Some(Value::Array(ports)) = c.get_mut("ports") {
                for p in ports.iter_mut() {
                    set_default(p, "protocol", json!("TCP"));
                }
            }
        }
    }
}

/// Defaults the API server fills in on every write (what it would store for this
/// configuration), and what it carries over from the stored object (an allocated clusterIP, a
/// Job's generated selector). Full defaulting of every kind is not done: these are the defaults
/// that status, drift and the recorded scenarios depend on.
pub fn defaults(sim: &mut SimCluster, key: &ObjectKey, old: Option<&Value>, obj: &mut Value) {
    match (key.group.as_str(), key.kind.as_str()) {
        ("apps", "Deployment") => {
            let spec = &mut obj["spec"];
            set_default(spec, "replicas", json!(1));
            set_default(spec, "revisionHistoryLimit", json!(10));
            set_default(spec, "progressDeadlineSeconds", json!(600));
            set_default(spec, "strategy", json!({"type": "RollingUpdate"}));
            let strategy = &mut spec["strategy"];
            set_default(strategy, "type", json!("RollingUpdate"));
            if strategy.get("type") == Some(&json!("RollingUpdate")) {
                set_default(strategy, "rollingUpdate", json!({}));
                set_default(&mut strategy["rollingUpdate"], "maxSurge", json!("25%"));
                set_default(
                    &mut strategy["rollingUpdate"],
                    "maxUnavailable",
                    json!("25%"),
                );
            }
            default_pod_spec(&mut spec["template"]["spec"], Some("Always"));
        }
        ("apps", "StatefulSet") => {
            let spec = &mut obj["spec"];
            set_default(spec, "replicas", json!(1));
            set_default(spec, "podManagementPolicy", json!("OrderedReady"));
            set_default(spec, "revisionHistoryLimit", json!(10));
            set_default(
                spec,
                "updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
            );
            set_default(
                spec,
                "persistentVolumeClaimRetentionPolicy",
                json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
            );
            default_pod_spec(&mut spec["template"]["spec"], Some("Always"));
        }
        ("apps", "DaemonSet") => {
            let spec = &mut obj["spec"];
            set_default(spec, "revisionHistoryLimit", json!(10));
            set_default(
                spec,
                "updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}),
            );
            default_pod_spec(&mut spec["template"]["spec"], Some("Always"));
        }
        ("apps", "ReplicaSet") => {
            default_pod_spec(&mut obj["spec"]["template"]["spec"], Some("Always"))
        }
        ("", "Pod") => default_pod_spec(&mut obj["spec"], Some("Always")),
        ("batch", "CronJob") => {
            let spec = &mut obj["spec"];
            set_default(spec, "concurrencyPolicy", json!("Allow"));
            set_default(spec, "suspend", json!(false));
            set_default(spec, "successfulJobsHistoryLimit", json!(3));
            set_default(spec, "failedJobsHistoryLimit", json!(1));
            default_pod_spec(&mut spec["jobTemplate"]["spec"]["template"]["spec"], None);
        }
        ("", "Service") => {
            let spec = &mut obj["spec"];
            set_default(spec, "type", json!("ClusterIP"));
            set_default(spec, "sessionAffinity", json!("None"));
            let external_name = spec.get("type") == Some(&json!("ExternalName"));
            if !external_name {
                set_default(spec, "internalTrafficPolicy", json!("Cluster"));
            }
            if let Some(Value::Array(ports)) = spec.get_mut("ports") {
                for p in ports.iter_mut() {
                    set_default(p, "protocol", json!("TCP"));
                    if let Some(port) = p.get("port").cloned() {
                        set_default(p, "targetPort", port);
                    }
                }
            }
            // The allocated address stays when a configuration stops naming it.
            if spec.get("clusterIP").is_none() && !external_name {
                let kept = old.and_then(|o| o.at("/spec/clusterIP")).cloned();
                let ip = match kept {
                    Some(ip) => ip,
                    None => json!(sim.allocate_ip()),
                };
                spec["clusterIP"] = ip.clone();
                spec["clusterIPs"] = json!([ip]);
            } else if let Some(ip) = spec.get("clusterIP").cloned() {
                set_default(spec, "clusterIPs", json!([ip]));
            }
            if !external_name {
                set_default(spec, "ipFamilies", json!(["IPv4"]));
                set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
            }
        }
        ("batch", "Job") => {
            let uid = match old {
                Some(o) => o
                    .at("/metadata/uid")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                None => sim.peek_uid(),
            };
            let name = key.name.clone();
            let spec = &mut obj["spec"];
            set_default(spec, "backoffLimit", json!(6));
            set_default(spec, "completionMode", json!("NonIndexed"));
            set_default(spec, "completions", json!(1));
            set_default(spec, "parallelism", json!(1));
            set_default(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
            set_default(spec, "suspend", json!(false));
            let manual = spec.get("manualSelector") == Some(&json!(true));
            if !manual {
                set_default(spec, "manualSelector", json!(false));
                // The generated selector and labels, kept from the stored Job on updates.
                match old.and_then(|o| o.at("/spec/selector")) {
                    Some(sel) => spec["selector"] = sel.clone(),
                    None => {
                        spec["selector"] =
                            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
                    }
                }
                let labels = &mut spec["template"]["metadata"]["labels"];
                if !labels.is_object() {
                    *labels = json!({});
                }
                for (k, v) in [
                    ("batch.kubernetes.io/controller-uid", &uid),
                    ("batch.kubernetes.io/job-name", &name),
                    ("controller-uid", &uid),
                    ("job-name", &name),
                ] {
                    set_default(labels, k, json!(v));
                }
            }
            default_pod_spec(&mut spec["template"]["spec"], None);
        }
        ("", "Secret") => {
            set_default(obj, "type", json!("Opaque"));
            // `stringData` is write-only: merged into `data`, base64-encoded.
            if let Some(Value::Object(sd)) =
                obj.as_object_mut().and_then(|m| m.remove("stringData"))
            {
                let data = &mut obj["data"];
                if !data.is_object() {
                    *data = json!({});
                }
                for (k, v) in sd {
                    data[k] = json!(crate::util::base64_encode(
                        v.as_str().unwrap_or("").as_bytes()
                    ));
                }
            }
        }
        ("", "PersistentVolumeClaim") => {
            set_default(&mut obj["spec"], "volumeMode", json!("Filesystem"));
        }
        ("", "Namespace") => {
            let labels = &mut obj["metadata"]["labels"];
            if !labels.is_object() {
                *labels = json!({});
            }
            set_default(labels, "kubernetes.io/metadata.name", json!(key.name));
        }
        _ => {}
    }
}
