//! Object references as users type them on a command line or in a scenario, in every notation
//! kubectl and Flux users already know: `Deployment/shop/web` (kiln's and Flux's), `deploy/web`
//! with a namespace from `-n`, `deployment.apps/web`, `deployments/web`, `Kustomization.
//! kustomize.toolkit.fluxcd.io/flux-system/apps`. Kinds are matched case-insensitively by
//! kind, plural or short name (the names discovery serves: `cm`, `svc`, `ks`, `hr`...); `*` in
//! the name matches any run of characters.
//!
//! A reference that matches nothing is an error naming the nearest objects that exist, so a
//! typo never passes silently. This module only parses and matches: what is looked up (objects
//! of the input, live objects of a cluster) is the caller's.

use super::ObjectKey;
use std::collections::BTreeSet;

/// A parsed reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectRef {
    /// As written, for messages.
    pub text: String,
    /// The kind, plural or short name, lower-cased.
    kind: String,
    /// The API group when the reference names one (`deployment.apps`).
    group: Option<String>,
    /// `None`: any namespace (the reference did not say, and no default applies).
    namespace: Option<String>,
    /// The name, possibly with `*` wildcards.
    name: String,
}

/// The short names built-in and common custom kinds are served with (`kubectl api-resources`).
pub(crate) const SHORT_NAMES: &[(&str, &str, &[&str])] = &[
    ("", "ComponentStatus", &["cs"]),
    ("", "ConfigMap", &["cm"]),
    ("", "Endpoints", &["ep"]),
    ("", "Event", &["ev"]),
    ("", "LimitRange", &["limits"]),
    ("", "Namespace", &["ns"]),
    ("", "Node", &["no"]),
    ("", "PersistentVolumeClaim", &["pvc"]),
    ("", "PersistentVolume", &["pv"]),
    ("", "Pod", &["po"]),
    ("", "ReplicationController", &["rc"]),
    ("", "ResourceQuota", &["quota"]),
    ("", "ServiceAccount", &["sa"]),
    ("", "Service", &["svc"]),
    ("apps", "DaemonSet", &["ds"]),
    ("apps", "Deployment", &["deploy"]),
    ("apps", "ReplicaSet", &["rs"]),
    ("apps", "StatefulSet", &["sts"]),
    ("autoscaling", "HorizontalPodAutoscaler", &["hpa"]),
    ("batch", "CronJob", &["cj"]),
    ("certificates.k8s.io", "CertificateSigningRequest", &["csr"]),
    ("events.k8s.io", "Event", &["ev"]),
    ("networking.k8s.io", "Ingress", &["ing"]),
    ("networking.k8s.io", "NetworkPolicy", &["netpol"]),
    ("policy", "PodDisruptionBudget", &["pdb"]),
    ("scheduling.k8s.io", "PriorityClass", &["pc"]),
    ("storage.k8s.io", "StorageClass", &["sc"]),
    (
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        &["crd", "crds"],
    ),
    ("kustomize.toolkit.fluxcd.io", "Kustomization", &["ks"]),
    ("helm.toolkit.fluxcd.io", "HelmRelease", &["hr"]),
    ("source.toolkit.fluxcd.io", "GitRepository", &["gitrepo"]),
    ("source.toolkit.fluxcd.io", "HelmRepository", &["helmrepo"]),
    ("source.toolkit.fluxcd.io", "HelmChart", &["hc"]),
    ("source.toolkit.fluxcd.io", "OCIRepository", &["ocirepo"]),
    ("image.toolkit.fluxcd.io", "ImagePolicy", &["imgpol"]),
    ("image.toolkit.fluxcd.io", "ImageRepository", &["imgrepo"]),
    (
        "image.toolkit.fluxcd.io",
        "ImageUpdateAutomation",
        &["imgupd"],
    ),
    ("argoproj.io", "Application", &["app", "apps"]),
    ("argoproj.io", "AppProject", &["appproj", "appprojs"]),
    ("argoproj.io", "ApplicationSet", &["appset", "appsets"]),
    ("cert-manager.io", "Certificate", &["cert", "certs"]),
    ("cert-manager.io", "CertificateRequest", &["cr", "crs"]),
    ("monitoring.coreos.com", "ServiceMonitor", &["smon"]),
    ("monitoring.coreos.com", "PodMonitor", &["pmon"]),
    ("monitoring.coreos.com", "PrometheusRule", &["promrule"]),
    ("external-secrets.io", "ExternalSecret", &["es"]),
    ("external-secrets.io", "SecretStore", &["ss"]),
    ("external-secrets.io", "ClusterSecretStore", &["css"]),
];

