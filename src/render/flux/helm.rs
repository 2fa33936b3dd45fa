//! HelmReleases of a Flux tree rendered into units of their own, when their chart is vendored
//! (`--charts`) or kept in the repository read (a GitRepository path, or a `--source`
//! mapping): the chart and values found as helm-controller finds them
//! (`render::helm::release`), the documents parsed as any manifest is, placed at the
//! HelmRelease, in its target namespace, with helm-controller's origin labels. A HelmRelease
//! whose chart is not on disk, or whose values cannot be read, is reported and left
//! unrendered; the HelmRelease object itself is always checked.

use super::{Expander, is_helm_release};
use crate::diag::{Code, Diagnostic};
use crate::object::{self, Object, ObjectKey};
use crate::render::helm::{self, release};
use crate::render::{Unit, UnitKind};
use crate::util::Pointer;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// What every HelmRelease of a tree renders with: the API versions of `.Capabilities` and the
/// built-in catalogue (which kinds are cluster-scoped), made once per tree.
struct HelmEnv {
    api: BTreeSet<String>,
    catalog: crate::schema::catalog::Catalog,
}

/// A chart's files: path inside the chart, content.
type ChartFiles = Vec<(String, Vec<u8>)>;

/// Why a HelmRelease was not rendered, and where in it to say so.
struct NotRendered {
    code: Code,
    message: String,
    pointer: &'static str,
}

