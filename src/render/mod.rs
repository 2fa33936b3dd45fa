//! Rendering what users keep in their repositories into objects, grouped into units (what one
//! tool would apply together): Kustomize overlays ([`kustomize`]), Flux `Kustomization` trees
//! with post-build substitution ([`flux`], [`envsubst`]), and plain YAML. Every object keeps
//! its provenance.
//!
//! Without a Flux entry point, a directory is discovered: every kustomization that no other
//! kustomization includes is a unit of its own, and the YAML files outside kustomization
//! directories form one plain unit. Rendering never validates; `validate` checks what comes out.

pub mod envsubst;
pub mod fidelity;
pub mod flux;
pub mod helm;
pub mod jsonpatch;
pub mod kustomize;

use crate::diag::{Code, Diagnostic, Location};
use crate::load;
use crate::object::{Object, ObjectKey, Origin, SpanStore};
use crate::source::{self, FileId, SourceSet};
use crate::syntax::Limits;
use kustomize::{Kustomizer, LoadRestrictor};
use std::collections::{BTreeMap, BTreeSet};

/// What produced a unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnitKind {
    /// Plain YAML files.
    Plain,
    /// A kustomization directory, rendered as `kubectl kustomize` would.
    Kustomize,
    /// A Flux `Kustomization` (namespace/name), rendered as kustomize-controller would.
    Flux { namespace: String, name: String },
    /// A Flux `HelmRelease` (namespace/name), its chart rendered as helm-controller would.
    Helm { namespace: String, name: String },
}

/// Objects applied together.
#[derive(Clone, Debug)]
pub struct Unit {
    /// What it is: a directory, or a Flux Kustomization (`Kustomization/namespace/name`).
    pub name: String,
    pub kind: UnitKind,
    /// The directory rendered (relative to the root).
    pub path: String,
    pub objects: Vec<Object>,
    /// Flux Kustomizations this one waits for (its `dependsOn`, namespaces defaulted).
    pub depends_on: Vec<ObjectKey>,
    /// The object that defines the unit (a Flux Kustomization), if any.
    pub owner: Option<ObjectKey>,
}

/// Everything rendered from one input.
#[derive(Default)]
pub struct Rendered {
    pub units: Vec<Unit>,
    pub spans: SpanStore,
    pub diagnostics: Vec<Diagnostic>,
    /// How many files were read as manifests or kustomizations.
    pub files: usize,
    /// Flux's post-build substitution has run (a Flux tree): `${VAR}` left in an object is
    /// final, except in the objects of `unresolved`, whose variables' values are unknown.
    pub substituted: bool,
    pub unresolved: BTreeSet<ObjectKey>,
}

impl Rendered {
    /// Whether `${VAR}` values of an object may still be substituted before it is applied.
    pub fn pending_substitution(&self, o: &Object) -> bool {
        !self.substituted || self.unresolved.contains(&o.key)
    }
}

impl Rendered {
    pub fn objects(&self) -> impl Iterator<Item = &Object> {
        self.units.iter().flat_map(|u| u.objects.iter())
    }
}

/// How to render.
#[derive(Clone, Debug)]
pub enum Mode {
    /// Discover kustomizations and plain YAML.
    Auto(Discovery),
    /// Expand a Flux tree from an entry directory.
    Flux(flux::Options),
}

impl Default for Mode {
    fn default() -> Mode {
        Mode::Auto(Discovery::default())
    }
}

/// How a directory becomes units when no Flux entry is given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Discovery {
    /// Which files kustomizations may read.
    pub restrictor: LoadRestrictor,
    /// Render every kustomization root under a directory that holds a kustomization itself
    /// (without it, such a directory is built alone, as `kubectl kustomize DIR` builds it).
    pub all: bool,
    /// How plain YAML files form units.
    pub plain_units: PlainUnits,
}

/// How plain YAML files (outside kustomizations) are grouped into units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PlainUnits {
    /// All of them one unit: the same object in two files is a duplicate.
    #[default]
    Root,
    /// One unit per directory: sibling directories are alternatives (one per cluster or
    /// environment), and an object may appear in each.
    Directory,
}

