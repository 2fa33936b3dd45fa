//! Edges users write: the `config.kubernetes.io/depends-on` annotation (cli-utils' format), Flux
//! `dependsOn` on Kustomizations and HelmReleases (and across the two, which Flux itself does
//! not resolve), the Flux Kustomization that applies an object, and Argo CD sync waves (with
//! `helm.sh/hook-weight` as Argo's fallback) between the objects of one unit.

use super::{Builder, Rule};
use crate::diag::{Code, Diagnostic};
use crate::object::ObjectKey;
use crate::util::Pointer;
use serde_json::Value;
use std::collections::BTreeMap;

pub const DEPENDS_ON: &str = "config.kubernetes.io/depends-on";
pub const SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";
pub const HOOK_WEIGHT: &str = "helm.sh/hook-weight";
const KUSTOMIZE_GROUP: &str = "kustomize.toolkit.fluxcd.io";
const HELM_GROUP: &str = "helm.toolkit.fluxcd.io";

fn annotation_pointer(name: &str) -> String {
    format!(
        "/metadata/annotations/{}",
        name.replace('~', "~0").replace('/', "~1")
    )
}

/// One reference of a `depends-on` annotation: `group/kind/name` (cluster-scoped) or
/// `group/namespaces/namespace/kind/name`; group and namespace may be empty.
pub fn parse_depends_on(value: &str) -> Result<Vec<ObjectKey>, String> {
    let mut out = Vec::new();
    for part in value.split(',') {
        let part = part.trim();
        let fields: Vec<&str> = part.split('/').collect();
        let key = match fields.as_slice() {
            [group, kind, name] => ObjectKey {
                group: group.to_string(),
                kind: kind.to_string(),
                namespace: String::new(),
                name: name.to_string(),
            },
            [group, ns_word, namespace, kind, name] => {
                if *ns_word != "namespaces" {
                    return Err(format!("missing \"namespaces\" field: {part:?}"));
                }
                ObjectKey {
                    group: group.to_string(),
                    kind: kind.to_string(),
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                }
            }
            _ => {
                return Err(format!(
                    "expected 3 or 5 fields, found {}: {part:?}",
                    fields.len()
                ));
            }
        };
        if key.kind.is_empty() || key.name.is_empty() {
            return Err(format!("a reference needs a kind and a name: {part:?}"));
        }
        if out.contains(&key) {
            return Err(format!("duplicate dependency: {part:?}"));
        }
        out.push(key);
    }
    Ok(out)
}

/// `config.kubernetes.io/depends-on`.
pub fn annotations(b: &mut Builder) {
    let objects = b.input.objects;
    for (i, o) in objects.iter().enumerate() {
        let Some(value) = o.annotation(DEPENDS_ON) else {
            continue;
        };
        let ptr = annotation_pointer(DEPENDS_ON);
        match parse_depends_on(value) {
            Err(e) => {
                let d = Diagnostic::new(Code::InvalidDependsOn, format!("{}: invalid {DEPENDS_ON} annotation: {e}", o.key))
                    .at(b.locate(i, &ptr, false), "not a dependency list")
                    .help("write `group/kind/name` for a cluster-scoped object, `group/namespaces/NAMESPACE/kind/name` for a namespaced one (the core group is empty: `/namespaces/shop/ConfigMap/settings`), separated by commas");
                b.diagnostics.push(d);
            }
            Ok(refs) => {
                for r in refs {
                    match b.index.find(i, &r.group, &r.kind, &r.namespace, &r.name) {
                        Some(from) => b.edge(
                            from,
                            i,
                            Rule::DependsOn,
                            format!("{DEPENDS_ON}: {r}"),
                            Some((i, ptr.clone().into())),
                        ),
                        None => b.external(i, r, &ptr, DEPENDS_ON.to_string(), true),
                    }
                }
            }
        }
    }
}

