//! The Flux `Kustomization` tree, expanded offline the way kustomize-controller would: from an
//! entry directory (what the cluster's bootstrap Kustomization points at), every Flux
//! `Kustomization` object found in the output is built from its `spec.path` (a kustomization
//! generated when the path has none, the Flux spec merged in: `targetNamespace`, `namePrefix`,
//! `nameSuffix`, `patches`, `images`, `components`, `buildMetadata`), then post-build
//! substitution (`postBuild.substitute`, `substituteFrom`), the owner labels and
//! `commonMetadata`. Each Flux Kustomization is one [`Unit`]; its `dependsOn` is recorded.
//!
//! Sources: every `GitRepository` is taken to be the repository being read, unless `--source`
//! maps it elsewhere in it, or the tree shows it is another repository than the cluster's own
//! (a tenant's: its URL differs from `flux-system/flux-system`'s); other sources (OCI, buckets)
//! and other repositories are reported, not fetched. Values from
//! SOPS-encrypted Secrets, or from ConfigMaps and Secrets the tree does not produce, are unknown
//! offline and are reported per variable, never guessed. HelmRelease charts are not rendered.
//! Nothing here validates objects or orders them: `validate` and `graph` do.

use super::envsubst::{self, Vars};
use super::kustomize::{FluxEdits, Kustomizer, LoadRestrictor, types};
mod helm;

use super::{Rendered, Unit, UnitKind, to_objects};
use crate::diag::{Code, Diagnostic, Location};
use crate::object::{Object, ObjectKey, Origin};
use crate::source::ignore::Ignore;
use crate::source::{self, FileId, SourceSet};
use crate::syntax::{self, Limits, emit};
use crate::util::Pointer;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// A Git URL reduced to host and path, so that `https://github.com/org/repo.git`,
/// `ssh://git@github.com/org/repo` and `git@github.com:org/repo` are the same repository.
fn repository_of(url: &str) -> String {
    let u = url.trim().trim_end_matches('/');
    let u = u.split_once("://").map(|(_, rest)| rest).unwrap_or(u);
    let u = u.rsplit_once('@').map(|(_, rest)| rest).unwrap_or(u);
    let u = u.trim_end_matches(".git");
    // scp-like `host:org/repo`, or `host:port/org/repo`.
    let (host, path) = u.split_once(['/', ':']).unwrap_or((u, ""));
    let path = path
        .split_once('/')
        .filter(|(first, _)| first.chars().all(|c| c.is_ascii_digit()) && !first.is_empty())
        .map(|(_, rest)| rest)
        .unwrap_or(path);
    format!("{}/{}", host.to_ascii_lowercase(), path.trim_matches('/'))
}

/// The owner labels kustomize-controller sets on everything it applies.
pub const OWNER_NAME_LABEL: &str = "kustomize.toolkit.fluxcd.io/name";
pub const OWNER_NAMESPACE_LABEL: &str = "kustomize.toolkit.fluxcd.io/namespace";
const SUBSTITUTE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";
const RECONCILE_KEY: &str = "kustomize.toolkit.fluxcd.io/reconcile";
const GROUP: &str = "kustomize.toolkit.fluxcd.io";

/// How to expand a Flux tree.
#[derive(Clone, Debug)]
pub struct Options {
    /// The directory the cluster's bootstrap Kustomization points at, relative to the root.
    pub entry: String,
    /// The namespace and name of that bootstrap Kustomization.
    pub root: (String, String),
    /// Sources mapped to directories of the input: `Kind/namespace/name` or `namespace/name`.
    pub sources: BTreeMap<String, String>,
    /// Fail on a variable without a value or default (Flux's strict substitution).
    pub strict: bool,
    /// Directories of vendored Helm charts (`NAME-VERSION/` or `NAME-VERSION.tgz`): the
    /// HelmReleases whose chart is there are rendered into units of their own.
    pub charts: Vec<std::path::PathBuf>,
}

impl Options {
    pub fn new(entry: impl Into<String>) -> Options {
        Options {
            entry: entry.into(),
            root: ("flux-system".into(), "flux-system".into()),
            sources: BTreeMap::new(),
            strict: false,
            charts: Vec::new(),
        }
    }
}

/// True for a Flux `Kustomization` object (any version of the group).
pub fn is_flux_kustomization(api_version: &str, kind: &str) -> bool {
    kind == "Kustomization"
        && api_version
            .strip_prefix(GROUP)
            .is_some_and(|r| r.starts_with('/'))
}

fn is_helm_release(o: &Object) -> bool {
    o.key.kind == "HelmRelease" && o.key.group == "helm.toolkit.fluxcd.io"
}

/// One Flux Kustomization waiting to be built.
struct Job {
    namespace: String,
    name: String,
    /// Its object; `None` for the bootstrap Kustomization of the entry directory.
    object: Option<Object>,
}

impl Job {
    fn key(&self) -> String {
        format!("Kustomization/{}/{}", self.namespace, self.name)
    }

    fn spec(&self) -> Option<&Map<String, Value>> {
        self.object.as_ref()?.value.get("spec")?.as_object()
    }