/// Converts kustomize's resources into objects.
pub fn to_objects(resources: Vec<kustomize::resource::Resource>, fallback: Origin) -> Vec<Object> {
    resources
        .into_iter()
        .map(|r| {
            let key = ObjectKey {
                group: r.gvk().group,
                kind: r.kind().to_string(),
                namespace: r.namespace().to_string(),
                name: r.name().to_string(),
            };
            let api_version = r
                .obj
                .get("apiVersion")
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string();
            let origin = r.origin.clone().unwrap_or_else(|| fallback.clone());
            Object {
                key,
                api_version,
                value: r.into_value(),
                origin,
            }
        })
        .collect()
}

/// The directories a kustomization includes (resources and components that are directories).
fn included_dirs(sources: &SourceSet, dir: &str, kustomization: FileId) -> Vec<String> {
    let Ok(text) = sources.text(kustomization) else {
        return Vec::new();
    };
    let parsed = crate::syntax::parse(text, &Limits::default(), &|_| Location::file(""));
    let Some(doc) = parsed.documents.into_iter().next() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for field in ["resources", "bases", "components"] {
        for entry in doc
            .value
            .get(field)
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            if let Some(p) = entry.as_str()
                && let Ok(joined) = source::join(dir, p)
                && sources.is_dir(&joined)
            {
                out.push(joined);
            }
        }
    }
    out
}

/// Whether a kustomization file declares `kind: Component`.
fn is_component(sources: &SourceSet, kustomization: FileId) -> bool {
    let Ok(text) = sources.text(kustomization) else {
        return false;
    };
    // Cheap before parsing: most kustomizations do not name a kind at all.
    if !text.contains("Component") {
        return false;
    }
    let parsed = crate::syntax::parse(text, &Limits::default(), &|_| Location::file(""));
    parsed
        .documents
        .first()
        .and_then(|d| d.value.get("kind"))
        .and_then(|k| k.as_str())
        == Some("Component")
}

/// Renders a kustomization directory as one unit.
fn render_kustomization(kz: &Kustomizer, sources: &SourceSet, dir: &str, out: &mut Rendered) {
    let file = ["kustomization.yaml", "kustomization.yml", "Kustomization"]
        .iter()
        .find_map(|f| sources.lookup(&source::join(dir, f).ok()?));
    let fallback = Origin {
        file: file.unwrap_or(FileId(0)),
        document: 0,
        pointer: String::new(),
    };
    match kz.build(dir) {
        Ok(built) => {
            out.diagnostics.extend(built.notes);
            out.units.push(Unit {
                name: if dir.is_empty() {
                    ".".into()
                } else {
                    dir.to_string()
                },
                kind: UnitKind::Kustomize,
                path: dir.to_string(),
                objects: to_objects(built.resources, fallback),
                depends_on: Vec::new(),
                owner: None,
            });
        }
        Err(e) => out.diagnostics.push(e.diagnostic),
    }
}

/// Discovers and renders everything under the root of `sources`.
pub fn render(sources: &SourceSet, mode: &Mode, limits: &Limits) -> Rendered {
    match mode {
        Mode::Auto(discovery) => render_auto(sources, discovery, limits),
        Mode::Flux(options) => flux::render(sources, options, limits),
    }
}

