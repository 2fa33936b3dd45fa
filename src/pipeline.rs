//! The stages composed: source -> render (plain YAML, kustomizations, a Flux tree; syntax and
//! objects inside) -> validation, for one input (a directory or a Git revision of it). Every
//! command that needs validated objects starts here.
//!
//! It holds no rules of its own; it only runs the stages in order and gathers their
//! diagnostics. `Err` means the input could not be read at all (exit status 2).

use crate::diag::{self, Code, Diagnostic, Location};
use crate::graph::{self, DependencyGraph};
use crate::load;
use crate::object::{self, Object, ObjectKey, SpanStore};
use crate::render::{self, Mode, UnitKind};
use crate::schema::Catalog;
use crate::source::{SourceError, SourceSet};
use crate::syntax::Limits;
use crate::util::Pointer;
use crate::validate;
use std::path::PathBuf;

/// What to read.
#[derive(Clone, Debug)]
pub struct Input {
    /// A directory or a file.
    pub path: PathBuf,
    /// Further files and directories read with it (several PATH arguments), in one root.
    pub also: Vec<PathBuf>,
    /// A document given on standard input (`-`).
    pub stdin: Option<std::sync::Arc<str>>,
    /// Read only standard input, no path.
    pub stdin_only: bool,
    /// The root, when the user sets it (`--root`).
    pub root: Option<PathBuf>,
    /// gitignore-style patterns of root-relative paths left out.
    pub exclude: Vec<String>,
    /// Paths in diagnostics relative to the root (machine output), not as typed.
    pub root_relative: bool,
    /// How to show paths under it (the argument as the user typed it).
    pub display: String,
    /// A Git revision to read instead of the working tree.
    pub rev: Option<String>,
    pub max_file_bytes: u64,
    /// Extra files or directories whose CustomResourceDefinitions supply schemas.
    pub crds: Vec<PathBuf>,
    /// Objects the cluster provides (`.kiln.yaml`'s `clusterProvided`): references to them
    /// are not reported as missing.
    pub provided: Vec<crate::object::reference::ObjectRef>,
    pub limits: Limits,
    /// How to render: discover kustomizations and plain YAML, or expand a Flux tree.
    pub mode: Mode,
}

impl Input {
    pub fn new(path: impl Into<PathBuf>) -> Input {
        let path = path.into();
        Input {
            display: path.to_string_lossy().into_owned(),
            path,
            also: Vec::new(),
            stdin: None,
            stdin_only: false,
            root: None,
            exclude: Vec::new(),
            root_relative: false,
            rev: None,
            max_file_bytes: crate::source::DEFAULT_MAX_FILE_BYTES,
            crds: Vec::new(),
            provided: Vec::new(),
            limits: Limits::default(),
            mode: Mode::default(),
        }
    }
}

/// A group of objects applied together (see [`render::Unit`]), as a range of
/// [`Compiled::objects`].
#[derive(Clone, Debug)]
pub struct UnitInfo {
    pub name: String,
    pub kind: UnitKind,
    pub path: String,
    pub objects: std::ops::Range<usize>,
    pub depends_on: Vec<ObjectKey>,
    pub owner: Option<ObjectKey>,
}

/// Validated objects and everything needed to explain them.
pub struct Compiled {
    pub sources: SourceSet,
    /// Every object, unit after unit, each unit in its renderer's order.
    pub objects: Vec<Object>,
    pub units: Vec<UnitInfo>,
    /// The dependency graph of `objects`.
    pub graph: DependencyGraph,
    pub spans: SpanStore,
    pub catalog: Catalog,
    pub diagnostics: Vec<Diagnostic>,
    pub files: usize,
}

impl Compiled {
    /// The names kinds answer to in object references: plurals of every known kind, the
    /// built-in short names, and the short names of the input's CRDs.
    pub fn kind_names(&self) -> crate::object::reference::KindNames {
        let mut names = crate::object::reference::KindNames::builtin();
        for r in self.catalog.resources() {
            names.add(&r.group, &r.kind, [r.plural.clone()]);
        }
        for o in &self.objects {
            if o.key.kind == "CustomResourceDefinition"
                && let Some(n) = o.value.at("/spec/names")
            {
                let group = o
                    .value
                    .at("/spec/group")
                    .and_then(|v| v.as_str())
                    .unwrap_or("");
                let kind = n.get("kind").and_then(|v| v.as_str()).unwrap_or("");
                let short = n
                    .get("shortNames")
                    .and_then(|v| v.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_string));
                let singular = n
                    .get("singular")
                    .and_then(|v| v.as_str())
                    .map(str::to_string);
                names.add(group, kind, short.chain(singular));
            }
        }
        names
    }

    /// The source location of a node of an object.
    pub fn locate(&self, obj: &Object, pointer: &str, prefer_key: bool) -> Location {
        self.spans
            .locate(&self.sources, &obj.origin, pointer, prefer_key)
    }
}

