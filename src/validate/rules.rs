//! kiln's own object rules, beyond the schema: the name each kind requires (DNS-1123
//! subdomain, DNS-1123 label, RBAC path segment, `plural.group` for CRDs,
//! `version.group` for APIServices), namespace names, a namespace on a cluster-scoped object,
//! label and annotation syntax and size. Messages are the API server's own.

use super::walk::Finding;
use crate::diag::Code;
use crate::util::Pointer;
use serde_json::Value;

const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const QUALIFIED_NAME_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/// The total size of all annotations the API server accepts.
pub const ANNOTATIONS_LIMIT: usize = 256 * 1024;

fn lower_alnum(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// Problems with a DNS-1123 label, as apimachinery words them.
pub fn dns1123_label(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    let b = s.as_bytes();
    let ok = !b.is_empty()
        && lower_alnum(b[0])
        && lower_alnum(b[b.len() - 1])
        && b.iter().all(|c| lower_alnum(*c) || *c == b'-');
    if !ok {
        // A valid subdomain that is not a label can only have dots.
        if dns1123_subdomain(s).is_empty() {
            errs.push("must not contain dots".to_string());
        } else {
            errs.push(DNS1123_LABEL_MSG.to_string());
        }
    }
    errs
}

/// Problems with a DNS-1123 subdomain.
pub fn dns1123_subdomain(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 253 {
        errs.push("must be no more than 253 characters".to_string());
    }
    let ok = !s.is_empty()
        && s.split('.').all(|part| {
            let b = part.as_bytes();
            !b.is_empty()
                && lower_alnum(b[0])
                && lower_alnum(b[b.len() - 1])
                && b.iter().all(|c| lower_alnum(*c) || *c == b'-')
        });
    if !ok {
        errs.push(DNS1123_SUBDOMAIN_MSG.to_string());
    }
    errs
}

/// Problems with a path-segment name (RBAC objects).
pub fn path_segment(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s == "." || s == ".." {
        errs.push(format!("may not be '{s}'"));
    }
    for bad in ["/", "%"] {
        if s.contains(bad) {
            errs.push(format!("may not contain '{bad}'"));
        }
    }
    errs
}

fn qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Problems with a qualified name (label and annotation keys).
pub fn qualified_name(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    if let Some(p) = prefix {
        if p.is_empty() {
            errs.push("prefix part must be non-empty".to_string());
        } else {
            errs.extend(
                dns1123_subdomain(p)
                    .into_iter()
                    .map(|e| format!("prefix part {e}")),
            );
        }
        if name.contains('/') {
            errs.push("a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')".to_string());
            return errs;
        }
    }
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else {
        if name.len() > 63 {
            errs.push("name part must be no more than 63 characters".to_string());
        }
        if !qualified_name_part(name) {
            errs.push(QUALIFIED_NAME_MSG.to_string());
        }
    }
    errs
}

/// Problems with a label value.
pub fn label_value(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    if !s.is_empty() && !qualified_name_part(s) {
        errs.push(LABEL_VALUE_MSG.to_string());
    }
    errs
}

/// Which name rule a kind's objects must follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameRule {
    Subdomain,
    Label,
    PathSegment,
}

pub fn name_rule(group: &str, kind: &str) -> NameRule {
    match (group, kind) {
        // Service names are RFC 1123 labels since RelaxedServiceNameValidation (beta, on by
        // default in v1.36; DNS-1035 labels before): `1abc` is accepted.
        ("", "Namespace" | "Service") => NameRule::Label,
        // StatefulSet names became labels (the Pods' hostnames are made of them).
        ("apps", "StatefulSet") => NameRule::Label,
        (
            "rbac.authorization.k8s.io",
            "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding",
        ) => NameRule::PathSegment,
        _ => NameRule::Subdomain,
    }
}

fn finding(code: Code, pointer: &str, at_key: bool, message: String, label: &str) -> Finding {
    Finding {
        code,
        pointer: pointer.to_string(),
        at_key,
        message,
        label: label.to_string(),
        help: None,
    }
}