/// The lower-case plural of a kind, as the API server derives it when a CRD does not say.
pub fn plural_of(kind: &str) -> String {
    let k = kind.to_ascii_lowercase();
    if k.ends_with('s') || k.ends_with('x') || k.ends_with("ch") || k.ends_with("sh") {
        format!("{k}es")
    } else if k.ends_with('y') && !k.ends_with("ay") && !k.ends_with("ey") && !k.ends_with("oy") {
        format!("{}ies", &k[..k.len() - 1])
    } else {
        format!("{k}s")
    }
}

/// Names a kind answers to, beyond its own: plurals and short names from the catalogue (the
/// built-in resources and the CRDs of the input).
#[derive(Clone, Debug, Default)]
pub struct KindNames {
    /// (group, kind) -> lower-case aliases.
    aliases: Vec<(String, String, Vec<String>)>,
}

impl KindNames {
    /// The built-in short names alone.
    pub fn builtin() -> KindNames {
        let mut k = KindNames::default();
        for (g, kind, names) in SHORT_NAMES {
            k.add(g, kind, names.iter().map(|s| s.to_string()));
        }
        k
    }

    /// Adds aliases (a plural, short names) for a kind.
    pub fn add(&mut self, group: &str, kind: &str, names: impl IntoIterator<Item = String>) {
        let names: Vec<String> = names.into_iter().map(|n| n.to_ascii_lowercase()).collect();
        match self
            .aliases
            .iter_mut()
            .find(|(g, k, _)| g == group && k == kind)
        {
            Some((_, _, v)) => {
                for n in names {
                    if !v.contains(&n) {
                        v.push(n);
                    }
                }
            }
            None => self
                .aliases
                .push((group.to_string(), kind.to_string(), names)),
        }
    }

    /// Whether the lower-cased `typed` names the kind `kind` of `group`.
    fn names(&self, typed: &str, group: &str, kind: &str) -> bool {
        kind.eq_ignore_ascii_case(typed)
            || plural_of(kind) == typed
            || self
                .aliases
                .iter()
                .any(|(g, k, v)| g == group && k == kind && v.iter().any(|a| a == typed))
    }
}

/// Why a reference did not resolve to exactly one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefError {
    /// Not a reference at all.
    Malformed(String),
    /// Nothing matched; the nearest objects that exist.
    NoMatch { text: String, nearest: Vec<String> },
    /// Several matched where one was needed.
    Ambiguous { text: String, matches: Vec<String> },
}

impl std::fmt::Display for RefError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefError::Malformed(m) => f.write_str(m),
            RefError::NoMatch { text, nearest } if nearest.is_empty() => {
                write!(f, "`{text}` matches no object")
            }
            RefError::NoMatch { text, nearest } => write!(
                f,
                "`{text}` matches no object; nearest: {}",
                nearest.join(", ")
            ),
            RefError::Ambiguous { text, matches } => write!(
                f,
                "`{text}` matches {} objects: {}; name one with Kind/namespace/name or -n",
                matches.len(),
                matches.join(", ")
            ),
        }
    }
}

const FORMS: &str = "write an object as Kind/namespace/name, Kind/name (with -n NAMESPACE), \
                     or kind.group/name; kinds may be plural or short (deploy, cm, ks)";

