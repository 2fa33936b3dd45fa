//! HelmReleases as Flux's helm-controller turns them into objects, for charts kiln has on disk:
//! the chart found in the `--charts` directories (`NAME-VERSION/` folders or
//! `NAME-VERSION.tgz` archives, as `helm pull` leaves them) by name and version constraint,
//! values merged as helm-controller merges them (`valuesFrom` ConfigMaps and Secrets of the
//! tree with `valuesKey`, `targetPath` and `optional`, then `spec.values`), the release name
//! and namespace helm-controller uses, `install.crds`, and the origin labels it adds. Hooks and
//! tests are left out, as Flux runs rather than applies them.
//!
//! It fetches nothing: a chart that is not on disk is reported, never guessed.

use super::{ReleaseOptions, chart};
use gotmpl::Value as T;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The labels helm-controller adds to everything a HelmRelease installs.
pub const NAME_LABEL: &str = "helm.toolkit.fluxcd.io/name";
pub const NAMESPACE_LABEL: &str = "helm.toolkit.fluxcd.io/namespace";

/// Vendored charts: `NAME-VERSION/` folders and `NAME-VERSION.tgz` archives in some directories.
#[derive(Default)]
pub struct ChartStore {
    /// (name, version, path), every chart found.
    charts: Vec<(String, gotmpl::semver::Version, PathBuf)>,
}

impl ChartStore {
    pub fn open(dirs: &[PathBuf]) -> ChartStore {
        let mut charts = Vec::new();
        for dir in dirs {
            let Ok(rd) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut entries: Vec<_> = rd.flatten().collect();
            entries.sort_by_key(|e| e.file_name());
            for e in entries {
                let file = e.file_name().to_string_lossy().into_owned();
                let stem = file.strip_suffix(".tgz").unwrap_or(&file);
                if let Some((name, version)) = split_name_version(stem)
                    && let Ok(v) = gotmpl::semver::Version::parse(version)
                {
                    charts.push((name.to_string(), v, e.path()));
                }
            }
        }
        ChartStore { charts }
    }

    pub fn is_empty(&self) -> bool {
        self.charts.is_empty()
    }

    /// The versions of `name` there are.
    pub fn versions(&self, name: &str) -> Vec<String> {
        self.charts
            .iter()
            .filter(|(n, _, _)| n == name)
            .map(|(_, v, _)| v.to_string())
            .collect()
    }

    /// The highest version of `name` that `constraint` allows (`*` or empty: the highest).
    pub fn find(&self, name: &str, constraint: &str) -> Option<(&Path, String)> {
        let c = if constraint.trim().is_empty() {
            "*"
        } else {
            constraint
        };
        let c = gotmpl::semver::Constraints::parse(c).ok()?;
        self.charts
            .iter()
            .filter(|(n, v, _)| n == name && c.check(v))
            .max_by(|a, b| a.1.compare(&b.1))
            .map(|(_, v, p)| (p.as_path(), v.to_string()))
    }
}

/// `app-template-5.0.0` -> (`app-template`, `5.0.0`): the version starts after the last `-`
/// that a digit follows.
fn split_name_version(stem: &str) -> Option<(&str, &str)> {
    let mut idx = None;
    for (i, c) in stem.char_indices() {
        if c == '-' && stem[i + 1..].starts_with(|c: char| c.is_ascii_digit()) {
            idx = Some(i);
            break;
        }
    }
    let i = idx?;
    Some((&stem[..i], &stem[i + 1..]))
}

/// helm-controller's release name: `spec.releaseName`, else `[targetNamespace-]name`,
/// shortened past 53 characters to 40 characters, `-` and 12 hex digits of its SHA-256.
pub fn release_name(hr_name: &str, spec: &Value) -> String {
    if let Some(n) = spec
        .get("releaseName")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        return n.to_string();
    }
    let name = match spec
        .get("targetNamespace")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        Some(t) => format!("{t}-{hr_name}"),
        None => hr_name.to_string(),
    };
    if name.len() <= 53 {
        return name;
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(name.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}", &name[..40], &hex[..12])
}