/// Opens the input as a [`SourceSet`].
pub fn open(input: &Input) -> Result<SourceSet, SourceError> {
    let mut paths = Vec::new();
    if !input.stdin_only {
        paths.push(input.path.clone());
    }
    paths.extend(input.also.iter().cloned());
    let req = crate::source::Request {
        paths,
        display: input.display.clone(),
        root: input.root.clone(),
        stdin: input.stdin.clone(),
        exclude: input.exclude.clone(),
        root_relative: input.root_relative,
        max_file_bytes: input.max_file_bytes,
    };
    match &input.rev {
        Some(rev) => SourceSet::from_git(&req, rev),
        None => SourceSet::open(&req),
    }
}

/// Reads CustomResourceDefinitions from extra paths into the catalogue.
fn load_crd_paths(
    input: &Input,
    catalog: &mut Catalog,
    diags: &mut Vec<Diagnostic>,
) -> Result<(), SourceError> {
    for p in &input.crds {
        let set = SourceSet::from_dir(p, &p.to_string_lossy(), input.max_file_bytes)?;
        let mut notes = Vec::new();
        let files = set.manifest_candidates(&mut notes);
        let loaded = load::load_files(&set, &files, &input.limits);
        diags.extend(
            loaded
                .diagnostics
                .into_iter()
                .filter(|d| d.severity == diag::Severity::Error),
        );
        let locate =
            |o: &Object, ptr: &str, key: bool| loaded.spans.locate(&set, &o.origin, ptr, key);
        diags.extend(validate::add_crds(catalog, &loaded.objects, &locate));
    }
    Ok(())
}

/// Reads, renders and validates the input.
pub fn compile(input: &Input) -> Result<Compiled, SourceError> {
    let sources = open(input)?;
    let mut diagnostics: Vec<Diagnostic> = sources.problems().to_vec();
    let mut rendered = render::render(&sources, &input.mode, &input.limits);
    diagnostics.append(&mut rendered.diagnostics);
    let spans = std::mem::take(&mut rendered.spans);
    let nfiles = rendered.files;
    if nfiles == 0
        && matches!(input.mode, Mode::Auto(_))
        && rendered.units.iter().all(|u| u.objects.is_empty())
    {
        let named: Vec<String> = sources
            .focus_dirs()
            .iter()
            .map(|d| sources.display(d))
            .map(|d| if d.is_empty() { ".".to_string() } else { d })
            .collect();
        let shown = if named.is_empty() {
            input.display.clone()
        } else {
            named.join(", ")
        };
        diagnostics.push(
            Diagnostic::new(
                Code::NoManifests,
                format!("`{shown}` holds no manifests: no YAML file and no kustomization was found"),
            )
            .at(Location::file(shown.clone()), "")
            .help("hidden directories, files .gitignore ignores and `exclude` patterns are skipped; check the PATH"),
        );
    }
    let mut objects = Vec::new();
    let mut units = Vec::new();
    let encrypted = mask_encrypted(&mut rendered, &sources, &spans, &mut diagnostics);
    for u in std::mem::take(&mut rendered.units) {
        let start = objects.len();
        objects.extend(u.objects);
        units.push(UnitInfo {
            name: u.name,
            kind: u.kind,
            path: u.path,
            objects: start..objects.len(),
            depends_on: u.depends_on,
            owner: u.owner,
        });
    }
    let mut catalog = Catalog::builtin();
    load_crd_paths(input, &mut catalog, &mut diagnostics)?;
    let locate = |o: &Object, ptr: &str, key: bool| spans.locate(&sources, &o.origin, ptr, key);
    diagnostics.extend(validate::add_crds(&mut catalog, &objects, &locate));
    let flux = matches!(input.mode, Mode::Flux(_));
    if flux {
        // One cluster: the same object from two Flux Kustomizations is a conflict.
        diagnostics.extend(object::duplicates(&objects, &|o| {
            locate(o, "/metadata/name", false)
        }));
        diagnostics.extend(namespace_not_specified(&objects, &catalog, &locate));
    } else {
        // Overlays are alternatives (staging, production): duplicates only count within one.
        for u in &units {
            diagnostics.extend(object::duplicates(&objects[u.objects.clone()], &|o| {
                locate(o, "/metadata/name", false)
            }));
        }
    }
    diagnostics.extend(validate::validate_with(
        &objects,
        &mut catalog,
        &locate,
        &|o| rendered.pending_substitution(o),
        &|o| encrypted.contains(&o.key),
    ));
    let graph = {
        let mut unit_of = vec![0u32; objects.len()];
        for (u, info) in units.iter().enumerate() {
            for i in info.objects.clone() {
                unit_of[i] = u as u32;
            }
        }
        let wanted = graph::Input {
            objects: &objects,
            // One cluster with --flux; otherwise each unit is an alternative of its own.
            scopes: if flux {
                vec![0; objects.len()]
            } else {
                unit_of.clone()
            },
            units: unit_of,
            cluster_scoped: objects
                .iter()
                .map(|o| match catalog.namespaced(&o.key.group, &o.key.kind) {
                    Some(namespaced) => !namespaced,
                    None => o.key.namespace.is_empty(),
                })
                .collect(),
            owned: units
                .iter()
                .filter_map(|u| Some((u.owner.clone()?, u.objects.clone())))
                .collect(),
            provided: None,
        };
        let kinds = {
            let mut names = crate::object::reference::KindNames::builtin();
            for r in catalog.resources() {
                names.add(&r.group, &r.kind, [r.plural.clone()]);
            }
            names
        };
        let provided = |k: &ObjectKey| input.provided.iter().any(|r| r.matches(k, &kinds));
        let with_provided = graph::Input {
            provided: (!input.provided.is_empty())
                .then_some(&provided as &dyn Fn(&ObjectKey) -> bool),
            ..wanted
        };
        let (graph, found) = graph::build(&with_provided, &locate);
        diagnostics.extend(found);
        graph
    };
    validate::mark_sensitive(&mut diagnostics, &objects, &|o, ptr| {
        let (span, _) = spans.span(&o.origin, ptr, false)?;
        Some((
            sources.display_path(o.origin.file),
            span.start as usize,
            span.end as usize,
        ))
    });
    diag::normalise(&mut diagnostics);
    Ok(Compiled {
        sources,
        objects,
        units,
        graph,
        spans,
        catalog,
        diagnostics,
        files: nfiles,
    })
}