impl ObjectRef {
    /// Parses `KIND[.GROUP]/NAME` or `KIND[.GROUP]/NAMESPACE/NAME`. A two-part reference takes
    /// `namespace` (from `-n`) when given, and any namespace otherwise.
    pub fn parse(text: &str, namespace: Option<&str>) -> Result<ObjectRef, RefError> {
        let parts: Vec<&str> = text.trim().split('/').collect();
        let (kind_group, ns, name) = match parts.as_slice() {
            [k, n] => (*k, namespace.map(str::to_string), *n),
            [k, ns, n] => (*k, Some(ns.to_string()), *n),
            _ => return Err(RefError::Malformed(format!("`{text}`: {FORMS}"))),
        };
        if kind_group.is_empty() || name.is_empty() || ns.as_deref() == Some("") {
            return Err(RefError::Malformed(format!("`{text}`: {FORMS}")));
        }
        let (kind, group) = match kind_group.split_once('.') {
            Some((k, g)) => (k, Some(g.to_ascii_lowercase())),
            None => (kind_group, None),
        };
        Ok(ObjectRef {
            text: text.trim().to_string(),
            kind: kind.to_ascii_lowercase(),
            group,
            namespace: ns,
            name: name.to_string(),
        })
    }

    /// Whether the reference's name has a wildcard.
    pub fn is_pattern(&self) -> bool {
        self.name.contains('*')
    }

    /// Whether `key` is what the reference names.
    pub fn matches(&self, key: &ObjectKey, kinds: &KindNames) -> bool {
        self.matches_kind(key, kinds)
            && self
                .namespace
                .as_deref()
                .is_none_or(|ns| ns == key.namespace)
            && glob(&self.name, &key.name)
    }

    fn matches_kind(&self, key: &ObjectKey, kinds: &KindNames) -> bool {
        self.group
            .as_deref()
            .is_none_or(|g| g == key.group || (g == "core" && key.group.is_empty()))
            && kinds.names(&self.kind, &key.group, &key.kind)
    }

    /// The one object of `keys` the reference names.
    pub fn resolve<'k>(
        &self,
        keys: impl Iterator<Item = &'k ObjectKey> + Clone,
        kinds: &KindNames,
    ) -> Result<&'k ObjectKey, RefError> {
        let hits = self.resolve_all(keys, kinds)?;
        match hits.as_slice() {
            [one] => Ok(one),
            many => Err(RefError::Ambiguous {
                text: self.text.clone(),
                matches: many.iter().map(|k| k.to_string()).collect(),
            }),
        }
    }

    /// Every object of `keys` the reference names; none is an error with the nearest ones.
    pub fn resolve_all<'k>(
        &self,
        keys: impl Iterator<Item = &'k ObjectKey> + Clone,
        kinds: &KindNames,
    ) -> Result<Vec<&'k ObjectKey>, RefError> {
        let hits: Vec<&ObjectKey> = keys.clone().filter(|k| self.matches(k, kinds)).collect();
        if !hits.is_empty() {
            return Ok(hits);
        }
        Err(RefError::NoMatch {
            text: self.text.clone(),
            nearest: self.nearest(keys, kinds),
        })
    }

    /// Up to five objects that look most like the reference: the same kind first, then by the
    /// edit distance of the whole `kind/namespace/name`.
    fn nearest<'k>(
        &self,
        keys: impl Iterator<Item = &'k ObjectKey>,
        kinds: &KindNames,
    ) -> Vec<String> {
        let wanted = format!(
            "{}/{}/{}",
            self.kind,
            self.namespace.as_deref().unwrap_or(""),
            self.name.to_ascii_lowercase()
        );
        // (other kind, distance, name): objects of the same kind first.
        let mut scored: BTreeSet<(usize, usize, String)> = BTreeSet::new();
        for k in keys {
            let same_kind = usize::from(!self.matches_kind(k, kinds));
            let have = format!(
                "{}/{}/{}",
                k.kind.to_ascii_lowercase(),
                if self.namespace.is_some() {
                    k.namespace.as_str()
                } else {
                    ""
                },
                k.name.to_ascii_lowercase()
            );
            let name_distance = distance(
                &self.name.to_ascii_lowercase(),
                &k.name.to_ascii_lowercase(),
            );
            let d = distance(&wanted, &have).min(name_distance + same_kind * 3);
            scored.insert((same_kind, d, k.to_string()));
            if scored.len() > 64 {
                let last = scored.iter().next_back().cloned();
                if let Some(l) = last {
                    scored.remove(&l);
                }
            }
        }
        let limit = (wanted.len() / 2).max(3);
        let close: Vec<(usize, usize, String)> = scored
            .into_iter()
            .filter(|(other_kind, d, _)| *d <= limit || *other_kind == 0 && *d <= limit * 2)
            .collect();
        // Objects of the kind asked for, when there are any; else whatever is close.
        let same_kind = close.iter().any(|(other_kind, _, _)| *other_kind == 0);
        close
            .into_iter()
            .filter(|(other_kind, _, _)| !same_kind || *other_kind == 0)
            .take(5)
            .map(|(_, _, s)| s)
            .collect()
    }
}