    /// The ConfigMaps and Secrets its substitution reads: (kind, name, optional).
    fn substitute_from(&self) -> Vec<(String, String, bool)> {
        let Some(list) = self
            .spec()
            .and_then(|s| s.get("postBuild"))
            .and_then(|p| p.get("substituteFrom"))
            .and_then(Value::as_array)
        else {
            return Vec::new();
        };
        list.iter()
            .map(|r| {
                let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                (
                    s("kind"),
                    s("name"),
                    r.get("optional").and_then(Value::as_bool).unwrap_or(false),
                )
            })
            .collect()
    }
}

/// Where an object of the tree is: unit and index.
type Produced = BTreeMap<(String, String, String), (usize, usize)>;

struct Expander<'a> {
    sources: &'a SourceSet,
    options: &'a Options,
    kz: Kustomizer<'a>,
    out: Rendered,
    produced: Produced,
    /// Flux Kustomizations already queued or built (namespace, name).
    seen: BTreeSet<(String, String)>,
    ignores: HashMap<String, Ignore>,
    /// SOPS-encrypted Secrets seen (their values are masked in the output).
    encrypted: BTreeSet<ObjectKey>,
}

/// Expands the Flux tree that starts at `options.entry`.
pub fn render(sources: &SourceSet, options: &Options, _limits: &Limits) -> Rendered {
    let mut x = Expander {
        sources,
        options,
        kz: Kustomizer::new(sources, LoadRestrictor::None),
        out: Rendered::default(),
        produced: BTreeMap::new(),
        seen: BTreeSet::new(),
        ignores: HashMap::new(),
        encrypted: BTreeSet::new(),
    };
    let entry =
        source::join(sources.focus(), &options.entry).unwrap_or_else(|_| options.entry.clone());
    if !entry.is_empty() && !sources.is_dir(&entry) {
        let what = if sources.lookup(&entry).is_some() {
            "is a file; the Flux entry point is a directory"
        } else {
            "does not exist"
        };
        x.out.diagnostics.push(
            Diagnostic::new(
                Code::RenderPathNotFound,
                format!("Flux entry point `{}` {what}", sources.display(&entry)),
            )
            .at(Location::file(sources.display(&entry)), ""),
        );
        return x.out;
    }
    let (ns, name) = options.root.clone();
    x.seen.insert((ns.clone(), name.clone()));
    let mut queue = VecDeque::from([Job {
        namespace: ns,
        name,
        object: None,
    }]);
    // A Kustomization whose substitution reads a ConfigMap or Secret another one produces waits
    // for it; when only waiting ones are left, they are built with what exists.
    let mut waiting = 0;
    while let Some(job) = queue.pop_front() {
        if waiting <= queue.len() && x.waits(&job) {
            queue.push_back(job);
            waiting += 1;
            continue;
        }
        waiting = 0;
        x.build(job, &mut queue);
    }
    x.render_helm_releases();
    x.out.substituted = true;
    x.out.files = x.kz.files_read();
    x.out.spans = x.kz.take_spans();
    x.out
}

fn secure_join(base: &str, path: &str) -> String {
    // SecureJoin: `..` stops at the source's root; `./a`, `a` and `/a` are the same.
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let rel = parts.join("/");
    match (base.is_empty(), rel.is_empty()) {
        (true, _) => rel,
        (false, true) => base.to_string(),
        (false, false) => format!("{base}/{rel}"),
    }
}

fn find_pointer(v: &Value, needle: &str, ptr: &mut String) -> bool {
    match v {
        Value::String(s) => s.contains(needle),
        Value::Object(m) => {
            for (k, c) in m {
                let len = ptr.len();
                ptr.push('/');
                ptr.push_str(&k.replace('~', "~0").replace('/', "~1"));
                if k.contains(needle) || find_pointer(c, needle, ptr) {
                    return true;
                }
                ptr.truncate(len);
            }
            false
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                let len = ptr.len();
                ptr.push_str(&format!("/{i}"));
                if find_pointer(c, needle, ptr) {
                    return true;
                }
                ptr.truncate(len);
            }
            false
        }
        _ => false,
    }
}

/// Strings holding `${` that substitution turned into numbers, booleans or nulls.
fn type_changes(
    before: &Value,
    after: &Value,
    ptr: &mut String,
    out: &mut Vec<(String, String, String)>,
) {
    match (before, after) {
        (Value::String(s), other)
            if s.contains("${")
                && !other.is_string()
                && !other.is_object()
                && !other.is_array() =>
        {
            let what = match other {
                Value::Null => "null".to_string(),
                Value::Bool(b) => format!("the boolean {b}"),
                n => format!("the number {n}"),
            };
            out.push((ptr.clone(), s.clone(), what));
        }
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                if let Some(w) = b.get(k) {
                    let len = ptr.len();
                    ptr.push('/');
                    ptr.push_str(&k.replace('~', "~0").replace('/', "~1"));
                    type_changes(v, w, ptr, out);
                    ptr.truncate(len);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                let len = ptr.len();
                ptr.push_str(&format!("/{i}"));
                type_changes(v, w, ptr, out);
                ptr.truncate(len);
            }
        }
        _ => {}
    }
}