/// Converts kiln's JSON to template data as Helm reads values (every number a float64).
pub fn to_template_value(v: &Value) -> T {
    match v {
        Value::Null => T::Nil,
        Value::Bool(b) => T::Bool(*b),
        Value::Number(n) => T::Float(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => T::from(s.as_str()),
        Value::Array(a) => T::list(a.iter().map(to_template_value).collect()),
        Value::Object(m) => T::map(
            m.iter()
                .map(|(k, v)| (k.clone(), to_template_value(v)))
                .collect(),
        ),
    }
}

/// Where a `valuesFrom` entry's data is: (kind, name, data of the object) or why not.
pub struct ValuesRef {
    pub kind: String,
    pub name: String,
    pub key: String,
    pub target_path: String,
    pub optional: bool,
}

pub fn values_refs(spec: &Value) -> Vec<ValuesRef> {
    spec.get("valuesFrom")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|r| {
                    let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                    ValuesRef {
                        kind: s("kind"),
                        name: s("name"),
                        key: r
                            .get("valuesKey")
                            .and_then(Value::as_str)
                            .filter(|k| !k.is_empty())
                            .unwrap_or("values.yaml")
                            .to_string(),
                        target_path: s("targetPath"),
                        optional: r.get("optional").and_then(Value::as_bool).unwrap_or(false),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Finds a ConfigMap's or Secret's data by (kind, name), as text.
pub type DataLookup<'a> = dyn Fn(&str, &str) -> Option<BTreeMap<String, String>> + 'a;

/// helm-controller's values: each `valuesFrom` in order (looked up with `lookup(kind, name)`,
/// which gives the object's data as text), then `spec.values`, merged map into map.
pub fn merge_values(spec: &Value, lookup: &DataLookup) -> Result<T, String> {
    let out = T::map(Default::default());
    for r in values_refs(spec) {
        let Some(data) = lookup(&r.kind, &r.name) else {
            if r.optional {
                continue;
            }
            return Err(format!("could not find {} '{}'", r.kind, r.name));
        };
        let Some(text) = data.get(&r.key) else {
            if r.optional {
                continue;
            }
            return Err(format!(
                "missing key '{}' in {} '{}'",
                r.key, r.kind, r.name
            ));
        };
        if r.target_path.is_empty() {
            match gotmpl::yaml::from_yaml(text) {
                Ok(v @ T::Map(_)) => super::strvals::merge_maps(&out, &v),
                Ok(T::Nil) => {}
                Ok(_) => {
                    return Err(format!(
                        "unable to read values from key '{}' in {} '{}': not a mapping",
                        r.key, r.kind, r.name
                    ));
                }
                Err(e) => {
                    return Err(format!(
                        "unable to read values from key '{}' in {} '{}': {e}",
                        r.key, r.kind, r.name
                    ));
                }
            }
        } else {
            // helm-controller sets a single value at the path, typed as --set types it.
            let expr = format!("{}={}", r.target_path, text.replace(',', "\\,"));
            super::strvals::parse_into(&expr, &out, super::strvals::Mode::Typed).map_err(|e| {
                format!(
                    "unable to replace values at targetPath '{}': {e}",
                    r.target_path
                )
            })?;
        }
    }
    if let Some(v) = spec.get("values")
        && v.is_object()
    {
        super::strvals::merge_maps(&out, &to_template_value(v));
    }
    Ok(out)
}

/// The chart a HelmRelease names, as (chart name, version constraint, what names it).
pub enum ChartWanted {
    Named {
        chart: String,
        version: String,
        source: String,
    },
    /// `spec.chartRef` to an OCIRepository: the chart is the last element of its URL.
    OciRef {
        kind: String,
        namespace: String,
        name: String,
    },
    /// A chart inside a GitRepository or Bucket: a path in that source.
    InSource {
        chart: String,
        kind: String,
        namespace: String,
        name: String,
    },
    Missing,
}

pub fn chart_wanted(spec: &Value, hr_namespace: &str) -> ChartWanted {
    if let Some(r) = spec.get("chartRef") {
        let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let namespace = Some(s("namespace"))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| hr_namespace.to_string());
        return ChartWanted::OciRef {
            kind: s("kind"),
            namespace,
            name: s("name"),
        };
    }
    let Some(cs) = spec.pointer("/chart/spec") else {
        return ChartWanted::Missing;
    };
    let chart = cs
        .get("chart")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let version = cs
        .get("version")
        .and_then(Value::as_str)
        .unwrap_or("*")
        .to_string();
    let kind = cs
        .pointer("/sourceRef/kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let name = cs
        .pointer("/sourceRef/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let source = format!("{kind}/{name}");
    if kind == "GitRepository" || kind == "Bucket" {
        let namespace = cs
            .pointer("/sourceRef/namespace")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .unwrap_or(hr_namespace)
            .to_string();
        return ChartWanted::InSource {
            chart,
            kind,
            namespace,
            name,
        };
    }
    ChartWanted::Named {
        chart,
        version,
        source,
    }
}

/// The chart name and version constraint an OCIRepository's spec gives.
pub fn oci_chart(spec: &Value) -> Option<(String, String)> {
    let url = spec.get("url")?.as_str()?;
    let name = url.trim_end_matches('/').rsplit('/').next()?.to_string();
    let r = spec.get("ref");
    let version = r
        .and_then(|r| r.get("tag").or(r.get("semver")))
        .and_then(Value::as_str)
        .unwrap_or("*")
        .to_string();
    Some((name, version))
}

/// What rendering a HelmRelease gave: the documents to apply, as text with their template.
pub struct Rendered {
    pub chart_path: PathBuf,
    pub chart_version: String,
    pub release: String,
    pub namespace: String,
    /// (template path, document text): CRDs first (by `install.crds`), then the manifest.
    pub documents: Vec<(String, String)>,
    pub not_reproducible: BTreeSet<String>,
    pub warnings: Vec<String>,
}

/// Renders a HelmRelease's chart from `chart_path` with `values`, as helm-controller would.
pub fn render(
    hr_name: &str,
    hr_namespace: &str,
    spec: &Value,
    chart: chart::Chart,
    chart_path: &Path,
    values: &T,
    api_versions: &BTreeSet<String>,
) -> Result<Rendered, super::HelmError> {
    let chart_version = chart.version.clone();
    let namespace = spec
        .get("targetNamespace")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(hr_namespace)
        .to_string();
    let opts = ReleaseOptions {
        name: release_name(hr_name, spec),
        namespace: namespace.clone(),
        ..ReleaseOptions::default()
    };
    let release = super::render(chart, values, &opts, api_versions)?;
    let crds_policy = spec
        .pointer("/install/crds")
        .and_then(Value::as_str)
        .unwrap_or("Create");
    let mut documents = Vec::new();
    if crds_policy != "Skip" {
        for (name, text) in &release.crds {
            for doc in super::manifest::split_manifests(text) {
                documents.push((name.clone(), doc));
            }
        }
    }
    for m in &release.manifests {
        documents.push((m.path.clone(), m.content.clone()));
    }
    Ok(Rendered {
        chart_path: chart_path.to_path_buf(),
        chart_version,
        release: opts.name,
        namespace,
        documents,
        not_reproducible: release.not_reproducible,
        warnings: release.warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names_as_helm_controller() {
        assert_eq!(release_name("plex", &serde_json::json!({})), "plex");
        assert_eq!(
            release_name("plex", &serde_json::json!({"targetNamespace": "media"})),
            "media-plex"
        );
        assert_eq!(
            release_name("plex", &serde_json::json!({"releaseName": "p"})),
            "p"
        );
        let long = release_name(
            "a-very-long-helm-release-name-that-goes-on-and-on",
            &serde_json::json!({"targetNamespace": "namespace"}),
        );
        assert_eq!(long.len(), 53);
        assert!(
            long.starts_with("namespace-a-very-long-helm-release-name-"),
            "{long}"
        );
        assert_eq!(
            split_name_version("app-template-5.0.0"),
            Some(("app-template", "5.0.0"))
        );
        assert_eq!(
            split_name_version("prometheus-blackbox-exporter-11.17.2"),
            Some(("prometheus-blackbox-exporter", "11.17.2"))
        );
    }
}
