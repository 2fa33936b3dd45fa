//! The one boundary between kiln and a cluster: the [`Cluster`] trait, small and synchronous,
//! with the API server's errors as values ([`ApiError`]). The simulator ([`sim`]) implements it
//! in memory and deterministically; [`kube`] implements it over the Kubernetes API. The
//! apply engine only ever talks to `&mut dyn Cluster`, so it runs unchanged on both.
//!
//! Nothing here orders objects or decides readiness: `graph` and `status` do.

#[cfg(feature = "kube")]
pub mod kube;
#[cfg(feature = "serve")]
pub mod serve;
pub mod sim;

use crate::object::ObjectKey;
use crate::util::Pointer;
use serde_json::Value;
use std::fmt;

/// What discovery says about a kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    pub group: String,
    pub version: String,
    pub kind: String,
    /// Lowercase plural (`deployments`).
    pub plural: String,
    pub namespaced: bool,
    /// Whether `status` is a subresource (then applies to the main resource ignore it).
    pub status_subresource: bool,
}

/// An error as the API server returns it: HTTP status, reason, message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub code: u16,
    /// `NotFound`, `Conflict`, `Invalid`, `Forbidden`, `AlreadyExists`, `BadRequest`,
    /// `InternalError`, `ServiceUnavailable`.
    pub reason: String,
    pub message: String,
    /// How long the server asked to wait before trying again (`Retry-After`, or a `Status`'s
    /// `details.retryAfterSeconds`), in seconds.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: u16, reason: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            reason: reason.into(),
            message: message.into(),
            retry_after: None,
        }
    }

    /// The same error with the server's `Retry-After`.
    pub fn with_retry_after(mut self, seconds: Option<u64>) -> ApiError {
        self.retry_after = seconds;
        self
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(404, "NotFound", message)
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(422, "Invalid", message)
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(409, "Conflict", message)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(403, "Forbidden", message)
    }

    /// Transient: worth retrying (429 Too Many Requests, and the 5xx answers a server or a
    /// proxy gives while it is busy or restarting; not 500, which a webhook's refusal is).
    pub fn is_transient(&self) -> bool {
        matches!(self.code, 429 | 502 | 503 | 504)
            || matches!(
                self.reason.as_str(),
                "ServerTimeout" | "Timeout" | "TooManyRequests"
            )
    }

    /// The managers a server-side apply conflict names (`conflict with "kubectl-edit" using
    /// v1: .spec.replicas`), in the order named, without repeats.
    pub fn conflicting_managers(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        if self.code != 409 || !self.message.starts_with("Apply failed") {
            return out;
        }
        // `conflict with "m" using v1: .a` per field, or `conflicts with "m" using v1:` once.
        for part in self.message.split(" with \"").skip(1) {
            if let Some((name, _)) = part.split_once('"')
                && !out.iter().any(|m| m == name)
            {
                out.push(name.to_string());
            }
        }
        out
    }
}

impl fmt::Display for ApiError {
    /// As kubectl prints a server error: `Error from server (NotFound): ...`. Invalid
    /// objects print their message alone, as kubectl does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason.as_str() {
            "Invalid" => f.write_str(&self.message),
            "Conflict" if self.message.starts_with("Apply failed") => {
                write!(f, "error: {}", self.message)
            }
            "" => write!(f, "Error from server: {}", self.message),
            r => write!(f, "Error from server ({r}): {}", self.message),
        }
    }
}

impl std::error::Error for ApiError {}

/// How to apply.
#[derive(Clone, Debug, Default)]
pub struct ApplyOptions {
    /// The field manager (`kiln`).
    pub manager: String,
    /// Take over fields other managers own (`--force-conflicts`).
    pub force: bool,
    /// Validate and compute the result without storing it.
    pub dry_run: bool,
}

/// What happens to an object's dependents when it is deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Propagation {
    #[default]
    Background,
    Foreground,
    Orphan,
}

#[derive(Clone, Debug, Default)]
pub struct DeleteOptions {
    pub propagation: Propagation,
    pub dry_run: bool,
    /// Delete only the object with this uid (not one created again under the same name
    /// since it was read): a 409 otherwise, as the API server's preconditions.
    pub uid: Option<String>,
    /// Delete only at this resourceVersion.
    pub resource_version: Option<String>,
}

/// A point in (possibly virtual) time, in milliseconds since the Unix epoch.
pub type Millis = u64;

/// One boundary between kiln and a cluster.
pub trait Cluster {
    /// The kind's resource, if the server serves it (CRDs once Established).
    fn resource(&mut self, api_version: &str, kind: &str) -> Option<Resource>;