fn flux_kind(o: &ObjectKey) -> Option<&'static str> {
    match (o.group.as_str(), o.kind.as_str()) {
        (KUSTOMIZE_GROUP, "Kustomization") => Some("Kustomization"),
        (HELM_GROUP, "HelmRelease") => Some("HelmRelease"),
        _ => None,
    }
}

fn group_of(kind: &str) -> &'static str {
    if kind == "HelmRelease" {
        HELM_GROUP
    } else {
        KUSTOMIZE_GROUP
    }
}

/// Flux `dependsOn`, and the Kustomization that applies each object.
pub fn flux(b: &mut Builder) {
    let objects = b.input.objects;
    // Units by their owner's position: owner object -> members.
    let mut owned: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let input = b.input;
    for (owner, range) in &input.owned {
        let Some(first) = range.clone().next() else {
            continue;
        };
        let Some(k) = b.index.find(
            first,
            &owner.group,
            &owner.kind,
            &owner.namespace,
            &owner.name,
        ) else {
            continue;
        };
        // A unit that applies its own Kustomization manages itself (Flux's bootstrap): its
        // objects exist before it does, so they do not wait for it.
        if range.contains(&k) {
            continue;
        }
        owned.entry(k).or_default().extend(range.clone());
        // What the Kustomization itself needs (its Namespace, its CRD) exists before it does:
        // applying it again only adopts it.
        let needed: std::collections::BTreeSet<usize> = b
            .edges
            .iter()
            .filter(|e| e.to == k)
            .map(|e| e.from)
            .collect();
        for m in range.clone() {
            if !needed.contains(&m) {
                b.edge(k, m, Rule::FluxKustomization, "applies it", None);
            }
        }
    }
    for (i, o) in objects.iter().enumerate() {
        let Some(holder_kind) = flux_kind(&o.key) else {
            continue;
        };
        let Some(deps) = o.value.at("/spec/dependsOn").and_then(Value::as_array) else {
            continue;
        };
        for (j, d) in deps.iter().enumerate() {
            let ptr = format!("/spec/dependsOn/{j}");
            let Some(name) = d
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
            else {
                continue;
            };
            let ns = d
                .get("namespace")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .unwrap_or(&o.key.namespace);
            let asked = d
                .get("kind")
                .and_then(Value::as_str)
                .filter(|k| matches!(*k, "Kustomization" | "HelmRelease"));
            let first_kind = asked.unwrap_or(holder_kind);
            let other_kind = if first_kind == "Kustomization" {
                "HelmRelease"
            } else {
                "Kustomization"
            };
            let found = b
                .index
                .find(i, group_of(first_kind), first_kind, ns, name)
                .map(|t| (t, first_kind))
                .or_else(|| {
                    if asked.is_some() {
                        None
                    } else {
                        b.index
                            .find(i, group_of(other_kind), other_kind, ns, name)
                            .map(|t| (t, other_kind))
                    }
                });
            let Some((target, target_kind)) = found else {
                let key = ObjectKey {
                    group: group_of(first_kind).into(),
                    kind: first_kind.into(),
                    namespace: ns.into(),
                    name: name.into(),
                };
                b.external(i, key, &ptr, "dependsOn".to_string(), true);
                continue;
            };
            if target_kind != holder_kind {
                let note = Diagnostic::new(
                    Code::CrossKindDependency,
                    format!(
                        "{} depends on {target_kind} {ns}/{name}: kiln orders it after it, but Flux resolves dependsOn among {holder_kind}s only{}",
                        o.key,
                        if asked.is_some() { String::new() } else { format!(" (there is no {holder_kind} of that name)") }
                    ),
                )
                .at(b.locate(i, &ptr, false), "a dependency of another kind")
                .help("Flux's own workaround is a `healthChecks` entry on the Kustomization; kiln honours the dependency as written");
                b.diagnostics.push(note);
            }
            let detail = format!("{} dependsOn {target_kind} {ns}/{name}", o.key);
            b.edge(
                target,
                i,
                Rule::FluxDependsOn,
                detail.clone(),
                Some((i, ptr.clone().into())),
            );
            // ...and for everything that dependency applies.
            for &m in owned.get(&target).into_iter().flatten() {
                if m != i {
                    b.edge(
                        m,
                        i,
                        Rule::FluxDependsOn,
                        format!("{detail}, which applies it"),
                        Some((i, ptr.clone().into())),
                    );
                }
            }
        }
    }
}