/// The rules for one object. `namespaced` is its kind's scope when known.
pub fn check(
    obj: &Value,
    group: &str,
    version: &str,
    kind: &str,
    namespaced: Option<bool>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let meta = obj.get("metadata");
    let deferred = crate::util::has_substitution_variable;
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if !name.is_empty() && !deferred(name) {
        let mut errs = match name_rule(group, kind) {
            NameRule::Subdomain => dns1123_subdomain(name),
            NameRule::Label => dns1123_label(name),
            NameRule::PathSegment => path_segment(name),
        };
        if group == "batch" && kind == "CronJob" && name.len() > 52 {
            errs.push("must be no more than 52 characters".to_string());
        }
        if group == "apiregistration.k8s.io" && kind == "APIService" {
            let v = obj
                .at("/spec/version")
                .and_then(Value::as_str)
                .unwrap_or("");
            let g = obj.at("/spec/group").and_then(Value::as_str).unwrap_or("");
            if !v.is_empty() && name != format!("{v}.{g}") {
                errs.push(format!(
                    "must be spec.version+\".\"+spec.group (\"{v}.{g}\")"
                ));
            }
        }
        for e in errs {
            out.push(finding(
                Code::InvalidName,
                "/metadata/name",
                false,
                format!("metadata.name: Invalid value: \"{name}\": {e}"),
                "invalid name",
            ));
        }
    }
    let namespace = meta
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if !namespace.is_empty() && !deferred(namespace) {
        if namespaced == Some(false) {
            let mut f = finding(
                Code::NamespaceOnClusterScoped,
                "/metadata/namespace",
                true,
                format!(
                    "{kind} is cluster-scoped; metadata.namespace \"{namespace}\" is ignored by the API server"
                ),
                "ignored for a cluster-scoped kind",
            );
            f.help = Some("remove metadata.namespace".into());
            out.push(f);
        } else {
            for e in dns1123_label(namespace) {
                out.push(finding(
                    Code::InvalidNamespace,
                    "/metadata/namespace",
                    false,
                    format!("metadata.namespace: Invalid value: \"{namespace}\": {e}"),
                    "invalid namespace",
                ));
            }
        }
    }
    if let Some(Value::Object(labels)) = meta.and_then(|m| m.get("labels")) {
        for (k, v) in labels {
            if deferred(k) || v.as_str().is_some_and(deferred) {
                continue;
            }
            let ptr = format!("/metadata/labels/{}", escape(k));
            for e in qualified_name(k) {
                out.push(finding(
                    Code::InvalidLabel,
                    &ptr,
                    true,
                    format!("metadata.labels: Invalid value: \"{k}\": {e}"),
                    "invalid label key",
                ));
            }
            if let Value::String(s) = v {
                for e in label_value(s) {
                    out.push(finding(
                        Code::InvalidLabel,
                        &ptr,
                        false,
                        format!("metadata.labels: Invalid value: \"{s}\": {e}"),
                        "invalid label value",
                    ));
                }
            }
        }
    }
    if let Some(Value::Object(annotations)) = meta.and_then(|m| m.get("annotations")) {
        let mut total = 0;
        for (k, v) in annotations {
            total += k.len() + v.as_str().map_or(0, str::len);
            let ptr = format!("/metadata/annotations/{}", escape(k));
            for e in qualified_name(&k.to_ascii_lowercase()) {
                out.push(finding(
                    Code::InvalidAnnotation,
                    &ptr,
                    true,
                    format!("metadata.annotations: Invalid value: \"{k}\": {e}"),
                    "invalid annotation key",
                ));
            }
        }
        if total > ANNOTATIONS_LIMIT {
            out.push(finding(
                Code::InvalidAnnotation,
                "/metadata/annotations",
                true,
                format!("metadata.annotations: Too long: may not be more than {ANNOTATIONS_LIMIT} bytes (they are {total})"),
                "annotations too large",
            ));
        }
    }
    let _ = version;
    out
}

fn escape(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_rules() {
        assert!(dns1123_subdomain("my-app.example.com").is_empty());
        assert!(!dns1123_subdomain("My_App").is_empty());
        assert!(dns1123_label("kube-system").is_empty());
        assert!(!dns1123_label("a.b").is_empty());
        assert_eq!(
            dns1123_label("a.b"),
            vec!["must not contain dots".to_string()]
        );
        assert!(dns1123_label("1abc").is_empty());
        assert!(path_segment("system:controller:x").is_empty());
        assert_eq!(path_segment("a/b"), ["may not contain '/'"]);
    }

    #[test]
    fn label_syntax() {
        assert!(qualified_name("app.kubernetes.io/name").is_empty());
        assert!(qualified_name("app").is_empty());
        assert!(!qualified_name("-app").is_empty());
        assert!(!qualified_name("Example.com/app").is_empty());
        assert!(label_value("").is_empty());
        assert!(label_value("v1.2_3-x").is_empty());
        assert!(!label_value("has space").is_empty());
        assert_eq!(
            label_value(&"a".repeat(64)),
            ["must be no more than 63 characters"]
        );
    }
}
