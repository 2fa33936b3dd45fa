//! Readiness as kstatus computes it (sigs.k8s.io/cli-utils `pkg/kstatus/status.Compute`), rule
//! for rule: deletion, observed generation, `Reconciling`/`Stalled` conditions, the rules of the
//! built-in kinds, the `Ready` condition, and Current for everything else. Flux, cli-utils, kpt
//! and Helm's watcher all read readiness this way; so does kiln's apply engine.

use crate::util::Pointer;
use serde_json::Value;
use std::fmt;

/// A kstatus status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Status {
    InProgress,
    Failed,
    Current,
    Terminating,
    NotFound,
    Unknown,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::InProgress => "InProgress",
            Status::Failed => "Failed",
            Status::Current => "Current",
            Status::Terminating => "Terminating",
            Status::NotFound => "NotFound",
            Status::Unknown => "Unknown",
        })
    }
}

/// The words kiln's reports and scenario expectations share for where an object stands after
/// an apply: the kstatus statuses, plus `Skipped` (not applied: something it waits for failed)
/// and `Error` (the API server refused it). `kiln sim` counts objects by these words and a
/// scenario's `status:` expectation takes the same ones (case does not matter).
pub const WORDS: &[&str] = &[
    "Current",
    "InProgress",
    "Failed",
    "Terminating",
    "NotFound",
    "Skipped",
    "Error",
];

/// The canonical spelling of a status word, whatever its case.
pub fn word(text: &str) -> Option<&'static str> {
    WORDS.iter().copied().find(|w| w.eq_ignore_ascii_case(text))
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Status, String> {
        Ok(match word(s) {
            Some("Current") => Status::Current,
            Some("InProgress") => Status::InProgress,
            Some("Failed") => Status::Failed,
            Some("Terminating") => Status::Terminating,
            Some("NotFound") => Status::NotFound,
            _ => return Err(format!("`{s}` is not a kstatus status")),
        })
    }
}

/// What `Compute` says: a status, a message, and the reason of the condition it would report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Result {
    pub status: Status,
    pub message: String,
    pub reason: String,
}

fn current(message: impl Into<String>) -> Result {
    Result {
        status: Status::Current,
        message: message.into(),
        reason: String::new(),
    }
}

fn in_progress(reason: &str, message: impl Into<String>) -> Result {
    Result {
        status: Status::InProgress,
        message: message.into(),
        reason: reason.into(),
    }
}

fn failed(reason: &str, message: impl Into<String>) -> Result {
    Result {
        status: Status::Failed,
        message: message.into(),
        reason: reason.into(),
    }
}

fn int(v: &Value, ptr: &str, default: i64) -> i64 {
    v.at(ptr).and_then(Value::as_i64).unwrap_or(default)
}

fn string<'v>(v: &'v Value, ptr: &str, default: &'v str) -> &'v str {
    v.at(ptr).and_then(Value::as_str).unwrap_or(default)
}

struct Condition<'v> {
    kind: &'v str,
    status: &'v str,
    reason: &'v str,
    message: &'v str,
}

fn conditions(v: &Value) -> Vec<Condition<'_>> {
    v.at("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| Condition {
            kind: c.get("type").and_then(Value::as_str).unwrap_or(""),
            status: c.get("status").and_then(Value::as_str).unwrap_or(""),
            reason: c.get("reason").and_then(Value::as_str).unwrap_or(""),
            message: c.get("message").and_then(Value::as_str).unwrap_or(""),
        })
        .collect()
}