    /// The live object, `Ok(None)` when it does not exist.
    fn get(&mut self, key: &ObjectKey) -> Result<Option<Value>, ApiError>;

    /// Several live objects, at most `concurrency` reads in flight (the default reads them
    /// one by one), in the order of `keys`.
    fn get_all(
        &mut self,
        keys: &[&ObjectKey],
        concurrency: usize,
    ) -> Vec<Result<Option<Value>, ApiError>> {
        let _ = concurrency;
        keys.iter().map(|k| self.get(k)).collect()
    }

    /// Live objects of a kind (optionally in one namespace), by a label selector
    /// (`a=b,c in (d)`; empty selects everything), ordered by namespace and name.
    fn list(
        &mut self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        selector: &str,
    ) -> Result<Vec<Value>, ApiError>;

    /// Server-side apply of `object` (a full desired state for `options.manager`); the stored
    /// result.
    fn apply(&mut self, object: &Value, options: &ApplyOptions) -> Result<Value, ApiError>;

    /// Server-side applies of several objects at once, at most `concurrency` in flight (a
    /// backend that can send them in parallel does; the default applies them one by one).
    /// Results are in the order of `objects`.
    fn apply_all(
        &mut self,
        objects: &[&Value],
        options: &ApplyOptions,
        concurrency: usize,
    ) -> Vec<Result<Value, ApiError>> {
        let _ = concurrency;
        objects.iter().map(|o| self.apply(o, options)).collect()
    }

    /// Deletes an object. `Ok(false)` when it did not exist.
    fn delete(&mut self, key: &ObjectKey, options: &DeleteOptions) -> Result<bool, ApiError>;

    /// Moves the fields the managers `from` own (with `Update` operations, as `kubectl apply`
    /// without `--server-side` leaves them) to `to`'s `Apply` entry, as `kubectl apply
    /// --server-side` does when it takes over a client-side-applied object (KEP-555,
    /// client-go's `csaupgrade`). Refused with a conflict when the object changed since
    /// `resource_version`. `Ok(false)` when there was nothing to move.
    fn take_over(
        &mut self,
        key: &ObjectKey,
        resource_version: &str,
        from: &[&str],
        to: &str,
    ) -> Result<bool, ApiError>;

    /// The current time.
    fn now(&mut self) -> Millis;

    /// Waits: on the simulator, advances the virtual clock and runs the controllers.
    fn sleep(&mut self, millis: Millis);
}

/// The managers whose fields kiln takes over: `kubectl apply` without `--server-side`
/// (`kubectl-client-side-apply`, and plain `kubectl` before kubectl 1.22 named it so).
pub const CLIENT_SIDE_APPLY_MANAGERS: &[&str] = &["kubectl-client-side-apply", "kubectl"];

/// The annotation client-side `kubectl apply` keeps its last applied configuration in.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// client-go's `csaupgrade.UpgradeManagedFields` on `managedFields` as the API writes them
/// (`fieldsV1`): every `Update` entry (main resource) of a manager in `from` is merged into
/// `to`'s `Apply` entry (made from the first one when there is none) and removed. `None` when
/// no entry of `from` is there.
pub fn upgrade_managed_fields(entries: &[Value], from: &[&str], to: &str) -> Option<Vec<Value>> {
    fn union(into: &mut Value, other: &Value) {
        let (Some(a), Some(b)) = (into.as_object_mut(), other.as_object()) else {
            return;
        };
        for (k, v) in b {
            match a.get_mut(k) {
                Some(existing) => union(existing, v),
                None => {
                    a.insert(k.clone(), v.clone());
                }
            }
        }
    }
    let s = |e: &Value, f: &str| e.get(f).and_then(Value::as_str).unwrap_or("").to_string();
    let is_old = |e: &Value| {
        from.contains(&s(e, "manager").as_str())
            && s(e, "operation") == "Update"
            && s(e, "subresource").is_empty()
    };
    if !entries.iter().any(is_old) {
        return None;
    }
    let mut out: Vec<Value> = Vec::new();
    let mut first_old: Option<(usize, Value)> = None;
    let mut taken = serde_json::json!({});
    for e in entries {
        if is_old(e) {
            union(&mut taken, e.get("fieldsV1").unwrap_or(&Value::Null));
            if first_old.is_none() {
                first_old = Some((out.len(), e.clone()));
            }
        } else {
            out.push(e.clone());
        }
    }
    let target = out
        .iter()
        .position(|e| s(e, "manager") == to && s(e, "operation") == "Apply");
    let i = match (target, first_old) {
        (Some(i), _) => i,
        (None, Some((at, mut renamed))) => {
            renamed["manager"] = to.into();
            renamed["operation"] = "Apply".into();
            renamed["fieldsType"] = "FieldsV1".into();
            renamed["fieldsV1"] = serde_json::json!({});
            out.insert(at, renamed);
            at
        }
        (None, None) => return None,
    };
    if !out[i].get("fieldsV1").is_some_and(Value::is_object) {
        out[i]["fieldsV1"] = serde_json::json!({});
    }
    union(&mut out[i]["fieldsV1"], &taken);
    Some(out)
}

