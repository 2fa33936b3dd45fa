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
}

impl ApiError {
    pub fn new(code: u16, reason: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            reason: reason.into(),
            message: message.into(),
        }
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

    /// Transient: worth retrying.
    pub fn is_transient(&self) -> bool {
        matches!(self.code, 429 | 503 | 504)
            || matches!(self.reason.as_str(), "ServerTimeout" | "Timeout")
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
}

/// A point in (possibly virtual) time, in milliseconds since the Unix epoch.
pub type Millis = u64;

/// One boundary between kiln and a cluster.
pub trait Cluster {
    /// The kind's resource, if the server serves it (CRDs once Established).
    fn resource(&mut self, api_version: &str, kind: &str) -> Option<Resource>;

    /// The live object, `Ok(None)` when it does not exist.
    fn get(&mut self, key: &ObjectKey) -> Result<Option<Value>, ApiError>;

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

    /// Deletes an object. `Ok(false)` when it did not exist.
    fn delete(&mut self, key: &ObjectKey, options: &DeleteOptions) -> Result<bool, ApiError>;

    /// The current time.
    fn now(&mut self) -> Millis;

    /// Waits: on the simulator, advances the virtual clock and runs the controllers.
    fn sleep(&mut self, millis: Millis);
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
    let s = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
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