/// The status of an object (`None`: not found).
pub fn compute(obj: Option<&Value>) -> Result {
    let Some(v) = obj else {
        return Result {
            status: Status::NotFound,
            message: "Resource not found".into(),
            reason: String::new(),
        };
    };
    if v.at("/metadata/deletionTimestamp")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
    {
        return Result {
            status: Status::Terminating,
            message: "Resource scheduled for deletion".into(),
            reason: String::new(),
        };
    }
    let kind = string(v, "/kind", "");
    if let (Some(g), Some(o)) = (
        v.at("/metadata/generation").and_then(Value::as_i64),
        v.at("/status/observedGeneration").and_then(Value::as_i64),
    ) && g != o
    {
        return in_progress(
            "LatestGenerationNotObserved",
            format!("{kind} generation is {g}, but latest observed generation is {o}"),
        );
    }
    for c in conditions(v) {
        if c.kind == "Reconciling" && c.status == "True" {
            return in_progress(c.reason, c.message);
        }
        if c.kind == "Stalled" && c.status == "True" {
            return failed(c.reason, c.message);
        }
    }
    let api = string(v, "/apiVersion", "");
    let group = api.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    match (group, kind) {
        ("", "ConfigMap" | "Secret") | ("batch", "CronJob") => current("Resource is always ready"),
        ("apps", "StatefulSet") => statefulset(v),
        ("apps" | "extensions", "Deployment") => deployment(v),
        ("apps" | "extensions", "ReplicaSet") => replicaset(v),
        ("apps" | "extensions", "DaemonSet") => daemonset(v),
        ("", "PersistentVolumeClaim") => {
            let phase = string(v, "/status/phase", "unknown");
            if phase == "Bound" {
                current("PVC is Bound")
            } else {
                in_progress("NotBound", format!("PVC is not Bound. phase: {phase}"))
            }
        }
        ("", "Pod") => pod(v),
        ("policy", "PodDisruptionBudget") => current("AllowedDisruptions has been computed."),
        ("batch", "Job") => job(v),
        ("", "Service") => {
            if string(v, "/spec/type", "ClusterIP") == "LoadBalancer"
                && string(v, "/spec/clusterIP", "").is_empty()
            {
                in_progress(
                    "NoIPAssigned",
                    "ClusterIP not set. Service type: LoadBalancer",
                )
            } else {
                current("Service is ready")
            }
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd(v),
        _ => {
            for c in conditions(v) {
                if c.kind != "Ready" {
                    continue;
                }
                match c.status {
                    "True" => return current("Resource is Ready"),
                    "False" | "Unknown" => return in_progress(c.reason, c.message),
                    _ => {}
                }
            }
            current("Resource is current")
        }
    }
}

fn statefulset(v: &Value) -> Result {
    if string(v, "/spec/updateStrategy/type", "") == "OnDelete" {
        return current("StatefulSet is using the ondelete update strategy");
    }
    let spec = int(v, "/spec/replicas", 1);
    let ready = int(v, "/status/readyReplicas", 0);
    let current_n = int(v, "/status/currentReplicas", 0);
    let updated = int(v, "/status/updatedReplicas", 0);
    let status = int(v, "/status/replicas", 0);
    let partition = int(v, "/spec/updateStrategy/rollingUpdate/partition", -1);
    if spec > status {
        return in_progress("LessReplicas", format!("Replicas: {status}/{spec}"));
    }
    if spec > ready {
        return in_progress("LessReady", format!("Ready: {ready}/{spec}"));
    }
    if status > spec {
        return in_progress(
            "ExtraPods",
            format!("Pending termination: {}", status - spec),
        );
    }
    if partition != -1 {
        if updated < spec - partition {
            return in_progress(
                "PartitionRollout",
                format!("updated: {updated}/{}", spec - partition),
            );
        }
        return current(format!("Partition rollout complete. updated: {updated}"));
    }
    if spec > current_n {
        return in_progress("LessCurrent", format!("current: {current_n}/{spec}"));
    }
    if string(v, "/status/currentRevision", "") != string(v, "/status/updateRevision", "") {
        return in_progress(
            "RevisionMismatch",
            "Waiting for updated revision to match current",
        );
    }
    current(format!(
        "All replicas scheduled as expected. Replicas: {status}"
    ))
}

fn deployment(v: &Value) -> Result {
    let deadline = int(v, "/spec/progressDeadlineSeconds", i64::from(i32::MAX));
    let mut progressing = deadline == i64::from(i32::MAX);
    let mut available = false;
    for c in conditions(v) {
        match c.kind {
            "Progressing" => {
                if c.reason == "ProgressDeadlineExceeded" {
                    return failed(c.reason, "Progress deadline exceeded");
                }
                if c.status == "True" && c.reason == "NewReplicaSetAvailable" {
                    progressing = true;
                }
            }
            "Available" if c.status == "True" => available = true,
            _ => {}
        }
    }
    let spec = int(v, "/spec/replicas", 1);
    let status = int(v, "/status/replicas", 0);
    let updated = int(v, "/status/updatedReplicas", 0);
    let ready = int(v, "/status/readyReplicas", 0);
    let avail = int(v, "/status/availableReplicas", 0);
    if spec > status {
        return in_progress("LessReplicas", format!("Replicas: {status}/{spec}"));
    }
    if spec > updated {
        return in_progress("LessUpdated", format!("Updated: {updated}/{spec}"));
    }
    if status > spec {
        return in_progress(
            "ExtraPods",
            format!("Pending termination: {}", status - spec),
        );
    }
    if updated > avail {
        return in_progress("LessAvailable", format!("Available: {avail}/{updated}"));
    }
    if spec > ready {
        return in_progress("LessReady", format!("Ready: {ready}/{spec}"));
    }
    if !progressing {
        return in_progress("ReplicaSetNotAvailable", "ReplicaSet not Available");
    }
    if !available {
        return in_progress("DeploymentNotAvailable", "Deployment not Available");
    }
    current(format!("Deployment is available. Replicas: {status}"))
}

fn replicaset(v: &Value) -> Result {
    if conditions(v)
        .iter()
        .any(|c| c.kind == "ReplicaFailure" && c.status == "True")
    {
        return in_progress("ReplicaFailure", "Replica Failure condition. Check Pods");
    }
    let spec = int(v, "/spec/replicas", 1);
    let status = int(v, "/status/replicas", 0);
    let ready = int(v, "/status/readyReplicas", 0);
    let avail = int(v, "/status/availableReplicas", 0);
    let labelled = int(v, "/status/fullyLabeledReplicas", 0);
    if spec > labelled {
        return in_progress("LessLabelled", format!("Labelled: {labelled}/{spec}"));
    }
    if spec > avail {
        return in_progress("LessAvailable", format!("Available: {avail}/{spec}"));
    }
    if spec > ready {
        return in_progress("LessReady", format!("Ready: {ready}/{spec}"));
    }
    if status > spec {
        return in_progress(
            "ExtraPods",
            format!("Pending termination: {}", status - spec),
        );
    }
    current(format!("ReplicaSet is available. Replicas: {status}"))
}

fn daemonset(v: &Value) -> Result {
    let kind = string(v, "/kind", "");
    if v.at("/metadata/generation")
        .and_then(Value::as_i64)
        .is_none()
    {
        return in_progress(
            "NoGeneration",
            format!("{kind} metadata.generation not found"),
        );
    }
    if v.at("/status/observedGeneration")
        .and_then(Value::as_i64)
        .is_none()
    {
        return in_progress(
            "NoObservedGeneration",
            format!("{kind} status.observedGeneration not found"),
        );
    }
    let desired = int(v, "/status/desiredNumberScheduled", -1);
    let cur = int(v, "/status/currentNumberScheduled", 0);
    let upd = int(v, "/status/updatedNumberScheduled", 0);
    let avail = int(v, "/status/numberAvailable", 0);
    let ready = int(v, "/status/numberReady", 0);
    if desired == -1 {
        return in_progress("NoDesiredNumber", "Missing .status.desiredNumberScheduled");
    }
    if desired > cur {
        return in_progress("LessCurrent", format!("Current: {cur}/{desired}"));
    }
    if desired > upd {
        return in_progress("LessUpdated", format!("Updated: {upd}/{desired}"));
    }
    if desired > avail {
        return in_progress("LessAvailable", format!("Available: {avail}/{desired}"));
    }
    if desired > ready {
        return in_progress("LessReady", format!("Ready: {ready}/{desired}"));
    }
    current(format!(
        "All replicas scheduled as expected. Replicas: {desired}"
    ))
}

fn pod(v: &Value) -> Result {
    match string(v, "/status/phase", "") {
        "Succeeded" => current("Pod has completed successfully"),
        "Failed" => current("Pod has completed, but not successfully"),
        "Running" => {
            if conditions(v)
                .iter()
                .any(|c| c.kind == "Ready" && c.status == "True")
            {
                return current("Pod is Ready");
            }
            let crashing: Vec<&str> = v
                .at("/status/containerStatuses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|c| {
                    c.at("/state/waiting/reason").and_then(Value::as_str)
                        == Some("CrashLoopBackOff")
                })
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .collect();
            if !crashing.is_empty() {
                return failed(
                    "ContainerCrashLooping",
                    format!("Containers in CrashLoop state: {}", crashing.join(",")),
                );
            }
            in_progress("PodRunningNotReady", "Pod is running but is not Ready")
        }
        "Pending" => {
            // Unschedulable Pods: the simulator always schedules, so the 15 s window of
            // wall-clock time never applies.
            let unschedulable = conditions(v).iter().any(|c| {
                c.kind == "PodScheduled" && c.status == "False" && c.reason == "Unschedulable"
            });
            if unschedulable {
                return failed("PodUnschedulable", "Pod could not be scheduled");
            }
            in_progress("PodPending", "Pod is in the Pending phase")
        }
        "" => in_progress("PodNotObserved", "Pod phase not available"),
        other => Result {
            status: Status::Unknown,
            message: format!("unknown phase {other}"),
            reason: String::new(),
        },
    }
}

