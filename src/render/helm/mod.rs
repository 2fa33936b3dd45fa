//! Helm charts rendered natively, as `helm template` renders them (Helm v4): a chart
//! ([`chart::load`]) and user values in, the release's manifests, hooks, CRDs and notes out,
//! or Helm's own error. The template language, Sprig and Helm's functions are the `gotmpl`
//! crate; this module is the chart machinery around it: dependency processing and values
//! ([`values`]), `.Files` and `.Capabilities` ([`objects`]), the template set Helm's engine
//! builds (parse order, scoped values, partials), and the release manifest ([`manifest`]).
//!
//! It renders; it does not fetch charts, validate the objects it produces or apply them.
//! Random and time functions are seeded from the release name and namespace, so a render is
//! reproducible; [`Release::not_reproducible`] names those that Helm itself would not repeat.

pub mod chart;
pub mod manifest;
pub mod objects;
pub mod release;
pub mod schema;
pub mod strvals;
pub mod values;

use chart::Chart;
use gotmpl::exec::{Exec, MissingKey};
use gotmpl::{Map, Templates, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// The release being rendered and `helm template`'s options.
#[derive(Clone, Debug)]
pub struct ReleaseOptions {
    pub name: String,
    pub namespace: String,
    pub revision: i64,
    pub is_upgrade: bool,
    /// `--kube-version` (Helm's default is v1.36.0 here).
    pub kube_version: String,
    /// `--api-versions`, added to the built-in API versions.
    pub api_versions: Vec<String>,
    pub include_crds: bool,
    pub skip_tests: bool,
    /// `--show-only`: template paths to print (all when empty).
    pub show_only: Vec<String>,
}

impl Default for ReleaseOptions {
    fn default() -> Self {
        ReleaseOptions {
            name: "release-name".into(),
            namespace: "default".into(),
            revision: 1,
            is_upgrade: false,
            kube_version: "v1.36.0".into(),
            api_versions: Vec::new(),
            include_crds: false,
            skip_tests: false,
            show_only: Vec::new(),
        }
    }
}

/// A rendered release.
#[derive(Clone, Debug, Default)]
pub struct Release {
    /// Every rendered template (partials excluded, NOTES.txt included), by Helm's name.
    pub templates: BTreeMap<String, String>,
    /// Non-hook documents, in Helm's install order.
    pub manifests: Vec<manifest::Manifest>,
    /// Hook documents (tests included), in Helm's order.
    pub hooks: Vec<manifest::Manifest>,
    /// `crds/` files of the chart and its enabled subcharts: (Helm's name, text).
    pub crds: Vec<(String, String)>,
    pub notes: Option<String>,
    /// What Helm would log as warnings (non-bool conditions, missing imports).
    pub warnings: Vec<String>,
    /// Functions used whose output Helm itself does not repeat between runs (`randAlphaNum`,
    /// `uuidv4`, `now`): kiln's render is reproducible, Helm's is not.
    pub not_reproducible: BTreeSet<String>,
}

/// Why a release could not be rendered, worded as Helm words it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelmError {
    pub kind: HelmErrorKind,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelmErrorKind {
    /// The chart cannot be loaded.
    Chart,
    ReleaseName,
    KubeVersion,
    Schema,
    Parse,
    Execute,
    ManifestYaml,
}

impl std::fmt::Display for HelmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn release_name_ok(name: &str) -> bool {
    if name.is_empty() || name.len() > 53 {
        return false;
    }
    name.split('.').all(|label| {
        let b = label.as_bytes();
        !b.is_empty()
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
    })
}

/// A seed for the random functions from the release's name and namespace (FNV-1a).
fn seed(opts: &ReleaseOptions) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in opts.name.bytes().chain([0]).chain(opts.namespace.bytes()) {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// Helm's default `.Capabilities.APIVersions`: the group versions of client-go's scheme (no
/// `group/version/Kind` entries; `apiregistration.k8s.io` is not in that scheme), here taken
/// from kiln's catalog, plus `apiextensions.k8s.io/v1beta1`, which Helm registers itself.
pub fn default_api_versions(catalog: &crate::schema::catalog::Catalog) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = catalog
        .api_versions()
        .into_iter()
        .filter(|gv| {
            gv.matches('/').count() <= 1
                && !(gv.contains('/')
                    && gv
                        .rsplit('/')
                        .next()
                        .is_some_and(|k| k.starts_with(char::is_uppercase)))
        })
        .filter(|gv| !gv.starts_with("apiregistration.k8s.io/"))
        .collect();
    out.insert("apiextensions.k8s.io/v1beta1".into());
    out
}

/// Renders `chart` with `user_values` as `helm template` would. `builtin_api_versions` is the
/// API version set Helm assumes ([`default_api_versions`]).
pub fn render(
    mut chart: Chart,
    user_values: &Value,
    opts: &ReleaseOptions,
    builtin_api_versions: &BTreeSet<String>,
) -> Result<Release, HelmError> {
    if !release_name_ok(&opts.name) {
        return Err(HelmError {
            kind: HelmErrorKind::ReleaseName,
            message: format!(
                "release name check failed: release name {}: invalid release name, must match regex ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the length must not be longer than 53",
                gotmpl::gofmt::quote(&opts.name)
            ),
        });
    }
    let kube = objects::kube_version(&opts.kube_version).map_err(|m| HelmError {
        kind: HelmErrorKind::KubeVersion,
        message: m,
    })?;
    let user_values = match user_values {
        Value::Map(_) => user_values.clone(),
        _ => Value::map(Map::new()),
    };
    let mut release = Release {
        warnings: values::process_dependencies(&mut chart, &user_values),
        ..Default::default()
    };
    if !chart.kube_version.is_empty() {
        let ok = gotmpl::semver::Constraints::parse(&chart.kube_version)
            .ok()
            .zip(gotmpl::semver::Version::parse(&kube.version).ok())
            .is_some_and(|(c, v)| c.check(&v));
        if !ok {
            return Err(HelmError {
                kind: HelmErrorKind::KubeVersion,
                message: format!(
                    "chart requires kubeVersion: {} which is incompatible with Kubernetes {}",
                    chart.kube_version, kube.version
                ),
            });
        }
    }
    let vals = values::coalesce_values(&chart, &user_values);
    let unchecked = schema::validate_chart(&chart, &vals).map_err(|m| HelmError {
        kind: HelmErrorKind::Schema,
        message: m,
    })?;
    release.warnings.extend(unchecked);

    let mut api: BTreeSet<String> = builtin_api_versions.clone();
    api.extend(opts.api_versions.iter().cloned());
    let caps = capabilities(kube, api);
    let mut rel = Map::new();
    rel.insert("Name".into(), Value::from(opts.name.as_str()));
    rel.insert("Namespace".into(), Value::from(opts.namespace.as_str()));
    rel.insert("Revision".into(), Value::Int(opts.revision));
    rel.insert("IsUpgrade".into(), Value::Bool(opts.is_upgrade));
    rel.insert("IsInstall".into(), Value::Bool(!opts.is_upgrade));
    rel.insert("Service".into(), Value::from("Helm"));
    let top = Top {
        release: Value::map(rel),
        caps,
    };

    // The template set, as Helm's engine builds it.
    let mut tpls: Vec<Renderable> = Vec::new();
    all_templates(&chart, &top, &vals, true, &mut tpls);
    tpls.sort_by(|a, b| {
        b.name
            .matches('/')
            .count()
            .cmp(&a.name.matches('/').count())
            .then_with(|| b.name.cmp(&a.name))
    });
    let mut set = Templates::new(gotmpl::funcs::helm_funcs());
    set.missing_key = MissingKey::Zero;
    for t in &tpls {
        set.parse(&t.name, &t.text).map_err(|e| HelmError {
            kind: HelmErrorKind::Parse,
            message: gotmpl::helm_parse_error(&t.name, &e.to_string()),
        })?;
    }
    let mut exec = Exec::new(Rc::new(set));
    exec.seed = seed(opts);
    for t in &tpls {
        let base = t.name.rsplit('/').next().unwrap_or(&t.name);
        if base.starts_with('_') {
            continue;
        }
        if let Value::Map(m) = &t.vals {
            let mut tm = Map::new();
            tm.insert("Name".into(), Value::from(t.name.as_str()));
            tm.insert("BasePath".into(), Value::from(t.base_path.as_str()));
            m.borrow_mut().insert("Template".into(), Value::map(tm));
        }
        let out = exec
            .execute_template(&t.name, t.vals.clone())
            .map_err(|e| HelmError {
                kind: HelmErrorKind::Execute,
                message: gotmpl::helm_exec_error(&e.to_string()),
            })?;
        release
            .templates
            .insert(t.name.clone(), out.replace("<no value>", ""));
    }
    release.not_reproducible = exec.notes.iter().cloned().collect();

    // The release manifest.
    let mut files = release.templates.clone();
    let notes_name = format!("{}/templates/NOTES.txt", chart.name);
    files.retain(|k, v| {
        if k.ends_with("NOTES.txt") {
            if *k == notes_name {
                release.notes = Some(v.clone());
            }
            return false;
        }
        true
    });
    let (hooks, manifests) = manifest::sort_manifests(&files).map_err(|m| HelmError {
        kind: HelmErrorKind::ManifestYaml,
        message: m,
    })?;
    release.hooks = hooks;
    release.manifests = manifests;
    crd_objects(&chart, &mut release.crds);
    Ok(release)
}

struct Top {
    release: Value,
    caps: Value,
}

struct Renderable {
    name: String,
    text: String,
    vals: Value,
    base_path: String,
}

fn capabilities(kube: objects::KubeVersion, api: BTreeSet<String>) -> Value {
    let mut helm = Map::new();
    helm.insert("Version".into(), Value::from("v4.2"));
    helm.insert("GitCommit".into(), Value::from(""));
    helm.insert("GitTreeState".into(), Value::from(""));
    helm.insert("GoVersion".into(), Value::from(""));
    let mut caps = Map::new();
    caps.insert("KubeVersion".into(), Value::Object(Rc::new(kube)));
    caps.insert(
        "APIVersions".into(),
        Value::Object(Rc::new(objects::ApiVersions(Rc::new(api)))),
    );
    caps.insert("HelmVersion".into(), Value::map(helm));
    Value::map(caps)
}

/// `.Chart`: Chart.yaml under Helm's Go field names, every field present, plus IsRoot.
fn chart_data(chart: &Chart, is_root: bool) -> Value {
    const FIELDS: &[(&str, &str)] = &[
        ("name", "Name"),
        ("home", "Home"),
        ("sources", "Sources"),
        ("version", "Version"),
        ("description", "Description"),
        ("keywords", "Keywords"),
        ("maintainers", "Maintainers"),
        ("icon", "Icon"),
        ("apiVersion", "APIVersion"),
        ("condition", "Condition"),
        ("tags", "Tags"),
        ("appVersion", "AppVersion"),
        ("deprecated", "Deprecated"),
        ("annotations", "Annotations"),
        ("kubeVersion", "KubeVersion"),
        ("dependencies", "Dependencies"),
        ("type", "Type"),
    ];
    let mut m = Map::new();
    for (yaml, go) in FIELDS {
        let v = chart.metadata.get(yaml).unwrap_or(Value::Nil);
        let v = match (*go, v) {
            ("Deprecated", Value::Nil) => Value::Bool(false),
            ("Annotations", Value::Nil) => Value::map(Map::new()),
            ("Sources" | "Keywords" | "Maintainers" | "Dependencies", v) => v,
            (_, Value::Nil) => Value::from(""),
            (_, Value::Float(f)) => Value::from(gotmpl::gofmt::format_float(f, 'g', None)),
            (_, v) => v,
        };
        m.insert(go.to_string(), v);
    }
    m.insert("Name".into(), Value::from(chart.name.as_str()));
    m.insert("IsRoot".into(), Value::Bool(is_root));
    Value::map(m)
}

/// Helm's recAllTpls: every template of the chart and its subcharts, each chart's templates
/// sharing one top-level object with its own `.Values`.
fn all_templates(
    chart: &Chart,
    top: &Top,
    parent_values: &Value,
    is_root: bool,
    out: &mut Vec<Renderable>,
) -> Value {
    let values = if is_root {
        parent_values.clone()
    } else {
        match parent_values.get(&chart.name) {
            Some(v @ Value::Map(_)) => v,
            _ => Value::map(Map::new()),
        }
    };
    let subcharts = Value::map(Map::new());
    let mut next = Map::new();
    next.insert("Chart".into(), chart_data(chart, is_root));
    next.insert(
        "Files".into(),
        Value::Object(Rc::new(objects::Files(Rc::new(chart.files.clone())))),
    );
    next.insert("Release".into(), top.release.clone());
    next.insert("Capabilities".into(), top.caps.clone());
    next.insert("Values".into(), values.clone());
    next.insert("Subcharts".into(), subcharts.clone());
    let next = Value::map(next);
    for sub in &chart.subcharts {
        let sub_next = all_templates(sub, top, &values, false, out);
        if let Value::Map(m) = &subcharts {
            m.borrow_mut().insert(sub.name.clone(), sub_next);
        }
    }
    for (path, text) in &chart.templates {
        let base = path.rsplit('/').next().unwrap_or(path);
        if chart.is_library() && !base.starts_with('_') {
            continue;
        }
        out.push(Renderable {
            name: format!("{}/{path}", chart.full_path),
            text: text.clone(),
            vals: next.clone(),
            base_path: format!("{}/templates", chart.full_path),
        });
    }
    next
}

/// Helm's CRDObjects: `crds/*.yaml|yml|json` of the chart, then of each enabled subchart.
fn crd_objects(chart: &Chart, out: &mut Vec<(String, String)>) {
    for (path, text) in &chart.crds {
        if path.ends_with(".yaml") || path.ends_with(".yml") || path.ends_with(".json") {
            out.push((format!("{}/{path}", chart.full_path), text.clone()));
        }
    }
    for sub in &chart.subcharts {
        crd_objects(sub, out);
    }
}

/// What `helm template` prints for a release.
pub fn template_output(release: &Release, opts: &ReleaseOptions) -> String {
    let mut manifest = String::new();
    if opts.include_crds {
        for (name, text) in &release.crds {
            manifest.push_str(&format!("---\n# Source: {name}\n{text}\n"));
        }
    }
    for m in &release.manifests {
        manifest.push_str(&format!("---\n# Source: {}\n{}\n", m.path, m.content));
    }
    let mut out = String::new();
    out.push_str(manifest.trim());
    out.push('\n');
    for h in &release.hooks {
        if opts.skip_tests && h.is_test() {
            continue;
        }
        out.push_str(&format!("---\n# Source: {}\n{}\n", h.path, h.content));
    }
    if opts.show_only.is_empty() {
        return out;
    }
    manifest::show_only(&out, &opts.show_only)
}