/// The pointer of the first string (or key) for which `f` holds.
fn find_string(v: &Value, f: &dyn Fn(&str) -> bool, ptr: &mut String) -> bool {
    match v {
        Value::String(s) => f(s),
        Value::Object(m) => m.iter().any(|(k, c)| {
            let len = ptr.len();
            ptr.push('/');
            ptr.push_str(&k.replace('~', "~0").replace('/', "~1"));
            let hit = f(k) || find_string(c, f, ptr);
            if !hit {
                ptr.truncate(len);
            }
            hit
        }),
        Value::Array(a) => a.iter().enumerate().any(|(i, c)| {
            let len = ptr.len();
            ptr.push_str(&format!("/{i}"));
            let hit = find_string(c, f, ptr);
            if !hit {
                ptr.truncate(len);
            }
            hit
        }),
        _ => false,
    }
}

fn meta_str<'v>(v: &'v Value, map: &str, key: &str) -> Option<&'v str> {
    v.get("metadata")?.get(map)?.get(key)?.as_str()
}

fn valid_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

fn set_metadata_map(v: &mut Value, field: &str, entries: &[(String, String)]) {
    let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let m = meta
        .entry(field)
        .or_insert_with(|| Value::Object(Map::new()));
    if !m.is_object() {
        *m = Value::Object(Map::new());
    }
    if let Some(m) = m.as_object_mut() {
        for (k, val) in entries {
            m.insert(k.clone(), Value::String(val.clone()));
        }
    }
}