fn job(v: &Value) -> Result {
    let parallelism = int(v, "/spec/parallelism", 1);
    let completions = int(v, "/spec/completions", parallelism);
    let succeeded = int(v, "/status/succeeded", 0);
    let active = int(v, "/status/active", 0);
    let failed_n = int(v, "/status/failed", 0);
    let suspended = v
        .at("/spec/suspend")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    for c in conditions(v) {
        match c.kind {
            "Complete" if c.status == "True" => {
                return current(format!(
                    "Job Completed. succeeded: {succeeded}/{completions}"
                ));
            }
            "Failed" if c.status == "True" => {
                return failed(
                    "JobFailed",
                    format!("Job Failed. failed: {failed_n}/{completions}"),
                );
            }
            "Suspended" if c.status == "True" && suspended => return current("Job is suspended"),
            _ => {}
        }
    }
    if string(v, "/status/startTime", "").is_empty() {
        return in_progress("JobNotStarted", "Job not started");
    }
    current(format!(
        "Job in progress. success:{succeeded}, active: {active}, failed: {failed_n}"
    ))
}

fn crd(v: &Value) -> Result {
    for c in conditions(v) {
        if c.kind == "NamesAccepted" && c.status == "False" {
            return failed(c.reason, c.message);
        }
        if c.kind == "Established" {
            if c.status == "False" && c.reason != "Installing" {
                return failed(c.reason, c.message);
            }
            if c.status == "True" {
                return current("CRD is established");
            }
        }
    }
    in_progress("Installing", "Install in progress")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn st(v: Value) -> (Status, String) {
        let r = compute(Some(&v));
        (r.status, r.message)
    }

    #[test]
    fn generic_rules_come_first() {
        assert_eq!(st(json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"deletionTimestamp": "x"}})).0, Status::Terminating);
        assert_eq!(
            st(json!({"kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"generation": 2}, "status": {"observedGeneration": 1}})).1,
            "Deployment generation is 2, but latest observed generation is 1"
        );
        assert_eq!(
            st(
                json!({"kind": "Widget", "apiVersion": "x/v1", "status": {"conditions": [{"type": "Stalled", "status": "True", "message": "stuck"}]}})
            ),
            (Status::Failed, "stuck".into())
        );
        assert_eq!(
            st(json!({"kind": "Widget", "apiVersion": "x/v1"})),
            (Status::Current, "Resource is current".into())
        );
        assert_eq!(st(json!({"kind": "Widget", "apiVersion": "x/v1", "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "Wait", "message": "not yet"}]}})).0, Status::InProgress);
        assert_eq!(compute(None).status, Status::NotFound);
    }

    #[test]
    fn deployments() {
        assert_eq!(
            st(json!({"kind": "Deployment", "apiVersion": "apps/v1", "spec": {"replicas": 1}})),
            (Status::InProgress, "Replicas: 0/1".into())
        );
        let ok = json!({"kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"generation": 1}, "spec": {"replicas": 2, "progressDeadlineSeconds": 600},
            "status": {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2,
                "conditions": [{"type": "Available", "status": "True"}, {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}});
        assert_eq!(
            st(ok),
            (
                Status::Current,
                "Deployment is available. Replicas: 2".into()
            )
        );
        let stuck = json!({"kind": "Deployment", "apiVersion": "apps/v1", "spec": {"replicas": 2}, "status": {"conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}});
        assert_eq!(
            st(stuck),
            (Status::Failed, "Progress deadline exceeded".into())
        );
    }

    #[test]
    fn pods_jobs_claims_crds() {
        assert_eq!(
            st(json!({"kind": "Pod", "apiVersion": "v1", "status": {"phase": "Failed"}})).0,
            Status::Current
        );
        let crash = json!({"kind": "Pod", "apiVersion": "v1", "status": {"phase": "Running", "containerStatuses": [{"name": "a", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        assert_eq!(
            st(crash),
            (Status::Failed, "Containers in CrashLoop state: a".into())
        );
        assert_eq!(st(json!({"kind": "Job", "apiVersion": "batch/v1", "status": {"startTime": "t", "active": 1}})).1, "Job in progress. success:0, active: 1, failed: 0");
        assert_eq!(
            st(json!({"kind": "PersistentVolumeClaim", "apiVersion": "v1"})).1,
            "PVC is not Bound. phase: unknown"
        );
        assert_eq!(
            st(
                json!({"kind": "CustomResourceDefinition", "apiVersion": "apiextensions.k8s.io/v1"})
            ),
            (Status::InProgress, "Install in progress".into())
        );
    }
}