const SOURCE_GROUP: &str = "source.toolkit.fluxcd.io";

/// An object a Flux object reads: group, kind, namespace, name, and the pointer that names it.
type FluxInput = (&'static str, String, String, String, String);

/// What a Flux Kustomization or HelmRelease reads: its source, and the ConfigMaps and Secrets
/// of `postBuild.substituteFrom` or `valuesFrom`.
fn flux_inputs(o: &crate::object::Object) -> Vec<FluxInput> {
    let mut out = Vec::new();
    let ns = o.key.namespace.as_str();
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let mut source = |at: &str| {
        if let Some(r) = o.value.at(at) {
            let namespace = Some(s(r, "namespace"))
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| ns.to_string());
            out.push((
                SOURCE_GROUP,
                s(r, "kind"),
                namespace,
                s(r, "name"),
                at.to_string(),
            ));
        }
    };
    match o.key.kind.as_str() {
        "Kustomization" => source("/spec/sourceRef"),
        _ => {
            source("/spec/chart/spec/sourceRef");
            source("/spec/chartRef");
        }
    }
    let refs = if o.key.kind == "Kustomization" {
        "/spec/postBuild/substituteFrom"
    } else {
        "/spec/valuesFrom"
    };
    for (j, r) in o
        .value
        .at(refs)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let kind = s(r, "kind");
        if kind == "ConfigMap" || kind == "Secret" {
            out.push((
                "",
                kind,
                ns.to_string(),
                s(r, "name"),
                format!("{refs}/{j}"),
            ));
        }
    }
    out
}

/// Sources and the objects values come from go before the Flux object that reads them, unless
/// that object applies them itself (Flux's bootstrap reads the GitRepository it applies).
pub fn flux_sources(b: &mut Builder) {
    let objects = b.input.objects;
    let mut next: Vec<Vec<usize>> = vec![Vec::new(); objects.len()];
    for e in &b.edges {
        if e.from < next.len() && e.to < next.len() {
            next[e.from].push(e.to);
        }
    }
    let reaches = |from: usize, to: usize| {
        let mut seen = vec![false; next.len()];
        let mut stack = vec![from];
        while let Some(n) = stack.pop() {
            if n == to {
                return true;
            }
            if std::mem::replace(&mut seen[n], true) {
                continue;
            }
            stack.extend(next[n].iter().copied());
        }
        false
    };
    let mut new = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        if flux_kind(&o.key).is_none() {
            continue;
        }
        for (group, kind, ns, name, ptr) in flux_inputs(o) {
            if kind.is_empty() || name.is_empty() {
                continue;
            }
            let Some(t) = b.index.find(i, group, &kind, &ns, &name) else {
                continue;
            };
            if t == i || reaches(i, t) {
                continue;
            }
            let what = if group.is_empty() {
                "reads its values from"
            } else {
                "uses as its source"
            };
            new.push((t, i, format!("{} {what} {kind} {ns}/{name}", o.key), ptr));
        }
    }
    for (t, i, detail, ptr) in new {
        b.edge(t, i, Rule::FluxSource, detail, Some((i, ptr.into())));
    }
}

/// Argo CD's wave of an object: `sync-wave`, else `helm.sh/hook-weight`, else 0, as
/// `strconv.Atoi` reads them. `None` when neither is set; an unreadable value is reported.
fn wave_of(b: &mut Builder, i: usize) -> Option<i64> {
    let o = &b.input.objects[i];
    let annotations = o.annotations()?;
    let mut found = None;
    for name in [SYNC_WAVE, HOOK_WEIGHT] {
        let Some(v) = annotations.get(name).and_then(Value::as_str) else {
            continue;
        };
        match atoi(v) {
            Some(w) => {
                found = Some(w);
                break;
            }
            None => {
                let d = Diagnostic::new(
                    Code::InvalidSyncWave,
                    format!(
                        "{}: {name} `{v}` is not an integer; Argo CD treats it as absent",
                        o.key
                    ),
                )
                .at(
                    b.locate(i, &annotation_pointer(name), false),
                    "not an integer",
                );
                b.diagnostics.push(d);
            }
        }
    }
    found
}