fn render_auto(sources: &SourceSet, discovery: &Discovery, limits: &Limits) -> Rendered {
    let mut out = Rendered::default();
    let mut notes = Vec::new();
    // Every directory with a kustomization file, and which of them others include.
    let mut kustomizations: BTreeMap<String, FileId> = BTreeMap::new();
    for id in sources.files() {
        let p = sources.path(id);
        if source::is_kustomization_file(source::file_name(p)) && sources.in_focus(p) {
            kustomizations
                .entry(source::parent(p).to_string())
                .or_insert(id);
        }
    }
    let mut included: BTreeSet<String> = BTreeSet::new();
    for (dir, file) in &kustomizations {
        included.extend(included_dirs(sources, dir, *file));
    }
    let kz = Kustomizer::new(sources, discovery.restrictor);
    // A directory the user named that holds a kustomization is built alone, as `kubectl
    // kustomize DIR` builds it, unless `--all` asks for every root below it; the other
    // directories named are discovered.
    let exact: Vec<&String> = if discovery.all {
        Vec::new()
    } else {
        sources
            .focus_dirs()
            .iter()
            .filter(|d| kustomizations.contains_key(d.as_str()))
            .collect()
    };
    let under_exact = |dir: &str| {
        exact
            .iter()
            .any(|e| e.is_empty() || dir.starts_with(&format!("{e}/")))
    };
    let mut built = 0;
    for (dir, &file) in &kustomizations {
        let component = is_component(sources, file);
        if exact.contains(&dir) {
            if component {
                out.diagnostics.push(
                    Diagnostic::new(
                        Code::ComponentNotBuilt,
                        format!(
                            "`{}` is a kustomize Component; it is built only as part of a kustomization that lists it under `components:`",
                            sources.display(dir)
                        ),
                    )
                    .at(sources.file_location(file), "kind: Component")
                    .help("name the kustomization that uses this component instead"),
                );
                built += 1;
                continue;
            }
        } else if under_exact(dir) || included.contains(dir) || component {
            continue;
        }
        render_kustomization(&kz, sources, dir, &mut out);
        built += 1;
    }
    // Plain YAML outside every kustomization directory.
    let chosen: BTreeSet<FileId> = sources.chosen().iter().copied().collect();
    let owned = |id: FileId| {
        // A file named on its own is read as it is.
        if chosen.contains(&id) {
            return false;
        }
        let mut d = source::parent(sources.path(id));
        loop {
            if kustomizations.contains_key(d) {
                return true;
            }
            if d.is_empty() {
                return false;
            }
            d = source::parent(d);
        }
    };
    let plain: Vec<FileId> = sources
        .manifest_candidates(&mut notes)
        .into_iter()
        .filter(|id| !owned(*id))
        .collect();
    out.files = plain.len()
        + if exact.is_empty() {
            kustomizations.len()
        } else {
            built
        };
    let loaded = load::load_files(sources, &plain, limits);
    out.diagnostics.extend(notes);
    out.diagnostics.extend(loaded.diagnostics);
    match discovery.plain_units {
        PlainUnits::Root => {
            if !loaded.objects.is_empty() {
                out.units.push(Unit {
                    name: "plain YAML".into(),
                    kind: UnitKind::Plain,
                    path: String::new(),
                    objects: loaded.objects,
                    depends_on: Vec::new(),
                    owner: None,
                });
            }
        }
        PlainUnits::Directory => {
            let mut by_dir: BTreeMap<String, Vec<Object>> = BTreeMap::new();
            for o in loaded.objects {
                let dir = source::parent(sources.path(o.origin.file)).to_string();
                by_dir.entry(dir).or_default().push(o);
            }
            for (dir, objects) in by_dir {
                out.units.push(Unit {
                    name: if dir.is_empty() {
                        ".".into()
                    } else {
                        dir.clone()
                    },
                    kind: UnitKind::Plain,
                    path: dir,
                    objects,
                    depends_on: Vec::new(),
                    owner: None,
                });
            }
        }
    }
    out.spans = kz.take_spans();
    out.spans.extend(loaded.spans);
    // Flux Kustomizations are objects here; their tree is rendered with `--flux`.
    let flux: Vec<&Object> = out
        .objects()
        .filter(|o| flux::is_flux_kustomization(&o.api_version, &o.key.kind))
        .collect();
    if let Some(first) = flux.first() {
        let at = out.spans.locate(sources, &first.origin, "", false);
        let n = flux.len();
        let note = Diagnostic::new(
            Code::FluxTreeFound,
            format!("{n} Flux Kustomization{} found; their paths are not rendered without `--flux`", if n == 1 { "" } else { "s" }),
        )
        .at(at, "a Flux Kustomization")
        .help("render the tree from the directory the cluster syncs: `kiln check --flux clusters/NAME`");
        out.diagnostics.push(note);
    }
    out
}