/// Objects encrypted with SOPS (a `sops:` block with its `mac`), in every mode: the block is
/// removed (Flux and kubectl apply the decrypted object, without it), a Secret's values are
/// masked as `flux build` masks them, each is noted once, and validation checks their kind,
/// name and namespace only. Nothing is decrypted.
fn mask_encrypted(
    rendered: &mut render::Rendered,
    sources: &SourceSet,
    spans: &SpanStore,
    diagnostics: &mut Vec<Diagnostic>,
) -> std::collections::BTreeSet<ObjectKey> {
    let mut out = std::collections::BTreeSet::new();
    for u in &mut rendered.units {
        for o in &mut u.objects {
            let Some(m) = o.value.as_object_mut() else {
                continue;
            };
            let sops = m
                .get("sops")
                .and_then(|s| s.as_object())
                .is_some_and(|s| s.contains_key("mac") || s.contains_key("version"));
            if !sops {
                continue;
            }
            m.remove("sops");
            if o.key.kind == "Secret" && o.key.group.is_empty() {
                let masked = crate::util::base64_encode(b"**SOPS**");
                if let Some(serde_json::Value::Object(d)) = m.get_mut("data") {
                    d.values_mut()
                        .for_each(|v| *v = serde_json::Value::String(masked.clone()));
                }
                if let Some(serde_json::Value::Object(d)) = m.get_mut("stringData") {
                    d.values_mut()
                        .for_each(|v| *v = serde_json::Value::String("**SOPS**".into()));
                }
            }
            let at = spans.locate(sources, &o.origin, "/sops", true);
            diagnostics.push(
                Diagnostic::new(
                    Code::SopsEncrypted,
                    format!(
                        "{} is SOPS-encrypted: checked for kind, name and namespace only; its values cannot be decrypted offline",
                        o.key
                    ),
                )
                .at(at, "encrypted with SOPS"),
            );
            out.insert(o.key.clone());
        }
    }
    out
}

/// Namespaced objects without a namespace: Flux applies with server-side apply, which needs one.
fn namespace_not_specified(
    objects: &[Object],
    catalog: &Catalog,
    locate: &dyn Fn(&Object, &str, bool) -> Location,
) -> Vec<Diagnostic> {
    objects
        .iter()
        .filter(|o| {
            o.key.namespace.is_empty()
                && catalog.namespaced(&o.key.group, &o.key.kind) == Some(true)
        })
        .map(|o| {
            Diagnostic::new(
                Code::NamespaceNotSpecified,
                format!("{} has no namespace; Flux refuses to apply a namespaced object without one", o.key),
            )
            .at(locate(o, "/metadata", true), "no metadata.namespace")
            .help("set metadata.namespace, a kustomization `namespace:`, or the Flux Kustomization's targetNamespace")
        })
        .collect()
}