/// A ConfigMap's or Secret's data as text, each entry with its pointer: a Secret's `data`
/// decoded (entries that are not base64 left out), then its `stringData`.
fn data_text(o: &Object) -> BTreeMap<String, (String, String)> {
    let entries = |field: &str| {
        o.value
            .get(field)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let mut out = BTreeMap::new();
    for (k, v) in entries("data") {
        let text = if o.key.kind == "ConfigMap" {
            v.as_str().map(str::to_string)
        } else {
            v.as_str()
                .and_then(|s| crate::util::base64_decode(s.trim()))
                .map(|b| String::from_utf8_lossy(&b).into_owned())
        };
        if let Some(t) = text {
            out.insert(k.clone(), (t, format!("/data/{k}")));
        }
    }
    if o.key.kind != "ConfigMap" {
        for (k, v) in entries("stringData") {
            if let Some(s) = v.as_str() {
                out.insert(k.clone(), (s.to_string(), format!("/stringData/{k}")));
            }
        }
    }
    out
}

/// The values of a ConfigMap's or Secret's data as substitution variables.
enum VarSource {
    Known(BTreeMap<String, (String, String)>),
    /// SOPS-encrypted: names known, values not.
    Encrypted(Vec<(String, String)>),
}

impl<'a> Expander<'a> {
    fn locate(&self, o: &Object, pointer: &str, key: bool) -> Location {
        self.kz.locate_in(&o.origin, pointer, key)
    }

    fn ignore(&mut self, root: &str) -> &Ignore {
        let sources = self.sources;
        self.ignores
            .entry(root.to_string())
            .or_insert_with(|| Ignore::for_flux_source(sources, root))
    }

    fn produced_object(&self, kind: &str, namespace: &str, name: &str) -> Option<&Object> {
        let (u, i) =
            self.produced
                .get(&(kind.to_string(), namespace.to_string(), name.to_string()))?;
        self.out.units.get(*u)?.objects.get(*i)
    }

    fn waits(&self, job: &Job) -> bool {
        job.substitute_from()
            .iter()
            .any(|(kind, name, _)| self.produced_object(kind, &job.namespace, name).is_none())
    }

    fn error(&mut self, code: Code, message: String, at: Location, label: &str) {
        self.out
            .diagnostics
            .push(Diagnostic::new(code, message).at(at, label));
    }

    /// The directory and Flux edits of a Flux Kustomization, or `None` (reported) when it
    /// cannot be built offline.
    fn prepare(&mut self, job: &Job) -> Option<(String, String, FluxEdits)> {
        let Some(o) = job.object.as_ref() else {
            let entry = source::join(self.sources.focus(), &self.options.entry).unwrap_or_default();
            let file = self
                .sources
                .files_under(&entry)
                .first()
                .copied()
                .unwrap_or(FileId(0));
            let at = Location::file(self.sources.display(&entry));
            return Some((
                entry,
                self.sources.focus().to_string(),
                FluxEdits::new(file, at),
            ));
        };
        let key = job.key();
        let Some(spec) = o.value.get("spec").and_then(Value::as_object) else {
            self.error(
                Code::InvalidFluxKustomization,
                format!("{key} has no spec"),
                self.locate(o, "", false),
                "no spec",
            );
            return None;
        };
        // The source.
        let src = spec.get("sourceRef");
        let s = |k: &str| {
            src.and_then(|r| r.get(k))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let (kind, name) = (s("kind"), s("name"));
        let namespace = match s("namespace") {
            n if n.is_empty() => job.namespace.clone(),
            n => n,
        };
        if kind.is_empty() || name.is_empty() {
            self.error(
                Code::InvalidFluxKustomization,
                format!("{key}: spec.sourceRef needs a kind and a name"),
                self.locate(o, "/spec/sourceRef", true),
                "incomplete source reference",
            );
            return None;
        }
        let mapped = self
            .options
            .sources
            .get(&format!("{kind}/{namespace}/{name}"))
            .or_else(|| self.options.sources.get(&format!("{namespace}/{name}")));
        let base = match mapped {
            Some(p) => {
                let p = source::join(self.sources.focus(), p).unwrap_or_default();
                if !p.is_empty() && !self.sources.is_dir(&p) {
                    self.error(
                        Code::RenderPathNotFound,
                        format!(
                            "--source {kind}/{namespace}/{name}={p}: `{}` is not a directory",
                            self.sources.display(&p)
                        ),
                        self.locate(o, "/spec/sourceRef", true),
                        "this source",
                    );
                    return None;
                }
                p
            }
            // Another repository than the one the cluster bootstraps from (a tenant's): not
            // this one, so not read as if it were.
            None if kind == "GitRepository"
                && let Some(url) = self.other_repository(&namespace, &name) =>
            {
                self.out.diagnostics.push(
                    Diagnostic::new(
                        Code::FluxSourceUnavailable,
                        format!("{key} is not rendered: its source GitRepository/{namespace}/{name} is another repository ({url}) than the cluster's"),
                    )
                    .at(self.locate(o, "/spec/sourceRef", true), "another repository")
                    .help(format!("map it to a directory of the input with `--source GitRepository/{namespace}/{name}=PATH`, or check that repository on its own")),
                );
                return None;
            }
            // The repository being read is the directory the user named.
            None if kind == "GitRepository" => self.sources.focus().to_string(),
            None => {
                self.out.diagnostics.push(
                    Diagnostic::new(
                        Code::FluxSourceUnavailable,
                        format!("{key} is not rendered: its source {kind}/{namespace}/{name} is not this repository"),
                        )
                        .at(self.locate(o, "/spec/sourceRef", true), "an external source")
                        .help(format!("map it to a directory of the input with `--source {kind}/{namespace}/{name}=PATH`")),
                );
                return None;
            }
        };
        let path = spec.get("path").and_then(Value::as_str).unwrap_or("");
        let dir = secure_join(&base, path);
        let path_at = if spec.contains_key("path") {
            self.locate(o, "/spec/path", false)
        } else {
            self.locate(o, "/spec", true)
        };
        if !dir.is_empty() && !self.sources.is_dir(&dir) {
            let what = if self.sources.lookup(&dir).is_some() {
                "is a file, not a directory"
            } else {
                "does not exist"
            };
            self.error(
                Code::RenderPathNotFound,
                format!(
                    "kustomization path not found: {key} builds `{}`, which {what}",
                    self.sources.display(&dir)
                ),
                path_at,
                "spec.path",
            );
            return None;
        }
        let mut e = FluxEdits::new(o.origin.file, path_at);
        let string_at = |me: &mut Self, field: &str| -> Option<Option<(String, Location)>> {
            match spec.get(field) {
                None | Some(Value::Null) => Some(None),
                Some(Value::String(v)) => Some(Some((
                    v.clone(),
                    me.locate(o, &format!("/spec/{field}"), false),
                ))),
                Some(_) => {
                    me.error(
                        Code::InvalidFluxKustomization,
                        format!("{key}: spec.{field} must be a string"),
                        me.locate(o, &format!("/spec/{field}"), false),
                        "not a string",
                    );
                    None
                }
            }
        };
        e.target_namespace = string_at(self, "targetNamespace")?;
        e.name_prefix = string_at(self, "namePrefix")?;
        e.name_suffix = string_at(self, "nameSuffix")?;
        let list = |field: &str| {
            spec.get(field)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        for (i, p) in list("patches").into_iter().enumerate() {
            let at = format!("/spec/patches/{i}");
            let patch = p
                .get("patch")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let target = match p.get("target") {
                None | Some(Value::Null) => None,
                Some(t) => match serde_json::from_value::<types::Selector>(t.clone()) {
                    Ok(s) => Some(s),
                    Err(err) => {
                        self.error(
                            Code::InvalidFluxKustomization,
                            format!("{key}: invalid patch target: {err}"),
                            self.locate(o, &format!("{at}/target"), false),
                            "here",
                        );
                        return None;
                    }
                },
            };
            e.patches.push((
                types::Patch {
                    path: String::new(),
                    patch,
                    target,
                    options: BTreeMap::new(),
                },
                self.locate(o, &at, false),
            ));
        }
        for (i, c) in list("components").into_iter().enumerate() {
            let at = self.locate(o, &format!("/spec/components/{i}"), false);
            match c.as_str() {
                Some(c) => e.components.push((c.to_string(), at)),
                None => {
                    self.error(
                        Code::InvalidFluxKustomization,
                        format!("{key}: a component must be a path"),
                        at,
                        "not a string",
                    );
                    return None;
                }
            }
        }
        e.ignore_missing_components = spec
            .get("ignoreMissingComponents")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        for (i, img) in list("images").into_iter().enumerate() {
            let s = |k: &str| img.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let image = types::Image {
                name: s("name"),
                new_name: s("newName"),
                new_tag: s("newTag"),
                digest: s("digest"),
                tag_suffix: String::new(),
            };
            e.images
                .push((image, self.locate(o, &format!("/spec/images/{i}"), false)));
        }
        e.build_metadata = list("buildMetadata")
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        for field in ["patchesStrategicMerge", "patchesJson6902"] {
            if spec.contains_key(field) {
                self.out.diagnostics.push(
                    Diagnostic::new(
                        Code::IgnoredFluxField,
                        format!(
                            "{key}: spec.{field} is not applied by kustomize-controller's v1 API"
                        ),
                    )
                    .at(self.locate(o, &format!("/spec/{field}"), true), "ignored")
                    .help("move these patches to spec.patches"),
                );
            }
        }
        Some((dir, base, e))
    }

    fn build(&mut self, job: Job, queue: &mut VecDeque<Job>) {
        let Some((dir, base, edits)) = self.prepare(&job) else {
            return;
        };
        let key = job.key();
        let ignore_root = base.clone();
        self.ignore(&ignore_root);
        let ignore = &self.ignores[&ignore_root];
        let built = self
            .kz
            .build_flux(&dir, &edits, &|p, d| ignore.ignored(p, d));
        let built = match built {
            Ok(b) => b,
            Err(err) => {
                let mut d = err.diagnostic;
                if let Some(o) = &job.object {
                    let here = self.locate(o, "", false);
                    // Said only when the finding is elsewhere than in the Flux Kustomization.
                    if d.path() != Some(here.path.as_str()) {
                        d.related.push(crate::diag::Label::new(
                            here,
                            format!("while building {key}"),
                        ));
                    }
                }
                self.out.diagnostics.push(d);
                return;
            }
        };
        let mut notes = built.notes;
        if let Some(o) = &job.object {
            // Objects left unrendered fail the Flux Kustomization, as they fail its build in
            // Flux: said on each such error, so that nothing of it is applied.
            let here = self.locate(o, "", false);
            for d in notes
                .iter_mut()
                .filter(|d| d.severity == crate::diag::Severity::Error)
            {
                if d.path() != Some(here.path.as_str()) {
                    d.related.push(crate::diag::Label::new(
                        here.clone(),
                        format!("while building {key}"),
                    ));
                }
            }
        }
        self.out.diagnostics.extend(notes);
        let fallback = Origin {
            file: edits.file,
            document: 0,
            pointer: String::new(),
        };
        let fallback = match &job.object {
            Some(o) => o.origin.clone(),
            None => fallback,
        };
        let mut objects = to_objects(built.resources, fallback);
        if let Some(ks) = &job.object
            && self.substitute(&job, ks, &mut objects).is_err()
        {
            return;
        }
        // Objects Flux does not apply: kustomize's own config, and opted-out objects.
        objects.retain(|o| {
            !(o.key.kind == "Kustomization"
                && o.api_version.starts_with("kustomize.config.k8s.io/"))
                && meta_str(&o.value, "annotations", RECONCILE_KEY)
                    .or(meta_str(&o.value, "labels", RECONCILE_KEY))
                    .is_none_or(|v| !v.eq_ignore_ascii_case("disabled"))
        });
        let owner = [
            (OWNER_NAME_LABEL.to_string(), job.name.clone()),
            (OWNER_NAMESPACE_LABEL.to_string(), job.namespace.clone()),
        ];
        let common = job.spec().and_then(|s| s.get("commonMetadata")).cloned();
        let pairs = |field: &str| -> Vec<(String, String)> {
            common
                .as_ref()
                .and_then(|c| c.get(field))
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                v.as_str()
                                    .map(str::to_string)
                                    .unwrap_or_else(|| v.to_string()),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let (common_labels, common_annotations) = (pairs("labels"), pairs("annotations"));
        for o in objects.iter_mut() {
            set_metadata_map(&mut o.value, "labels", &owner);
            if !common_labels.is_empty() {
                set_metadata_map(&mut o.value, "labels", &common_labels);
            }
            if !common_annotations.is_empty() {
                set_metadata_map(&mut o.value, "annotations", &common_annotations);
            }
        }
        self.mask_sops(&mut objects);
        let unit_index = self.out.units.len();
        for (i, o) in objects.iter().enumerate() {
            self.produced
                .entry((
                    o.key.kind.clone(),
                    o.key.namespace.clone(),
                    o.key.name.clone(),
                ))
                .or_insert((unit_index, i));
            if is_flux_kustomization(&o.api_version, &o.key.kind)
                && self
                    .seen
                    .insert((o.key.namespace.clone(), o.key.name.clone()))
            {
                queue.push_back(Job {
                    namespace: o.key.namespace.clone(),
                    name: o.key.name.clone(),
                    object: Some(o.clone()),
                });
            }
        }
        let depends_on = job
            .spec()
            .and_then(|s| s.get("dependsOn"))
            .and_then(Value::as_array)
            .map(|deps| {
                deps.iter()
                    .filter_map(|d| {
                        let name = d.get("name")?.as_str()?.to_string();
                        let ns = d
                            .get("namespace")
                            .and_then(Value::as_str)
                            .filter(|s| !s.is_empty())
                            .unwrap_or(&job.namespace)
                            .to_string();
                        Some(ObjectKey {
                            group: GROUP.into(),
                            kind: "Kustomization".into(),
                            namespace: ns,
                            name,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        self.out.units.push(Unit {
            name: key,
            kind: UnitKind::Flux {
                namespace: job.namespace.clone(),
                name: job.name.clone(),
            },
            path: dir,
            objects,
            depends_on,
            owner: job.object.as_ref().map(|o| o.key.clone()),
        });
    }

    /// The URL of the GitRepository `namespace/name` when the tree defines it and it names
    /// another repository than `flux-system/flux-system` (the one the cluster syncs, read
    /// here). Unknown either way: `None`, and the repository being read is assumed.
    fn other_repository(&self, namespace: &str, name: &str) -> Option<String> {
        let spec = |ns: &str, n: &str| {
            self.out
                .units
                .iter()
                .flat_map(|u| u.objects.iter())
                .find(|o| {
                    o.key.kind == "GitRepository"
                        && o.key.group == "source.toolkit.fluxcd.io"
                        && o.key.namespace == ns
                        && o.key.name == n
                })
                .and_then(|o| o.value.get("spec"))
        };
        if (namespace, name) == ("flux-system", "flux-system") {
            return None;
        }
        let own = spec("flux-system", "flux-system")?;
        let theirs = spec(namespace, name)?;
        let url = |s: &Value| s.get("url").and_then(Value::as_str).map(str::to_string);
        let (own_url, their_url) = (url(own)?, url(theirs)?);
        if repository_of(&own_url) != repository_of(&their_url) {
            return Some(their_url);
        }
        // The same repository at another branch, tag or commit is another tree too.
        (own.get("ref") != theirs.get("ref")).then(|| {
            let r = theirs.get("ref").map(Value::to_string).unwrap_or_default();
            format!("{their_url} at {r}")
        })
    }

    /// Secrets encrypted with SOPS: their values are masked as `flux build` masks them, since
    /// they cannot be decrypted offline.
    fn mask_sops(&mut self, objects: &mut [Object]) {
        for o in objects
            .iter_mut()
            .filter(|o| o.key.kind == "Secret" && o.key.group.is_empty())
        {
            let Some(m) = o.value.as_object_mut() else {
                continue;
            };
            if m.remove("sops").is_none() {
                continue;
            }
            self.encrypted.insert(o.key.clone());
            let masked = crate::util::base64_encode(b"**SOPS**");
            if let Some(Value::Object(d)) = m.get_mut("data") {
                d.values_mut()
                    .for_each(|v| *v = Value::String(masked.clone()));
            }
            if let Some(Value::Object(d)) = m.get_mut("stringData") {
                d.values_mut()
                    .for_each(|v| *v = Value::String("**SOPS**".into()));
            }
            let at = self.locate(o, "", false);
            self.out.diagnostics.push(
                Diagnostic::new(Code::SopsEncrypted, format!("{} is SOPS-encrypted: its values are masked, they cannot be decrypted offline", o.key)).at(at, ""),
            );
        }
    }

    /// The variables of a `substituteFrom` object.
    fn var_source(&self, o: &Object) -> VarSource {
        let entries = |field: &str| {
            o.value
                .get(field)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        if self.encrypted.contains(&o.key) {
            let mut names: Vec<(String, String)> = Vec::new();
            for field in ["data", "stringData"] {
                names.extend(
                    entries(field)
                        .keys()
                        .map(|k| (k.clone(), format!("/{field}/{k}"))),
                );
            }
            return VarSource::Encrypted(names);
        }
        let out = data_text(o)
            .into_iter()
            .map(|(k, (text, pointer))| (k, (text.replace('\n', ""), pointer)))
            .collect();
        VarSource::Known(out)
    }

    /// Post-build substitution over every object of a unit. `Err` when Flux would fail the
    /// whole Kustomization (reported).
    fn substitute(&mut self, job: &Job, ks: &Object, objects: &mut [Object]) -> Result<(), ()> {
        let Some(post) = job.spec().and_then(|s| s.get("postBuild")).cloned() else {
            return Ok(());
        };
        let key = job.key();
        let always = post.get("substituteStrategy").and_then(Value::as_str) == Some("Always");
        let mut values: BTreeMap<String, String> = BTreeMap::new();
        // Where each variable is defined, and for unknown ones, why they are unknown.
        let mut defined_at: BTreeMap<String, Location> = BTreeMap::new();
        let mut unknown: BTreeMap<String, String> = BTreeMap::new();
        let mut missing: Vec<String> = Vec::new();
        for (i, (kind, name, optional)) in job.substitute_from().into_iter().enumerate() {
            let at = format!("/spec/postBuild/substituteFrom/{i}");
            if kind != "ConfigMap" && kind != "Secret" {
                self.error(
                    Code::InvalidFluxKustomization,
                    format!("{key}: substituteFrom kind must be ConfigMap or Secret, not `{kind}`"),
                    self.locate(ks, &at, false),
                    "here",
                );
                return Err(());
            }
            let Some(src) = self.produced_object(&kind, &job.namespace, &name).cloned() else {
                if !optional {
                    let what = format!("{kind}/{}/{name}", job.namespace);
                    self.out.diagnostics.push(
                        Diagnostic::new(
                            Code::SubstitutionSourceMissing,
                            format!("{key} substitutes variables from {what}, which this tree does not produce: they come from the cluster"),
                        )
                        .at(self.locate(ks, &at, false), "not in the rendered tree")
                        .help("variables it would define are left as `${VAR}` and reported; mark it `optional: true` if it may be absent"),
                    );
                    missing.push(what);
                }
                continue;
            };
            match self.var_source(&src) {
                VarSource::Known(vars) => {
                    for (k, (v, ptr)) in vars {
                        unknown.remove(&k);
                        defined_at.insert(k.clone(), self.locate(&src, &ptr, true));
                        values.insert(k, v);
                    }
                }
                VarSource::Encrypted(names) => {
                    for (k, ptr) in names {
                        values.remove(&k);
                        defined_at.insert(k.clone(), self.locate(&src, &ptr, true));
                        unknown.insert(k, format!("SOPS-encrypted {}", src.key));
                    }
                }
            }
        }
        if let Some(inline) = post.get("substitute") {
            let Some(m) = inline.as_object() else {
                self.error(
                    Code::InvalidFluxKustomization,
                    format!("{key}: postBuild.substitute must be a map of strings"),
                    self.locate(ks, "/spec/postBuild/substitute", false),
                    "not a map",
                );
                return Err(());
            };
            for (k, v) in m {
                let ptr = format!(
                    "/spec/postBuild/substitute/{}",
                    k.replace('~', "~0").replace('/', "~1")
                );
                let Some(s) = v.as_str() else {
                    self.error(
                        Code::InvalidFluxKustomization,
                        format!("{key}: the value of substitution variable `{k}` must be a string"),
                        self.locate(ks, &ptr, false),
                        "quote this value",
                    );
                    return Err(());
                };
                unknown.remove(k);
                defined_at.insert(k.clone(), self.locate(ks, &ptr, true));
                values.insert(k.clone(), s.replace('\n', ""));
            }
        }
        if values.is_empty() && unknown.is_empty() && missing.is_empty() && !always {
            // Flux substitutes nothing when no variable is defined.
            return Ok(());
        }
        for name in values.keys().chain(unknown.keys()) {
            if !valid_var_name(name) {
                let at = defined_at
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| self.locate(ks, "/spec/postBuild", true));
                self.error(
                    Code::SubstitutionFailed,
                    format!("post build failed for {key}: '{name}' var name is invalid, must match '^[_[:alpha:]][_[:alpha:][:digit:]]*$'"),
                    at,
                    "invalid variable name",
                );
                return Err(());
            }
        }
        let unknown_names: BTreeSet<String> = unknown.keys().cloned().collect();
        let vars = Vars {
            values: &values,
            unknown: &unknown_names,
            undefined_unknown: !missing.is_empty(),
            strict: self.options.strict,
        };
        let mut undefined: BTreeMap<String, Location> = BTreeMap::new();
        let mut unresolved: BTreeMap<String, Location> = BTreeMap::new();
        for o in objects.iter_mut() {
            if meta_str(&o.value, "labels", SUBSTITUTE_KEY) == Some("disabled")
                || meta_str(&o.value, "annotations", SUBSTITUTE_KEY) == Some("disabled")
            {
                continue;
            }
            let text = emit::to_yaml(&o.value);
            if !text.contains('$') {
                continue;
            }
            let done = match envsubst::substitute(&text, &vars) {
                Ok(d) => d,
                Err(err) => {
                    let mut p = String::new();
                    let ptr = match &err {
                        envsubst::Error::NotSet(name) => {
                            find_pointer(&o.value, &format!("${{{name}"), &mut p).then_some(p)
                        }
                        // The first string that does not parse on its own.
                        _ => find_string(
                            &o.value,
                            &|s| envsubst::substitute(s, &vars).is_err(),
                            &mut p,
                        )
                        .then_some(p),
                    };
                    let at = self
                        .kz
                        .locate_in(&o.origin, ptr.as_deref().unwrap_or(""), false);
                    let label = if ptr.is_some() {
                        "here"
                    } else {
                        "in this object"
                    };
                    self.out.diagnostics.push(
                        Diagnostic::new(Code::SubstitutionFailed, format!("post build failed for {} (in {key}): variable substitution failed: {err}", o.key))
                            .at(at, label)
                            .related(self.locate(ks, "/spec/postBuild", true), "substitution configured here"),
                    );
                    return Err(());
                }
            };
            for name in &done.undefined {
                if !undefined.contains_key(name) {
                    let mut p = String::new();
                    find_pointer(&o.value, &format!("${{{name}"), &mut p);
                    undefined.insert(name.clone(), self.kz.locate_in(&o.origin, &p, false));
                }
            }
            let has_unknown = !done.unknown.is_empty();
            for name in &done.unknown {
                if !unresolved.contains_key(name) {
                    let mut p = String::new();
                    find_pointer(&o.value, &format!("${{{name}"), &mut p);
                    unresolved.insert(name.clone(), self.kz.locate_in(&o.origin, &p, false));
                }
            }
            if done.text == text {
                if has_unknown {
                    self.out.unresolved.insert(o.key.clone());
                }
                continue;
            }
            let parsed = syntax::parse(&done.text, &Limits::default(), &|_| Location::file(""));
            let first_error = parsed
                .diagnostics
                .iter()
                .find(|d| d.severity == crate::diag::Severity::Error);
            match (first_error, parsed.documents.into_iter().next()) {
                (None, Some(doc)) if doc.value.is_object() => {
                    let mut changed = Vec::new();
                    type_changes(&o.value, &doc.value, &mut String::new(), &mut changed);
                    // Only values the source quoted: an unquoted `${REPLICAS}` means a number.
                    changed.retain(|(ptr, _, _)| {
                        self.kz
                            .span_of(&o.origin, ptr)
                            .is_some_and(|(span, exact)| {
                                exact
                                    && self.sources.text(o.origin.file).is_ok_and(|t| {
                                        t.get(span.start as usize..).is_some_and(|r| {
                                            r.starts_with('"') || r.starts_with('\'')
                                        })
                                    })
                            })
                    });
                    o.value = doc.value;
                    let s = |p: &str| {
                        o.value
                            .at(p)
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string()
                    };
                    o.api_version = s("/apiVersion");
                    o.key.kind = s("/kind");
                    o.key.group = o
                        .api_version
                        .rsplit_once('/')
                        .map(|(g, _)| g.to_string())
                        .unwrap_or_default();
                    o.key.namespace = s("/metadata/namespace");
                    o.key.name = s("/metadata/name");
                    if has_unknown {
                        self.out.unresolved.insert(o.key.clone());
                    }
                    for (ptr, before, after) in changed {
                        self.out.diagnostics.push(
                            Diagnostic::new(
                                Code::SubstitutionChangedType,
                                format!("{}: the quoted `{before}` became {after} after substitution in {key}", o.key),
                            )
                            .at(self.kz.locate_in(&o.origin, &ptr, false), "no longer a string")
                            .help("Flux substitutes into re-serialised YAML, where the quotes around a value are gone; put the quotes in the variable's value (`'\"8080\"'`)"),
                        );
                    }
                }
                (e, _) => {
                    let why = e
                        .map(|d| d.message.clone())
                        .unwrap_or_else(|| "the result is not a YAML mapping".into());
                    self.out.diagnostics.push(
                        Diagnostic::new(Code::SubstitutionFailed, format!("post build failed for {} (in {key}): the substituted object is no longer valid YAML: {why}", o.key))
                            .at(self.kz.locate_in(&o.origin, "", false), "in this object")
                            .help("a substituted value is spliced into the YAML text unquoted; values with `: `, `#` or quotes can break it"),
                    );
                    return Err(());
                }
            }
        }
        for (name, at) in undefined {
            self.out.diagnostics.push(
                Diagnostic::new(Code::UndefinedVariable, format!("`${{{name}}}` has no value in {key}: Flux substitutes an empty string"))
                    .at(at, "undefined")
                    .related(self.locate(ks, "/spec/postBuild", true), "variables of this Kustomization")
                    .help(format!("define `{name}` in postBuild.substitute or a substituteFrom source, or give a default: `${{{name}:=value}}`")),
            );
        }
        for (name, at) in unresolved {
            let why = match unknown.get(&name) {
                Some(why) => format!("it comes from {why}"),
                None => format!("it may come from {}", missing.join(", ")),
            };
            let mut d = Diagnostic::new(Code::UnknownVariable, format!("the value of `{name}` is unknown offline ({why}); `${{{name}}}` is left in place")).at(at, "unknown value");
            if let Some(def) = defined_at.get(&name) {
                d = d.related(def.clone(), "defined here");
            }
            self.out.diagnostics.push(d);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_join_clamps() {
        assert_eq!(secure_join("", "./apps/prod"), "apps/prod");
        assert_eq!(secure_join("", "/apps"), "apps");
        assert_eq!(secure_join("", "../../apps"), "apps");
        assert_eq!(secure_join("", "./"), "");
        assert_eq!(secure_join("repo2", "a/../b"), "repo2/b");
    }

    #[test]
    fn var_names() {
        assert!(valid_var_name("CLUSTER_NAME"));
        assert!(valid_var_name("_x1"));
        assert!(!valid_var_name("1x"));
        assert!(!valid_var_name("a-b"));
        assert!(!valid_var_name(""));
    }
}

#[cfg(test)]
mod repository_tests {
    use super::repository_of;

    #[test]
    fn one_repository_in_every_url_form() {
        let want = "github.com/org/repo";
        for u in [
            "https://github.com/org/repo",
            "https://github.com/org/repo.git",
            "https://github.com/org/repo/",
            "ssh://git@github.com/org/repo",
            "ssh://git@github.com:22/org/repo.git",
            "git@github.com:org/repo.git",
            "https://GitHub.com/org/repo",
        ] {
            assert_eq!(repository_of(u), want, "{u}");
        }
        assert_ne!(
            repository_of("https://github.com/org/other"),
            repository_of("https://github.com/org/repo")
        );
    }
}