/// Go's `strconv.Atoi`: an optional sign and decimal digits, nothing else.
fn atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Sync waves within each unit that uses them: every object of a wave waits for every object of
/// the wave before (through one barrier node per wave). Namespaces and CRDs are left to their
/// implicit edges, as Argo CD hoists them before their first dependent.
pub fn sync_waves(b: &mut Builder) {
    let n = b.input.objects.len();
    let mut per_unit: BTreeMap<u32, BTreeMap<i64, Vec<usize>>> = BTreeMap::new();
    let mut annotated: BTreeMap<u32, bool> = BTreeMap::new();
    for i in 0..n {
        let o = &b.input.objects[i];
        if (o.key.group.is_empty() && o.key.kind == "Namespace")
            || o.key.kind == "CustomResourceDefinition"
        {
            let _ = wave_of(b, i);
            continue;
        }
        let wave = wave_of(b, i);
        let unit = b.input.units[i];
        *annotated.entry(unit).or_default() |= wave.is_some();
        per_unit
            .entry(unit)
            .or_default()
            .entry(wave.unwrap_or(0))
            .or_default()
            .push(i);
    }
    for (unit, waves) in per_unit {
        if !annotated.get(&unit).copied().unwrap_or(false) || waves.len() < 2 {
            continue;
        }
        let waves: Vec<(i64, Vec<usize>)> = waves.into_iter().collect();
        for pair in waves.windows(2) {
            let ((w0, before), (w1, after)) = (&pair[0], &pair[1]);
            let barrier = b.barrier(unit, *w0);
            for &x in before {
                b.edge(x, barrier, Rule::SyncWave, format!("sync wave {w0}"), None);
            }
            for &y in after {
                b.edge(
                    barrier,
                    y,
                    Rule::SyncWave,
                    format!("sync wave {w1} after wave {w0}"),
                    Some((y, annotation_pointer(SYNC_WAVE).into())),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depends_on_grammar() {
        let k = parse_depends_on("apps/namespaces/shop/Deployment/web, /namespaces/shop/ConfigMap/c,rbac.authorization.k8s.io/ClusterRole/view").unwrap();
        assert_eq!(k.len(), 3);
        assert_eq!(
            (
                k[0].group.as_str(),
                k[0].namespace.as_str(),
                k[0].kind.as_str()
            ),
            ("apps", "shop", "Deployment")
        );
        assert_eq!((k[1].group.as_str(), k[1].kind.as_str()), ("", "ConfigMap"));
        assert_eq!((k[2].namespace.as_str(), k[2].name.as_str()), ("", "view"));
        assert!(
            parse_depends_on("apps/Deployment")
                .unwrap_err()
                .contains("expected 3 or 5 fields, found 2")
        );
        assert!(
            parse_depends_on("apps/ns/shop/Deployment/web")
                .unwrap_err()
                .contains("missing \"namespaces\"")
        );
        assert!(
            parse_depends_on("a/K/n,a/K/n")
                .unwrap_err()
                .contains("duplicate")
        );
        assert!(parse_depends_on("a//n").is_err());
    }

    #[test]
    fn waves_read_as_go_reads_them() {
        assert_eq!(atoi("5"), Some(5));
        assert_eq!(atoi("-2"), Some(-2));
        assert_eq!(atoi("+3"), Some(3));
        assert_eq!(atoi(" 1"), None);
        assert_eq!(atoi("1.5"), None);
        assert_eq!(atoi(""), None);
    }
}