impl Expander<'_> {
    /// Renders every HelmRelease of the tree whose chart is vendored; reports the others.
    pub(super) fn render_helm_releases(&mut self) {
        let releases: Vec<Object> = self
            .out
            .units
            .iter()
            .flat_map(|u| u.objects.iter())
            .filter(|o| is_helm_release(o))
            .cloned()
            .collect();
        if releases.is_empty() {
            return;
        }
        let store = release::ChartStore::open(&self.options.charts);
        let catalog = crate::schema::catalog::Catalog::builtin();
        let env = HelmEnv {
            api: self.api_versions(&catalog),
            catalog,
        };
        // CRDs a chart's crds/ folder installs: Helm creates them only when absent.
        let mut crds: BTreeSet<String> = self
            .out
            .units
            .iter()
            .flat_map(|u| u.objects.iter())
            .filter(|o| o.key.kind == "CustomResourceDefinition")
            .map(|o| o.key.name.clone())
            .collect();
        for hr in releases {
            match self.render_helm_release(&hr, &store, &env, &mut crds) {
                Ok(unit) => self.out.units.push(unit),
                Err(n) => {
                    let at = self.locate(&hr, n.pointer, true);
                    self.out.diagnostics.push(
                        Diagnostic::new(n.code, format!("{}: {}", hr.key, n.message))
                            .at(at, "not rendered"),
                    );
                }
            }
        }
    }

    /// `.Capabilities.APIVersions` as helm-controller reads them from the cluster's discovery:
    /// every group version and kind Kubernetes v1.36 serves, and every CRD of the tree.
    fn api_versions(&self, catalog: &crate::schema::catalog::Catalog) -> BTreeSet<String> {
        let mut api = catalog.api_versions();
        for o in self.out.units.iter().flat_map(|u| u.objects.iter()) {
            if o.key.kind != "CustomResourceDefinition" {
                continue;
            }
            let group = o
                .value
                .at("/spec/group")
                .and_then(Value::as_str)
                .unwrap_or("");
            let kind = o
                .value
                .at("/spec/names/kind")
                .and_then(Value::as_str)
                .unwrap_or("");
            for v in o
                .value
                .at("/spec/versions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(name) = v.get("name").and_then(Value::as_str) {
                    api.insert(format!("{group}/{name}"));
                    api.insert(format!("{group}/{name}/{kind}"));
                }
            }
        }
        api
    }

    /// The chart a HelmRelease names; a `chartRef` to a HelmChart is followed to the chart
    /// that HelmChart names.
    fn chart_wanted(&self, spec: &Value, ns: &str) -> release::ChartWanted {
        let wanted = release::chart_wanted(spec, ns);
        if let release::ChartWanted::OciRef {
            kind,
            namespace,
            name,
        } = &wanted
            && kind == "HelmChart"
            && let Some(hc) = self.produced_object(kind, namespace, name)
            && let Some(hc_spec) = hc.value.get("spec")
        {
            return release::chart_wanted(
                &serde_json::json!({ "chart": { "spec": hc_spec } }),
                namespace,
            );
        }
        wanted
    }

    /// A ConfigMap's or Secret's data as text, when the tree produces it and it is readable.
    fn object_data(
        &self,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Option<BTreeMap<String, String>> {
        let o = self.produced_object(kind, namespace, name)?;
        if self.encrypted.contains(&o.key) {
            return None;
        }
        Some(
            super::data_text(o)
                .into_iter()
                .map(|(k, (text, _))| (k, text))
                .collect(),
        )
    }

    fn render_helm_release(
        &mut self,
        hr: &Object,
        store: &release::ChartStore,
        env: &HelmEnv,
        crds: &mut BTreeSet<String>,
    ) -> Result<Unit, NotRendered> {
        let spec = hr.value.get("spec").cloned().unwrap_or(Value::Null);
        let ns = hr.key.namespace.clone();
        let not = |message: String, pointer: &'static str| NotRendered {
            code: Code::HelmReleaseNotRendered,
            message,
            pointer,
        };
        let chart_at = if spec.get("chartRef").is_some() {
            "/spec/chartRef"
        } else {
            "/spec/chart"
        };
        let (chart, constraint, named) = match self.chart_wanted(&spec, &ns) {
            release::ChartWanted::Named { chart, version, source } => (chart.clone(), version, format!("chart `{chart}` from {source}")),
            release::ChartWanted::OciRef { kind, namespace, name } => {
                let Some(src) = self.produced_object(&kind, &namespace, &name) else {
                    return Err(not(format!("the chart from {kind}/{name} is not rendered: the tree has no {kind} {namespace}/{name}; the HelmRelease itself is checked"), chart_at));
                };
                let Some((chart, version)) = src.value.get("spec").and_then(release::oci_chart) else {
                    return Err(not(format!("the chart from {kind}/{name} is not rendered: its url names no chart; the HelmRelease itself is checked"), chart_at));
                };
                (chart.clone(), version, format!("chart `{chart}` from {kind}/{name}"))
            }
            release::ChartWanted::InSource { chart, kind, namespace, name } => {
                let (files, dir) = self.chart_in_source(&chart, &kind, &namespace, &name).map_err(|m| not(m, chart_at))?;
                let display = self.sources.display(&dir);
                let loaded = helm::chart::load_files(&display, files).map_err(|e| NotRendered {
                    code: Code::HelmChartInvalid,
                    message: format!("the chart `{chart}` in {kind}/{name} cannot be loaded: {}", e.message),
                    pointer: chart_at,
                })?;
                return self.finish_helm_release(hr, &spec, loaded, std::path::PathBuf::from(display), chart_at, env, crds);
            }
            release::ChartWanted::Missing => return Err(not("the chart is not rendered: the HelmRelease names no chart; the HelmRelease itself is checked".into(), "/spec")),
        };
        if store.is_empty() {
            return Err(not(
                format!("the {named} is not rendered; the HelmRelease itself is checked"),
                chart_at,
            ));
        }
        let Some((path, version)) = store.find(&chart, &constraint) else {
            let have = store.versions(&chart);
            let have = if have.is_empty() {
                "no version of it".to_string()
            } else {
                format!("only {}", have.join(", "))
            };
            return Err(not(
                format!(
                    "the {named}, version `{constraint}`, is not rendered: the --charts directories have {have}; the HelmRelease itself is checked"
                ),
                chart_at,
            ));
        };
        let loaded = helm::chart::load(path).map_err(|e| NotRendered {
            code: Code::HelmChartInvalid,
            message: format!("{chart} {version}: {}", e.message),
            pointer: chart_at,
        })?;
        self.finish_helm_release(hr, &spec, loaded, path.to_path_buf(), chart_at, env, crds)
    }

    /// The files of a chart directory inside a Flux source this tree reads (the repository
    /// itself, or a `--source` mapping), and that directory.
    fn chart_in_source(
        &self,
        chart: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<(ChartFiles, String), String> {
        let mapped = self
            .options
            .sources
            .get(&format!("{kind}/{namespace}/{name}"))
            .or_else(|| self.options.sources.get(&format!("{namespace}/{name}")));
        let base = match mapped {
            Some(p) => crate::source::join(self.sources.focus(), p).unwrap_or_default(),
            None if kind == "GitRepository" && self.other_repository(namespace, name).is_none() => {
                self.sources.focus().to_string()
            }
            None => {
                return Err(format!(
                    "the chart `{chart}` is in {kind}/{namespace}/{name}, which is not this repository: not rendered (map it with `--source {kind}/{namespace}/{name}=PATH`); the HelmRelease itself is checked"
                ));
            }
        };
        let dir = super::secure_join(&base, chart);
        if !self.sources.is_dir(&dir) {
            return Err(format!(
                "the chart `{chart}` of {kind}/{name} is not a directory of the input (`{}`); the HelmRelease itself is checked",
                self.sources.display(&dir)
            ));
        }
        let prefix = format!("{dir}/");
        let mut files = Vec::new();
        for id in self.sources.files_under(&dir) {
            let path = self.sources.path(id);
            let rel = path.strip_prefix(&prefix).unwrap_or(path).to_string();
            let bytes = self
                .sources
                .bytes(id)
                .map_err(|d| format!("the chart `{chart}` cannot be read: {}", d.message))?;
            files.push((rel, bytes.to_vec()));
        }
        Ok((files, dir))
    }

    /// `spec.postRenderers[].kustomize` (patches, strategic-merge and JSON 6902 patches,
    /// images) applied in order by kiln's kustomize, as helm-controller applies them with
    /// kustomize's.
    fn post_render(
        &mut self,
        hr: &Object,
        spec: &Value,
        objects: Vec<Object>,
    ) -> Result<Vec<Object>, NotRendered> {
        let Some(renderers) = spec.get("postRenderers").and_then(Value::as_array) else {
            return Ok(objects);
        };
        let origin = hr.origin.clone();
        let mut values: Vec<Value> = objects.into_iter().map(|o| o.value).collect();
        for (i, r) in renderers.iter().enumerate() {
            let Some(k) = r.get("kustomize").and_then(Value::as_object) else {
                continue;
            };
            let mut kustomization = serde_json::Map::new();
            kustomization.insert(
                "apiVersion".into(),
                "kustomize.config.k8s.io/v1beta1".into(),
            );
            kustomization.insert("kind".into(), "Kustomization".into());
            kustomization.insert("resources".into(), serde_json::json!(["rendered.yaml"]));
            for field in [
                "patches",
                "patchesStrategicMerge",
                "patchesJson6902",
                "images",
            ] {
                if let Some(v) = k.get(field) {
                    kustomization.insert(field.into(), v.clone());
                }
            }
            let kustomization_text = crate::syntax::emit::to_yaml(&Value::Object(kustomization));
            let rendered_text = crate::syntax::emit::to_yaml_stream(values.iter());
            let files = [
                ("kustomization.yaml", kustomization_text.as_str()),
                ("rendered.yaml", rendered_text.as_str()),
            ];
            let set = crate::source::SourceSet::from_memory("post-renderer", &files);
            let kz = crate::render::kustomize::Kustomizer::new(
                &set,
                crate::render::kustomize::LoadRestrictor::None,
            );
            match kz.build("") {
                Ok(built) => {
                    values = built
                        .resources
                        .into_iter()
                        .map(|r| r.into_value())
                        .collect()
                }
                Err(e) => {
                    return Err(NotRendered {
                        code: Code::HelmTemplateFailed,
                        message: format!(
                            "post-renderer {i} (kustomize) fails: {}",
                            e.diagnostic.message
                        ),
                        pointer: "/spec/postRenderers",
                    });
                }
            }
        }
        let mut out = Vec::new();
        for v in values {
            let locate = |_: &str, _: bool| self.locate(hr, "/spec/postRenderers", false);
            let extracted = object::extract(0, v, origin.file, &locate);
            self.out.diagnostics.extend(extracted.diagnostics);
            for mut o in extracted.objects {
                o.origin = origin.clone();
                out.push(o);
            }
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn finish_helm_release(
        &mut self,
        hr: &Object,
        spec: &Value,
        loaded: helm::chart::Chart,
        path: std::path::PathBuf,
        chart_at: &'static str,
        env: &HelmEnv,
        crds: &mut BTreeSet<String>,
    ) -> Result<Unit, NotRendered> {
        let ns = hr.key.namespace.clone();
        let mut loaded = loaded;
        let (chart, version) = (loaded.name.clone(), loaded.version.clone());
        // `valuesFiles`: files of the chart merged in order, replacing its values.yaml.
        if let Some(files) = spec
            .pointer("/chart/spec/valuesFiles")
            .and_then(Value::as_array)
        {
            let merged = gotmpl::Value::map(Default::default());
            for f in files.iter().filter_map(Value::as_str) {
                let text = if f == "values.yaml" {
                    None
                } else {
                    loaded
                        .files
                        .get(f.trim_start_matches("./"))
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                };
                let value = match (f, text) {
                    ("values.yaml", _) => loaded.values.deep_copy(),
                    (_, Some(t)) => gotmpl::yaml::from_yaml(&t).map_err(|e| NotRendered {
                        code: Code::HelmValuesInvalid,
                        message: format!("{chart} {version}: valuesFiles `{f}`: {e}"),
                        pointer: "/spec/chart/spec/valuesFiles",
                    })?,
                    (_, None) => {
                        return Err(NotRendered {
                            code: Code::HelmValuesInvalid,
                            message: format!(
                                "{chart} {version}: valuesFiles `{f}` is not a file of the chart"
                            ),
                            pointer: "/spec/chart/spec/valuesFiles",
                        });
                    }
                };
                helm::strvals::merge_maps(&merged, &value);
            }
            loaded.values = merged;
        }
        // Values from an object the tree does not hold (an operator's, an ExternalSecret's) or
        // cannot read (SOPS): unknown, so the release is not rendered rather than guessed.
        for r in release::values_refs(spec) {
            if r.optional {
                continue;
            }
            let why = match self.produced_object(&r.kind, &ns, &r.name) {
                None => Some("which the tree does not hold (created on the cluster?)"),
                Some(o) if self.encrypted.contains(&o.key) => Some("which is SOPS-encrypted"),
                Some(_) => None,
            };
            if let Some(why) = why {
                return Err(NotRendered {
                    code: Code::HelmReleaseNotRendered,
                    message: format!(
                        "{chart} {version} is not rendered: its values come from {}/{}, {why}; the HelmRelease itself is checked",
                        r.kind, r.name
                    ),
                    pointer: "/spec/valuesFrom",
                });
            }
        }
        let values = release::merge_values(spec, &|kind, name| self.object_data(kind, &ns, name))
            .map_err(|e| NotRendered {
            code: Code::HelmValuesInvalid,
            message: format!("the values cannot be read: {e}"),
            pointer: "/spec/valuesFrom",
        })?;
        let rendered = release::render(&hr.key.name, &ns, spec, loaded, &path, &values, &env.api)
            .map_err(|e| NotRendered {
            code: match e.kind {
                helm::HelmErrorKind::Chart | helm::HelmErrorKind::KubeVersion => {
                    Code::HelmChartInvalid
                }
                helm::HelmErrorKind::ReleaseName | helm::HelmErrorKind::Schema => {
                    Code::HelmValuesInvalid
                }
                _ => Code::HelmTemplateFailed,
            },
            message: format!("{chart} {version}: {}", e.message),
            pointer: "/spec/values",
        })?;
        for w in &rendered.warnings {
            let at = self.locate(hr, "/spec/values", true);
            self.out.diagnostics.push(
                Diagnostic::new(
                    Code::HelmValuesInvalid,
                    format!("{}: {chart} {version}: {w}", hr.key),
                )
                .severity(crate::diag::Severity::Warning)
                .at(at, "values"),
            );
        }
        if !rendered.not_reproducible.is_empty() {
            let at = self.locate(hr, chart_at, true);
            self.out.diagnostics.push(
                Diagnostic::new(
                    Code::HelmNotReproducible,
                    format!(
                        "{}: {chart} {version} uses {}: kiln's render repeats, Helm's changes on every run",
                        hr.key,
                        rendered.not_reproducible.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                )
                .at(at, "seeded from the release name and namespace"),
            );
        }
        let catalog = &env.catalog;
        let crd_kinds: BTreeSet<(String, String)> = rendered
            .documents
            .iter()
            .filter_map(|(_, d)| {
                let v = gotmpl::yaml::from_yaml(d).ok()?;
                if v.get("kind").map(|k| gotmpl::funcs::strval(&k))
                    != Some("CustomResourceDefinition".into())
                {
                    return None;
                }
                let spec = v.get("spec")?;
                let scope = spec
                    .get("scope")
                    .map(|s| gotmpl::funcs::strval(&s))
                    .unwrap_or_default();
                let kind = spec
                    .get("names")?
                    .get("kind")
                    .map(|k| gotmpl::funcs::strval(&k))?;
                (scope == "Cluster").then(|| {
                    (
                        spec.get("group")
                            .map(|g| gotmpl::funcs::strval(&g))
                            .unwrap_or_default(),
                        kind,
                    )
                })
            })
            .collect();
        let here = hr.origin.clone();
        let mut objects = Vec::new();
        let mut crd_objects = Vec::new();
        for (template, doc) in &rendered.documents {
            let locate_hr = self.locate(hr, "", false);
            let parsed = crate::syntax::parse(
                &format!("{doc}\n"),
                &crate::syntax::Limits::default(),
                &|_| locate_hr.clone(),
            );
            for d in parsed.diagnostics {
                self.out.diagnostics.push(d);
            }
            for document in parsed.documents {
                let locate = |_: &str, _: bool| self.locate(hr, "", false);
                let extracted = object::extract(0, document.value, here.file, &locate);
                for d in extracted.diagnostics {
                    self.out.diagnostics.push(d.related(
                        self.locate(hr, "", false),
                        format!("rendered from {template}"),
                    ));
                }
                for mut o in extracted.objects {
                    if template.contains("/crds/")
                        && o.key.kind == "CustomResourceDefinition"
                        && !crds.insert(o.key.name.clone())
                    {
                        continue;
                    }
                    o.origin = here.clone();
                    if template.contains("/crds/") {
                        crd_objects.push(o);
                    } else {
                        objects.push(o);
                    }
                }
            }
        }
        // helm-controller's post-renderers: the user's kustomize ones in order (CRDs of crds/
        // are not post-rendered), then its origin labels.
        let objects = self.post_render(hr, spec, objects)?;
        let mut objects: Vec<Object> = crd_objects.into_iter().chain(objects).collect();
        for o in &mut objects {
            let cluster_scoped = catalog.namespaced(&o.key.group, &o.key.kind) == Some(false)
                || crd_kinds.contains(&(o.key.group.clone(), o.key.kind.clone()));
            if !cluster_scoped && o.key.namespace.is_empty() {
                o.key.namespace = rendered.namespace.clone();
                if let Some(m) = o.value.get_mut("metadata").and_then(Value::as_object_mut) {
                    m.insert(
                        "namespace".into(),
                        Value::String(rendered.namespace.clone()),
                    );
                }
            }
            super::set_metadata_map(
                &mut o.value,
                "labels",
                &[
                    (release::NAME_LABEL.to_string(), hr.key.name.clone()),
                    (release::NAMESPACE_LABEL.to_string(), ns.clone()),
                ],
            );
        }
        Ok(Unit {
            name: format!("HelmRelease/{ns}/{}", hr.key.name),
            kind: UnitKind::Helm {
                namespace: ns.clone(),
                name: hr.key.name.clone(),
            },
            path: rendered.chart_path.display().to_string(),
            objects,
            depends_on: Vec::<ObjectKey>::new(),
            owner: Some(hr.key.clone()),
        })
    }
}