/// `*` matches any run of characters; everything else matches itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == text;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = (parts[0], &parts[1..]);
    let Some(mut t) = text.strip_prefix(first) else {
        return false;
    };
    for (i, p) in rest.iter().enumerate() {
        if i == rest.len() - 1 {
            return t.ends_with(p);
        }
        match t.find(p) {
            Some(at) => t = &t[at + p.len()..],
            None => return false,
        }
    }
    true
}

/// Levenshtein distance, in characters.
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(group: &str, kind: &str, ns: &str, name: &str) -> ObjectKey {
        ObjectKey {
            group: group.into(),
            kind: kind.into(),
            namespace: ns.into(),
            name: name.into(),
        }
    }

    fn keys() -> Vec<ObjectKey> {
        vec![
            key("apps", "Deployment", "shop", "web"),
            key("apps", "Deployment", "shop", "api"),
            key("", "ConfigMap", "shop", "web"),
            key("", "Namespace", "", "shop"),
            key(
                "kustomize.toolkit.fluxcd.io",
                "Kustomization",
                "flux-system",
                "apps",
            ),
            key("example.com", "Deployment", "shop", "web"),
        ]
    }

    fn one(text: &str, ns: Option<&str>) -> Result<String, RefError> {
        let all = keys();
        let r = ObjectRef::parse(text, ns)?;
        r.resolve(all.iter(), &KindNames::builtin())
            .map(|k| format!("{}.{k}", k.group))
    }

    #[test]
    fn every_notation_users_type_resolves() {
        let want = Ok("apps.Deployment/shop/web".to_string());
        assert_eq!(one("Deployment.apps/shop/web", None), want);
        assert_eq!(one("deployment.apps/web", Some("shop")), want);
        assert_eq!(one("deploy.apps/web", None), want);
        assert_eq!(one("deployments.apps/shop/web", None), want);
        assert_eq!(
            one("cm/web", Some("shop")),
            Ok(".ConfigMap/shop/web".into())
        );
        assert_eq!(one("ns/shop", None), Ok(".Namespace/shop".into()));
        assert_eq!(
            one("ks/apps", None),
            Ok("kustomize.toolkit.fluxcd.io.Kustomization/flux-system/apps".into())
        );
        assert_eq!(
            one("CONFIGMAPS/shop/web", None),
            Ok(".ConfigMap/shop/web".into())
        );
    }

    #[test]
    fn ambiguity_and_misses_are_explained() {
        assert_eq!(
            one("deploy/web", None),
            Ok("apps.Deployment/shop/web".into())
        );
        match one("deployment/web", None) {
            Err(RefError::Ambiguous { matches, .. }) => assert_eq!(matches.len(), 2),
            other => panic!("{other:?}"),
        }
        match one("deploy/shop/wbe", None) {
            Err(RefError::NoMatch { nearest, .. }) => {
                assert_eq!(nearest[0], "Deployment/shop/web", "{nearest:?}")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(one("web", None), Err(RefError::Malformed(_))));
        assert!(matches!(one("a/b/c/d", None), Err(RefError::Malformed(_))));
        assert!(matches!(
            one("deploy//web", None),
            Err(RefError::Malformed(_))
        ));
    }

    #[test]
    fn wildcards_and_plurals() {
        assert!(glob("migrate-*", "migrate-x1"));
        assert!(glob("*-web", "shop-web"));
        assert!(glob("a*b*c", "a1b2c"));
        assert!(!glob("a*b*c", "a1b2"));
        assert_eq!(plural_of("Ingress"), "ingresses");
        assert_eq!(plural_of("NetworkPolicy"), "networkpolicies");
        assert_eq!(plural_of("Gateway"), "gateways");
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