/// `group/version` split in two (`v1` is the core group's).
pub fn split_api(api: &str) -> (&str, &str) {
    api.rsplit_once('/').unwrap_or(("", api))
}

/// An object's `apiVersion` and `kind` (empty when missing).
pub fn api_and_kind(v: &Value) -> (String, String) {
    let s = |f: &str| v.get(f).and_then(Value::as_str).unwrap_or("").to_string();
    (s("apiVersion"), s("kind"))
}

/// The key of an object value.
pub fn key_of(v: &Value) -> ObjectKey {
    let s = |p: &str| v.at(p).and_then(Value::as_str).unwrap_or("").to_string();
    let api = s("/apiVersion");
    ObjectKey {
        group: api
            .rsplit_once('/')
            .map(|(g, _)| g.to_string())
            .unwrap_or_default(),
        kind: s("/kind"),
        namespace: s("/metadata/namespace"),
        name: s("/metadata/name"),
    }
}

/// RFC 3339 for a time in milliseconds (UTC, second precision, as Kubernetes writes it).
pub fn rfc3339(ms: Millis) -> String {
    let secs = ms / 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if mo <= 2 { y + 1 } else { y };
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_767_225_600_000), "2026-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(1_709_164_800_000 + 3_661_000),
            "2024-02-29T01:01:01Z"
        );
    }

    #[test]
    fn client_side_apply_fields_move_to_the_server_side_manager() {
        let entries = vec![
            serde_json::json!({"manager": "kubectl-client-side-apply", "operation": "Update",
                "apiVersion": "v1", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:data": {"f:a": {}, "f:b": {}}, "f:metadata": {"f:annotations": {
                    "f:kubectl.kubernetes.io/last-applied-configuration": {}}}}}),
            serde_json::json!({"manager": "kubectl-edit", "operation": "Update",
                "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:c": {}}}}),
            serde_json::json!({"manager": "kiln", "operation": "Apply", "apiVersion": "v1",
                "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:a": {}}}}),
        ];
        let out = upgrade_managed_fields(&entries, CLIENT_SIDE_APPLY_MANAGERS, "kiln").unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0]["manager"], "kubectl-edit");
        assert_eq!(
            out[1]["fieldsV1"],
            serde_json::json!({"f:data": {"f:a": {}, "f:b": {}}, "f:metadata": {"f:annotations": {
                "f:kubectl.kubernetes.io/last-applied-configuration": {}}}})
        );
        // No server-side entry yet: the client-side one becomes it, in its place.
        let out =
            upgrade_managed_fields(&entries[..2], CLIENT_SIDE_APPLY_MANAGERS, "kiln").unwrap();
        assert_eq!(out[0]["manager"], "kiln");
        assert_eq!(out[0]["operation"], "Apply");
        assert_eq!(out[1]["manager"], "kubectl-edit");
        assert!(
            upgrade_managed_fields(&entries[1..], CLIENT_SIDE_APPLY_MANAGERS, "kiln").is_none()
        );
    }

    #[test]
    fn conflicts_name_their_managers() {
        let e = ApiError::conflict(
            "Apply failed with 2 conflicts: conflict with \"kubectl-edit\" using apps/v1: .spec.replicas\nconflict with \"hpa\" using apps/v1: .spec.template",
        );
        assert_eq!(e.conflicting_managers(), vec!["kubectl-edit", "hpa"]);
        let e = ApiError::conflict(
            "Apply failed with 2 conflicts: conflicts with \"kubectl-edit\" using v1:\n- .data.a\n- .data.b",
        );
        assert_eq!(e.conflicting_managers(), vec!["kubectl-edit"]);
        assert!(
            ApiError::conflict("the object has been modified")
                .conflicting_managers()
                .is_empty()
        );
    }

    #[test]
    fn errors_print_as_kubectl_prints_them() {
        assert_eq!(
            ApiError::not_found("namespaces \"x\" not found").to_string(),
            "Error from server (NotFound): namespaces \"x\" not found"
        );
        assert_eq!(
            ApiError::invalid("The Deployment \"web\" is invalid: spec.selector: Invalid value")
                .to_string(),
            "The Deployment \"web\" is invalid: spec.selector: Invalid value"
        );
    }
}
